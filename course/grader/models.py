"""Models of wrong answers, run only in the grader's process to name a student's mistake.

Several are a right answer with one thing changed (an engine whose arriving gradients
replace each other, a training step without zero_grad), so this file never goes into the
child process's copy, nor into a handout.
"""

import importlib

import numpy as np

# ---- the engine (task 1.4) -------------------------------------------------------------------

def _wrong_engine(send, add):
    """A textbook backward pass with one thing changed: how each node sends its gradient
    (`send(step, ctx, g)`) or how arriving gradients combine (`add(received, sent)`)."""
    def backpropagate(root, grad, order, step):
        pending = {id(root): grad}
        for tensor in order:
            g = pending.pop(id(tensor), None)
            if g is None:
                continue
            step.keep(tensor, g)
            if tensor._ctx is None:
                continue
            for parent, sent in zip(tensor._ctx.inputs, send(step, tensor._ctx, g)):
                if sent is not None and parent is not None and parent.requires_grad:
                    received = pending.get(id(parent))
                    pending[id(parent)] = sent if received is None else add(received, sent)
    return backpropagate


def _unfitted_send(step, ctx, g):
    """Each op's backward called directly: nothing summed back to its input's shape."""
    sent = ctx.fn.backward(ctx, g)
    return sent if isinstance(sent, tuple) else (sent,)


# Each gradient that arrives replaces the one before, instead of adding to it.
overwriting = _wrong_engine(lambda step, ctx, g: step.through(ctx, g), lambda r, s: s)
unfitted = _wrong_engine(_unfitted_send, lambda r, s: r + s)


def preorder(root):
    """Depth-first, each node listed when first reached: not after all its consumers."""
    nodes, stack, seen = [], [root], set()
    while stack:
        tensor = stack.pop()
        if id(tensor) in seen:
            continue
        seen.add(id(tensor))
        nodes.append(tensor)
        if tensor._ctx is not None:
            stack.extend(p for p in tensor._ctx.inputs if p is not None and p.requires_grad)
    return nodes



# ---- the training step (task 2.4) ------------------------------------------------------------

def training_step(zero=True, clip=True, order="forward-backward-clip-step", batch="integers"):
    def optimizer_step(config, model, optimizer, sampler, train_set):
        train = importlib.import_module("attention.train")
        ids, targets, mask = train_set
        if batch == "integers":
            rows = sampler.integers(0, len(ids), size=config.batch_size)
        else:
            rows = sampler.choice(len(ids), size=config.batch_size, replace=False)
        loss = train.cross_entropy(model(ids[rows]), targets[rows], mask=mask[rows])
        if zero and order != "zero-after-backward":
            optimizer.zero_grad()
        if order == "step-before-backward":
            optimizer.step()
            loss.backward()
        else:
            loss.backward()
            if order == "zero-after-backward":
                optimizer.zero_grad()
            if clip:
                train.clip_grad_norm_(model.parameters(), config.clip)
            optimizer.step()
        return loss.item()
    return optimizer_step



# ---- attention's forward in NumPy (tasks 2.2, 2.3) ----------------------------------------------

def attention_forward(q, k, v, allowed=None, scale=None, fill=-np.inf, axis=-1):
    """softmax(q k^T scale) v, optionally with masked scores set to `fill` or softmax over
    another axis (known mistakes)."""
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    scores = q @ np.swapaxes(k, -1, -2) * scale
    if allowed is not None:
        scores = np.where(allowed, scores, fill)
    top = np.max(scores, axis=axis, keepdims=True)
    e = np.exp(scores - np.where(np.isfinite(top), top, 0))
    total = e.sum(axis=axis, keepdims=True)
    weights = e / np.where(total == 0, 1, total)
    return weights @ v, weights


def multihead_forward(inputs, kind, n_heads, merge_transposed=True, split_transposed=True,
                      keys_from_x=False, out_proj=True):
    """Multi-head attention from the drawn weights, optionally with a known mistake."""
    x = inputs["x"]
    context = x if kind != "cross" or keys_from_x else inputs["context"]
    B, T, C = x.shape
    S, hs = context.shape[1], C // n_heads

    def project(name, inp):
        return inp @ inputs[f"{name}.weight"] + inputs[f"{name}.bias"]

    def split(y, L):
        if split_transposed:
            return y.reshape(B, L, n_heads, hs).transpose(0, 2, 1, 3)
        return y.reshape(B, n_heads, L, hs)

    q, k, v = split(project("q_proj", x), T), split(project("k_proj", context), S), \
        split(project("v_proj", context), S)
    allowed = inputs.get("mask")
    if kind == "causal":
        allowed = np.tril(np.ones((T, S), dtype=bool))
    out, weights = attention_forward(q, k, v, allowed)
    merged = out.transpose(0, 2, 1, 3).reshape(B, T, C) if merge_transposed else \
        out.reshape(B, T, C)
    y = project("out_proj", merged) if out_proj else merged
    return {"y": y, "weights": weights}


