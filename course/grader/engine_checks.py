"""Checks of undoing broadcasting (task 1.2) and of the backward engine (task 1.4).

The engine is judged by the gradients it leaves on small graphs that each test one thing
a textbook engine must get right: a tensor used twice, a diamond, a bias added to a batch
(broadcasting), consumers far apart, accumulation over two backward calls, the .grad of
intermediate tensors, and a chain too deep for recursion. The graphs use only the ops
given as examples (add, sub, mul, neg), and summing a broadcast gradient back runs the
judge's own definition (sum_back.py) in place of task 1.2's answer, so only the
engine decides. The expected gradients are exact derivatives of each graph written in
NumPy (exact.gradients).
"""

import contextlib
from unittest import mock

import numpy as np

from course.grader import exact
from course.grader.checks import Check, Mistake
from course.grader.sum_back import sum_back

# ---- task 1.2: sum_to_shape, through unbroadcast ------------------------------------------

def _sum_to_shape_check(grad_shape, shape):
    def draw(rng):
        return {"grad": rng.standard_normal(grad_shape), "shape": np.array(shape, dtype=int)}

    def compute(inputs):
        from minigrad.broadcast import unbroadcast

        result = unbroadcast(inputs["grad"], tuple(int(n) for n in inputs["shape"]))
        return {"result": None if result is None else np.asarray(result, dtype=np.float64)}

    def unchanged(inputs, expected):
        return {"result": inputs["grad"]}

    def stretched_axes_dropped(inputs, expected):
        grad, shape = inputs["grad"], tuple(inputs["shape"])
        grad = grad.sum(axis=tuple(range(grad.ndim - len(shape))))
        stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
        return {"result": grad.sum(axis=stretched)}

    def averaged(inputs, expected):
        grad, shape = inputs["grad"], tuple(inputs["shape"])
        return {"result": expected["result"] * int(np.prod(shape)) / grad.size}

    def only_prepended(inputs, expected):
        grad, shape = inputs["grad"], tuple(inputs["shape"])
        return {"result": grad.sum(axis=tuple(range(grad.ndim - len(shape))))}

    def reference(inputs):
        return {"result": sum_back(inputs["grad"], tuple(int(n) for n in inputs["shape"]))}

    name = f"{grad_shape} -> {shape}".replace(",)", ")")
    return Check("task1_2", name, draw, compute, reference=reference, mistakes=(
        Mistake("the gradient comes back unchanged: sum it over the axes broadcasting "
                "added or stretched", unchanged),
        Mistake("the stretched size-1 axes were summed away: keep them (keepdims=True), so "
                "the result has the input's shape", stretched_axes_dropped),
        Mistake("only the prepended axes were summed: the input's size-1 axes that "
                "broadcasting stretched must be summed too (keepdims=True)", only_prepended),
        Mistake("the copies' gradients are averaged (mean): each copy of an input element "
                "sent its own gradient, and they add up (sum)", averaged),
    ), labels={"result": f"unbroadcast to {shape}"})


TASK1_2 = [_sum_to_shape_check(g, s) for g, s in [
    ((2, 3), (3,)), ((2, 3), (2, 1)), ((2, 3), (1, 3)), ((4, 2, 3), (1, 3)),
    ((4, 2, 3), (2, 1)), ((2, 3), ()), ((5, 1, 3), (1, 1)), ((2, 1, 3), (2, 1, 1)),
]]

# ---- task 1.4: the engine ------------------------------------------------------------------
def _engine_mistake(sentence, compute, **patches):
    """A mistake modelled by running `compute` with minigrad.autograd's functions replaced
    by wrong ones from models.py (which the child process never gets)."""
    def model(inputs, expected):
        from course.grader import models
        from minigrad import autograd

        with contextlib.ExitStack() as stack:
            for name, variant in patches.items():
                stack.enter_context(mock.patch.object(autograd, name, getattr(models, variant)))
            return compute(inputs)
    return Mistake(sentence, model)


