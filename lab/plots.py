"""Figures from sweep `Results`: the stability map, iterations against the learning rate, convergence curves.

Every function takes a `lab.results.Results` of a `lab.runs.LinearRegressionRun`
sweep (or any run with the same outputs: gap, initial_gap, final_gap,
diverged, diverged_at, iterations, learning_rate, L, mu,
predicted_iterations, predicted_rate), draws on the `ax` it is given, or on a
new `matplotlib.figure.Figure` when `ax` is None, and returns the Figure.
Nothing here touches pyplot's global state, shows or writes anything: the
caller saves (`lab.files.save_figure`).

The results' step-size axis is `learning_rate` or `learning_rate_over_edge`; both
draw alike, as learning_rate / (2/L) = learning_rate * L / 2 with L the
Hessian's at a*, the units of the theory lines drawn beside them. The theory drawn is the optimizer's, as
the run computes it (`theory_edge_learning_rate`, `predicted_iterations`,
`predicted_rate`: gradient descent's, heavy ball's, Nesterov's; none for
Adam), and 2/(L + mu), gradient descent's best learning rate, for gradient descent.
A 'seed' axis of several values is drawn as the median over the seeds with
a 10-90 % band. The other axes that a figure does not draw (l2, momentum,
...) are fixed at their first value, or at the value nearest to
`at={name: value}`; the title says which. A value outside the swept range
(`at`, `select`, `kappas`) is refused, not read as the nearest end.
"""

import matplotlib
import numpy as np
from matplotlib.colors import ListedColormap, LogNorm, Normalize, TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from lab import runs, spectrum

DIVERGED_COLOUR = "black"
EDGE_COLOUR = "#00c000"  # theory 2/L: green, visible on blue, white, red and black
BEST_COLOUR = "#ffb000"  # theory 2/(L + mu): amber
NOT_SWEPT_COLOUR = "#d9d9d9"
GREW_COLOUR = "#d6604d"  # a rate map's runs that ended above their start without being stopped: red
NO_RATE_COLOUR = "#fdd49e"  # a rate map's converged runs without a measured rate: pale orange


