"""Conditioning on data: raw against standardised features, in condition numbers and iterations.

Least squares with an intercept on features of very different scales and offsets, raw and standardised
(`problems.standardize`: columns centred, scaled to unit standard deviation): the condition number
kappa = L/mu of the Hessian (2/N) A^T A before and after, and the iterations gradient descent needs at its best
learning rate 2/(L + mu) to bring f - f* below TOLERANCE (f(a_0) - f*), run (at most SIZES["num_steps"]) beside
those predicted from the spectrum (`spectrum.predicted_iterations`, a bound: the gap shrinks at least by
((kappa - 1)/(kappa + 1))^2 per step). Both share f*: the intercept absorbs the affine change of variables.
On two synthetic data sets and the diabetes data (Efron et al. 2004, lab/data/). The "extreme" set and raw
diabetes would need 1e8 to 1e11 iterations: drawn as not reached, beside the prediction. Standardised diabetes
keeps kappa = 470: total cholesterol s1 is nearly a sum of s2, s3 and s5 (correlation-matrix eigenvalue 0.009),
which no per-column scaling removes. In float32 the raw features' kappa is beyond what the dtype resolves (null,
with a warning). The same lesson in 2-D is `conditioning_quadratics`."""

# %%
import functools
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from experiments import command_line, finite, first_below, prepare, save, size, stack
from experiments.figures.conditioning import features_figure
from lab import criteria, datasets, descent, problems, reference, runs, spectrum

TOLERANCE = 1e-8                                    # on (f(a_t) - f*) / (f(a_0) - f*)
SIZES = dict(num_steps=(200_000, 60_000),                  # full, quick: gradient-descent iterations per run, at most
             draws=(20, 3))                                # synthetic draws whose condition numbers are summarised
SYNTHETIC_N = 200
# name: (offset of x1, scale of x1, scale of x2); x1 = offset + scale N(0, 1), x2 = scale N(0, 1).
SYNTHETIC = {"mild": (10.0, 1.0, 0.1), "extreme": (1000.0, 100.0, 0.01)}
WHICH = ("raw", "standardized")


# %%
@functools.partial(jax.jit, static_argnames="dtype")
def synthetic_features(seed, offset, scale, small_scale, dtype):
    """x1 = offset + scale z1, x2 = small_scale z2, y = 3 + 2 z1 - z2 + 0.1 z3 (z standard normal): (N, 2), (N,)."""
    z = jax.random.normal(jax.random.key(seed), (SYNTHETIC_N, 3), dtype)
    X = jnp.stack([offset + scale * z[:, 0], small_scale * z[:, 1]], axis=1)
    return X, 3.0 + 2.0 * z[:, 0] - z[:, 1] + 0.1 * z[:, 2]


def condition_numbers_over_draws(seeds, dtype):
    """The synthetic sets' condition numbers, raw and standardised, on each draw: {set: {which: [kappa, ...]}}."""
    found, limit = {}, spectrum.largest_resolved_kappa(dtype)  # beyond it kappa is rounding (NaN: not resolved)
    for name, scales in SYNTHETIC.items():
        kappas = {which: [] for which in WHICH}
        for seed in seeds:
            X, y = synthetic_features(int(seed), *scales, dtype)
            for which, Xi in zip(WHICH, (X, problems.standardize(X)[0])):
                spec = spectrum.spectrum(criteria.least_squares, jnp.zeros(3, dtype), problems.make_data(Xi, y))
                kappas[which].append(float(spec.kappa) if spec.mu > 0 and spec.kappa <= limit else np.nan)
        found[f"synthetic, {name}"] = kappas
    return found


@functools.partial(jax.jit, static_argnames="num_steps")
def compute_features(X, y, num_steps: int):
    """Raw and standardised features: spectra, exact optima, and gradient descent at each one's best learning rate."""
    designs = (X, problems.standardize(X)[0])
    datas = [problems.make_data(Xi, y) for Xi in designs]
    optima = [descent.optimum(criteria.least_squares, reference.least_squares(Xi, y), data)
              for Xi, data in zip(designs, datas)]
    specs = [spectrum.spectrum(criteria.least_squares, opt.params, data) for opt, data in zip(optima, datas)]
    data, optimum, spec = stack(datas), stack(optima), stack(specs)
    learning_rates = spectrum.best_learning_rate(spec.L, spec.mu)
    start = jnp.zeros(X.shape[1] + 1, X.dtype)
    traces = jax.vmap(lambda d, o, s: descent.gradient_descent(criteria.least_squares, d, start, o, s, num_steps))(
        data, optimum, learning_rates)
    predicted = jax.vmap(lambda sp, s, o: spectrum.predicted_gap(sp, s, start, o.params, num_steps))(
        spec, learning_rates, optimum)
    gap0 = traces.gap[:, 0]
    bound = spectrum.predicted_iterations(spectrum.optimal_rate(spec.kappa), gap0, TOLERANCE * gap0)
    return dict(spec=spec, kappa=spec.kappa, optimum=optimum, learning_rates=learning_rates, traces=traces,
                predicted=predicted, bound=bound)


