"""The figure of `experiments.autodiff`: operations and time of reverse and forward mode against the dimension."""

import matplotlib.pyplot as plt
import numpy as np


def figure(dimensions, rows, timings, slopes, samples, timed_samples, repeats):
    """Operations (XLA's count) of f, grad and jacfwd of least squares on `samples` rows, and time on `timed_samples`
    (best of `repeats`), against the dimension; operations of a Jacobian R -> R^D. slopes: the fitted exponent of each
    row and of each timing."""
    d = np.asarray(dimensions, float)
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(13, 4.6))
    for name, label, style in (("f", "f(a) itself", "k.-"), ("grad", "reverse mode: grad", "o-"),
                               ("jacfwd", "forward mode: jacfwd", "s-")):
        y = np.asarray(rows[name])
        left.loglog(d, y, style, label=f"{label} (slope {slopes[name]:.2f})")
        timed_d, t = np.asarray(timings[name], float).T
        middle.loglog(timed_d, t * 1e3, style, label=f"{label} (slope {slopes['timed_' + name]:.2f})")
    left.set_title(f"∇ of least squares, N = {samples}: operations", fontsize=10)
    left.set_ylabel("floating-point operations (XLA count)")
    middle.set_title(f"… and time, N = {timed_samples} (best of {repeats}, CPU)", fontsize=10)
    middle.axhspan(middle.get_ylim()[0], 0.3, color="grey", alpha=0.1, label="≈ call overhead, not arithmetic")
    middle.set_ylabel("time per call (ms)")
    for name, label, style in (("g", "g(t) itself", "k.-"), ("g_jacrev", "reverse mode: jacrev", "o-"),
                               ("g_jacfwd", "forward mode: jacfwd", "s-")):
        y = np.asarray(rows[name])
        right.loglog(d, y, style, label=f"{label} (slope {slopes[name]:.2f})")
    right.set_title("Jacobian of t ↦ tanh(t·w + b) ∈ ℝᴰ", fontsize=10)
    right.set_ylabel("floating-point operations (XLA count)")
    for ax in (left, middle, right):
        ax.set_xlabel("dimension D")
        ax.legend(fontsize=7.5)
        ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    return fig
