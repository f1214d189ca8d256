"""The figure of `experiments.optimizers_schedules`: final suboptimality against the initial learning rate, for each
optax schedule."""

import matplotlib.pyplot as plt
import numpy as np

from lab import runs


def schedules_figure(grid, kappa, num_steps):
    """Final / initial suboptimality after `num_steps` against the initial step, one curve per schedule (the grid's
    first axis, named as in `runs.SCHEDULES`), diverged runs marked; condition number `kappa`."""
    fig, ax = plt.subplots(figsize=(8, 5.5))
    c = grid.axes["learning_rate_over_edge"]
    for i, (name, style) in enumerate(zip(runs.SCHEDULES, ("o-", "s--", "^-.", "d:"))):
        ratio = (grid["final_gap"] / grid["initial_gap"])[i, :, 0]
        diverged = grid["diverged"][i, :, 0]
        line, = ax.semilogy(c[~diverged], np.maximum(ratio[~diverged], np.finfo(ratio.dtype).eps), style, ms=5,
                            label=f"{name} (last stable learning rate {c[~diverged].max():.2f}·2/L)")
        ax.plot(c[diverged], np.full(diverged.sum(), 4.0**(i + 1)), "x", color=line.get_color(), ms=8, mew=2)
    ax.axvline(1.0, color="k", ls="--", lw=1, label="2/L: the edge for a constant learning rate")
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.plot([], [], "kx", ms=8, mew=2, label="diverged: one row per schedule, above 1")
    ax.set_xlim(0, c[-1] * 1.03)  # linear: the steps near the edge, where the schedules differ, get the width
    ax.set_xlabel("initial learning rate / (2/L)")
    ax.set_ylabel(f"final / initial suboptimality after {num_steps} steps (floored at ε)")
    ax.set_title(f"Gradient descent with optax learning-rate schedules, κ = {kappa:g}")
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    return fig
