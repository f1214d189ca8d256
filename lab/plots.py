"""Figures from sweep `Results`: the stability map, iterations against step, convergence curves.

Every function takes a `lab.results.Results` of a `lab.runs.LinearRegressionRun`
sweep (or any run with the same outputs: gap, initial_gap, final_gap,
diverged, diverged_at, iterations, step_over_edge, L, mu,
predicted_iterations, predicted_rate), draws on the `ax` it is given, or on a
new `matplotlib.figure.Figure` when `ax` is None, and returns the Figure.
Nothing here touches pyplot's global state, shows or writes anything: the
caller saves (`lab.files.save_figure`).

Steps are read from the `step_over_edge` output, step / (2/L), so absolute
and relative step axes draw alike. The theory drawn (2/L, 2/(L + mu),
predicted_iterations, predicted_rate) is plain gradient descent's, as the
run computes it; with another optimizer the title names it. Axes that a figure does not draw (seed,
l2, momentum, ...) are fixed at their first value, or at the value nearest
to `at={name: value}`; the title says which.
"""

import numpy as np
from matplotlib.colors import ListedColormap, TwoSlopeNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

DIVERGED_COLOUR = "black"
EDGE_COLOUR = "#00c000"  # theory 2/L: green, visible on blue, white, red and black
BEST_COLOUR = "#ffb000"  # theory 2/(L + mu): amber


