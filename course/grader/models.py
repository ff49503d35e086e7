"""Models of wrong answers, run only in the grader's process to name a student's mistake.

Several are a right answer with one thing changed (an engine whose arriving gradients
replace each other, a training step without zero_grad), so this file never goes into the
child process's copy, nor into a handout.
"""

import importlib

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
