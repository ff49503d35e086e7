"""The training pictures: log-scale axes whose ticks read as plain numbers."""

import numpy as np
from matplotlib.figure import Figure

from attention.plots import plot_history, readable_log_scale


def _tick_labels(ax):
    ax.figure.canvas.draw()  # labels are made when the figure is drawn
    return [t.get_text() for t in ax.get_yticklabels() if t.get_text()]


def test_a_narrow_log_axis_is_labelled_with_plain_numbers():
    # A loss from 2.6 down to 1.3: less than a decade, where matplotlib alone would write
    # "2.6 x 10^0" in mathtext or label one tick only.
    ax = Figure().subplots()
    ax.plot(np.arange(50), np.geomspace(2.6, 1.3, 50))
    readable_log_scale(ax)
    labels = _tick_labels(ax)
    assert ax.get_yscale() == "log" and len(labels) >= 4, labels
    assert all(float(label) > 0 for label in labels), labels  # "1.3", "2.6": plain numbers


def test_a_wide_log_axis_keeps_powers_of_ten():
    ax = Figure().subplots()
    ax.plot(np.arange(50), np.geomspace(1, 1e-6, 50))
    readable_log_scale(ax)
    labels = _tick_labels(ax)
    assert ax.get_yscale() == "log" and any("10^{-3}" in label for label in labels), labels


def test_the_loss_curve_of_a_short_run_reads_plainly():
    history = dict(step=list(range(1, 101)), train_loss=list(np.geomspace(2.6, 1.3, 100)),
                   eval_step=[50, 100], eval_loss=[1.6, 1.35], eval_accuracy=[0.01, 0.04])
    fig = plot_history(history, title="sums")
    labels = _tick_labels(fig.axes[0])
    assert labels and all(float(label) > 0 for label in labels), labels
