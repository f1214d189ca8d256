"""Conditioning: isotropic against anisotropic quadratics, raw against standardised features, in condition numbers and iterations.

Part 1, in 2-D: f(a) = 1/2 a^T H a with H = diag(ISOTROPIC) and diag(ANISOTROPIC),
written as least squares (1/N)||y - A a||^2 on A = diag(sqrt(h)), y = 0, N = 2.
Gradient descent from the same start at the course's step 0.1 and at each
quadratic's best step 2/(L + mu), every iterate recorded (`descent.run(record_path=True)`) and
drawn on the contour lines. At step 0.1 both descend at the rate 1 - 0.1 mu =
0.9 set by the flat direction (mu = 1 in both); what anisotropy costs is the
step: the isotropic bowl is stable up to 2/L = 2 and its best step reaches the
minimum in one iteration, the anisotropic one is stable only below 2/L = 0.2
and converges at best at the rate (kappa - 1)/(kappa + 1) = 9/11, zigzagging.

Part 2, least squares with an intercept on features of very different scales
and offsets, raw and standardised (`problems.standardize`: columns centred,
scaled to unit standard deviation): the condition number kappa = L/mu of the
Hessian (2/N) A^T A before and after, and the iterations gradient descent
needs at its best step 2/(L + mu) to bring f - f* below TOLERANCE (f(a_0) - f*),
measured by running it (at most SIZES["num_steps"] iterations) beside the number predicted
from the spectrum (`spectrum.predicted_iterations`, a bound: the gap shrinks at
least by ((kappa - 1)/(kappa + 1))^2 per step). Both share f*: standardising is
an affine change of variables that the intercept absorbs. On two synthetic
data sets and on the diabetes data (Efron et al. 2004, experiments/data/).
The "extreme" synthetic set and the raw diabetes data would need 1e8 to 1e11
iterations: they are run for SIZES["num_steps"] and drawn as not reached, beside the
prediction. Standardised diabetes keeps kappa = 470: total cholesterol s1 is
nearly a sum of s2, s3 and s5 (correlation-matrix eigenvalue 0.009), and no
per-column scaling removes a correlation.
"""

# %%
import functools
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from experiments import command_line, first_below, prepare, save, size  # noqa: E402
from lab import criteria, descent, problems, reference, spectrum  # noqa: E402

# Part 1: two quadratics in 2-D.
ISOTROPIC, ANISOTROPIC = (1.0, 1.0), (1.0, 10.0)   # Hessian eigenvalues
COURSE_STEP = 0.1
START = (-4.0, 2.0)
PATH_NUM_STEPS = 100
# Part 2: features with different scales and offsets, raw against standardised.
TOLERANCE = 1e-8                                    # on (f(a_t) - f*) / (f(a_0) - f*)
SIZES = dict(num_steps=(200_000, 60_000),                  # full, quick: gradient-descent iterations per run, at most
             draws=(20, 3))                                # synthetic draws whose condition numbers are summarised
SYNTHETIC_N = 200
# name: (offset of x1, scale of x1, scale of x2); x1 = offset + scale N(0, 1), x2 = scale N(0, 1).
SYNTHETIC = {"mild": (10.0, 1.0, 0.1), "extreme": (1000.0, 100.0, 0.01)}
DIABETES = Path(__file__).parent / "data" / "diabetes.csv"


# %%
def quadratic(curvatures, dtype):
    """`Data` whose least-squares criterion is 1/2 a^T diag(curvatures) a: A = diag(sqrt(h)), y = 0, N = 2."""
    h = jnp.asarray(curvatures, dtype)
    return problems.make_data(jnp.diag(jnp.sqrt(h)), jnp.zeros(2, dtype), intercept=False)


# The four 2-D runs: (0 isotropic or 1 anisotropic, whether at the best step 2/(L + mu) rather than COURSE_STEP).
RUNS_2D = ((0, False), (0, True), (1, False), (1, True))


def stack(items):
    """A list of pytrees of arrays as one pytree of stacked arrays, ready for `jax.vmap`."""
    return jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *items)


