"""Checks of scaled dot-product attention (task 2.2) and multi-head attention (task 2.3).

Both are judged on their forward values *and* on their gradients: a random upstream
gradient is sent back through the graph the student's forward built, and the gradients
of q, k, v (or of x, the context and every projection weight) must equal the exact
derivatives of the NumPy formula (numpy_attention.py, exact.py). Those gradients are not
the student's engine's: the forward's graph is recorded as it runs and the judge
differentiates it exactly (graph.py), so a blank engine or softmax backward costs these
tasks nothing, while attention computed in NumPy and wrapped in mg.tensor (a constant to
the graph) gets the forward values right and no gradient at all. Task 2.3 runs on a
stand-in for task 2.2's function, so a blank or wrong 2.2 costs nothing there either.
"""

from unittest import mock

import numpy as np

from course.grader import exact, graph
from course.grader.checks import Check, Mistake, load_attr
from course.grader.numpy_attention import allowed_keys, attention_forward, stand_in_attention
from course.grader.numpy_multihead import multihead_forward


def _tensor(array, requires_grad=True):
    import minigrad as mg

    return mg.tensor(array, dtype="float64", requires_grad=requires_grad)


def _array(value):
    """A returned tensor (or array) as a float64 array; None stays None."""
    if value is None:
        return None
    return np.array(getattr(value, "data", value), dtype=np.float64)


def _allowed(inputs, causal, flip=False, diagonal=0):
    return allowed_keys(inputs.get("mask"), causal, inputs["q"].shape[-2],
                        inputs["k"].shape[-2], diagonal=diagonal, flip=flip)


def _sdpa_mistake(sentence, causal, given_scale, **variant):
    def model(inputs, expected):
        q, k, v = inputs["q"], inputs["k"], inputs["v"]
        d = q.shape[-1]
        options = {"scale": given_scale}
        if variant.get("scale") == "none":
            options["scale"] = 1.0
        elif variant.get("scale") == "d_k":
            options["scale"] = 1.0 / d
        elif variant.get("scale") == "default":
            options["scale"] = None
        allowed = None if variant.get("no_mask") else _allowed(
            inputs, causal, flip=variant.get("flip", False),
            diagonal=variant.get("diagonal", 0))
        if variant.get("after_softmax"):  # softmax over every key, then the masked zeroed
            out, weights = attention_forward(q, k, v, None, options["scale"])
            weights = np.where(allowed, weights, 0.0)
            return {"out": weights @ v, "weights": weights}
        out, weights = attention_forward(q, k, v, allowed, options["scale"],
                                         fill=variant.get("fill", -np.inf),
                                         axis=variant.get("axis", -1))
        return {"out": out, "weights": weights}
    return Mistake(sentence, model)


NO_GRADIENT_SDPA = ("no gradient reached {}: compute the output from q, k and v with minigrad "
                    "operations (@, swapaxes, masked_fill, softmax); NumPy arrays wrapped in "
                    "mg.tensor are constants to the engine")


def sdpa_check(name, shapes, mask_kind="none", causal=False, scale=None):
    (T, S) = shapes["q"][-2], shapes["k"][-2]

    def draw(rng):
        drawn = {n: rng.standard_normal(shapes[n]) for n in ("q", "k", "v")}
        if mask_kind == "boolean":
            mask = rng.random(shapes["q"][:-2] + (T, S)) < 0.6
            mask[..., 0] = True  # every query may look at something
            drawn["mask"] = mask
        elif mask_kind == "fully masked row":
            mask = np.ones(shapes["q"][:-2] + (T, S), dtype=bool)
            mask[(0,) * (mask.ndim - 2) + (T - 1,)] = False  # one query sees nothing
            drawn["mask"] = mask
        drawn["upstream"] = rng.standard_normal(shapes["q"][:-1] + (shapes["v"][-1],))
        return drawn

    def compute(inputs):
        from minigrad.hooks import using

        attend = load_attr("attention.attention.scaled_dot_product_attention")
        q, k, v = (_tensor(inputs[n]) for n in ("q", "k", "v"))
        recorder = graph.recorder({"q": q, "k": k, "v": v})
        with using(recorder):
            out, weights = attend(q, k, v, mask=inputs.get("mask"), causal=causal, scale=scale)
        # The gradients are the judge's: the exact derivative of the graph recorded here.
        return {"out": _array(out), "weights": _array(weights),
                **recorder.record({"out": out})}

    def replay(inputs, got):
        judged, record = graph.split(got)
        try:
            judged.update(graph.gradients(record, {n: inputs[n] for n in "qkv"}, "out",
                                          inputs["upstream"]))
            return judged, None
        except graph.Unreplayable as problem:
            return {**judged, **{f"grad_{n}": None for n in "qkv"}}, (
                f"The gradients were not judged: {problem}.")

    def reference(inputs):
        allowed = _allowed(inputs, causal)
        out, weights = attention_forward(inputs["q"], inputs["k"], inputs["v"], allowed, scale)
        return {"out": out, "weights": weights, **exact.gradients(
            lambda q, k, v: attention_forward(q, k, v, allowed, scale)[0],
            {n: inputs[n] for n in "qkv"}, "qkv", inputs["upstream"])}

    mistakes = [
        _sdpa_mistake("the scores are not divided by sqrt(d_k) (softmax(q k^T / sqrt(d_k)))",
                      causal, scale, scale="none"),
        _sdpa_mistake("the scores are divided by d_k: the scale is 1 / sqrt(d_k)", causal,
                      scale, scale="d_k"),
        _sdpa_mistake("softmax runs over the wrong axis: each query's weights (the last "
                      "axis, over the keys) must sum to 1", causal, scale, axis=-2),
    ]
    if scale is not None:
        mistakes.append(_sdpa_mistake("the `scale` argument is ignored: when given, it "
                                      "replaces 1 / sqrt(d_k)", causal, scale,
                                      scale="default"))
    if mask_kind == "fully masked row":
        mistakes.append(_sdpa_mistake(
            "the query whose keys are all masked spreads its weight evenly over them: fill "
            "masked scores with -inf (masked_fill), not 0 or a large negative number, so "
            "that softmax gives such a row all zeros", causal, scale, fill=-1e9))
    elif mask_kind != "none" or causal:
        mistakes.append(_sdpa_mistake("masked scores are set to 0, which still gets weight "
                                      "after softmax: set them to -inf (masked_fill)",
                                      causal, scale, fill=0.0))
    if mask_kind != "none" or causal:
        mistakes.append(_sdpa_mistake("the mask is not applied", causal, scale, no_mask=True))
        mistakes.append(_sdpa_mistake(
            "the mask is applied after softmax, so a query's weights no longer sum to 1: "
            "mask the scores (masked_fill with -inf) before softmax", causal, scale,
            after_softmax=True))
    if causal:
        mistakes.append(_sdpa_mistake(
            "the causal mask is off by one: it hides the key at the query's own position "
            "(np.tril(..., k=-1)); query t may look at keys s <= t, itself included",
            causal, scale, diagonal=-1))
        mistakes.append(_sdpa_mistake(
            "the causal mask is off by one: it lets each query see one key ahead "
            "(np.tril(..., k=1)); query t may look at keys s <= t only", causal, scale,
            diagonal=1))
        mistakes.append(_sdpa_mistake("the causal mask is flipped: query t may look at keys "
                                      "s <= t (np.tril), not the future", causal, scale,
                                      flip=True))
    return Check("task2_2", name, draw, compute, reference=reference, mistakes=tuple(mistakes),
                 replay=replay,
                 labels={"out": "the output", "weights": "the attention weights",
                         "grad_q": "the gradient of q", "grad_k": "the gradient of k",
                         "grad_v": "the gradient of v"},
                 missing={f"grad_{n}": NO_GRADIENT_SDPA.format(n) for n in "qkv"})


TASK2_2 = [
    sdpa_check("no mask", {"q": (2, 3, 4), "k": (2, 5, 4), "v": (2, 5, 6)}),
    sdpa_check("boolean mask", {"q": (2, 3, 4), "k": (2, 5, 4), "v": (2, 5, 6)}, "boolean"),
    sdpa_check("causal", {"q": (2, 4, 4), "k": (2, 4, 4), "v": (2, 4, 3)}, causal=True),
    sdpa_check("a fully masked row", {"q": (2, 3, 4), "k": (2, 5, 4), "v": (2, 5, 6)},
               "fully masked row"),
    sdpa_check("heads (B, nh, T, hs), causal and a mask", {"q": (2, 2, 3, 4),
               "k": (2, 2, 3, 4), "v": (2, 2, 3, 4)}, "boolean", causal=True),
    sdpa_check("an explicit scale", {"q": (2, 3, 4), "k": (2, 5, 4), "v": (2, 5, 6)},
               scale=0.3),
]

# ---- task 2.3: multi-head attention ---------------------------------------------------------

PROJECTIONS = ("q_proj", "k_proj", "v_proj", "out_proj")
PARAMETERS = tuple(f"{p}.{w}" for p in PROJECTIONS for w in ("weight", "bias"))


