"""The figure of `experiments.curvature`: learning rate x sharpness along gradient descent on logistic regression, and
the gaps."""

import matplotlib.pyplot as plt
import numpy as np

from experiments import quantiles


def figure(out, learning_rates_over_edge, every, problem):
    """Step x sharpness (measured every `every` iterations) against 2 (stable below), and the gaps: medians over the
    data sets, 10-90 % bands; one curve per value of `learning_rates_over_edge`, on the `problem` named in the title."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(12.5, 4.8))
    t = np.arange(out["sharpness"].shape[2]) * every
    learning_rate_times_sharpness = out["learning_rate"][:, :, None] * out["sharpness"]
    for i, c in enumerate(learning_rates_over_edge):
        label = f"learning rate {c:g}·2/L_start"
        low, middle, high = quantiles(learning_rate_times_sharpness[i], (10, 50, 90))
        line, = left.plot(t, middle, lw=2, label=label)
        left.fill_between(t, low, high, color=line.get_color(), alpha=0.25, lw=0)
        gap = out["gap"][i]
        floor = 10 * np.finfo(gap.dtype).eps * (1 + np.abs(gap[:, :1]))  # below it f - f* is rounding noise
        low, middle, high = quantiles(np.maximum(gap, floor), (10, 50, 90))
        iterations = np.arange(gap.shape[1])
        right.plot(iterations, middle, color=line.get_color(), lw=2, label=label)
        right.fill_between(iterations, low, high, color=line.get_color(), alpha=0.25, lw=0)
    left.axhline(2, color="k", lw=1.5, label="2: locally stable below")
    ratio = np.median(out["L_start"][0] / out["L"][0])
    left.set_ylim(0, 2 * learning_rates_over_edge.max() * 1.1)
    left.set_ylabel("learning rate × sharpness (top Hessian eigenvalue at a_t)")
    left.set_title(f"Sharpness along GD: starts at 2c, settles at 2c / {ratio:.2f} (median L_start / L*)",
                   fontsize=10)
    right.set_yscale("log")
    right.set_ylabel("f(a_t) − f*  (Newton reference; rounding floor\n10 ε (1 + f(a_0) − f*) drawn as the floor)")
    right.set_title("Suboptimality: converges iff learning rate × sharpness ends below 2", fontsize=10)
    for ax in (left, right):
        ax.set_xscale("symlog", linthresh=10, linscale=0.6)  # the first iterations' transient, then the long run
        ax.set_xlim(0, t[-1])
        ax.set_xlabel("iteration t (linear to 10, log beyond)")
        ax.grid(True, which="major", alpha=0.3)
    handles, labels = left.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=5, fontsize=9, frameon=False, bbox_to_anchor=(0.5, -0.02))
    seeds = out["L"].shape[1]
    fig.suptitle(f"{problem}: median of {seeds} data sets, 10–90 % band",
                 fontsize=11)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig
