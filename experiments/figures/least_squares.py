"""The figure of `experiments.least_squares`: gradient descent's suboptimality at four steps beside its prediction, and
the coefficients."""

import matplotlib.pyplot as plt
import numpy as np


def figure(result, summary, best):
    """Suboptimality against iteration, measured and predicted (each run labelled as in the lesson's `summary`);
    the closed form beside the GD solution of run `best`."""
    traces, predicted = result["traces"], result["predicted"]
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.6), gridspec_kw=dict(width_ratios=(1.6, 1)))
    t = np.arange(traces.gap.shape[1])
    for i, run in enumerate(summary["runs"]):
        gap = np.asarray(traces.gap[i])
        stop = int(traces.diverged_at[i]) if traces.diverged[i] else len(t)
        line, = ax.semilogy(t[:stop], np.where(gap[:stop] > 0, gap[:stop], np.nan), lw=2.5, alpha=0.75,
                            label=run["label"])
        ax.semilogy(t, predicted[i], "--", color="k", lw=0.9)
        if traces.diverged[i]:
            ax.plot(stop - 1, gap[stop - 1], "x", color=line.get_color(), ms=10, mew=2)
    ax.plot([], [], "--", color="k", lw=0.9, label="predicted from the Hessian's spectrum")
    ax.plot([], [], "x", color="grey", ms=8, mew=2, label="divergence detected (run frozen)")
    floor = float(np.finfo(traces.gap.dtype).eps * abs(result["optimum"].value))
    ax.axhline(floor, color="grey", ls=":", lw=1.2, label="rounding floor ε·|f*| of f(a) − f*")
    ax.set_ylim(floor / 10, 1e5)
    ax.set_xlabel("iteration t")
    ax.set_ylabel("suboptimality f(a_t) − f*")
    ax.set_title(f"Gradient descent on least squares (N={summary['N']}, D={summary['D']}, "
                 f"κ={float(result['kappa']):.0f})")
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(True, which="major", alpha=0.3)

    closed, final = np.asarray(result["optimum"].params), np.asarray(traces.params[best])
    index = np.arange(len(closed))
    bx.plot(index, closed, "o", ms=9, mfc="none", mew=1.5, label="closed form a* (QR)")
    bx.plot(index, final, "+", ms=9, mew=1.5, label=f"GD at the best learning rate, t = {len(t) - 1}")
    bx.set_xticks(index, ["b"] + [f"a{j}" for j in range(1, len(closed))])
    bx.set_xlabel("coefficient (b is the intercept)")
    bx.set_ylabel("value")
    bx.set_title(f"Coefficients: max |a_GD − a*| = {np.max(np.abs(final - closed)):.1e}")
    bx.legend(fontsize=8)
    bx.grid(True, alpha=0.3)
    fig.tight_layout()
    return fig