@functools.partial(jax.jit, static_argnames="dtype")
def compute_2d(dtype=jnp.float64):
    """Four runs: each quadratic at the course's step and at its best step; iterates, gaps and their theory."""
    problems_2d = [quadratic(h, dtype) for h in (ISOTROPIC, ANISOTROPIC)]
    origin, start = jnp.zeros(2, dtype), jnp.asarray(START, dtype)
    specs = [spectrum.spectrum(criteria.least_squares, origin, data) for data in problems_2d]
    steps = jnp.stack([spectrum.best_step(specs[k].L, specs[k].mu) if best else jnp.asarray(COURSE_STEP, dtype)
                       for k, best in RUNS_2D])
    data = stack([problems_2d[k] for k, _ in RUNS_2D])
    minimum = descent.Optimum(origin, jnp.zeros((), dtype))  # a* = 0, f* = 0
    traces = jax.vmap(lambda d, step: descent.gradient_descent(criteria.least_squares, d, start, minimum, step,
                                                               PATH_NUM_STEPS, record_path=True))(data, steps)
    paths, gaps = traces.path, traces.gap
    predicted = jax.vmap(lambda sp, step: spectrum.predicted_gap(sp, step, start, origin, PATH_NUM_STEPS))(
        stack([specs[k] for k, _ in RUNS_2D]), steps)
    contractions = jnp.stack([spectrum.contraction(steps[i], specs[k].L, specs[k].mu) for i, (k, _) in enumerate(RUNS_2D)])
    return dict(specs=specs, kappas=[sp.kappa for sp in specs], steps=steps, contractions=contractions, paths=paths,
                gaps=gaps, predicted=predicted)


# %%
@functools.partial(jax.jit, static_argnames="dtype")
def synthetic_features(seed, offset, scale, small_scale, dtype):
    """x1 = offset + scale z1, x2 = small_scale z2, y = 3 + 2 z1 - z2 + 0.1 z3 (z standard normal): (N, 2), (N,)."""
    z = jax.random.normal(jax.random.key(seed), (SYNTHETIC_N, 3), dtype)
    X = jnp.stack([offset + scale * z[:, 0], small_scale * z[:, 1]], axis=1)
    return X, 3.0 + 2.0 * z[:, 0] - z[:, 1] + 0.1 * z[:, 2]


def condition_numbers_over_draws(seeds, dtype):
    """The synthetic sets' condition numbers, raw and standardised, on each draw: {set: {which: [kappa, ...]}}."""
    found = {}
    for name, scales in SYNTHETIC.items():
        kappas = {"raw": [], "standardized": []}
        for seed in seeds:
            X, y = synthetic_features(int(seed), *scales, dtype)
            for which, Xi in (("raw", X), ("standardized", problems.standardize(X)[0])):
                data = problems.make_data(Xi, y)
                kappas[which].append(float(spectrum.spectrum(criteria.least_squares, jnp.zeros(3, dtype), data).kappa))
        found[f"synthetic, {name}"] = kappas
    return found


def load_diabetes(dtype):
    """The diabetes data in its original units: X (442, 10), y (442,), and the column names."""
    return problems.load_csv(DIABETES, "target", dtype=dtype)


@functools.partial(jax.jit, static_argnames="num_steps")
def compute_features(X, y, num_steps: int):
    """Raw and standardised features: spectra, exact optima, and gradient descent at each one's best step."""
    designs = (X, problems.standardize(X)[0])
    datas = [problems.make_data(Xi, y) for Xi in designs]
    optima = [descent.optimum(criteria.least_squares, reference.least_squares(Xi, y), data) for Xi, data in zip(designs, datas)]
    specs = [spectrum.spectrum(criteria.least_squares, opt.params, data) for opt, data in zip(optima, datas)]
    data, optimum, spec = stack(datas), stack(optima), stack(specs)
    steps = spectrum.best_step(spec.L, spec.mu)
    start = jnp.zeros(X.shape[1] + 1, X.dtype)
    traces = jax.vmap(lambda d, o, s: descent.gradient_descent(criteria.least_squares, d, start, o, s, num_steps))(data, optimum, steps)
    predicted = jax.vmap(lambda sp, s, o: spectrum.predicted_gap(sp, s, start, o.params, num_steps))(spec, steps, optimum)
    gap0 = traces.gap[:, 0]
    bound = spectrum.predicted_iterations(spectrum.optimal_rate(spec.kappa), gap0, TOLERANCE * gap0)
    return dict(spec=spec, kappa=spec.kappa, optimum=optimum, steps=steps, traces=traces, predicted=predicted, bound=bound)


