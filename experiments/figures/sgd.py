"""The figure of `experiments.sgd`: the mean-square edge against batch size, and ensembles below and above it."""

import matplotlib.pyplot as plt
import numpy as np

from lab import plots


def figure(every, exact, two_over_L, b90, ensembles, shown, seeds, batches, median, band):
    """Left: exact edges against B beside 2/L and the measured median run's edge; middle and right: the ensembles
    of the batch sizes `shown` at 0.5 and 1.1 eta_c(B), beside rho(T_B)^t."""
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(13.2, 4.6), width_ratios=(1.25, 1, 1))
    for mode, style in (("with_replacement", "-"), ("without_replacement", "--")):
        left.loglog(every, exact[mode], style, color="k", lw=1.8, label=f"exact ηc(B), {mode.replace('_', ' ')}")
    left.axhline(two_over_L, color=plots.EDGE_COLOUR, lw=2, label="2/L (full-batch gradient descent)")
    left.axvline(b90, color="grey", ls=":", lw=1.5, label=f"B = {b90}: ηc reaches 90 % of 2/L")
    left.errorbar(batches, median, yerr=[median - band[0], band[1] - median], fmt="o", color="C1", mec="k",
                  capsize=3, label="measured edge of the median run\n(bar: 10–90 % of the seeds' edges)")
    left.set_xlabel("batch size B (rows per step)")
    left.set_ylabel("learning rate")
    left.set_title("Mean-square edge ηc(B) against batch size", fontsize=11)
    left.legend(fontsize=8, loc="lower right")
    left.grid(True, which="both", alpha=0.3)
    drawn = {b: found for b, found in ensembles.items() if b in shown}
    colours = dict(zip(drawn, ("C0", "C2", "C3", "C4", "C5", "C6")))
    for ax, k in ((middle, 0), (right, 1)):
        for b, found in drawn.items():
            t = np.arange(found["mean"].shape[1])
            ax.semilogy(t, found["mean"][k], color=colours[b], lw=2, label=f"B = {b}: mean")
            ax.semilogy(t, found["rho"][k] ** t, ":", color="k", lw=1.2)
            if k == 1:
                ax.semilogy(t, found["median"][k], "--", color=colours[b], lw=1.2)
        ax.plot([], [], ":", color="k", label="exact: ρ(T_B)ᵗ")
        ax.set_xlabel("iteration t")
        ax.grid(True, alpha=0.3)
    right.plot([], [], "--", color="grey", label="median run")
    middle.set_ylabel(f"‖a_t − a*‖² / E‖a_0 − a*‖², {seeds} runs (log scale)")
    middle.set_title("At 0.5·ηc(B): the mean contracts by ρ", fontsize=11)
    right.set_title("At 1.1·ηc(B): the mean grows; for small B\nthe median run still converges", fontsize=11)
    right.set_ylabel(f"‖a_t − a*‖² / E‖a_0 − a*‖², {seeds} runs (log scale)")
    middle.legend(fontsize=8, loc="lower left")
    right.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig
