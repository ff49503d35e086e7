"""Multi-head attention written in NumPy: the reference task 2.3's checks judge by.

Built on attention_forward (numpy_attention.py), and, like it, safe for the complex step
(exact.py). Options model known mistakes (heads split or merged without a transpose, no
output projection, keys taken from x in cross-attention) for the messages. The judge's
alone: no child holds it.
"""

from course.grader.numpy_attention import allowed_keys, attention_forward


def multihead_forward(inputs, kind, n_heads, merge_transposed=True, split_transposed=True,
                      keys_from_x=False, out_proj=True):
    """Multi-head attention from the drawn weights ({'q_proj.weight': (C, C), ...}),
    optionally with a known mistake. Returns {'y': (B, T, C), 'weights': (B, nh, T, S)}."""
    x = inputs["x"]
    context = x if kind != "cross" or keys_from_x else inputs["context"]
    B, T, C = x.shape
    S, hs = context.shape[1], C // n_heads

    def project(name, inp):
        return inp @ inputs[f"{name}.weight"] + inputs[f"{name}.bias"]

    def split(y, L):  # (B, L, C) -> (B, nh, L, hs)
        if split_transposed:
            return y.reshape(B, L, n_heads, hs).transpose(0, 2, 1, 3)
        return y.reshape(B, n_heads, L, hs)

    q, k, v = split(project("q_proj", x), T), split(project("k_proj", context), S), \
        split(project("v_proj", context), S)
    allowed = allowed_keys(inputs.get("mask"), kind == "causal", T, S)
    out, weights = attention_forward(q, k, v, allowed)
    merged = out.transpose(0, 2, 1, 3).reshape(B, T, C) if merge_transposed else \
        out.reshape(B, T, C)
    y = project("out_proj", merged) if out_proj else merged
    return {"y": y, "weights": weights}