def _mha_mistake(sentence, kind, n_heads, **variant):
    def model(inputs, expected):
        return multihead_forward(inputs, kind, n_heads, **variant)
    return Mistake(sentence, model)


def mha_check(kind, B=2, T=3, S=5, C=8, n_heads=2):
    S = S if kind == "cross" else T

    def draw(rng):
        drawn = {"x": rng.standard_normal((B, T, C))}
        if kind == "cross":
            drawn["context"] = rng.standard_normal((B, S, C))
        if kind == "padding mask":
            mask = np.ones((B, 1, 1, S), dtype=bool)
            mask[1, ..., S - 1] = False  # the second sequence's last token is padding
            drawn["mask"] = mask
        for name in PARAMETERS:
            shape = (C, C) if name.endswith("weight") else (C,)
            drawn[name] = rng.uniform(-0.5, 0.5, shape)
        drawn["upstream"] = rng.standard_normal((B, T, C))
        return drawn

    def compute(inputs):
        import importlib

        # Task 2.2's function replaced by the exact stand-in, wherever 2.3's code finds it.
        attend = stand_in_attention()
        with mock.patch.object(importlib.import_module("attention.attention"),
                               "scaled_dot_product_attention", attend), \
                mock.patch.object(importlib.import_module("attention.multihead"),
                                  "scaled_dot_product_attention", attend, create=True):
            return _multihead(inputs)

    def _multihead(inputs):
        import minigrad as mg
        from minigrad.hooks import using

        mg.manual_seed(0)
        mha = load_attr("attention.multihead.MultiHeadAttention")(C, n_heads).to("float64")
        mha.load_state_dict({name: inputs[name] for name in PARAMETERS})
        x = _tensor(inputs["x"])
        context = _tensor(inputs["context"]) if "context" in inputs else None
        leaves = {"x": x, **({"context": context} if context is not None else {}),
                  **dict(mha.named_parameters())}
        recorder = graph.recorder(leaves)
        with using(recorder):
            y = mha(x, context=context, mask=inputs.get("mask"), causal=kind == "causal")
        # The gradients are the judge's: the exact derivative of the graph recorded here.
        return {"y": _array(y), "weights": _array(mha.attention_weights),
                **recorder.record({"y": y})}

    def replay(inputs, got):
        judged, record = graph.split(got)
        names = ["x"] + (["context"] if kind == "cross" else []) + list(PARAMETERS)
        try:
            judged.update(graph.gradients(record, {n: inputs[n] for n in names}, "y",
                                          inputs["upstream"],
                                          modules=graph.OP_MODULES + (graph.STAND_IN,)))
            return judged, None
        except graph.Unreplayable as problem:
            return {**judged, **{f"grad_{n}": None for n in names}}, (
                f"The gradients were not judged: {problem}.")

    mistakes = [
        _mha_mistake("the heads are merged without moving the head axis back: transpose "
                     "(B, nh, T, hs) to (B, T, nh, hs) before reshaping to (B, T, C)", kind,
                     n_heads, merge_transposed=False),
        _mha_mistake("the heads are split by reshaping (B, T, C) straight to (B, nh, T, hs): "
                     "reshape to (B, T, nh, hs), then swap the T and nh axes", kind, n_heads,
                     split_transposed=False, merge_transposed=False),
        _mha_mistake("out_proj is not applied to the merged heads", kind, n_heads,
                     out_proj=False),
    ]
    if kind == "cross":
        mistakes.append(_mha_mistake("keys and values come from x: in cross-attention they "
                                     "are projections of `context`", kind, n_heads,
                                     keys_from_x=True))
    missing = {f"grad_{n}": f"no gradient reached {n}: build the output from the projections "
               "with minigrad operations, so the engine can go back through them"
               for n in ("x", "context") + PARAMETERS}
    missing["weights"] = ("mha.attention_weights is None: keep the last forward's weights "
                          "there, (B, nh, T, S)")
    def reference(inputs):
        wrt = ["x"] + (["context"] if kind == "cross" else []) + list(PARAMETERS)
        return {**multihead_forward(inputs, kind, n_heads), **exact.gradients(
            lambda **a: multihead_forward(a, kind, n_heads)["y"],
            {k: v for k, v in inputs.items() if k != "upstream"}, wrt, inputs["upstream"])}

    return Check("task2_3", kind, draw, compute, reference=reference, mistakes=tuple(mistakes),
                 replay=replay,
                 labels={"y": "the output", "weights": "mha.attention_weights"},
                 missing=missing)


TASK2_3 = [mha_check(kind) for kind in ("self", "cross", "padding mask", "causal")]

CHECKS = TASK2_2 + TASK2_3