def compute(seed: int = 0, quick: bool = False, dtype=jnp.float64):
    """Every data set's runs and the draws' condition numbers: numpy arrays only (no JAX operation in the figure)."""
    num_steps = size(SIZES, "num_steps", quick)
    sets = {f"synthetic, {name}": synthetic_features(seed, *scales, dtype) for name, scales in SYNTHETIC.items()}
    X, y, names = datasets.diabetes(dtype=dtype)  # in its units: (442, 10), (442,), names
    sets["diabetes"] = (X, y)
    features = {name: compute_features(X, y, num_steps) for name, (X, y) in sets.items()}
    draws = condition_numbers_over_draws(seed + np.arange(size(SIZES, "draws", quick)), dtype)
    return dict(features=jax.device_get(features), shapes={k: tuple(v[0].shape) for k, v in sets.items()},
                diabetes_columns=names, draws=draws)


# %%
def numbers(result):
    """The key numbers, as plain JSON-ready values."""
    features = {}
    for name, f in result["features"].items():
        entries, limit = {}, spectrum.largest_resolved_kappa(f["traces"].gap.dtype)
        for k, which in enumerate(WHICH):
            gap, predicted = np.asarray(f["traces"].gap[k]), np.asarray(f["predicted"][k])
            # the tolerance lies above f's rounding near f* (not float32's standardised diabetes)
            resolved = bool(runs.iterations_resolved(TOLERANCE, gap[0], f["optimum"].value[k]))
            measured = first_below(gap, TOLERANCE * gap[0]) if resolved else None
            bound = finite(f["bound"][k])
            entries[which] = dict(
                condition_number=finite(f["kappa"][k]) if f["spec"].mu[k] > 0 and f["kappa"][k] <= limit else None,
                L=float(f["spec"].L[k]), mu=float(f["spec"].mu[k]), tolerance_resolved=bool(resolved),
                learning_rate=float(f["learning_rates"][k]), f_star=float(f["optimum"].value[k]),
                initial_gap=float(gap[0]), measured_iterations=measured, predicted_iterations=bound,
                exact_theory_iterations=first_below(predicted, TOLERANCE * predicted[0]),
                measured_over_predicted=None if measured is None or not bound else measured / bound,
                relative_gap_at_end=float(gap[-1] / gap[0]), diverged=bool(f["traces"].diverged[k]),
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
        synthetic=dict(n=SYNTHETIC_N, **{name: dict(x1_offset=o, x1_scale=s, x2_scale=s2)
                                         for name, (o, s, s2) in SYNTHETIC.items()}),
        diabetes_columns=result["diabetes_columns"], features=features,
        synthetic_draws={name: dict(count=len(kappas["raw"]), **{
            which: dict(median=finite(np.median(k)), low=finite(np.min(k)), high=finite(np.max(k)))
            for which, k in kappas.items()}) for name, kappas in result["draws"].items()},
    )


def reproduce(out="figures", quick=False, dtype="float64", seed=0):
    """Compute, draw and save `conditioning_features.png` and `conditioning.json` in `out`."""
    out = prepare(out, dtype)
    result = compute(seed, quick, jnp.dtype(dtype))
    summary = numbers(result)
    features = summary["features"]
    if unresolved := {f"{name} ({w})": "kappa" if not f[w]["condition_number"] else "tolerance" for name, f in
                      features.items() for w in WHICH if not (f[w]["condition_number"] and f[w]["tolerance_resolved"])}:
        warnings.warn(f"beyond what {dtype} resolves (kappa: mu <= 0 or above 1/(100 eps); tolerance: below f's "
                      f"rounding near f*): {unresolved}. Recorded as null and drawn as such. Use float64.")
    return save(out, "conditioning", summary, {"features": features_figure(result, summary)})


# %%
if __name__ == "__main__":
    summary = command_line(reproduce, __doc__)
    for name, f in summary["features"].items():  # kappa and iterations, raw and standardised
        print(name, *[(f[w]["condition_number"], f[w]["measured_iterations"]) for w in WHICH])
