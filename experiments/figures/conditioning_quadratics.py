"""The figure of `experiments.conditioning_quadratics`: trajectories on the contour lines, and the gaps beside their
prediction."""

import matplotlib.pyplot as plt
import numpy as np

from experiments import first_below, plural
from lab import spectrum


def run_label(learning_rate, best):
    """A run's legend: its learning rate, and whether it is the best one or the course's."""
    return f"learning rate {learning_rate:.3g}" + (" = 2/(L+μ), the best" if best else " (the course's)")


def figure(q, summary, settings):
    """Contour lines with the four trajectories; f(a_t) - f* measured and predicted. settings: (quadratic, at the best
    step) of each run; the tolerance, learning rates and start come from the lesson's `summary`."""
    tolerance, course_learning_rate, start = summary["tolerance"], summary["course_learning_rate"], tuple(
        summary["start"])
    path_num_steps = len(q["gaps"][0]) - 1
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.8), gridspec_kw=dict(width_ratios=(1, 1, 1.15)))
    grid = np.meshgrid(np.linspace(-4.6, 1.6, 300), np.linspace(-2.6, 2.6, 300))
    levels = np.geomspace(0.02, 40, 12)
    for k, (h, ax) in enumerate(zip((summary["isotropic"], summary["anisotropic"]), axes[:2])):
        f = 0.5 * (h[0] * grid[0] ** 2 + h[1] * grid[1] ** 2)
        ax.contour(*grid, f, levels=levels, colors="grey", linewidths=0.7)
        for i, (problem, best) in enumerate(settings):
            if problem != k:
                continue
            path, iterations = np.asarray(q["paths"][i]), first_below(q["gaps"][i], tolerance * float(q["gaps"][i][0]))
            style = dict(color="tab:orange", ls="-", lw=4, alpha=0.55, marker="o", ms=9, mfc="none",
                         zorder=2) if best else \
                dict(color="tab:blue", ls="-", lw=1.2, marker=".", ms=6, zorder=3)
            ax.plot(path[:, 0], path[:, 1], **style,
                    label=f"{run_label(float(q['learning_rates'][i]), best)}: {plural(iterations, 'iteration')} "
                          f"to tolerance {tolerance:g}")
        if h[0] != h[1] and course_learning_rate * max(h) == 1:
            ax.annotate(f"learning rate {course_learning_rate:g} = 1/L: the steep\ncomponent a₂ is 0 after one step",
                        (start[0] * (1 - course_learning_rate * h[0]), 0),
                        xytext=(-4.45, -2.45), fontsize=8, color="tab:blue",
                        arrowprops=dict(arrowstyle="->", color="tab:blue"),
                        bbox=dict(facecolor="white", edgecolor="none", alpha=0.85))
        ax.plot(*start, "s", color="k", ms=7, label=f"start a₀ = {start}")
        ax.plot(0, 0, "*", color="tab:red", ms=14, label="minimum a* = 0")
        ax.set(aspect="equal", xlim=(-4.6, 1.6), ylim=(-2.6, 2.6), xlabel="a₁", ylabel="a₂")
        kind = "isotropic" if h[0] == h[1] else "anisotropic"
        ax.set_title(f"{kind}: H = diag({h[0]:g}, {h[1]:g}), κ = {float(q['kappas'][k]):g}, "
                     f"2/L = {float(spectrum.stability_threshold(q['specs'][k].L)):g}", fontsize=10)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=1)

    ax = axes[2]
    t = np.arange(path_num_steps + 1)
    styles = {(0, False): ("tab:blue", "-"), (0, True): ("tab:orange", "-"), (1, False): ("tab:blue", ":"),
              (1, True): ("tab:orange", ":")}
    for i, (problem, best) in enumerate(settings):
        gap = np.asarray(q["gaps"][i]) / float(q["gaps"][i][0])
        colour, style = styles[(problem, best)]
        kind = "isotropic" if problem == 0 else "anisotropic"
        ax.semilogy(t, np.where(gap > 0, gap, np.nan), style, color=colour, lw=2.5, alpha=0.8,
                    label=f"{kind}, {run_label(float(q['learning_rates'][i]), best)}")
        if gap[1] == 0:  # exactly at the minimum after one step: nothing to draw on a log scale
            ax.annotate("", (1, 1e-20), xytext=(1, 1e-2), arrowprops=dict(arrowstyle="->", color=colour, lw=2))
            ax.text(3, 1e-17, f"{kind}, best learning rate:\nf = f* exactly at t = 1", color=colour, fontsize=8)
        ax.semilogy(t, np.asarray(q["predicted"][i]) / float(q["predicted"][i][0]), "--", color="k", lw=0.8)
    ax.plot([], [], "--", color="k", lw=0.8, label="predicted from the Hessian's spectrum")
    ax.axhline(tolerance, color="grey", ls=":", lw=1.2, label=f"tolerance {tolerance:g}")
    ax.set(ylim=(1e-20, 3), xlim=(0, path_num_steps), xlabel="iteration t",
           ylabel="(f(a_t) − f*) / (f(a₀) − f*), log scale")
    ax.set_title("Measured (colour) and predicted (dashed)", fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=1)
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    return fig
