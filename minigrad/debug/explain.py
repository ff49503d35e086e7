"""explain: why one node's backward sent what it sent.

    y = x.softmax(); y.backward(g)
    print(mg.explain(y))        # or mg.explain(y, grad=g) before any backward

For the node that made `y`: the op and its formula with its derivative (the first line of
the op's docstring), its inputs and what its forward saved, the gradient that arrived, and
for each input the local Jacobian d y / d input, computed from the op's own backward (one
one-hot gradient per output element gives one row), with rows and columns labelled by
element index, and the gradient sent to that input, J^T . grad, checked against what the
backward returned. In Jupyter it shows as HTML tables.

The node's forward is run again on its inputs (a fresh Context), so explain works after
backward freed the graph; an input changed in place since then is said to be.
"""

import numpy as np

from minigrad.broadcast import unbroadcast

SMALL = 64  # Jacobians with at most this many entries are printed as a matrix


def _compact(array, limit: int = 8) -> str:
    """A few values of an array, on one line."""
    array = np.asarray(array)
    if array.size == 0:
        return "[]"
    flat = array.reshape(-1)
    shown = ", ".join(f"{float(v):.4g}" if array.dtype.kind in "fc" else str(v)
                      for v in flat[:limit])
    more = f", ... ({array.size} values)" if array.size > limit else ""
    return shown if array.ndim == 0 else f"[{shown}{more}]"


def _input_names(fn, count: int) -> list:
    """The forward's own names for its inputs (a, b; x), else x0, x1, ..."""
    import inspect

    try:
        params = list(inspect.signature(fn.forward).parameters.values())[1:]  # after ctx
    except (TypeError, ValueError):
        params = []
    names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(names) < count:
        return [f"x{i}" for i in range(count)]
    return names[:count]


def _index_names(name: str, shape: tuple) -> list:
    if not shape:
        return [name]
    return [f"{name}[{','.join(str(i) for i in index)}]" for index in np.ndindex(*shape)]