def _judges_unbroadcast(compute):
    """`compute` with task 1.2's sum_to_shape replaced by the judge's definition."""
    def run(inputs):
        from minigrad import broadcast

        with mock.patch.object(broadcast, "sum_to_shape", sum_back):
            return compute(inputs)
    return run


def _exact(formula, *leaves, intermediate=None):
    """The reference of a graph: its leaves' exact gradients, and where `intermediate` is
    (name, its value from the leaves, the graph's formula in it), that tensor's too."""
    def reference(inputs):
        values = {n: inputs[n] for n in leaves}
        result = exact.gradients(formula, values, leaves, inputs["upstream"])
        if intermediate is not None:
            name, value, rest = intermediate
            result.update(exact.gradients(rest, {name: value(**values)}, [name],
                                          inputs["upstream"]))
        return result
    return reference


def engine_check(name, draw, compute, reference, **options):
    compute = _judges_unbroadcast(compute)
    mistakes = (
        _engine_mistake("gradients arriving at a tensor replace each other (= instead of "
                        "adding): a tensor used by several ops must add up what each sends",
                        compute, backpropagate="overwriting"),
        _engine_mistake("each op's backward is called directly: send each node's gradient "
                        "through step.through(tensor._ctx, g) instead, which sums a broadcast "
                        "gradient back to its input's shape, casts it, and frees the node "
                        "after use", compute, backpropagate="unfitted"),
        _engine_mistake("a node passed its gradient on before all of its consumers had sent "
                        "theirs: visit the nodes in topological order (consumers first)",
                        compute, topological_order="preorder"),
    )
    return Check("task1_4", name, draw, compute, reference=reference, mistakes=mistakes,
                 **options)


def _leaf(array):
    import minigrad as mg

    return mg.tensor(array, dtype="float64", requires_grad=True)


def _grad(tensor):
    return None if tensor.grad is None else np.array(tensor.grad, dtype=np.float64)


def _uses_twice(inputs):
    a = _leaf(inputs["a"])
    y = a + a
    y.backward(inputs["upstream"])
    return {"grad_a": _grad(a)}


def _diamond(inputs):
    a = _leaf(inputs["a"])
    b, c = a * 2.0, a + 3.0
    d = b * c
    d.backward(inputs["upstream"])
    return {"grad_a": _grad(a)}


def _bias_on_a_batch(inputs):
    x, w, b = _leaf(inputs["x"]), _leaf(inputs["w"]), _leaf(inputs["b"])
    y = x * w + b  # (4, 2) * (2,) + (2,): w and b are broadcast over the batch
    y.backward(inputs["upstream"])
    return {"grad_x": _grad(x), "grad_w": _grad(w), "grad_b": _grad(b)}


def _consumers_far_apart(inputs):
    x = _leaf(inputs["x"])
    h = x * x
    long = h
    for _ in range(5):
        long = long * 1.5
    y = long + h * 3.0
    y.backward(inputs["upstream"])
    return {"grad_x": _grad(x), "grad_h": _grad(h)}


def _summed_three_times(inputs):
    x = _leaf(inputs["x"])
    h = x * x
    y = h + h + h  # add sends one array to both its inputs: an in-place += would alias it
    y.backward(inputs["upstream"])
    return {"grad_x": _grad(x), "grad_h": _grad(h)}


def _branches(inputs):
    a = _leaf(inputs["a"])
    y = a * 3.0 - a * a + (-a)
    y.backward(inputs["upstream"])
    return {"grad_a": _grad(a)}


def _chain(h, factor, times):
    for _ in range(times):
        h = h * factor
    return h


def _two_calls_reference(inputs):
    # y = a * a backpropagated twice: the gradients for both upstreams add up.
    both = inputs["upstream"] + inputs["upstream2"]
    return {**exact.gradients(lambda a: a * a, {"a": inputs["a"]}, ["a"], both),
            "third_backward_refused": np.array(True)}


