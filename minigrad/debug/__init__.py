"""The tools for seeing and debugging backprop. They attach to the engine through one seam
(minigrad/hooks.py), so the engine itself stays the chain rule and nothing else.

    viz.py          Graphviz drawings of the graph: names, shapes, gradients, modules
    trace.py        step through backward: a table, one frame per node
    page.py         the step-through page: an HTML player of a trace
    anomaly.py      stop at the first NaN or inf, naming the op and your line
    sources.py      record the line of your code that created each op
    breakpoints.py  with break_on("softmax"): loss.backward() stops in pdb in that op
    explain.py      one node's backward explained: its Jacobian, and J^T . grad
    nodecheck.py    check every node's backward against its own forward

(Which Module ran each op is no tool: the seam keeps the running module and each op notes
it, see hooks.enter_module.)
"""

from minigrad.debug.anomaly import AnomalyError, detect_anomaly
from minigrad.debug.breakpoints import break_on
from minigrad.debug.explain import explain
from minigrad.debug.nodecheck import check_function, check_graph
from minigrad.debug.sources import record_sources
from minigrad.debug.trace import trace_backward

__all__ = ["AnomalyError", "break_on", "detect_anomaly", "explain", "record_sources", "check_graph",
           "check_function", "trace_backward"]
