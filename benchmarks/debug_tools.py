"""What the debugging tools cost: drawing a big graph, recording a step-through, the
per-node gradient check.

  draw 2,000 nodes      build the DOT source of a graph of 2,000 nodes (1,000 ops): the
                        time a learner waits before Graphviz even starts (target < 0.5 s)
  step-through          the toy model's backward with and without mg.trace_backward()
                        recording, and the extra cost of drawing every frame
  per-node check        mg.check_graph on the toy model, next to one plain backward

Run:  python benchmarks/debug_tools.py [--repeat 5]
"""

import argparse
import time

import numpy as np

import minigrad as mg
from attention import AttentionModel, cross_entropy
from minigrad import viz


def best_of(repeat, fn):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def chain_of(n_ops):
    x = mg.ones(4, 4, requires_grad=True, name="x")
    for i in range(n_ops):
        x = x * 1.0001 if i % 2 else x + 0.5
    return x


def toy_loss():
    mg.manual_seed(0)
    model = AttentionModel(16, 16, d_model=32, n_heads=2, positional="learned", max_len=8,
                           layer_norm=True, ffn_hidden=64)
    ids = np.random.default_rng(0).integers(0, 16, (32, 8))
    return cross_entropy(model(ids), ids)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rows = []

    root = chain_of(1000)  # 1,000 op nodes + 1,001 tensor nodes
    root.backward(np.ones(root.shape, dtype=np.float32))
    draw_time = best_of(args.repeat, lambda: viz.draw(root, max_nodes=5000).source)
    rows.append(("draw: DOT source of 2,001 nodes", draw_time, "target < 0.5 s"))

    def timed_backward(record):
        """Best time of backward alone (a fresh forward, untimed, before each)."""
        times = []
        for _ in range(args.repeat):
            loss = toy_loss()
            start = time.perf_counter()
            if record:
                with mg.trace_backward():
                    loss.backward()
            else:
                loss.backward()
            times.append(time.perf_counter() - start)
        return min(times)

    plain_time, traced_time = timed_backward(False), timed_backward(True)
    rows.append(("toy model backward", plain_time, ""))
    rows.append(("toy model backward, recorded", traced_time,
                 f"{traced_time / plain_time:.2f}x plain backward"))

    loss = toy_loss()
    with mg.trace_backward() as trace:
        loss.backward()
    frames_time = best_of(1, lambda: [g.source for g in trace.frames()])
    rows.append((f"draw all {len(trace) + 1} step-through frames (DOT)", frames_time, ""))

    loss = toy_loss()
    check_time = best_of(args.repeat, lambda: mg.check_graph(loss))
    report = mg.check_graph(loss)
    rows.append((f"per-node check of {report.checked} nodes", check_time,
                 f"{check_time / plain_time:.1f}x plain backward; ok={report.ok}"))

    width = max(len(r[0]) for r in rows)
    print(f"{'measurement'.ljust(width)}  {'seconds':>9}  note")
    for name, seconds, note in rows:
        print(f"{name.ljust(width)}  {seconds:9.4f}  {note}")


if __name__ == "__main__":
    main()
