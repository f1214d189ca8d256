"""The figure of `experiments.logistic`: one feature, two features, convergence against Newton's reference,
convexity."""

import matplotlib.pyplot as plt
import numpy as np

from experiments import first_below, quantiles, rounding_floor


def above_rounding(gap):
    """f(a_t) − f* until it first falls to the rounding floor, NaN from there (scattered marks on a log axis)."""
    gap = np.asarray(gap, float)
    below = first_below(gap, rounding_floor(gap))
    return np.where((np.arange(len(gap)) <= (len(gap) if below is None else below)) & (gap > 0), gap, np.nan)


def figure(one, two, real_gap, real_newton, l2):
    """One feature (least squares against logistic), two features (fit at penalty `l2`, gradient descent's gaps
    over data sets beside Newton's), and the criterion along random lines through a*."""
    fig, axes = plt.subplots(2, 2, figsize=(13, 9.5))
    (ax1, ax2), (ax3, ax4) = axes
    grid = np.linspace(-4, 10, 300)
    ax1.plot(one["x"], one["y"], "k|", ms=14, mew=1.5, label="data (label 0 or 1)")
    ls, lg = one["least_squares"], one["logistic"]
    ax1.plot(grid, one["line"][0] + one["line"][1] * grid, lw=2,
             label=f"least squares: {ls['errors']} errors, log-lik. {ls['log_likelihood']:.0f} (clipped)")
    ax1.plot(grid, 1 / (1 + np.exp(-(one["logit"][0] + one["logit"][1] * grid))), lw=2,
             label=f"logistic σ(b + ax): {lg['errors']} errors, log-lik. {lg['log_likelihood']:.1f}")
    ax1.axhline(0.5, color="grey", ls=":", lw=1, label="decision threshold 0.5")
    ax1.set_ylim(-0.4, 1.4)
    ax1.set_xlabel("feature x")
    ax1.set_ylabel("label y, or predicted P(y = 1)")
    ax1.set_title("One feature: easy points on the right drag the line")
    ax1.legend(fontsize=8, loc="upper left")

    X, y, a = two["X"], two["y"], two["a"]
    u, v = np.meshgrid(np.linspace(X[:, 0].min() - 1, X[:, 0].max() + 1, 200),
                       np.linspace(X[:, 1].min() - 1, X[:, 1].max() + 1, 200))
    p = 1 / (1 + np.exp(-(a[0] + a[1] * u + a[2] * v)))
    mesh = ax2.contourf(u, v, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.5)
    ax2.contour(u, v, p, levels=[0.5], colors="k", linewidths=2)
    ax2.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu_r", edgecolors="k", s=18)
    fig.colorbar(mesh, ax=ax2, label="predicted P(y = 1)")
    ax2.plot([], [], "k-", lw=2, label="decision boundary P = 0.5")
    ax2.set_xlabel("x₁")
    ax2.set_ylabel("x₂")
    ax2.set_title(f"Two features: logistic fit (Newton, l2 = {l2:g})")
    ax2.legend(fontsize=8, loc="upper left")

    g = two["grid"]
    for i, c in enumerate(g.axes["learning_rate_over_edge"]):
        gaps = np.array([above_rounding(gap) for gap in g["gap"][i].reshape(-1, g["gap"].shape[-1])])
        t = 1 + np.arange(gaps.shape[1])
        low, middle, high = quantiles(gaps, (10, 50, 90))
        above = np.sum(~np.isnan(gaps), axis=0)  # once half the data sets are at the floor, so is the median
        line, = ax3.loglog(t, np.where(2 * above > len(gaps), middle, np.nan), lw=2,
                           label=f"2 features, learning rate {c:g}·2/L(a=0): "
                                 f"median {np.median(g['iterations'][i]):.0f} it. to 1e-6")
        ax3.fill_between(t, low, high, color=line.get_color(), alpha=0.2)
    ax3.fill_between([], [], color="grey", alpha=0.3,
                     label=f"2 features: median of {g.shape[1]} data sets, band 10–90 %")
    ax3.loglog(1 + np.arange(len(real_gap)), above_rounding(real_gap), "k", lw=1.5,
               label="breast cancer (30 features), learning rate 2/(L(0)+μ*)")
    for newton, colour, name in ((two["newton"], "C4", "2 features"), (real_newton, "k", "breast cancer")):
        ax3.loglog(1 + np.arange(len(newton)), above_rounding(newton), "o--", color=colour, ms=4, lw=1,
                   label=f"Newton's iterates, {name}: quadratic convergence")
    ax3.plot([], [], " ", label="each curve drawn until f − f* first meets rounding, 10ε(1 + f(a₀) − f*)")
    ax3.set_xlabel("iteration t + 1 (log scale)")
    ax3.set_ylabel("f(a_t) − f*  (f* by Newton)")
    ax3.set_title("Gradient descent converges to the Newton reference;\nNewton takes a handful of steps")
    ax3.set_ylim(1e-26, 5)  # room below the curves' ends for the legend
    ax3.legend(fontsize=8, loc="lower left")
    ax3.grid(True, which="major", alpha=0.3)

    for k, (curve, h) in enumerate(zip(two["along"], two["curvature"])):
        ax4.plot(two["s"], curve, lw=2, label=f"random direction {k + 1}: vᵀHv = {h:.3f} > 0")
    ax4.axvline(0, color="grey", ls=":", lw=1)
    ax4.set_xlabel("s  (a = a* + s·v, ‖v‖ = 1)")
    ax4.set_ylabel("mean negative log-likelihood + l2‖a‖²")
    ax4.set_title("Convex: along any line through a*, a bowl with its bottom at s = 0")
    ax4.legend(fontsize=8)
    ax4.grid(True, alpha=0.3)
    fig.tight_layout()
    return fig
