"""The figure of `experiments.conditioning`: condition numbers, convergence and iterations, raw against standardised."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Patch

from experiments import first_below
from lab import spectrum

DATA_COLOURS = ("tab:blue", "tab:green", "tab:purple")


def describe(name, synthetic):
    """Tick label: the data set and how its features were drawn."""
    if name.startswith("synthetic"):
        kind = name.split(", ")[1]
        offset, scale, small = (synthetic[kind][k] for k in ("x1_offset", "x1_scale", "x2_scale"))
        return f"synthetic,\n{kind}\nx₁ ~ {offset:g} + {scale:g}·N\nx₂ ~ {small:g}·N"
    return f"{name}\n442 × 10,\noriginal units"


def identical_standardised(features, names):
    """{name: earlier name} for problems whose standardised features give the same run as an earlier problem's
    (features that differ only in offset and scale are the same once centred and scaled): equal gaps up to
    rounding, 10 eps f(a_0)."""
    gaps = {name: np.asarray(features[name]["traces"].gap[1]) for name in names}

    def equal(a, b):
        return a.shape == b.shape and np.allclose(a, b, rtol=1e-9, atol=10 * np.finfo(a.dtype).eps * abs(a[0]))

    return {name: earlier for j, name in enumerate(names) for earlier in names[:j] if equal(gaps[name], gaps[earlier])}


def features_figure(result, summary):
    """Condition numbers before and after; measured and predicted convergence; iterations against kappa."""
    features, tolerance = result["features"], summary["tolerance"]
    names = list(features)
    fig = plt.figure(figsize=(13, 10.5), layout="constrained")
    panels = fig.add_gridspec(2, 2, width_ratios=(0.85, 1.15))
    ax, bx, cx = fig.add_subplot(panels[0, 0]), fig.add_subplot(panels[0, 1]), fig.add_subplot(panels[1, 0])
    key = fig.add_subplot(panels[1, 1])  # the iterations panel's legend: its entries are sentences
    key.axis("off")
    width, dtype = 0.38, result["features"][names[0]]["traces"].gap.dtype
    for j, name in enumerate(names):
        kappas = [summary["features"][name][which]["condition_number"] for which in ("raw", "standardized")]
        for k, (kappa, hatch) in enumerate(zip(kappas, ("", "//"))):
            if kappa is None:  # beyond what the dtype resolves (float32): mu <= 0 or L/mu rounding
                ax.text(j + (k - 0.5) * width, 3, f"κ beyond\n{dtype}", ha="center", va="bottom", fontsize=8)
                continue
            x = j + (k - 0.5) * width
            ax.bar(x, kappa, width, color=DATA_COLOURS[j], alpha=0.85 if k == 0 else 0.4, hatch=hatch, edgecolor="k")
            top = kappa
            if name in summary["synthetic_draws"]:  # the spread over other draws of the same synthetic data
                spread = summary["synthetic_draws"][name][("raw", "standardized")[k]]
                ax.errorbar(x, kappa, yerr=[[kappa - spread["low"]], [spread["high"] - kappa]], fmt="none", ecolor="k",
                            capsize=4, lw=1.2)
                top = max(kappa, spread["high"])
            ax.text(x, top * 1.6, f"{kappa:.3g}", ha="center", fontsize=8)
    draws = next(iter(summary["synthetic_draws"].values()))["count"]
    ax.legend(handles=[Patch(facecolor="white", edgecolor="k", label="raw features"),
                       Patch(facecolor="white", edgecolor="k", hatch="//",
                             label="standardised (centred, unit variance)"),
                       ax.errorbar([], [], yerr=[], fmt="none", ecolor="k", capsize=4,
                                   label=f"synthetic: lowest to highest over {draws} draws (bar: the draw drawn)")],
              fontsize=8, loc="upper left")
    ax.set_yscale("log")
    ax.set_ylim(0.5, 1e15)  # room above the bars' labels for the legend
    ax.set_xticks(range(len(names)), [describe(name, summary["synthetic"]) for name in names], fontsize=8)
    ax.set_ylabel("condition number κ = L/μ of the Hessian, log scale")
    ax.set_title("Condition number before and after", fontsize=10)
    ax.grid(True, axis="y", which="major", alpha=0.3)

    num_steps = result["features"][names[0]]["traces"].gap.shape[1] - 1
    t = np.unique(np.geomspace(1, num_steps, 3000).astype(int))  # enough points for a log axis
    same = identical_standardised(features, names)
    for j, name in enumerate(names):
        traces, predicted = features[name]["traces"], np.asarray(features[name]["predicted"])
        for k, which in enumerate(("raw", "standardised")):
            if k == 1 and name in same:  # drawn, and named, with the earlier problem it equals
                continue
            if k == 1 and name in same.values():
                which = f"standardised = {', '.join(n for n, e in same.items() if e == name)}, standardised"
            gap = np.asarray(traces.gap[k]) / float(traces.gap[k][0])
            floor = 10 * np.finfo(gap.dtype).eps * (  # drawn until f - f* meets its rounding, 10 eps (1 + |f*|)
                1 + abs(float(features[name]["optimum"].value[k]))) / float(traces.gap[k][0])
            below = first_below(gap, floor)
            gap = np.where(np.arange(len(gap)) <= (below if below is not None else len(gap)), gap, np.nan)
            bx.loglog(t, np.where(gap[t] > 0, gap[t], np.nan), "-" if k == 0 else "-.", color=DATA_COLOURS[j],
                      lw=6 - 1.8 * j if k == 0 else 2, alpha=0.6 if k == 0 else 0.9, label=f"{name}, {which}")
            bx.loglog(t, predicted[k][t] / predicted[k][0], "--", color="k", lw=0.7)
            if below is not None:
                bx.plot(max(below, 1), gap[below], "|", color=DATA_COLOURS[j], ms=12, mew=2)
    bx.plot([], [], "--", color="k", lw=0.7, label="predicted from the Hessian's spectrum")
    stuck = [f"{name}: {summary['features'][name]['raw']['relative_gap_at_end']:.3g}" for name in names
             if summary["features"][name]["raw"]["measured_iterations"] is None]
    if stuck:
        bx.text(0.98, 0.88, f"raw, still at t = {num_steps:,}:\n" + "\n".join(stuck), transform=bx.transAxes,
                ha="right", va="top", fontsize=8, bbox=dict(facecolor="white", edgecolor="grey", alpha=0.9))
    bx.plot([], [], "|", color="grey", ms=10, mew=2, label="rounding floor 10ε(1+|f*|) reached: not drawn below")
    bx.axhline(tolerance, color="grey", ls=":", lw=1.2, label=f"tolerance {tolerance:g}")
    bx.set_ylim(1e-18, 3)
    bx.set_xlabel("iteration t, log scale")
    bx.set_ylabel("(f(a_t) − f*) / (f(a₀) − f*), log scale")
    bx.set_title(f"Gradient descent at each problem's learning rate 2/(L+μ), {num_steps:,} iterations", fontsize=10)
    bx.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)
    bx.grid(True, which="major", alpha=0.3)

    kappa_grid = np.geomspace(1.0001, 1e11, 200)
    rate = spectrum.optimal_rate(np.asarray(kappa_grid, dtype))
    bound = spectrum.predicted_iterations(rate, 1.0, tolerance)
    # In float32, (kappa - 1)/(kappa + 1) is no longer resolved beyond kappa ~ 1e7: no theory drawn there.
    bound = np.where(np.asarray(rate) < 1 - 4 * np.finfo(dtype).eps, np.asarray(bound), np.nan)
    cx.loglog(kappa_grid, np.maximum(bound, 1), "-", color="k", lw=1,
              label="predicted: log(1/tol) / (2 log((κ+1)/(κ−1))) ≈ 4.6 κ")
    cx.axhline(num_steps, color="grey", ls=":", lw=1.2, label=f"iterations run: {num_steps:,}")
    for j, name in enumerate(names):
        for which, fill in (("raw", None), ("standardized", "white")):
            entry = summary["features"][name][which]
            kappa, measured, predicted_n = (entry["condition_number"], entry["measured_iterations"],
                                            entry["predicted_iterations"])
            if kappa is None or predicted_n is None:
                continue
            words = "standardised" if which == "standardized" else which
            if which == "standardized" and name in same:
                continue
            if which == "standardized" and name in same.values():
                words = f"standardised = {', '.join(n for n, e in same.items() if e == name)}, standardised"
            if measured is not None:
                cx.loglog(kappa, measured, "o", color=DATA_COLOURS[j], mfc=fill, ms=9, mew=2,
                          label=f"{name}, {words}: κ = {kappa:.3g}, measured {measured:,}, "
                                f"predicted {predicted_n:,.0f}")
            elif not entry["tolerance_resolved"]:  # f - f* is not told apart from 0 below the tolerance (float32)
                cx.plot(kappa, predicted_n, "x", color=DATA_COLOURS[j], ms=9, mew=2, label=f"{name}, {words}: "
                        f"κ = {kappa:.3g}, tolerance below {dtype}'s rounding of f, predicted {predicted_n:,.0f}")
            else:
                cx.loglog(kappa, num_steps, "^", color=DATA_COLOURS[j], mfc=fill, ms=10, mew=2,
                          label=f"{name}, {words}: κ = {kappa:.3g}, not reached in {num_steps:,}, "
                                f"predicted {predicted_n:.3g}")
                cx.plot([kappa, kappa], [num_steps, predicted_n], ":", color=DATA_COLOURS[j], lw=1.2)
                cx.plot(kappa, predicted_n, "x", color=DATA_COLOURS[j], ms=9, mew=2)
    cx.plot([], [], "x", color="grey", ms=8, mew=2, label="predicted, where it could not be run to tolerance")
    cx.set_xlim(0.5, 1e13)
    cx.set_ylim(0.5, 1e12)
    cx.set_xlabel("condition number κ, log scale")
    cx.set_ylabel(f"iterations to f − f* ≤ {tolerance:g}·(f(a₀) − f*), log scale")
    cx.set_title("Iterations to tolerance at the best learning rate against κ", fontsize=10)
    key.legend(*cx.get_legend_handles_labels(), fontsize=8.5, loc="center left", title="iterations to tolerance",
               title_fontsize=9)
    cx.grid(True, which="major", alpha=0.3)
    return fig