def compute(seed: int = 0, quick: bool = False, dtype=jnp.float64):
    """Both parts: numpy arrays only (two or three compiled calls, then no JAX operation in the figures)."""
    num_steps = size(SIZES, "num_steps", quick)
    sets = {f"synthetic, {name}": synthetic_features(seed, *scales, dtype) for name, scales in SYNTHETIC.items()}
    X, y, names = load_diabetes(dtype)
    sets["diabetes"] = (X, y)
    features = {name: compute_features(X, y, num_steps) for name, (X, y) in sets.items()}
    return dict(quadratics=jax.device_get(compute_2d(dtype)), features=jax.device_get(features),
                shapes={k: tuple(v[0].shape) for k, v in sets.items()}, diabetes_columns=names,
                draws=condition_numbers_over_draws(seed + np.arange(size(SIZES, "draws", quick)), dtype))


# %%
def run_label(step, best):
    return f"step {step:.3g}" + (" = 2/(L+μ), the best" if best else " (the course's)")


def finite(value):
    """A float, or None where it is infinite or NaN (JSON has no infinity): kappa of a Hessian singular in rounding."""
    value = float(value)
    return value if np.isfinite(value) else None


def plural(count, word):
    return f"{count} {word}" + ("" if count == 1 else "s")


def figure_2d(result):
    """Contour lines with the four trajectories; f(a_t) - f* measured and predicted."""
    q = result["quadratics"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.8), gridspec_kw=dict(width_ratios=(1, 1, 1.15)))
    grid = np.meshgrid(np.linspace(-4.6, 1.6, 300), np.linspace(-2.6, 2.6, 300))
    levels = np.geomspace(0.02, 40, 12)
    for k, (h, ax) in enumerate(zip((ISOTROPIC, ANISOTROPIC), axes[:2])):
        spec = q["specs"][k]
        f = 0.5 * (h[0] * grid[0] ** 2 + h[1] * grid[1] ** 2)
        ax.contour(*grid, f, levels=levels, colors="grey", linewidths=0.7)
        for i, (problem, best) in enumerate(RUNS_2D):
            if problem != k:
                continue
            step = float(q["steps"][i])
            path = np.asarray(q["paths"][i])
            iterations = first_below(q["gaps"][i], TOLERANCE * float(q["gaps"][i][0]))
            style = dict(color="tab:orange", ls="-", lw=4, alpha=0.55, marker="o", ms=9, mfc="none", zorder=2) if best else \
                dict(color="tab:blue", ls="-", lw=1.2, marker=".", ms=6, zorder=3)
            ax.plot(path[:, 0], path[:, 1], **style,
                    label=f"{run_label(step, best)}: {plural(iterations, 'iteration')} to tolerance {TOLERANCE:g}")
        if h[0] != h[1] and COURSE_STEP * max(h) == 1:
            ax.annotate(f"step {COURSE_STEP:g} = 1/L: the steep\ncomponent a₂ is 0 after one step", (START[0] * (1 - COURSE_STEP * h[0]), 0),
                        xytext=(-4.45, -2.45), fontsize=8, color="tab:blue", arrowprops=dict(arrowstyle="->", color="tab:blue"),
                        bbox=dict(facecolor="white", edgecolor="none", alpha=0.85))
        ax.plot(*START, "s", color="k", ms=7, label=f"start a₀ = {START}")
        ax.plot(0, 0, "*", color="tab:red", ms=14, label="minimum a* = 0")
        ax.set_aspect("equal")
        ax.set_xlim(-4.6, 1.6)
        ax.set_ylim(-2.6, 2.6)
        ax.set_xlabel("a₁")
        ax.set_ylabel("a₂")
        kind = "isotropic" if h[0] == h[1] else "anisotropic"
        ax.set_title(f"{kind}: H = diag({h[0]:g}, {h[1]:g}), κ = {float(q['kappas'][k]):g}, 2/L = {2 / float(spec.L):g}",
                     fontsize=10)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=1)

    ax = axes[2]
    t = np.arange(PATH_NUM_STEPS + 1)
    styles = {(0, False): ("tab:blue", "-"), (0, True): ("tab:orange", "-"), (1, False): ("tab:blue", ":"), (1, True): ("tab:orange", ":")}
    for i, (problem, best) in enumerate(RUNS_2D):
        step = float(q["steps"][i])
        gap = np.asarray(q["gaps"][i]) / float(q["gaps"][i][0])
        colour, style = styles[(problem, best)]
        kind = "isotropic" if problem == 0 else "anisotropic"
        ax.semilogy(t, np.where(gap > 0, gap, np.nan), style, color=colour, lw=2.5, alpha=0.8, label=f"{kind}, {run_label(step, best)}")
        if gap[1] == 0:  # exactly at the minimum after one step: nothing to draw on a log scale
            ax.annotate("", (1, 1e-20), xytext=(1, 1e-2), arrowprops=dict(arrowstyle="->", color=colour, lw=2))
            ax.text(3, 1e-17, f"{kind}, best step:\nf = f* exactly at t = 1", color=colour, fontsize=8)
        ax.semilogy(t, np.asarray(q["predicted"][i]) / float(q["predicted"][i][0]), "--", color="k", lw=0.8)
    ax.plot([], [], "--", color="k", lw=0.8, label="predicted from the Hessian's spectrum")
    ax.axhline(TOLERANCE, color="grey", ls=":", lw=1.2, label=f"tolerance {TOLERANCE:g}")
    ax.set_ylim(1e-20, 3)
    ax.set_xlim(0, PATH_NUM_STEPS)
    ax.set_xlabel("iteration t")
    ax.set_ylabel("(f(a_t) − f*) / (f(a₀) − f*), log scale")
    ax.set_title("Measured (colour) and predicted (dashed)", fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=1)
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    return fig


