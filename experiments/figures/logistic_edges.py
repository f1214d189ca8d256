"""The figure of `experiments.logistic_edges`: the measured edge against the class separation, beside 2/L at a* and
at a = 0."""

import matplotlib.pyplot as plt
import matplotlib.ticker


def edges_figure(found, l2):
    """The edges measured next to a* and from a = 0 against the separation, beside 2/L at both (penalty `l2`)."""
    fig, ax = plt.subplots(figsize=(8, 5.2))
    separation = found["separation"]
    ax.semilogy(separation, found["edge_optimum"], "-", color="C0", lw=2, label="2/L at a* (the local edge)")
    ax.semilogy(separation, found["edge_start"], "--", color="C3", lw=2,
                label="2/L at a = 0 (the largest curvature: stable from anywhere below it)")
    ax.semilogy(separation, found["at_optimum"], "o", color="C0", mec="k", ms=13, label="measured next to a*")
    ax.semilogy(separation, found["from_zero"], "s", color="C1", mec="k", ms=6, label="measured from a = 0")
    ax.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_yticks([2, 3, 5, 10, 20, 30])
    ax.set_xlabel("class separation (distance between the class means; unit within-class covariance)")
    ax.set_ylabel("learning rate (gradient descent, log scale)")
    ax.set_title(f"Logistic regression, 2 features, l2 = {l2:g}: the edge is 2/L at a*,\n"
                 "measured next to a* and from a = 0, where the curvature is largest", fontsize=11)
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    return fig
