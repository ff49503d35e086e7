"""Step through backprop in a small attention model: as a table, as pictures, in a debugger.

    python examples/step_through_backprop.py                  # table + graph.svg + backprop.html
    python examples/step_through_backprop.py --break-on softmax   # stop in softmax's backward

In a terminal debugger (pdb), --break-on stops at the first line of that op's backward.
Try:
    p grad.shape        the gradient arriving at the softmax output, (B, heads, T, T)
    n                   run the next line;   p y.shape   the saved softmax output
    c                   continue to the end of the run

In an IDE (VS Code, PyCharm): open attention/softmax.py, put a breakpoint on the first line
of Softmax.backward, and run this file under the debugger. Every local is a plain NumPy
array: ctx.saved_arrays holds what forward kept, grad is the incoming gradient.
"""

import argparse
import os

import numpy as np

import minigrad as mg
from attention import AttentionModel, cross_entropy
from minigrad import viz


def build(seed=0):
    """A tiny model and batch: 2 sentences of 5 tokens, width 8, 2 heads."""
    mg.manual_seed(seed)
    model = AttentionModel(vocab_size=10, n_classes=3, d_model=8, n_heads=2, max_len=5,
                           positional="learned")
    ids = np.random.default_rng(seed).integers(0, 10, size=(2, 5))
    return model, ids, ids % 3


def main(argv=None):
    parser = argparse.ArgumentParser(description="Step through backprop.")
    parser.add_argument("--break-on", help="an op to stop in with pdb (e.g. softmax, matmul)")
    parser.add_argument("--out", default="runs/step_through", help="folder for the pictures")
    args = parser.parse_args(argv)

    model, ids, targets = build()
    with mg.record_sources():  # so each step can say which line created its op
        loss = cross_entropy(model(ids), targets)

    if args.break_on:
        with mg.break_on(args.break_on):
            loss.backward()
        print(f"backward finished; loss {loss.item():.4f}")
        return

    with mg.trace_backward() as trace:
        loss.backward()
    print(trace)
    os.makedirs(args.out, exist_ok=True)
    viz.render(viz.draw(loss, modules="cluster"), os.path.join(args.out, "graph.svg"))
    # The same graph with each module folded into one box: readable at a glance.
    viz.render(viz.draw(loss, modules="collapse", depth=4),
               os.path.join(args.out, "graph_folded.svg"))
    trace.to_html(os.path.join(args.out, "backprop.html"))
    print(f"\n{len(trace)} backward steps; wrote {args.out}/graph.svg, graph_folded.svg "
          f"and backprop.html (open it in a browser; arrow keys step)")


if __name__ == "__main__":
    main()