DATA_COLOURS = ("tab:blue", "tab:green", "tab:purple")


def describe(name):
    """Tick label: the data set and how its features were drawn."""
    if name.startswith("synthetic"):
        kind = name.split(", ")[1]
        offset, scale, small = SYNTHETIC[kind]
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


def figure_features(result, summary):
    """Condition numbers before and after; measured and predicted convergence; iterations against kappa."""
    features = result["features"]
    names = list(features)
    fig = plt.figure(figsize=(13, 10.5), layout="constrained")
    panels = fig.add_gridspec(2, 2, width_ratios=(0.85, 1.15))
    ax, bx, cx = fig.add_subplot(panels[0, 0]), fig.add_subplot(panels[0, 1]), fig.add_subplot(panels[1, 0])
    key = fig.add_subplot(panels[1, 1])  # the iterations panel's legend: its entries are sentences
    key.axis("off")
    width = 0.38
    for j, name in enumerate(names):
        kappas = [summary["features"][name][which]["condition_number"] for which in ("raw", "standardized")]
        for k, (kappa, hatch) in enumerate(zip(kappas, ("", "//"))):
            if kappa is None:  # singular in this precision (float32)
                ax.text(j + (k - 0.5) * width, 1, "∞", ha="center", fontsize=12)
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
                       Patch(facecolor="white", edgecolor="k", hatch="//", label="standardised (centred, unit variance)"),
                       ax.errorbar([], [], yerr=[], fmt="none", ecolor="k", capsize=4,
                                   label=f"synthetic: lowest to highest over {draws} draws (bar: the draw drawn)")],
              fontsize=8, loc="upper left")
    ax.set_yscale("log")
    ax.set_ylim(0.5, 1e15)  # room above the bars' labels for the legend
    ax.set_xticks(range(len(names)), [describe(name) for name in names], fontsize=8)
    ax.set_ylabel("condition number κ = L/μ of the Hessian, log scale")
    ax.set_title("Condition number before and after", fontsize=10)
    ax.grid(True, axis="y", which="major", alpha=0.3)

    num_steps = result["features"][names[0]]["traces"].gap.shape[1] - 1
    dtype = result["features"][names[0]]["traces"].gap.dtype
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
            # Drawn until it first meets the rounding floor of f - f*, 10 eps (1 + |f*|), below which it is noise.
            floor = 10 * np.finfo(gap.dtype).eps * (1 + abs(float(features[name]["optimum"].value[k]))) / float(traces.gap[k][0])
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
    bx.axhline(TOLERANCE, color="grey", ls=":", lw=1.2, label=f"tolerance {TOLERANCE:g}")
    bx.set_ylim(1e-18, 3)
    bx.set_xlabel("iteration t, log scale")
    bx.set_ylabel("(f(a_t) − f*) / (f(a₀) − f*), log scale")
    bx.set_title(f"Gradient descent at each problem's step 2/(L+μ), {num_steps:,} iterations", fontsize=10)
    bx.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)
    bx.grid(True, which="major", alpha=0.3)

    kappa_grid = np.geomspace(1.0001, 1e11, 200)
    rate = spectrum.optimal_rate(np.asarray(kappa_grid, dtype))
    bound = spectrum.predicted_iterations(rate, 1.0, TOLERANCE)
    # In float32, (kappa - 1)/(kappa + 1) is no longer resolved beyond kappa ~ 1e7: no theory drawn there.
    bound = np.where(np.asarray(rate) < 1 - 4 * np.finfo(dtype).eps, np.asarray(bound), np.nan)
    cx.loglog(kappa_grid, np.maximum(bound, 1), "-", color="k", lw=1,
              label="predicted: log(1/tol) / (2 log((κ+1)/(κ−1))) ≈ 4.6 κ")
    cx.axhline(num_steps, color="grey", ls=":", lw=1.2, label=f"iterations run: {num_steps:,}")
    for j, name in enumerate(names):
        for which, fill in (("raw", None), ("standardized", "white")):
            entry = summary["features"][name][which]
            kappa, measured, predicted_n = entry["condition_number"], entry["measured_iterations"], entry["predicted_iterations"]
            if kappa is None or predicted_n is None:
                continue
            words = "standardised" if which == "standardized" else which
            if which == "standardized" and name in same:
                continue
            if which == "standardized" and name in same.values():
                words = f"standardised = {', '.join(n for n, e in same.items() if e == name)}, standardised"
            if measured is not None:
                cx.loglog(kappa, measured, "o", color=DATA_COLOURS[j], mfc=fill, ms=9, mew=2,
                          label=f"{name}, {words}: κ = {kappa:.3g}, measured {measured:,}, predicted {predicted_n:,.0f}")
            else:
                cx.loglog(kappa, num_steps, "^", color=DATA_COLOURS[j], mfc=fill, ms=10, mew=2,
                          label=f"{name}, {words}: κ = {kappa:.3g}, not reached in {num_steps:,}, predicted {predicted_n:.3g}")
                cx.plot([kappa, kappa], [num_steps, predicted_n], ":", color=DATA_COLOURS[j], lw=1.2)
                cx.plot(kappa, predicted_n, "x", color=DATA_COLOURS[j], ms=9, mew=2)
    cx.plot([], [], "x", color="grey", ms=8, mew=2, label="predicted, where it could not be run to tolerance")
    cx.set_xlim(0.5, 1e13)
    cx.set_ylim(0.5, 1e12)
    cx.set_xlabel("condition number κ, log scale")
    cx.set_ylabel(f"iterations to f − f* ≤ {TOLERANCE:g}·(f(a₀) − f*), log scale")
    cx.set_title("Iterations to tolerance at the best step against κ", fontsize=10)
    key.legend(*cx.get_legend_handles_labels(), fontsize=8.5, loc="center left", title="iterations to tolerance",
               title_fontsize=9)
    cx.grid(True, which="major", alpha=0.3)
    return fig


