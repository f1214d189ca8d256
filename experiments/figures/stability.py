"""The figure of `experiments.stability` beyond the library's stability map and iterations plot: convergence near the
edge."""

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np

from lab import plots


def convergence_figure(result, kappa, learning_rates_over_edge):
    """Measured gaps with exact predictions at condition number `kappa` and `learning_rates_over_edge`
    (fractions of 2/L); the top-eigenvector component flipping sign near the edge."""
    fig = plt.figure(figsize=(13, 5.2), layout="constrained")
    ax, bx = fig.subplots(1, 2, width_ratios=(1.6, 1))
    first_seed = result["grid"].axes["seed"][0]  # the problem the exact predictions are computed for
    select = [{"learning_rate_over_edge": c, "kappa": kappa, "seed": first_seed} for c in learning_rates_over_edge]
    words = {0.5: "well below the edge: slow", 0.95: "just below: converges", 1.0: "at the edge: no progress",
             1.05: "above: explodes"}
    labels = [f"learning rate {c:g}·2/L ({words.get(c, '')})" for c in learning_rates_over_edge]
    floor = float(np.finfo(result["grid"]["gap"].dtype).eps * abs(result["optimal_value"]))
    plots.convergence_curves(result["grid"], ax, select=select, predicted=result["predicted"], labels=labels,
                             floor=floor)
    t = np.arange(result["top_component"].shape[1])
    for n, c in enumerate(learning_rates_over_edge):
        if c < 0.9:  # the panel is about the edge; c = 0.5 kills the top mode in one step
            continue
        bx.plot(t, result["top_component"][n], "o-", color=f"C{n}", ms=4, lw=1, label=f"learning rate {c:g}·2/L")
        envelope = abs(result["top_component"][n][0]) * np.abs(1 - 2 * c) ** t
        bx.plot(t, np.stack([envelope, -envelope], axis=1), "--", color=f"C{n}", lw=0.9)
    bx.plot([], [], "--", color="grey", lw=0.9,
            label="predicted ±|v_Lᵀ(a_0 − a*)|·|1 − ηL|^t, η the learning rate")
    bx.axhline(0, color="k", lw=0.6)
    bx.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    bx.set(xlabel="iteration t", ylabel="v_Lᵀ(a_t − a*)  (top eigenvector of the Hessian)",
           title=f"Near the edge the top mode flips sign every step\n(κ = {kappa:g}, measured gradient descent)")
    bx.legend(fontsize=8, loc="lower left")
    bx.grid(True, alpha=0.3)
    return fig