def _two_calls(inputs):
    a = _leaf(inputs["a"])
    y = a * a
    y.backward(inputs["upstream"], retain_graph=True)
    y.backward(inputs["upstream2"])
    try:
        y.backward(inputs["upstream"])
        refused = False
    except RuntimeError:
        refused = True
    return {"grad_a": _grad(a), "third_backward_refused": np.array(refused)}


def _deep_chain(inputs):
    x = _leaf(inputs["x"])
    y = x
    for _ in range(5_000):  # five times Python's recursion limit
        y = y * 1.0002
    y.backward(inputs["upstream"])
    return {"grad_x": _grad(x)}


def _with_upstream(out_shape, **shapes):
    def draw(rng):
        drawn = {name: rng.standard_normal(shape) for name, shape in shapes.items()}
        drawn["upstream"] = rng.standard_normal(out_shape)
        return drawn
    return draw


NO_GRADIENT = "no gradient reached it (.grad is None after backward)"
TASK1_4 = [
    engine_check("a tensor used twice (a + a)", _with_upstream((2,), a=(2,)), _uses_twice,
                 _exact(lambda a: a + a, "a"), missing={"grad_a": NO_GRADIENT}),
    engine_check("a diamond (b = 2a, c = a + 3, d = b c)", _with_upstream((3,), a=(3,)),
                 _diamond, _exact(lambda a: (a * 2.0) * (a + 3.0), "a"),
                 missing={"grad_a": NO_GRADIENT}),
    engine_check("a bias added to a batch (x * w + b)",
                 _with_upstream((4, 2), x=(4, 2), w=(2,), b=(2,)), _bias_on_a_batch,
                 _exact(lambda x, w, b: x * w + b, "x", "w", "b"),
                 missing={k: NO_GRADIENT for k in ("grad_x", "grad_w", "grad_b")}),
    engine_check("consumers far apart, and .grad on an intermediate",
                 _with_upstream((2,), x=(2,)), _consumers_far_apart,
                 _exact(lambda x: _chain(x * x, 1.5, 5) + x * x * 3.0, "x", intermediate=(
                     "h", lambda x: x * x, lambda h: _chain(h, 1.5, 5) + h * 3.0)),
                 labels={"grad_h": "h.grad (h = x * x, an intermediate tensor)"},
                 missing={"grad_x": NO_GRADIENT, "grad_h": "h.grad is None: every tensor on "
                          "the way keeps its gradient (step.keep(tensor, g) for each one)"}),
    engine_check("one tensor summed three times (h + h + h, h = x * x)",
                 _with_upstream((2,), x=(2,)), _summed_three_times,
                 _exact(lambda x: x * x + x * x + x * x, "x",
                        intermediate=("h", lambda x: x * x, lambda h: h + h + h)),
                 labels={"grad_h": "h.grad"},
                 missing={"grad_x": NO_GRADIENT, "grad_h": NO_GRADIENT}),
    engine_check("three branches and a subtraction", _with_upstream((1,), a=(1,)), _branches,
                 _exact(lambda a: a * 3.0 - a * a + (-a), "a"),
                 missing={"grad_a": NO_GRADIENT}),
    engine_check("two backward calls add up; a third is refused",
                 _with_upstream((2,), a=(2,), upstream2=(2,)), _two_calls,
                 _two_calls_reference,
                 labels={"third_backward_refused": "a third backward through the freed "
                         "graph was refused"},
                 missing={"grad_a": NO_GRADIENT}),
    engine_check("a chain of 5,000 ops", _with_upstream((1,), x=(1,)), _deep_chain,
                 _exact(lambda x: _chain(x, 1.0002, 5_000), "x"),
                 missing={"grad_x": NO_GRADIENT}),
]

CHECKS = TASK1_2 + TASK1_4