def stability_map(results, ax=None, *, edges=None, rows=None, at=None, cmap="RdBu_r", colour="gap"):
    """log10(final_gap / initial_gap) over learning rate / (2/L) (x) and one more axis (y), the edges beside theory.

    colour: 'gap' colours by that ratio; 'rate' by the steps each run takes per decade of ||a - a*||,
        -1 / log10(measured_rate) on a log scale (dark: fast), which keeps telling runs apart where the gap
        ratio saturates at the rounding floor within the T steps; each row is then darkest at its best learning rate
        (a map with rows; the profile without them draws the gap ratio).

    rows: the axis drawn as rows; default the first axis with several values
        (not the step size or 'seed'), 'kappa' first, else a 'kappa' of one value. Without
        any, the map is one profile: the ratio against the learning rate, the median
        over seeds with a 10-90 % band.
    Converged runs are blue, runs that ended above their start red (the
    colour scale is centred on 0, no progress; blue alone when no run ended
    above its start), diverged runs black (with
    seeds: where most of them diverged). The optimizer's theoretical edge and,
    for gradient descent, the best learning rate 2/(L + mu) are drawn as lines from the
    results' L and mu. `edges`: optional `lab.stability.edge_and_best` Results
    over the same axes (or more values of those the map fixes: the map's slice of them is drawn), drawn as
    measured markers beside theory.
    Returns the Figure.
    """
    rows = _row_axis(results, rows)
    if rows is not None and len(np.unique(results.axes[rows])) < len(results.axes[rows]):
        values, counts = np.unique(results.axes[rows], return_counts=True)
        raise ValueError(f"the map's rows axis {rows!r} repeats {values[counts > 1].tolist()}: a repeated row has no "
                         "height on the map (its runs would vanish). Sweep each value once.")
    if colour not in ("gap", "rate"):
        raise ValueError(f"colour must be 'gap' or 'rate', got {colour!r}.")
    _require(results, ("learning_rate", "initial_gap", "final_gap", "diverged", "L", "mu", "theory_edge_learning_rate",
                       "theory_kind", *(["measured_rate"] if colour == "rate" else [])))
    edges = _edges_on_slice(results, edges, rows, at)
    if rows is None:
        return _stability_profile(results, ax, edges, at)
    get, fixed = _slicer(results, (rows, _learning_rate_axis(results)), at)
    fig, ax = _axes(ax, (9, 6))
    order = np.argsort(np.asarray(results.axes[rows], dtype=float))
    x_all = _median(_over_edge(get))
    cols = np.argsort(x_all[order[0]])

    def sort(values):  # cells need increasing coordinates
        return values[order][:, cols]

    x = sort(x_all)
    values = np.asarray(results.axes[rows], dtype=float)[order]
    initial = get("initial_gap")
    ratio = get("final_gap") / np.where(initial > 0, initial, 1)
    # Below eps (relative) f(a) - f* is rounding noise, zero or negative: show it at that floor.
    floor = np.finfo(np.asarray(results["final_gap"]).dtype).eps
    logratio = sort(_median(np.log10(np.maximum(ratio, floor))))
    diverged = sort(_median(get("diverged").astype(float)) > 0.5)
    grown = logratio[~diverged]
    low = min(np.log10(floor), -1.0)
    high = max(np.ceil(grown.max()), 1.0) if grown.size else 1.0
    log_rows = bool(np.all(values > 0)) and (len(values) < 2 or values.max() / values.min() >= 10)
    corners_x, corners_y = _corners(x, values, log_rows)
    if colour == "rate":
        per_decade = sort(_median(steps_per_decade(get("measured_rate"))))
        finite = per_decade[~diverged & np.isfinite(per_decade)]
        # The scale ends at the slowest runs but for the few at the edge itself, which make no progress (white).
        top = 10.0 ** np.ceil(np.log10(max(np.percentile(finite, 95) if finite.size else 10.0, 10.0)))
        colours = ListedColormap(matplotlib.colormaps[cmap](np.linspace(0.0, 0.5, 128)))  # the blue half
        mesh = ax.pcolormesh(corners_x, corners_y, _cells(np.ma.masked_where(diverged, np.clip(per_decade, 1.0, top))),
                             cmap=colours, norm=LogNorm(1.0, top), rasterized=True)
        bar = fig.colorbar(mesh, ax=ax, pad=0.02, extend="both")
        bar.set_label("steps per decade of ‖a − a*‖ = −1 / log₁₀(measured rate)")
    else:
        if grown.size and grown.max() > 0:  # some runs ended above their start: the red half, centred on 0
            colours, norm = cmap, TwoSlopeNorm(0.0, low, high)
        else:  # none did: the blue half alone, so that no colour stands for what never happened
            high = 0.0
            colours, norm = ListedColormap(matplotlib.colormaps[cmap](np.linspace(0.0, 0.5, 128))), Normalize(low, 0.0)
        mesh = ax.pcolormesh(corners_x, corners_y, _cells(np.ma.masked_where(diverged, logratio)), cmap=colours,
                             norm=norm, rasterized=True)
        bar = fig.colorbar(mesh, ax=ax, pad=0.02, extend="min")
        spacing = 2 if low > -10 else (3 if low > -20 else 5)
        above = (range(spacing, int(high) + 1, spacing) or [high]) if high > 0 else []
        bar.set_ticks([*range(-spacing * int(-low // spacing), 1, spacing), *above])
        bar.set_label(f"log₁₀ [f(a_T) − f*] / [f(a_0) − f*]   (floor: ε = {floor:.1e})")
    handles = [Patch(color=DIVERGED_COLOUR, label="diverged (run stopped by the divergence rule)")]
    overlays = [(diverged, DIVERGED_COLOUR, None)]
    if colour == "rate":  # what a rate cannot colour: runs that grew unstopped, and converged runs without a rate
        overlays += [(~diverged & (logratio > 0), GREW_COLOUR, "ended above its start (not stopped by the rule)"),
                     (~diverged & (logratio <= 0) & np.isnan(per_decade), NO_RATE_COLOUR,
                      "no measured rate (‖a − a*‖ reached rounding and rose again)")]
    for where, shade, label in overlays:
        if where.any():
            ax.pcolormesh(corners_x, corners_y, _cells(np.ma.masked_where(~where, np.ones_like(logratio))),
                          cmap=ListedColormap([shade]), vmin=0, vmax=2, rasterized=True)
            handles += [Patch(color=shade, label=label)] if label else []

    L, mu = _median(get("L"))[order][:, 0], _median(get("mu"))[order][:, 0]
    # the optimizer's edge in units of 2/L
    theory = _median(get("theory_edge_learning_rate") * get("L") / 2)[order][:, 0]

    def along_rows(x, y):  # one row: a segment across it, where a line through one point draws nothing
        return (x, y) if len(y) > 1 else (np.repeat(x, 2), [corners_y.min(), corners_y.max()])

    if np.isfinite(theory).any():
        ax.plot(*along_rows(theory, values), "-", color=EDGE_COLOUR, lw=2.5)
        handles.append(Line2D([], [], color=EDGE_COLOUR, lw=2.5, label=f"theory: edge {_edge_formula(results)}"))
    if _plain_gradient_descent(results):
        dense, mu_over_L = values, mu / L  # mu/L interpolated log-log between kappa rows for a smooth curve
        if rows == "kappa" and len(values) > 1 and np.all(mu > 0):
            dense = np.geomspace(values[0], values[-1], 200)
            mu_over_L = np.exp(np.interp(np.log(dense), np.log(values), np.log(mu / L)))
        ax.plot(*along_rows(_best_in_edge_units(1.0, mu_over_L), dense), "--", color=BEST_COLOUR, lw=2.5)
        handles.append(Line2D([], [], color=BEST_COLOUR, lw=2.5, ls="--",
                              label="theory: best learning rate 2/(L+μ) = κ/(κ+1)·2/L, κ = L/μ at a*"))
    if edges is not None:
        at_rows = _axis_of_each(edges, rows)
        unit = 2 / np.asarray(edges["L"]).ravel()
        ax.plot(np.asarray(edges["edge_learning_rate"]).ravel() / unit, at_rows, "o", ms=9, mfc="white", mec="k",
                mew=1.2)
        ax.plot(np.asarray(edges["best_learning_rate"]).ravel() / unit, at_rows, "D", ms=5, mfc=BEST_COLOUR, mec="k",
                mew=1.0)
        for name, marker in (("edge", Line2D([], [], ls="", marker="o", ms=9, mfc="white", mec="k",
                                             label="measured edge (bisection)")),
                             ("best", Line2D([], [], ls="", marker="D", ms=5, mfc=BEST_COLOUR, mec="k",
                                             label="measured best learning rate (golden section)"))):
            handles += [marker] if np.isfinite(np.asarray(edges[f"{name}_learning_rate"])).any() else []  # NaN: none
    if log_rows:
        ax.set_yscale("log")
    shown = [corners_x.min(), corners_x.max(), *theory[np.isfinite(theory)]]
    if edges is not None:
        shown += [x for x in (np.asarray(edges["edge_learning_rate"]) * np.asarray(edges["L"]) / 2).ravel()
                  if np.isfinite(x)]
    ax.set_xlim(min(shown), max(shown) * 1.03 if max(shown) > corners_x.max() else max(shown))
    # rows whose learning rates span other units of 2/L (L differs by row) leave parts of the others unswept
    if max(shown) > corners_x.max() or not np.allclose(corners_x[:, [0, -1]], corners_x[0, [0, -1]], rtol=1e-6):
        ax.set_facecolor(NOT_SWEPT_COLOUR)
        handles.append(Patch(color=NOT_SWEPT_COLOUR, label="learning rates not swept"))
    ax.set_ylim(corners_y.min(), corners_y.max())
    ax.set_xlabel("learning rate / (2/L)")
    ax.set_ylabel(AXIS_LABELS.get(rows, rows))
    ax.set_title(f"Stability map of {_optimizer_name(results)}{_describe(results, fixed)}")
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, fontsize=8, frameon=False)
    return fig


def steps_per_decade(rate):
    """-1 / log10(rate): the steps a run contracting by `rate` per step takes to gain a factor 10; 0 for rate 0,
    inf for rate >= 1 (no contraction)."""
    rate = np.asarray(rate, dtype=float)
    with np.errstate(divide="ignore"):
        return np.where(rate >= 1, np.inf, -1 / np.log10(np.clip(rate, 0.0, 1.0)))


def _stability_profile(results, ax, edges, at):
    """The stability map of results without a row axis: final / initial gap against the learning rate, seeds as a
    band."""
    get, fixed = _slicer(results, (_learning_rate_axis(results),), at)
    fig, ax = _axes(ax, (9, 5))
    x = _median(_over_edge(get))
    order = np.argsort(x)
    floor = np.finfo(np.asarray(results["final_gap"]).dtype).eps
    initial = get("initial_gap")
    ratio = np.maximum(get("final_gap") / np.where(initial > 0, initial, 1), floor)[order]
    x = x[order]
    low, median, high = np.percentile(ratio, [10, 50, 90], axis=-1)
    seeds = ratio.shape[-1]
    ax.fill_between(x, low, high, color="C0", alpha=0.25, lw=0)
    ax.semilogy(x, median, ".-", color="C0", lw=1.8)
    handles = [Line2D([], [], color="C0", marker=".", lw=1.8,
                      label="measured: median over seeds" if seeds > 1 else "measured")]
    if seeds > 1:
        handles.append(Patch(color="C0", alpha=0.25, label=f"10–90 % of {seeds} seeds"))
    diverged = (_median(get("diverged").astype(float)) > 0.5)[order]
    if diverged.any():
        ax.plot(x[diverged], median[diverged], "x", color=DIVERGED_COLOUR, ms=8, mew=2)
        handles.append(Line2D([], [], ls="", marker="x", color=DIVERGED_COLOUR, ms=8, mew=2,
                              label="diverged (most seeds; run stopped)"))
    ax.axhline(1.0, color="grey", lw=1, ls=":")
    theory = _median(get("theory_edge_learning_rate") * get("L") / 2)[0]
    if np.isfinite(theory):
        ax.axvline(theory, color=EDGE_COLOUR, lw=2.5)
        handles.append(Line2D([], [], color=EDGE_COLOUR, lw=2.5, label=f"theory: edge {_edge_formula(results)}"))
    if _plain_gradient_descent(results):
        best = _median(_best_in_edge_units(get("L"), get("mu")))[0]
        ax.axvline(best, color=BEST_COLOUR, lw=2.5, ls="--")
        handles.append(Line2D([], [], color=BEST_COLOUR, lw=2.5, ls="--", label="theory: best learning rate 2/(L+μ)"))
    if edges is not None:
        measured = (np.asarray(edges["edge_learning_rate"]) * np.asarray(edges["L"]) / 2).ravel()
        measured = measured[np.isfinite(measured)]
        if measured.size:
            lo, mid, hi = np.percentile(measured, [10, 50, 90])
            ax.axvspan(lo, hi, color="k", alpha=0.12, lw=0)
            ax.axvline(mid, color="k", lw=1.5, ls="-.")
            handles.append(Line2D([], [], color="k", lw=1.5, ls="-.",
                                  label=f"measured edge (bisection)"
                                        f"{', median and 10–90 % of seeds' if measured.size > 1 else ''}"))
    ax.set_xlabel("learning rate / (2/L)")
    ax.set_ylabel("[f(a_T) − f*] / [f(a_0) − f*]")
    ax.set_ylim(max(floor / 3, float(np.min(low)) / 10), max(10.0, float(np.max(high)) * 3))
    ax.set_title(f"Stability of {_optimizer_name(results)}{_describe(results, fixed)}")
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=8, frameon=False)
    ax.grid(True, which="major", alpha=0.3)
    return fig


def iterations_vs_learning_rate(results, ax=None, *, kappas=None, rows=None, at=None, max_curves=5):
    """Iterations to the run's tolerance against learning rate / (2/L), one curve per value of a row axis (log y).

    Measured iterations (never reached: left out) are solid with dots (with
    seeds: the median, and a 10-90 % band), the optimizer's theory
    `predicted_iterations` dashed in the same colour (a worst case over
    starts: the slowest mode, fully excited), and for gradient descent the
    best learning rate 2/(L + mu) is a star on each curve, at the iterations theory
    gives there. rows: the axis of the curves (default as in
    `stability_map`); kappas: which of its values to draw (whatever the axis),
    default up to `max_curves` spread over the axis. Returns the Figure.
    """
    rows = _row_axis(results, rows)
    _require(results, ("learning_rate", "iterations", "predicted_iterations", "condition_number", "L", "mu",
                       "theory_edge_learning_rate", "theory_kind"))
    if isinstance(max_curves, bool) or not isinstance(max_curves, (int, np.integer)) or max_curves < 1:
        raise ValueError(f"max_curves must be an integer >= 1, got {max_curves!r}.")
    if kappas is not None and (np.size(kappas) == 0 or len(np.unique(np.atleast_1d(kappas))) < np.size(kappas)):
        raise ValueError(f"kappas must name the curves to draw, each once, got {kappas!r}.")
    axis = _learning_rate_axis(results)
    get, fixed = _slicer(results, (rows, axis) if rows else (axis,), at)
    fig, ax = _axes(ax, (9, 5.5))
    lift = (lambda values: values) if rows else (lambda values: values[None])
    name = rows or "kappa"
    row_values = np.asarray(results.axes[rows], dtype=float) if rows else lift(_median(get("condition_number")))[:, 0]
    if kappas is None:
        chosen = np.unique(np.round(np.linspace(0, len(row_values) - 1, min(max_curves, len(row_values)))).astype(int))
    else:
        chosen = [_nearest(row_values, k, name) for k in np.atleast_1d(kappas)]
    tolerance = results.constant("tolerance", 1e-6)
    num_steps = (results["gap"].shape[-1] - 1) * results.constant("record_every", 1)
    x = lift(_median(_over_edge(get)))
    measured = lift(np.where(get("iterations") >= 0, get("iterations").astype(float), NEVER))
    predicted = lift(_median(np.where(get("predicted_iterations") >= 0, get("predicted_iterations").astype(float),
                                      np.nan)))
    L, mu = lift(_median(get("L")))[:, 0], lift(_median(get("mu")))[:, 0]
    plain, seeds = _plain_gradient_descent(results), measured.shape[-1]
    symbol = AXIS_SYMBOLS.get(name, name)
    top, stars = 1.0, []
    # the theory dashed; at one learning rate a dashed line is a single point nothing draws: a tick there
    theory_style = dict(ls="--") if x.shape[1] > 1 else dict(ls="", marker="_")
    for n, i in enumerate(chosen):
        colour = f"C{n % 10}"
        order = np.argsort(x[i])
        xs = x[i][order]
        low, mid, high = _reached_percentiles(measured[i][order])
        reached = np.isfinite(mid)
        label = f"{symbol} = {row_values[i]:g}" if rows else f"κ of H* = {row_values[i]:.3g}" + (
            f" (median of {seeds} seeds)" if seeds > 1 else "")
        if not reached.any():  # the median of the seeds, or every seed
            every = not (measured[i] < NEVER).any()  # the 10th percentile can be inf with a seed reaching (1 of 4)
            label += " (never within the run)" if every else " (the median never within the run)"
        ax.plot(xs[reached], np.maximum(mid[reached], 1), ".-", color=colour, lw=1.8, ms=5, label=label)
        if seeds > 1:
            band = np.isfinite(low)
            upper = np.where(np.isfinite(high), high, 1e30)  # some seeds never reached: the band runs off the top
            ax.fill_between(xs[band], np.maximum(low[band], 1), np.maximum(upper[band], 1), color=colour, alpha=0.2,
                            lw=0)
        ax.plot(xs, np.maximum(predicted[i][order], 1), color=colour, lw=1.2, ms=14, mew=1.5, **theory_style)
        top = max(top, np.max(mid[reached], initial=1))
        best, iterations = _best(L[i], mu[i], tolerance) if plain else (np.nan, np.nan)
        if np.isfinite(iterations):  # not where mu <= 0 or the rate rounds to 1 (no finite prediction)
            ax.plot(best, iterations, "*", ms=15, mfc=colour, mec="k", mew=1.0, zorder=5)
            top, stars = max(top, iterations), stars + [best]
    ax.axhline(num_steps, color="grey", ls=":", lw=1.2)
    top = max(top, num_steps)
    # nothing measured: the swept learning rates and the stars
    if not np.isfinite(_reached_percentiles(measured)[1]).any():
        low, high = min([np.nanmin(x), *stars]), max([np.nanmax(x), *stars])
        ax.set_xlim(low - 0.05 * (high - low) - 1e-3, high + 0.05 * (high - low) + 1e-3)
    ax.set_yscale("log")
    ax.set_ylim(0.7, 20 * top)
    handles, _ = ax.get_legend_handles_labels()
    if np.isfinite(predicted[chosen]).any():  # no theory line drawn (Adam, your criterion): no legend entry
        handles.append(Line2D([], [], color="k", lw=1.2, ms=10, mew=1.5, **theory_style,
                              label="theory, worst case over starts: first t with ρ²ᵗ ≤ tolerance, "
                                    "ρ the contraction"))
    if seeds > 1:
        handles.append(Patch(color="grey", alpha=0.3, label=f"10–90 % of {seeds} seeds (line: median)"))
    if stars:
        handles.append(Line2D([], [], ls="", marker="*", ms=13, mfc="white", mec="k",
                              label="theory: best learning rate 2/(L+μ)"))
    handles.append(Line2D([], [], color="grey", ls=":", lw=1.2, label=f"run length T = {num_steps}"))
    ax.legend(handles=handles, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.11), ncol=2, frameon=False)
    ax.set_xlabel("learning rate / (2/L)")
    ax.set_ylabel(f"iterations t to f(a_t) − f* ≤ {tolerance:g}·[f(a_0) − f*]")
    unresolved = ~get("iterations_resolved") if "iterations_resolved" in results.outputs else np.zeros(0, bool)
    caveat = (f"\n{np.count_nonzero(unresolved)} of {unresolved.size} runs: tolerance within "
              f"{get('initial_gap').dtype}'s rounding of f, their iterations come early" if unresolved.any() else "")
    ax.set_title(f"Iterations of {_optimizer_name(results)} to tolerance against the learning rate"
                 f"{_describe(results, fixed)}{caveat}")
    ax.grid(True, which="major", alpha=0.3)
    return fig


def convergence_curves(results, ax=None, *, select, predicted=None, at=None, labels=None, floor=None):
    """f(a_t) − f* against iteration t (log y) for the runs nearest to each point of `select`.

    select: a list of {axis: value}, e.g. [{"learning_rate_over_edge": 0.5, "kappa": 100}, ...];
        axes a point leaves out are fixed as in the module docstring.
    predicted: None; "bound", the worst case (f(a_0) − f*)·ρ^{2t} with ρ the
        run's predicted_rate; or one curve per selected run (over t = 0, 1, ...),
        e.g. `lab.spectrum.predicted_gap`. Drawn dashed in black.
    labels: one legend label per selected run (default: its learning rate and kappa).
    floor: draw the rounding floor of f(a) − f* at this value (eps·|f*|, when the caller knows f*).
    Measured curves are solid; a diverged run stops where the rule fired,
    marked with a cross. Returns the Figure.
    """
    if not select or isinstance(select, dict) or not all(isinstance(point, dict) for point in select):
        raise ValueError(f"select must list at least one run, as dicts {{axis: value}}, "
                         f"e.g. [{{'learning_rate_over_edge': 0.5, 'kappa': 100.0}}], got {select!r}.")
    if labels is not None and len(labels) != len(select):
        raise ValueError(f"labels must have one entry per selected run: {len(labels)} labels, {len(select)} runs.")
    if not (predicted is None or isinstance(predicted, str) and predicted == "bound" or len(predicted) == len(select)):
        raise ValueError("predicted must be None, 'bound', or one curve per selected run.")
    if isinstance(predicted, str) and not any(  # `lab.runs.Outcome`'s predicted_rate, NaN without theory
            np.isfinite(float(results["predicted_rate"][_index(results, point, at)])) for point in select):
        raise ValueError(f"predicted='bound' needs a predicted rate, and the selected runs of "
                         f"{_optimizer_name(results)} have none (NaN: no theory, as for Adam or mini-batches): drop "
                         "predicted.")
    if floor is not None and not float(floor) > 0:
        raise ValueError(f"floor must be > 0 to show on the log axis of f(a) - f*, got {floor!r}.")
    fig, ax = _axes(ax, (9, 5.5))
    every = results.constant("record_every", 1)
    seeds = ("seed" in results.axes and len(results.axes["seed"]) > 1 and "seed" not in (at or {})
             and not any("seed" in point for point in select))
    gaps, starts = [], []
    named = [name for name in results.axes if any(name in point for point in select)]  # the title leaves them out
    for n, point in enumerate(select):
        index = _index(results, point, at)
        gap = np.asarray(results["gap"][index], dtype=float)
        t = np.arange(gap.shape[-1]) * every
        diverged, at_step = bool(results["diverged"][index]), int(results["diverged_at"][index])
        keep = t < at_step if diverged else np.ones_like(t, dtype=bool)
        label = labels[n] if labels is not None else _run_label(results, index, named)
        line, = ax.semilogy(t[keep], np.where(gap[keep] > 0, gap[keep], np.nan), lw=2.2, alpha=0.85, label=label)
        if diverged and keep.any():
            ax.plot(t[keep][-1], gap[keep][-1], "x", color=line.get_color(), ms=10, mew=2.2)
        if seeds:  # the band of the other seeds' curves, each cut where it diverged
            band = _seed_curves(results, index, every)
            with np.errstate(invalid="ignore"):
                low, high = np.nanpercentile(np.where(band > 0, band, np.nan), [10, 90], axis=0)
            ax.fill_between(t, low, high, color=line.get_color(), alpha=0.2, lw=0)
        if isinstance(predicted, str):
            rate = float(results["predicted_rate"][index])
            with np.errstate(over="ignore"):
                ax.semilogy(t, gap[0] * rate ** (2.0 * t), "--", color="k", lw=0.9)
        elif predicted is not None:
            curve = np.asarray(predicted[n], dtype=float)
            ax.semilogy(np.arange(len(curve)), np.where(curve > 0, curve, np.nan), "--", color="k", lw=0.9)
        gaps.append(gap[keep][gap[keep] > 0])
        starts.append(gap[0])
    handles, _ = ax.get_legend_handles_labels()
    if predicted is not None:
        text = ("bound (f(a_0) − f*)·ρ²ᵗ, ρ the predicted rate" if isinstance(predicted, str)
                else "predicted from the Hessian's spectrum")
        handles.append(Line2D([], [], color="k", ls="--", lw=0.9, label=text))
    if any(bool(results["diverged"][_index(results, p, at)]) for p in select):
        handles.append(Line2D([], [], ls="", marker="x", color="grey", ms=8, mew=2,
                              label="divergence detected (run stopped)"))
    if floor is not None:
        ax.axhline(floor, color="grey", ls=":", lw=1.2)
        handles.append(Line2D([], [], color="grey", ls=":", lw=1.2, label="rounding floor ε·|f*| of f(a) − f*"))
    if seeds:
        handles.append(Patch(color="grey", alpha=0.3, label=f"10–90 % of {len(results.axes['seed'])} seeds "
                                                           f"(line: seed {results.axes['seed'][0]:g})"))
    low = min((g.min() for g in gaps if g.size), default=1e-16)
    ax.set_ylim(min(low, floor or low) / 10, max(starts) * 1e5)
    ax.set_xlabel("iteration t")
    ax.set_ylabel("f(a_t) − f*")
    fixed = ", ".join(f"{name} = {results.axes[name][i]:g}" for name, i in zip(results.axes, _index(results, {}, at))
                      if name not in set().union(*select))
    ax.set_title(f"Convergence of {_optimizer_name(results)}{_describe(results, fixed)}")
    ax.legend(handles=handles, fontsize=8, loc="lower left")
    ax.grid(True, which="major", alpha=0.3)
    return fig


# Helpers.

def _seed_curves(results, index, every):
    """The gap curves of every seed at the grid point `index` (seed ignored), NaN from where each diverged."""
    position = list(results.axes).index("seed")
    curves = []
    for k in range(len(results.axes["seed"])):
        point = tuple(k if i == position else j for i, j in enumerate(index))
        gap = np.asarray(results["gap"][point], dtype=float)
        t = np.arange(gap.shape[-1]) * every
        at_step = int(results["diverged_at"][point])
        curves.append(np.where((at_step < 0) | (t < at_step), gap, np.nan))
    return np.stack(curves)


def _axes(ax, size):
    if ax is None:
        fig = Figure(figsize=size, layout="constrained")
        return fig, fig.add_subplot()
    return ax.figure, ax


def _nearest(values, value, name) -> int:
    values = np.asarray(values, dtype=float)
    if isinstance(value, (str, bytes, bool)) or np.ndim(value) != 0 or not np.isfinite(np.asarray(value, float)):
        raise ValueError(f"{name} = {value!r} is not a finite number.")
    low, high = values.min(), values.max()
    if not low - 1e-6 * abs(low) <= value <= high + 1e-6 * abs(high):  # a float32 axis holds 0.1 as 0.10000000149
        raise ValueError(f"{name} = {value:g} lies outside the swept values, {low:g} to {high:g}: choose one in "
                         f"that range, or sweep over {name} = {value:g} too.")
    return int(np.argmin(np.abs(values - value)))


def _index(results, point, at) -> tuple:
    """Grid index of the run nearest to `point` ({axis: value}); other axes from `at`, else their first value."""
    chosen = {**(at or {}), **point}
    unknown = set(chosen) - set(results.axes)
    if unknown:
        raise ValueError(f"unknown axes {sorted(unknown)}: the results have axes {list(results.axes)}.")
    return tuple(_nearest(values, chosen[name], name) if name in chosen else 0 for name, values in results.axes.items())


def _slicer(results, keep, at):
    """get(summary) -> its values on the `keep` axes (in that order) plus a last axis of seeds; and a text saying
    how the other axes were fixed. The seeds are all of a 'seed' axis of several values that `at` does not fix,
    else one value (a last axis of length 1)."""
    missing = [name for name in keep if name not in results.axes]
    if missing:
        raise ValueError(f"this figure needs the axes {list(keep)}; the results have {list(results.axes)}: "
                         f"sweep over {missing} too.")
    if at and set(at) & set(keep):
        raise ValueError(f"at fixes the axes not drawn; {sorted(set(at) & set(keep))} are drawn.")
    seeds = "seed" in results.axes and "seed" not in keep and "seed" not in (at or {}) and len(results.axes["seed"]) > 1
    drawn = [*keep, *(["seed"] if seeds else [])]
    base = _index(results, {}, at)
    index = tuple(slice(None) if name in drawn else i for name, i in zip(results.axes, base))
    order = [name for name in results.axes if name in drawn]
    fixed = ", ".join(f"{name} = {values[i]:g}" for (name, values), i in zip(results.axes.items(), base)
                      if name not in drawn)
    if seeds:
        fixed += ("; " if fixed else "") + f"median of {len(results.axes['seed'])} seeds"

    def get(name):
        value = np.asarray(results[name])[index]
        value = np.transpose(value, [order.index(n) for n in drawn] + list(range(len(drawn), value.ndim)))
        return value if seeds else value[..., None]

    return get, fixed


NEVER = 1e300  # iterations of a run that never reached the tolerance, while taking percentiles over seeds


def _reached_percentiles(iterations):
    """10th, 50th and 90th percentiles over the last (seed) axis; inf where they fall on, or between, runs that
    never reached (an interpolation towards NEVER lands far above any real count: with 2 seeds the median of a
    reached and a never-reached run is NEVER / 2)."""
    low, mid, high = np.percentile(iterations, [10, 50, 90], axis=-1)
    return [np.where(q < NEVER / 1e6, q, np.inf) for q in (low, mid, high)]


def _median(values):
    """The median over the last (seed) axis."""
    return np.median(values, axis=-1)


def _require(results, outputs):
    """ValueError naming the step-size axis or the outputs a figure needs that the results lack."""
    _learning_rate_axis(results)
    missing = [name for name in outputs if name not in results.outputs]
    if missing:
        raise ValueError(f"this figure needs the outputs {missing}: sweep a lab.runs.Run, whose runs return a "
                         "lab.runs.Outcome.")


def _over_edge(get):
    """learning_rate / (2/L), L at a*: the x of every figure (a LogisticRun from a = 0 reports its own
    learning_rate_over_edge in units of 2/L at the start; the theory lines are in units of 2/L at a*)."""
    return get("learning_rate") * get("L") / 2


def _learning_rate_axis(results) -> str:
    """The name of the results' step-size axis, 'learning_rate' or 'learning_rate_over_edge' (ValueError without
    one)."""
    names = [name for name in runs.LEARNING_RATE_AXES if name in results.axes]
    if len(names) != 1:
        raise ValueError(f"this figure needs one step-size axis, learning_rate or learning_rate_over_edge; "
                         f"the results have {list(results.axes)}: sweep over one of them.")
    return names[0]


def _row_axis(results, rows):
    """The axis drawn as rows: `rows`, else the first other axis of several values ('kappa' first), else 'kappa' (one
    row), else None. A 'kappa' of one value never hides an axis of several (a map of one row, the rest unseen)."""
    if rows is not None:
        if rows not in results.axes or rows == _learning_rate_axis(results):
            raise ValueError(f"rows must name an axis other than the step size; the results have {list(results.axes)}.")
        return rows
    others = sorted((name for name in results.axes if name not in (_learning_rate_axis(results), "seed")),
                    key=lambda name: name != "kappa")
    several = [name for name in others if len(results.axes[name]) > 1]
    return several[0] if several else ("kappa" if "kappa" in others else None)


AXIS_LABELS = {"kappa": "condition number κ", "momentum": "momentum β", "l2": "penalty l2", "b1": "Adam's β₁",
               "b2": "Adam's β₂", "separation": "class separation", "schedule": "schedule index"}
AXIS_SYMBOLS = {"kappa": "κ", "momentum": "β", "b1": "β₁", "b2": "β₂"}


def _theory_kinds(results) -> set:
    """The theories the runs report (`lab.runs.THEORY_KINDS`): 'gradient descent', 'heavy ball', ..."""
    return {runs.THEORY_KINDS[k] for k in np.unique(np.asarray(results["theory_kind"]))}


def _plain_gradient_descent(results) -> bool:
    """Whether every run was plain gradient descent (momentum 0 included), so 2/(L + mu) is its best learning rate."""
    return _theory_kinds(results) == {"gradient descent"}


def _optimizer_name(results) -> str:
    name = results.optimizer or "sgd"
    if name == "sgd" and _plain_gradient_descent(results):
        return "gradient descent"
    return name


def _edge_formula(results) -> str:
    """Which theory the runs' theory_edge_learning_rate is: 2/L, heavy ball's 2(1+β)/L or Nesterov's (both 2/L at
    β = 0)."""
    kinds = _theory_kinds(results)
    return "(2+2β)/((1+2β)L)" if "nesterov" in kinds else ("2(1+β)/L" if "heavy ball" in kinds else "2/L")



def _describe(results, fixed) -> str:
    """'\\n(least squares, N = 100, D = 10, T = 1000 steps; seed = 0)' from the results' problem and curves."""
    parts = [results.problem] if results.problem else []
    if "gap" in results.outputs:
        parts.append(f"T = {(results['gap'].shape[-1] - 1) * results.constant('record_every', 1)} steps")
    text = ", ".join(parts) + ("; " if parts and fixed else "") + fixed
    return f"\n({text})" if text else ""


def _run_label(results, index, named) -> str:
    """The run's learning rate in units of 2/L and kappa, then every other axis in `named` (those any selected point
    names, which the title leaves out), at the value drawn (the nearest on its axis): two runs told apart by
    momentum, or a seed, are named by it, the run that leaves momentum at its default too."""
    c = float(results["learning_rate"][index] * results["L"][index] / 2)
    word = "below" if c < 1 - 1e-9 else ("at" if c <= 1 + 1e-9 else "above")
    kappa = float(results["condition_number"][index])
    edge = f" ({word} the edge)" if _plain_gradient_descent(results) else ""  # 2/L is not Adam's or momentum's edge
    others = [f"{name} = {results.axes[name][index[list(results.axes).index(name)]]:g}" for name in named
              if name not in (*runs.LEARNING_RATE_AXES, "kappa")]
    return ", ".join([f"learning rate {c:.3g}·2/L{edge}, κ = {kappa:.3g}", *others])


def _best(L, mu, tolerance):
    """The best learning rate 2/(L + mu) in units of 2/L, and the iterations theory gives there (at least 1; inf where
    mu <= 0, kappa is beyond what the run's dtype resolves, or the rate rounds to 1), in float64."""
    limit = spectrum.largest_resolved_kappa(np.asarray(L).dtype)
    L, mu = np.float64(L), np.float64(mu)
    if not (mu > 0 and L / mu <= limit):
        return 1.0, np.inf
    iterations = spectrum.predicted_iterations(np.float64(spectrum.optimal_rate(L / mu)), 1.0, tolerance)
    return float(_best_in_edge_units(L, mu)), max(float(iterations), 1.0)


def _best_in_edge_units(L, mu):
    """Gradient descent's best learning rate 2/(L + mu) over its edge 2/L (`lab.spectrum`), in float64; NaN where the
    curvatures are no convex quadratic's (mu below 0 beyond rounding, a singular Hessian's -1e-15 L counting as 0;
    mu > L; not finite): no theory to draw there."""
    L, mu = np.asarray(L, np.float64), np.asarray(mu, np.float64)
    convex = np.isfinite(L) & np.isfinite(mu) & (L > 0) & (mu >= -1e-8 * L) & (mu <= L)
    L, mu = np.where(convex, L, 1.0), np.where(convex, np.maximum(mu, 0.0), 0.0)
    return np.where(convex,
                    np.asarray(spectrum.best_learning_rate(L, mu)) / np.asarray(spectrum.stability_threshold(L)),
                    np.nan)


def _corners(x, y, log):
    """Cell corners for pcolormesh, each row's cells around its own learning rates: x (rows, cols), y (rows,) on a
    log scale when `log`. Returns (2 rows, cols + 1) corners, a row's bottom and top, for `_cells`' values.

    (Corners shared by neighbouring rows, at the mean of their learning rates, slanted the cells where L and so
    x = learning_rate / (2/L) differs by row: a stable run at 0.65 painted out to 1.6.)"""
    # one step size: a cell 5 % wide around it, not one that paints every learning rate from 0 to 2x it as measured
    row_edges = np.stack([_edges(row, log=False, single=0.05 * abs(row[0])) for row in x])  # (rows, cols + 1)
    # geometric learning rates put the first midpoint-mirrored edge below 0: mirror it geometrically there
    row_edges[:, 0] = np.where((row_edges[:, 0] <= 0) & (x[:, 0] > 0), x[:, 0] ** 2 / row_edges[:, 1], row_edges[:, 0])
    y_edges = _edges(y, log=log)
    corners_y = np.repeat(np.stack([y_edges[:-1], y_edges[1:]], axis=1).reshape(-1), row_edges.shape[1])
    return np.repeat(row_edges, 2, axis=0), corners_y.reshape(-1, row_edges.shape[1])


def _cells(values):
    """Per-row values (rows, cols) on `_corners`' mesh: each row, then a masked cell of zero height to the next."""
    spread = np.ma.masked_all((2 * values.shape[0] - 1, values.shape[1]), dtype=float)
    spread[::2] = values
    return spread


def _edges_on_slice(results, edges, rows, at):
    """`edges` on the map's slice: each axis of theirs is the map's rows, a seed axis, or one the map fixes, taken
    at the value it fixes; ValueError where that value is not among theirs, or where they lack an axis of
    several values the map fixes, or the rows (markers of another slice would sit on the map's rows), or where
    they were measured on another problem, with another optimizer or on seeds the map does not hold."""
    if edges is None:
        return None
    for what in ("problem", "optimizer"):  # '' where a hand-built Results does not say
        if getattr(edges, what) and getattr(results, what) and getattr(edges, what) != getattr(results, what):
            raise ValueError(f"edges were measured with {what} {getattr(edges, what)!r}, the map's runs use "
                             f"{getattr(results, what)!r}: measure them with the map's run (edge_and_best(run, ...)).")
    if "seed" in edges.axes and "seed" in results.axes:
        others = sorted(set(np.asarray(edges.axes["seed"]).tolist()) - set(np.asarray(results.axes["seed"]).tolist()))
        if others:
            raise ValueError(f"edges hold seeds {others} that the map does not (each seed draws its own problem): "
                             "measure them over the map's seeds.")
    base = dict(zip(results.axes, _index(results, {}, at)))
    for name in results.axes:
        several = len(results.axes[name]) > 1 and name not in (rows, "seed", _learning_rate_axis(results))
        if several and name not in edges.axes:
            raise ValueError(f"edges lack the axis {name!r} that the map fixes at {results.axes[name][base[name]]:g}: "
                             "measure them over it too.")
    index = []
    for name, values in edges.axes.items():
        if name == rows or (name == "seed" and "seed" not in (at or {})):  # every seed, unless `at` fixes one
            index.append(slice(None))
            continue
        fixed = float(results.axes[name][base[name]]) if name in results.axes else None
        match = (np.flatnonzero(np.isclose(np.asarray(values, float), fixed, rtol=1e-9, atol=0))
                 if fixed is not None else [])
        if len(match) == 0:
            where = f"fixes {name} = {fixed:g}" if fixed is not None else f"has no axis {name!r}"
            raise ValueError(f"edges hold {name} = {list(np.asarray(values).tolist())}, but the map {where}: measure "
                             "the edges on the map's slice (edge_and_best over the same axes and values).")
        index.append(slice(match[0], match[0] + 1))
    if rows is not None and rows not in edges.axes:  # at their run's own value of it, on no row of the map's
        raise ValueError(f"edges lack the map's rows axis {rows!r}: measure them over it too.")
    index = tuple(index)
    axes = {name: np.asarray(values)[i] for (name, values), i in zip(edges.axes.items(), index)}
    return edges._replace(axes=axes, outputs={name: np.asarray(value)[index] for name, value in edges.outputs.items()})


def _axis_of_each(edges, name):
    """The `name` axis value of every point of `edges`, flattened like its outputs: each marker on its map row."""
    grids = np.meshgrid(*[np.asarray(v, dtype=float) for v in edges.axes.values()], indexing="ij")
    return grids[list(edges.axes).index(name)].ravel()


def _edges(values, log, single=0.5):
    """Edges of the cells centred on `values` (midpoints, geometric when `log`); one value: v -+ `single` (or
    x/÷ 10**single)."""
    v = np.log10(values) if log else np.asarray(values, dtype=float)
    if len(v) == 1:
        edges = np.array([v[0] - single, v[0] + single])
    else:
        middle = (v[1:] + v[:-1]) / 2
        edges = np.concatenate([[2 * v[0] - middle[0]], middle, [2 * v[-1] - middle[-1]]])
    return 10**edges if log else edges
