"""Conditioning on data: raw against standardised features, in condition numbers and iterations.

Least squares with an intercept on features of very different scales
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
per-column scaling removes a correlation. The same lesson in 2-D, an isotropic
against an anisotropic quadratic, is `conditioning_quadratics`.
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

from experiments import command_line, first_below, prepare, save, size, stack  # noqa: E402
from lab import criteria, descent, problems, reference, spectrum  # noqa: E402

TOLERANCE = 1e-8                                    # on (f(a_t) - f*) / (f(a_0) - f*)
SIZES = dict(num_steps=(200_000, 60_000),                  # full, quick: gradient-descent iterations per run, at most
             draws=(20, 3))                                # synthetic draws whose condition numbers are summarised
SYNTHETIC_N = 200
# name: (offset of x1, scale of x1, scale of x2); x1 = offset + scale N(0, 1), x2 = scale N(0, 1).
SYNTHETIC = {"mild": (10.0, 1.0, 0.1), "extreme": (1000.0, 100.0, 0.01)}
DIABETES = Path(__file__).parent / "data" / "diabetes.csv"


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
    """Every data set's runs and the draws' condition numbers: numpy arrays only (no JAX operation in the figure)."""
    num_steps = size(SIZES, "num_steps", quick)
    sets = {f"synthetic, {name}": synthetic_features(seed, *scales, dtype) for name, scales in SYNTHETIC.items()}
    X, y, names = load_diabetes(dtype)
    sets["diabetes"] = (X, y)
    features = {name: compute_features(X, y, num_steps) for name, (X, y) in sets.items()}
    return dict(features=jax.device_get(features),
                shapes={k: tuple(v[0].shape) for k, v in sets.items()}, diabetes_columns=names,
                draws=condition_numbers_over_draws(seed + np.arange(size(SIZES, "draws", quick)), dtype))


# %%
def finite(value):
    """A float, or None where it is infinite or NaN (JSON has no infinity): kappa of a Hessian singular in rounding."""
    value = float(value)
    return value if np.isfinite(value) else None


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
        synthetic=dict(n=SYNTHETIC_N, **{name: dict(x1_offset=o, x1_scale=s, x2_scale=s2) for name, (o, s, s2) in SYNTHETIC.items()}),
        diabetes_columns=result["diabetes_columns"],
        features=features,
        synthetic_draws={name: dict(count=len(kappas["raw"]), **{
            which: dict(median=float(np.median(k)), low=float(np.min(k)), high=float(np.max(k)))
            for which, k in kappas.items()}) for name, kappas in result["draws"].items()},
    )


def reproduce(out="figures", quick=False, dtype="float64", seed=0):
    """Compute, draw and save `conditioning_features.png` and `conditioning.json` in `out`."""
    out = prepare(out, dtype)
    result = compute(seed, quick, jnp.dtype(dtype))
    summary = numbers(result)
    return save(out, "conditioning", summary, {"features": figure_features(result, summary)})


# %%
if __name__ == "__main__":
    summary = command_line(reproduce, __doc__)
    for name, f in summary["features"].items():
        for which in ("raw", "standardized"):
            e = f[which]
            print(f"{name:<20} {which:<13} kappa {e['condition_number'] or float('inf'):9.3g}  "
                  f"iterations measured {e['measured_iterations']} predicted {e['predicted_iterations'] or float('inf'):.3g}")