class Explanation:
    """One node's backward, explained. `str()` is a text block; `.incoming` is the gradient
    that arrived, `.sent[i]` the gradient sent to input i, `.jacobian(i)` the local
    Jacobian d output / d input i as a matrix (output elements by input elements)."""

    def __init__(self, ctx, incoming):
        from minigrad.function import Context
        from minigrad.tensor import Tensor

        self.fn = ctx.fn
        self.where = ctx.where()
        inputs = getattr(ctx, "inputs", None) or ()
        args = getattr(ctx, "args", None)
        self.names = _input_names(self.fn, len(inputs))
        self.arrays = []
        for i, tensor in enumerate(inputs):
            if isinstance(tensor, Tensor):
                self.arrays.append(tensor.data)
            else:
                self.arrays.append(args[i] if args is not None else None)
        self.differentiable = [isinstance(t, Tensor) and t.requires_grad for t in inputs]
        self.changed = [isinstance(t, Tensor) and getattr(ctx, "versions", None) is not None
                        and t._counter[0] != ctx.versions[i] for i, t in enumerate(inputs)]
        self.attrs = dict(getattr(ctx, "attrs", None) or {})
        # A fresh node: the same forward on the same inputs, so its saved arrays exist.
        def fresh_context():
            fresh = Context(self.fn)
            fresh.inputs, fresh.args, fresh.attrs = tuple(inputs), args, self.attrs
            return fresh
        self._fresh = fresh_context
        fresh = self._fresh()
        self.output = np.asarray(self.fn.forward(fresh, *self.arrays, **self.attrs))
        self.saved = [np.asarray(a) for a in fresh.saved_arrays]
        self.incoming = np.asarray(incoming, dtype=self.output.dtype).reshape(
            self.output.shape)
        self.sent = self._backward(self.incoming)
        self._jacobians = {}

    def _backward(self, grad) -> list:
        """What backward sends each input for `grad`, summed back to the input's shape (as
        the engine does); None where nothing is sent."""
        ctx = self._fresh()
        self.fn.forward(ctx, *self.arrays, **self.attrs)
        grads = self.fn.backward(ctx, np.asarray(grad, dtype=self.output.dtype))
        grads = list(grads) if isinstance(grads, (tuple, list)) else [grads]
        sent = []
        for array, g, wanted in zip(self.arrays, grads, self.differentiable):
            if g is None or not wanted:
                sent.append(None)
            else:
                sent.append(np.asarray(unbroadcast(np.asarray(g), np.shape(array))))
        return sent

    def jacobian(self, i: int) -> np.ndarray:
        """d output / d input i: one row per output element, one column per input element."""
        if self.sent[i] is None:
            raise ValueError(f"explain: {self.fn.name} sends no gradient to input {i}")
        if i not in self._jacobians:
            rows = []
            for j in range(self.output.size):
                onehot = np.zeros(self.output.size, dtype=self.output.dtype)
                onehot[j] = 1
                rows.append(self._backward(onehot.reshape(self.output.shape))[i].reshape(-1))
            self._jacobians[i] = np.array(rows).reshape(self.output.size,
                                                        np.size(self.arrays[i]))
        return self._jacobians[i]

    @property
    def formula(self) -> str:
        doc = (self.fn.__doc__ or "").strip().splitlines()
        return doc[0] if doc else "(the op's docstring gives no formula)"

    def _checked(self, i: int) -> tuple:
        """(J^T . grad, the largest difference from what backward sent, whether that is
        within rounding: a few units in the last place of the sums involved)."""
        jac, grad = self.jacobian(i), self.incoming.reshape(-1)
        product = (jac.T @ grad).reshape(np.shape(self.arrays[i]))
        gap = np.abs(product - self.sent[i])
        eps = np.finfo(np.result_type(self.output.dtype, np.float32)).eps
        bound = 64 * eps * (np.abs(jac).T @ np.abs(grad)).reshape(gap.shape)
        return product, float(np.max(gap, initial=0.0)), bool(np.all(gap <= bound))

    def _matrix_lines(self, i: int) -> list:
        jac = self.jacobian(i)
        if jac.size > SMALL:
            return [f"  (a {jac.shape[0]} x {jac.shape[1]} matrix: .jacobian({i}) returns it)"]
        columns = _index_names(self.names[i], np.shape(self.arrays[i]))
        rows = _index_names("y", self.output.shape)
        width = max(9, *(len(c) for c in columns))
        head = " " * max(len(r) for r in rows) + "  " + " ".join(c.rjust(width)
                                                                  for c in columns)
        lines = [head]
        for name, row in zip(rows, jac):
            lines.append(name.ljust(len(head) - len(" ".join(c.rjust(width) for c in columns))
                                    - 2) + "  " + " ".join(f"{v + 0.0:{width}.4g}" for v in row))
        return ["  " + line for line in lines]

    def __str__(self) -> str:
        out = [f"{self.fn.name} ({self.fn.__module__}.{self.fn.__qualname__}){self.where}",
               f"  {self.formula}"]
        for i, array in enumerate(self.arrays):
            if self.differentiable[i]:
                note = " (changed in place since the forward)" if self.changed[i] else ""
                out.append(f"{self.names[i]}: {np.shape(array)} {np.asarray(array).dtype} "
                           f"{_compact(array)}{note}")
            else:
                shown = _compact(array) if array is not None else "None"
                out.append(f"{self.names[i]}: a constant {shown}")
        if self.attrs:
            out.append("options: " + ", ".join(f"{k}={v!r}" for k, v in self.attrs.items()))
        for k, saved in enumerate(self.saved):
            out.append(f"saved[{k}]: {saved.shape} {_compact(saved)}")
        out.append(f"output y: {self.output.shape} {_compact(self.output)}")
        out.append(f"incoming gradient dL/dy: {self.incoming.shape} {_compact(self.incoming)}")
        for i, sent in enumerate(self.sent):
            if sent is None:
                continue
            out.append(f"to {self.names[i]}: local Jacobian dy/d{self.names[i]} "
                       f"({self.jacobian(i).shape[0]} x {self.jacobian(i).shape[1]})")
            out += self._matrix_lines(i)
            product, gap, same = self._checked(i)
            out.append(f"  sent J^T . grad = {_compact(product)}")
            verdict = "equals" if same else "DIFFERS FROM"
            out.append(f"  {verdict} what backward sent (largest difference {gap:.2g})")
        return "\n".join(out)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        import html

        def table(matrix, rows, columns):
            head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
            body = "".join(
                f"<tr><th>{html.escape(r)}</th>" + "".join(f"<td>{v:.4g}</td>" for v in row)
                + "</tr>" for r, row in zip(rows, matrix))
            return f"<table><tr><th></th>{head}</tr>{body}</table>"

        parts = [f"<h4>{html.escape(self.fn.name)}</h4><p><code>"
                 f"{html.escape(self.formula)}</code></p>",
                 f"<p>incoming gradient dL/dy {self.incoming.shape}: "
                 f"{html.escape(_compact(self.incoming))}</p>"]
        for i, sent in enumerate(self.sent):
            if sent is None:
                continue
            jac = self.jacobian(i)
            parts.append(f"<p>to {self.names[i]}: local Jacobian {jac.shape}</p>")
            if jac.size <= SMALL:
                parts.append(table(jac, _index_names("y", self.output.shape),
                                   _index_names(self.names[i], np.shape(self.arrays[i]))))
            product, gap, _ = self._checked(i)
            parts.append(f"<p>sent J<sup>T</sup>&middot;grad = "
                         f"{html.escape(_compact(product))} (largest difference from "
                         f"backward's: {gap:.2g})</p>")
        return "<div class='minigrad-explain'>" + "".join(parts) + "</div>"


def explain(tensor, grad=None) -> Explanation:
    """Explain the backward of the op that made `tensor`, for the gradient that arrived at
    it (tensor.grad after backward) or for `grad`."""
    ctx = getattr(tensor, "_ctx", None)
    if ctx is None:
        raise ValueError("explain: this tensor was not made by an op (a leaf, or made "
                         "without requires_grad): there is no backward to explain")
    if grad is None:
        grad = tensor.grad
        if grad is None:
            raise ValueError(f"explain: no gradient has arrived at this {ctx.fn.name} output; "
                             "call backward() first (intermediate gradients are kept by "
                             "default) or give grad=...")
    return explain_node(ctx, grad)


def explain_node(ctx, grad) -> Explanation:
    """The same for a node (a Context) and the gradient arriving at it: what an mg.break_on
    stop or a trace step has at hand."""
    return Explanation(ctx, grad)
