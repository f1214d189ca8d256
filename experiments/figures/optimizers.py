"""The figures of `experiments.optimizers`: momentum's stability maps, and iterations against the condition number."""

import matplotlib.pyplot as plt
import matplotlib.colors as mcolors
import numpy as np

from lab import spectrum


def map_figure(maps, kappa, num_steps):
    """One panel per optimizer of `maps` {name: (grid, edges)}: final/initial suboptimality after `num_steps` over
    learning rate x beta at condition number `kappa`, the measured edges on the theory's."""
    fig, axes = plt.subplots(1, len(maps), figsize=(12.8, 5.2), sharey=True, layout="constrained")
    for ax, (name, (grid, edges)) in zip(axes, maps.items()):
        c, beta = grid.axes["learning_rate_over_edge"], grid.axes["momentum"]
        ratio = (grid["final_gap"] / grid["initial_gap"])[:, :, 0]
        diverged = grid["diverged"][:, :, 0]
        floor = np.finfo(ratio.dtype).eps  # below this, f - f* is rounding noise
        shown = np.ma.masked_where(diverged, np.log10(np.maximum(ratio, floor)))
        mesh = ax.pcolormesh(c, beta, shown.T, shading="nearest", cmap="viridis", vmin=np.log10(floor), vmax=2)
        ax.pcolormesh(c, beta, np.ma.masked_where(~diverged, diverged).T, shading="nearest",
                      cmap=mcolors.ListedColormap(["#d62728"]))
        line = np.linspace(0, beta[-1], 100)
        edge = spectrum.heavy_ball_threshold if name == "heavy ball" else spectrum.nesterov_threshold
        formula = "2(1+β)/L" if name == "heavy ball" else "2(1+β)/((1+2β)L)"
        ax.plot(np.asarray(edge(1.0, line) / spectrum.stability_threshold(1.0)), line, "w--", lw=2,
                label=f"theory: edge = {formula}")
        ax.plot(edges["edge"][:, 0], edges.axes["momentum"], "wo", mec="k", ms=8, label="measured edge (bisection)")
        if name == "heavy ball":
            learning_rate, b, _ = spectrum.heavy_ball_optimal(np.float64(1.0), 1.0 / np.float64(kappa))
            ax.plot(float(learning_rate) / 2, float(b), "*", color="orange", mec="k", ms=16,
                    label="Polyak's optimum (learning rate, β)")
        ax.fill_between([], [], color="#d62728", label="diverged (run frozen)")
        ax.set_xscale("log")
        ax.set_xlim(c[0], c[-1])
        ax.set_ylim(beta[0], beta[-1])
        ax.set_xlabel("learning rate / (2/L)")
        ax.set_title(f"{'Heavy-ball' if name == 'heavy ball' else name} momentum, κ = {kappa:g}")
        ax.legend(loc="upper left", fontsize=8, framealpha=0.9)
    axes[0].set_ylabel("momentum β")
    fig.colorbar(mesh, ax=axes, label=f"log₁₀ of final / initial suboptimality after {num_steps} steps\n"
                                      "(floored at machine ε)")
    fig.suptitle("Least squares: where momentum converges, and its stability edge")
    return fig


def iterations_figure(kappas, fewest, theory, numbers):
    """fewest: {method: (kappa, seed)} iteration counts; the median line (with its fitted slope, from the lesson's
    `numbers`), the band from fewest to most over seeds."""
    fig, ax = plt.subplots(figsize=(8, 5.5))
    for (name, by_seed), marker in zip(fewest.items(), "osd^"):
        middle = np.asarray(numbers["fewest_iterations"][name])
        keep = middle > 0
        same = np.all(by_seed == by_seed[:, :1])
        line, = ax.loglog(kappas[keep], middle[keep], marker + "-",
                          label=f"{name} (slope {numbers['slopes'][name]:.2f}"
                                f"{'; the same on every draw' if same else ''})")
        reached = np.where(by_seed > 0, by_seed, np.nan)
        ax.fill_between(kappas, np.nanmin(reached, axis=1), np.nanmax(reached, axis=1), color=line.get_color(),
                        alpha=0.2)
    ax.fill_between([], [], color="grey", alpha=0.3,
                    label=f"lines: median of {next(iter(fewest.values())).shape[1]} problems per κ; "
                          "bands: fewest to most")
    ax.loglog(kappas, np.maximum(theory[0], 1), "k--", lw=1, label="worst-case bound: GD at 2/(L+μ)")
    ax.loglog(kappas, np.maximum(theory[1], 1), "k:", lw=1.5, label="from the rate: heavy ball at its optimum")
    ax.set_xlabel("condition number κ")
    ax.set_ylabel(f"iterations to f − f* ≤ {numbers['tolerance']:g}·(f₀ − f*)")
    ax.set_title("Fewest iterations over each method's hyper-parameter grid")
    ax.legend(fontsize=8)
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    return fig
