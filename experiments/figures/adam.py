"""The figure of `experiments.adam`: frozen-preconditioner Adam's measured edge against the formula, and the bias
correction's transient."""

import matplotlib.pyplot as plt
import numpy as np

from lab import plots


def figure(betas, formula, edges, curves, transient):
    """Left: the measured edges (without and with bias correction) against the `formula`'s over beta_1; right: the
    gaps of the `transient` (b1, learning rate as a fraction of the formula's edge) run."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4))
    left.semilogy(betas, formula, "-", color=plots.EDGE_COLOUR, lw=2.5,
                  label="formula (2+2β₁)/((1−β₁)·λmax(P⁻¹H))")
    left.semilogy(betas, edges[False], "o", mfc="white", mec="k", ms=8, label="measured, no bias correction")
    left.semilogy(betas, edges[True], "s", color="C3", ms=6, label="measured, with bias correction (optax's Adam)")
    left.set_xlabel("β₁")
    left.set_ylabel("edge: largest stable learning rate")
    left.set_title("Frozen-preconditioner Adam: measured edge against the formula", fontsize=11)
    left.legend(fontsize=8)
    left.grid(True, which="both", alpha=0.3)
    b1, fraction = transient
    for debias, style in ((False, "-"), (True, "-")):
        gap = curves[debias]
        right.semilogy(np.arange(gap.size), gap / gap[0], style, lw=2, color="C3" if debias else "k",
                       label="with bias correction" if debias else "no bias correction")
    right.axhline(1e4, color="grey", ls="--", lw=1, label="divergence rule: 10⁴ × initial gap")
    right.set_xlabel("iteration t")
    right.set_ylabel("(f(a_t) − f*) / (f(a_0) − f*)")
    right.set_title(f"β₁ = {b1:g}, learning rate {fraction:g} × the formula's edge", fontsize=11)
    right.legend(fontsize=8)
    right.grid(True, alpha=0.3)
    fig.tight_layout()
    return fig