# %%
def numbers(result):
    """The key numbers, as plain JSON-ready values."""
    q = result["quadratics"]
    runs_2d = []
    for i, (problem, best) in enumerate(RUNS_2D):
        step = float(q["steps"][i])
        spec, gap, predicted = q["specs"][problem], np.asarray(q["gaps"][i]), np.asarray(q["predicted"][i])
        runs_2d.append(dict(
            hessian_eigenvalues=np.asarray(spec.eigenvalues).tolist(), condition_number=float(q["kappas"][problem]),
            step=step, best_step=best, stability_threshold=float(spectrum.stability_threshold(spec.L)),
            contraction=float(q["contractions"][i]),
            measured_iterations=first_below(gap, TOLERANCE * gap[0]),
            predicted_iterations=first_below(predicted, TOLERANCE * predicted[0]),
            max_abs_deviation_from_prediction=float(np.max(np.abs(gap - predicted) / gap[0])),
        ))
    features = {}
    for name, f in result["features"].items():
        entries = {}
        for k, which in enumerate(("raw", "standardized")):
            gap = np.asarray(f["traces"].gap[k])
            predicted = np.asarray(f["predicted"][k])
            measured = first_below(gap, TOLERANCE * gap[0])
            bound = finite(f["bound"][k])
            entries[which] = dict(
                condition_number=finite(f["kappa"][k]), L=float(f["spec"].L[k]), mu=float(f["spec"].mu[k]),
                step=float(f["steps"][k]), f_star=float(f["optimum"].value[k]), initial_gap=float(gap[0]),
                measured_iterations=measured, predicted_iterations=bound,
                exact_theory_iterations=first_below(predicted, TOLERANCE * predicted[0]),
                measured_over_predicted=None if measured is None or not bound else measured / bound,
                relative_gap_at_end=float(gap[-1] / gap[0]),
                diverged=bool(f["traces"].diverged[k]),
            )
        raw, std = entries["raw"], entries["standardized"]
        features[name] = dict(
            shape=list(result["shapes"][name]), **entries,
            condition_number_ratio=finite(raw["condition_number"] / std["condition_number"])
            if raw["condition_number"] and std["condition_number"] else None,
            f_star_relative_difference=abs(raw["f_star"] - std["f_star"]) / abs(std["f_star"]),
        )
    return dict(
        tolerance=TOLERANCE, num_steps=int(result["features"]["diabetes"]["traces"].gap.shape[1] - 1),
        quadratics=dict(course_step=COURSE_STEP, start=list(START), isotropic=list(ISOTROPIC),
                        anisotropic=list(ANISOTROPIC), runs=runs_2d),
        synthetic=dict(n=SYNTHETIC_N, **{name: dict(x1_offset=o, x1_scale=s, x2_scale=s2) for name, (o, s, s2) in SYNTHETIC.items()}),
        diabetes_columns=result["diabetes_columns"],
        features=features,
        synthetic_draws={name: dict(count=len(kappas["raw"]), **{
            which: dict(median=float(np.median(k)), low=float(np.min(k)), high=float(np.max(k)))
            for which, k in kappas.items()}) for name, kappas in result["draws"].items()},
    )


def reproduce(out="figures", quick=False, dtype="float64", seed=0):
    """Compute, draw and save `conditioning_quadratics.png`, `conditioning_features.png` and `conditioning.json` in `out`."""
    out = prepare(out, dtype)
    result = compute(seed, quick, jnp.dtype(dtype))
    summary = numbers(result)
    return save(out, "conditioning", summary,
                {"quadratics": figure_2d(result), "features": figure_features(result, summary)})


# %%
if __name__ == "__main__":
    summary = command_line(reproduce, __doc__)
    for r in summary["quadratics"]["runs"]:
        print(f"2-D, H = diag({', '.join(f'{h:g}' for h in r['hessian_eigenvalues'])}), step {r['step']:.3g}: "
              f"{plural(r['measured_iterations'], 'iteration')} "
              f"(predicted {r['predicted_iterations']})")
    for name, f in summary["features"].items():
        for which in ("raw", "standardized"):
            e = f[which]
            print(f"{name:<20} {which:<13} kappa {e['condition_number'] or float('inf'):9.3g}  "
                  f"iterations measured {e['measured_iterations']} predicted {e['predicted_iterations'] or float('inf'):.3g}")