def stability_map(results, ax=None, *, edges=None, at=None, cmap="RdBu_r"):
    """Pcolormesh of log10(final_gap / initial_gap) over step / (2/L) (x) and condition number (y, log).

    Converged runs are blue, runs that ended above their start red (the
    colour scale is centred on 0, no progress), diverged runs black. The
    theoretical edge step / (2/L) = 1 and the best step 2/(L + mu) in units
    of 2/L, L / (L + mu) = kappa / (kappa + 1), are drawn as lines, computed
    from the results' L and mu. `edges`: optional `lab.stability.edge_and_best`
    Results over the same kappas, drawn as measured markers beside theory.

    results: needs the axes 'step' and 'kappa'; others are fixed (see module).
    Returns the Figure.
    """
    get, fixed = _slicer(results, ("kappa", "step"), at)
    fig, ax = _axes(ax, (9, 6))
    rows = np.argsort(results.axes["kappa"])
    cols = np.argsort(get("step_over_edge")[rows[0]])

    def sort(name):  # cells need increasing coordinates
        return get(name)[rows][:, cols]

    x = sort("step_over_edge")
    kappa = np.asarray(results.axes["kappa"], dtype=float)[rows]
    ratio = sort("final_gap") / np.where(sort("initial_gap") > 0, sort("initial_gap"), 1)
    # Below eps (relative) f(a) - f* is rounding noise, zero or negative: show it at that floor.
    floor = np.finfo(np.asarray(results["final_gap"]).dtype).eps
    logratio = np.log10(np.maximum(ratio, floor))
    diverged = sort("diverged").astype(bool)
    grown = logratio[~diverged]
    low = min(np.log10(floor), -1.0)
    high = max(np.ceil(grown.max()), 1.0) if grown.size else 1.0
    corners_x, corners_y = _corners(x, kappa)
    mesh = ax.pcolormesh(corners_x, corners_y, np.ma.masked_where(diverged, logratio), cmap=cmap,
                         norm=TwoSlopeNorm(0.0, low, high), rasterized=True)
    if diverged.any():
        ax.pcolormesh(corners_x, corners_y, np.ma.masked_where(~diverged, np.ones_like(logratio)),
                      cmap=ListedColormap([DIVERGED_COLOUR]), vmin=0, vmax=2, rasterized=True)
    bar = fig.colorbar(mesh, ax=ax, pad=0.02, extend="min")
    spacing = 2 if low > -10 else (3 if low > -20 else 5)
    bar.set_ticks([*range(-spacing * int(-low // spacing), 1, spacing), *(range(spacing, int(high) + 1, spacing) or [high])])
    bar.set_label(f"log₁₀ [f(a_T) − f*] / [f(a_0) − f*]   (floor: ε = {floor:.1e})")

    # Theory from each row's L and mu; mu/L interpolated log-log between rows for a smooth best-step curve.
    L, mu = sort("L")[:, 0], sort("mu")[:, 0]
    ax.plot(np.ones(2), corners_y[[0, -1], 0], "-", color=EDGE_COLOUR, lw=2.5)
    dense, mu_over_L = kappa, mu / L
    if len(kappa) > 1 and np.all(mu > 0):
        dense = np.geomspace(kappa[0], kappa[-1], 200)
        mu_over_L = np.exp(np.interp(np.log(dense), np.log(kappa), np.log(mu / L)))
    ax.plot(1 / (1 + mu_over_L), dense, "--", color=BEST_COLOUR, lw=2.5)
    handles = [Patch(color=DIVERGED_COLOUR, label="diverged (run stopped by the divergence rule)"),
               Line2D([], [], color=EDGE_COLOUR, lw=2.5, label="theory: edge 2/L"),
               Line2D([], [], color=BEST_COLOUR, lw=2.5, ls="--", label="theory: best step 2/(L+μ) = κ/(κ+1)·2/L")]
    if edges is not None:
        ek = _kappa_of_each(edges)
        unit = np.asarray(edges["theory_edge_step"]).ravel()
        ax.plot(np.asarray(edges["edge_step"]).ravel() / unit, ek, "o", ms=9, mfc="white", mec="k", mew=1.2)
        ax.plot(np.asarray(edges["best_step"]).ravel() / unit, ek, "D", ms=5, mfc=BEST_COLOUR, mec="k", mew=1.0)
        handles += [Line2D([], [], ls="", marker="o", ms=9, mfc="white", mec="k", label="measured edge (bisection)"),
                    Line2D([], [], ls="", marker="D", ms=5, mfc=BEST_COLOUR, mec="k",
                           label="measured best step (golden section)")]
    ax.set_yscale("log")
    ax.set_xlim(corners_x.min(), corners_x.max())
    ax.set_ylim(corners_y.min(), corners_y.max())
    ax.set_xlabel("step / (2/L)")
    ax.set_ylabel("condition number κ")
    ax.set_title(f"Stability map of gradient descent{_describe(results, fixed)}")
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, fontsize=8, frameon=False)
    return fig


def iterations_vs_step(results, ax=None, *, kappas=None, at=None, max_curves=5):
    """Iterations to the run's tolerance against step / (2/L), one curve per condition number (log y).

    Measured iterations (never reached: left out) are solid with dots, the
    predicted worst case `predicted_iterations` dashed in the same colour, and
    the predicted best step 2/(L + mu) is a star on each curve, at the
    iterations theory gives there. kappas: which kappa values to draw
    (nearest on the axis); default up to `max_curves` spread over the axis.
    Without a 'kappa' axis, one curve. Returns the Figure.
    """
    has_kappa = "kappa" in results.axes
    get, fixed = _slicer(results, ("kappa", "step") if has_kappa else ("step",), at)
    fig, ax = _axes(ax, (9, 5.5))
    rows = (lambda name: get(name)) if has_kappa else (lambda name: get(name)[None])
    kappa_axis = np.asarray(results.axes["kappa"], dtype=float) if has_kappa else rows("condition_number")[:, 0]
    if kappas is None:
        chosen = np.unique(np.round(np.linspace(0, len(kappa_axis) - 1, min(max_curves, len(kappa_axis)))).astype(int))
    else:
        chosen = [_nearest(kappa_axis, k, "kappa") for k in np.atleast_1d(kappas)]
    config = results.config.get("run_config", {})
    tolerance = config.get("tolerance", 1e-6)
    x, measured, predicted = rows("step_over_edge"), rows("iterations"), rows("predicted_iterations")
    L, mu = rows("L")[:, 0], rows("mu")[:, 0]
    top = 1.0
    for n, i in enumerate(chosen):
        colour = f"C{n % 10}"
        order = np.argsort(x[i])
        xs, it, pred = x[i][order], measured[i][order].astype(float), predicted[i][order].astype(float)
        reached = it >= 0
        label = f"κ = {kappa_axis[i]:g}" + ("" if reached.any() else " (never within the run)")
        ax.plot(xs[reached], np.maximum(it[reached], 1), ".-", color=colour, lw=1.8, ms=5, label=label)
        ax.plot(xs, np.where(pred >= 0, np.maximum(pred, 1), np.nan), "--", color=colour, lw=1.2)
        best, iterations = _best(L[i], mu[i], tolerance)
        ax.plot(best, iterations, "*", ms=15, mfc=colour, mec="k", mew=1.0, zorder=5)
        top = max(top, np.max(it[reached], initial=1), iterations)
    if "num_steps" in config:
        ax.axhline(config["num_steps"], color="grey", ls=":", lw=1.2)
        top = max(top, config["num_steps"])
    ax.set_yscale("log")
    ax.set_ylim(0.7, 20 * top)
    handles, _ = ax.get_legend_handles_labels()
    handles += [Line2D([], [], color="k", ls="--", lw=1.2, label="predicted: first t with ρ²ᵗ ≤ tolerance, ρ = max|1 − step·hᵢ|"),
                Line2D([], [], ls="", marker="*", ms=13, mfc="white", mec="k", label="predicted best step 2/(L+μ)")]
    if "num_steps" in config:
        handles.append(Line2D([], [], color="grey", ls=":", lw=1.2, label=f"run length T = {config['num_steps']}"))
    ax.legend(handles=handles, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.11), ncol=3, frameon=False)
    ax.set_xlabel("step / (2/L)")
    ax.set_ylabel(f"iterations t to f(a_t) − f* ≤ {tolerance:g}·[f(a_0) − f*]")
    ax.set_title(f"Iterations to tolerance against step{_describe(results, fixed)}")
    ax.grid(True, which="major", alpha=0.3)
    return fig


def convergence_curves(results, ax=None, *, select, predicted=None, at=None, labels=None, floor=None):
    """f(a_t) − f* against iteration t (log y) for the runs nearest to each point of `select`.

    select: a list of {axis: value}, e.g. [{"step": 0.5, "kappa": 100}, ...];
        axes a point leaves out are fixed as in the module docstring.
    predicted: None; "bound", the worst case (f(a_0) − f*)·ρ^{2t} with ρ the
        run's predicted_rate; or one curve per selected run (over t = 0, 1, ...),
        e.g. `lab.spectrum.predicted_gap`. Drawn dashed in black.
    labels: one legend label per selected run (default: its step and kappa).
    floor: draw the rounding floor of f(a) − f* at this value (eps·|f*|, when the caller knows f*).
    Measured curves are solid; a diverged run stops where the rule fired,
    marked with a cross. Returns the Figure.
    """
    if not select:
        raise ValueError("select must list at least one run, e.g. [{'step': 0.5, 'kappa': 100.0}].")
    if labels is not None and len(labels) != len(select):
        raise ValueError(f"labels must have one entry per selected run: {len(labels)} labels, {len(select)} runs.")
    if not (predicted is None or isinstance(predicted, str) and predicted == "bound" or len(predicted) == len(select)):
        raise ValueError("predicted must be None, 'bound', or one curve per selected run.")
    fig, ax = _axes(ax, (9, 5.5))
    every = results.config.get("run_config", {}).get("record_every", 1)
    gaps, starts = [], []
    for n, point in enumerate(select):
        index = _index(results, point, at)
        gap = np.asarray(results["gap"][index], dtype=float)
        t = np.arange(gap.shape[-1]) * every
        diverged, at_step = bool(results["diverged"][index]), int(results["diverged_at"][index])
        keep = t < at_step if diverged else np.ones_like(t, dtype=bool)
        label = labels[n] if labels is not None else _run_label(results, index)
        line, = ax.semilogy(t[keep], np.where(gap[keep] > 0, gap[keep], np.nan), lw=2.2, alpha=0.85, label=label)
        if diverged and keep.any():
            ax.plot(t[keep][-1], gap[keep][-1], "x", color=line.get_color(), ms=10, mew=2.2)
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
        text = "bound (f(a_0) − f*)·ρ²ᵗ, ρ the predicted rate" if isinstance(predicted, str) else "predicted from the Hessian's spectrum"
        handles.append(Line2D([], [], color="k", ls="--", lw=0.9, label=text))
    if any(bool(results["diverged"][_index(results, p, at)]) for p in select):
        handles.append(Line2D([], [], ls="", marker="x", color="grey", ms=8, mew=2, label="divergence detected (run stopped)"))
    if floor is not None:
        ax.axhline(floor, color="grey", ls=":", lw=1.2)
        handles.append(Line2D([], [], color="grey", ls=":", lw=1.2, label="rounding floor ε·|f*| of f(a) − f*"))
    low = min((g.min() for g in gaps if g.size), default=1e-16)
    ax.set_ylim(min(low, floor or low) / 10, max(starts) * 1e5)
    ax.set_xlabel("iteration t")
    ax.set_ylabel("f(a_t) − f*")
    fixed = ", ".join(f"{name} = {results.axes[name][i]:g}" for name, i in zip(results.axes, _index(results, {}, at))
                      if name not in set().union(*select))
    ax.set_title(f"Convergence of gradient descent{_describe(results, fixed)}")
    ax.legend(handles=handles, fontsize=8, loc="lower left")
    ax.grid(True, which="major", alpha=0.3)
    return fig


# Helpers.

def _axes(ax, size):
    if ax is None:
        fig = Figure(figsize=size, layout="constrained")
        return fig, fig.add_subplot()
    return ax.figure, ax


def _nearest(values, value, name) -> int:
    values = np.asarray(values, dtype=float)
    if not np.isfinite(value):
        raise ValueError(f"{name} = {value!r} is not a finite number.")
    return int(np.argmin(np.abs(values - value)))


def _index(results, point, at) -> tuple:
    """Grid index of the run nearest to `point` ({axis: value}); other axes from `at`, else their first value."""
    chosen = {**(at or {}), **point}
    unknown = set(chosen) - set(results.axes)
    if unknown:
        raise ValueError(f"unknown axes {sorted(unknown)}: the results have axes {list(results.axes)}.")
    return tuple(_nearest(values, chosen[name], name) if name in chosen else 0 for name, values in results.axes.items())


def _slicer(results, keep, at):
    """get(output) -> the output on the `keep` axes (in that order), the other axes fixed; and a text saying how."""
    missing = [name for name in keep if name not in results.axes]
    if missing:
        raise ValueError(f"this figure needs the axes {list(keep)}; the results have {list(results.axes)}: "
                         f"sweep over {missing} too.")
    if at and set(at) & set(keep):
        raise ValueError(f"at fixes the axes not drawn; {sorted(set(at) & set(keep))} are drawn.")
    base = _index(results, {}, at)
    index = tuple(slice(None) if name in keep else i for name, i in zip(results.axes, base))
    order = [name for name in results.axes if name in keep]
    fixed = ", ".join(f"{name} = {values[i]:g}" for (name, values), i in zip(results.axes.items(), base) if name not in keep)

    def get(name):
        value = np.asarray(results[name])[index]
        return np.transpose(value, [order.index(name) for name in keep] + list(range(len(keep), value.ndim)))

    return get, fixed


def _describe(results, fixed) -> str:
    """'\\n(least squares, N = 100, D = 10, T = 1000 steps; seed = 0)' from the run's configuration."""
    config = results.config.get("run_config", {})
    parts = []
    if config.get("optimizer", "sgd") != "sgd" or any(name in results.axes for name in ("momentum", "b1", "b2")):
        parts.append(f"optimizer {config.get('optimizer', '?')}; theory lines: plain gradient descent")
    if "criterion" in config:
        parts.append(config["criterion"].replace("_", " "))
    parts += [f"{key} = {config[name]}" for key, name in (("N", "n"), ("D", "d")) if name in config]
    if "num_steps" in config:
        parts.append(f"T = {config['num_steps']} steps")
    text = ", ".join(parts) + ("; " if parts and fixed else "") + fixed
    return f"\n({text})" if text else ""


def _run_label(results, index) -> str:
    c = float(results["step_over_edge"][index])
    word = "below" if c < 1 - 1e-9 else ("at" if c <= 1 + 1e-9 else "above")
    kappa = float(results["condition_number"][index])
    return f"step = {c:.3g}·2/L ({word} the edge), κ = {kappa:.3g}"


def _best(L, mu, tolerance):
    """The best step 2/(L + mu) in units of 2/L, and the iterations theory gives there (at least 1)."""
    rate = (L - mu) / (L + mu)
    iterations = np.ceil(np.log(tolerance) / (2 * np.log(rate))) if rate > 0 else 1.0
    return L / (L + mu), max(float(iterations), 1.0)


def _corners(x, y):
    """Cell corners for pcolormesh: x (rows, cols) per row, y (rows,) on a log scale when positive."""
    row_edges = np.stack([_edges(row, log=False) for row in x])  # (rows, cols + 1)
    inner = (row_edges[1:] + row_edges[:-1]) / 2
    corners_x = np.concatenate([row_edges[:1], inner, row_edges[-1:]])
    y_edges = _edges(y, log=bool(np.all(y > 0)))
    corners_y = np.broadcast_to(y_edges[:, None], corners_x.shape)
    return corners_x, corners_y


def _kappa_of_each(edges):
    """The 'kappa' axis value of every point of `edges`, flattened like its outputs: each marker on its map row.

    (For logistic runs kappa conditions the features, and the Hessian's condition_number differs from it.)
    """
    if "kappa" not in edges.axes:
        return np.asarray(edges["condition_number"], dtype=float).ravel()
    grids = np.meshgrid(*[np.asarray(v, dtype=float) for v in edges.axes.values()], indexing="ij")
    return grids[list(edges.axes).index("kappa")].ravel()


def _edges(values, log):
    """Edges of the cells centred on `values` (midpoints, geometric when `log`); one cell of width 1 (or x10)."""
    v = np.log10(values) if log else np.asarray(values, dtype=float)
    if len(v) == 1:
        edges = np.array([v[0] - 0.5, v[0] + 0.5])
    else:
        middle = (v[1:] + v[:-1]) / 2
        edges = np.concatenate([[2 * v[0] - middle[0]], middle, [2 * v[-1] - middle[-1]]])
    return 10**edges if log else edges
