"""The figure of `experiments.your_criterion`: Huber regression's stability map, and each resample's edge against its
own 2/L."""

import matplotlib.pyplot as plt
import numpy as np

from lab import plots


def figure(grid, edges):
    """The sweep's stability map (learning rate x seed) with the measured edges, and each sample's edge against its
    2/L."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.4), width_ratios=(1.6, 1))
    plots.stability_map(grid, left, edges=edges)
    two_over_L, edge = np.asarray(edges["gd_edge_learning_rate"]), np.asarray(edges["edge_learning_rate"])
    seeds = np.asarray(edges.axes["seed"])
    right.plot(two_over_L[seeds > 0], edge[seeds > 0], "o", mfc="white", mec="k", label="bootstrap resamples")
    right.plot(two_over_L[seeds == 0], edge[seeds == 0], "*", ms=14, mfc="C1", mec="k", label="the data")
    span = np.array([two_over_L.min(), two_over_L.max()]) * [0.95, 1.05]
    right.plot(span, span, "-", color=plots.EDGE_COLOUR, lw=2, label="theory: edge = 2/L at a*")
    right.set_xlabel("2/L of each sample's Hessian at its optimum")
    right.set_ylabel("measured edge (bisection, absolute learning rate)")
    right.set_title("Each sample's edge sits on its own 2/L", fontsize=11)
    right.legend(fontsize=9, loc="upper left")
    right.grid(True, alpha=0.3)
    fig.tight_layout()
    return fig
