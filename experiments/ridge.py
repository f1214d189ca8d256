"""Ridge with fewer samples than features: many exact fits, the ridge path tends to the minimum-norm one, and so
does GD from 0.

N samples, D > N features (`problems.random_regression`), intercept column prepended: P = D + 1 parameters and a
design A of rank N, so the least-squares error (1/N)||y - A a||^2 is zero on a whole affine subspace a+ + null(A),
of dimension P - N. Three measured facts:

(a) the minimum-norm solution a+ = pinv(A) y (`reference.min_norm`) and a+ + z, for z in null(A), all have zero
    training error; a+ lies in the row space, so ||a+ + z||^2 = ||a+||^2 + ||z||^2 and a+ is the shortest of them;
(b) the ridge minimiser a(l2) = (A^T A + N l2 I)^-1 A^T y (`reference.ridge`, penalty l2 ||a||^2 on the mean loss,
    intercept included) tends to a+ as l2 -> 0, at the distance the Hessian H = (2/N) A^T A's spectrum gives
    (`spectrum.ridge_distance`), l2 ||2 H^+ a+|| + O(l2^2): slope 1 on log-log axes;
(c) gradient descent from a = 0 at learning rate 2/(L + mu+), mu+ the smallest non-zero eigenvalue of H, never
    leaves the row space and converges to a+ at the rate (L - mu+)/(L + mu+); from a random start a_0 it keeps the
    null-space part z_0 of a_0 and converges to the other interpolant a+ + z_0.
"""

# %%
import functools

import jax
import jax.numpy as jnp
import numpy as np

from experiments import command_line, loglog_slope, max_relative_deviation, prepare, save, size
from experiments.figures.ridge import descent_figure, interpolants_figure, path_figure
from lab import criteria, descent, problems, reference, spectrum

N, D = 20, 50                           # fewer samples than features
L2_RANGE = (1e-8, 1e2)
SMALL_L2 = 1e-4                        # the slope of the path is fitted on l2 <= SMALL_L2
SIZES = dict(  # full, quick
    l2_points=(41, 21),
    num_steps=(300, 250),              # gradient-descent steps from each start
    interpolants=(200, 50),            # random zero-error solutions a+ + z drawn in (a)
    draws=(20, 3),                     # data sets the claims are checked on (the figures draw the first)
)
NULL_NORMS = (3.0, 6.0, 12.0)           # ||z|| of the interpolants whose coefficients are drawn
MAX_NULL_NORM = 15.0                    # the random interpolants have ||z|| uniform in [0, MAX_NULL_NORM]


# %%
@functools.partial(jax.jit, static_argnames=("quick", "dtype"))  # one compilation instead of dozens of small ones
def compute(seed: int = 0, quick: bool = False, dtype=jnp.float64):
    """The problem, its interpolants, its ridge path and two gradient-descent runs: arrays only."""
    key_data, key_null, key_start = jax.random.split(jax.random.key(seed), 3)
    X, y = problems.random_regression(key_data, N, D, dtype=dtype)
    data = problems.make_data(X, y)
    a_plus = reference.min_norm(X, y)
    spec = spectrum.spectrum(criteria.least_squares, a_plus, data)
    nonzero = spectrum.row_space(spec)  # the other eigenvectors span null(A)
    mu_plus = jnp.min(jnp.where(nonzero, spec.eigenvalues, jnp.inf))

    # (a) interpolants a+ + z: z a random null-space direction scaled to a chosen norm.
    count = size(SIZES, "interpolants", quick)
    null_norms = jnp.concatenate([jnp.asarray(NULL_NORMS, dtype),
                                  jnp.linspace(0.0, MAX_NULL_NORM, count - len(NULL_NORMS), dtype=dtype)])
    interpolants = a_plus + null_norms[:, None] * reference.null_directions(key_null, X, count)
    interpolant_mse = jax.vmap(criteria.least_squares, (0, None))(interpolants, data)

    # (b) the ridge path, measured by the SVD closed form, beside its exact value from the spectrum.
    l2 = jnp.logspace(*np.log10(L2_RANGE), size(SIZES, "l2_points", quick), dtype=dtype)
    path = jax.vmap(lambda e: reference.ridge(X, y, e))(l2)
    predicted_path_distance = spectrum.ridge_distance(spec, a_plus, l2)
    slope_constant = spectrum.ridge_distance_slope(spec, a_plus)

    # (c) gradient descent from 0 towards a+, and from a random a_0 measured against a+ and against its own
    # limit a+ + z_0 (z_0 the null-space part of a_0): three runs in one vmap, theory from the spectrum.
    learning_rate, num_steps = spectrum.best_learning_rate(spec.L, mu_plus), size(SIZES, "num_steps", quick)
    random_start = jax.random.normal(key_start, a_plus.shape, dtype)
    start_null = reference.null_part(X, random_start)
    starts = jnp.stack([jnp.zeros_like(a_plus), random_start, random_start])
    targets = jnp.stack([a_plus, a_plus, a_plus + start_null])
    optima = jax.vmap(descent.optimum, (None, 0, None))(criteria.least_squares, targets, data)
    traces = jax.vmap(lambda a0, opt: descent.gradient_descent(criteria.least_squares, data, a0, opt,
                                                               learning_rate, num_steps))(starts, optima)
    predicted = jax.vmap(lambda a0, target: spectrum.predicted_distance(spec, learning_rate, a0, target, num_steps))(
        starts, targets)
    return dict(y=y, data=data, a_plus=a_plus, spec=spec, nonzero=nonzero, mu_plus=mu_plus, null_norms=null_norms,
                interpolants=interpolants, interpolant_mse=interpolant_mse, l2=l2, path=path,
                slope_constant=slope_constant, predicted_path_distance=predicted_path_distance,
                learning_rate=learning_rate, traces=traces, predicted=predicted, start_null=start_null,
                limit=targets[2])


# %%
def numbers(result):
    """The key numbers of `compute`'s result (on the host), as plain JSON-ready values."""
    distance = np.linalg.norm(result["path"] - result["a_plus"], axis=1)
    norms, null_norms, shown = np.linalg.norm(result["interpolants"], axis=1), result["null_norms"], len(NULL_NORMS)
    plus_norm, rank = float(np.linalg.norm(result["a_plus"])), int(np.sum(result["nonzero"]))
    L, mu_plus = float(result["spec"].L), float(result["mu_plus"])
    measured, l2, predicted = np.asarray(result["traces"].distance), result["l2"], result["predicted_path_distance"]
    floor = max(1e-10, 100 * float(np.finfo(distance.dtype).eps) * plus_norm)  # ||a - a+|| below it: rounding
    return dict(
        N=N, D=D, P=len(result["a_plus"]), rank=rank, null_space_dimension=len(result["a_plus"]) - rank,
        min_norm=dict(norm=plus_norm, training_mse=float(criteria.least_squares(result["a_plus"], result["data"])),
                      mse_of_zero=float(np.mean(result["y"] ** 2))),
        interpolants=dict(
            count=len(norms), null_component_norms=null_norms[:shown].tolist(), norms=norms[:shown].tolist(),
            training_mse=result["interpolant_mse"][:shown].tolist(),
            max_training_mse=float(np.max(result["interpolant_mse"])), min_norm_over_all=float(norms.min()),
            max_pythagoras_error=float(np.max(np.abs(norms**2 - (plus_norm**2 + null_norms**2))))),
        ridge_path=dict(
            l2=l2.tolist(), distance_to_min_norm=distance.tolist(), predicted_distance=predicted.tolist(),
            max_relative_deviation_from_prediction=max_relative_deviation(distance, predicted, distance > floor),
            distance_at_smallest_l2=float(distance[0]),
            fitted_slope_small_l2=loglog_slope(*(v[(l2 <= SMALL_L2) & (distance > floor)] for v in (l2, distance))),
            predicted_constant=float(result["slope_constant"]),
            measured_constant_at_smallest_l2=float(distance[0] / l2[0]),
            norm=np.linalg.norm(result["path"], axis=1).tolist()),
        descent=dict(
            L=L, mu_plus=mu_plus, condition_number_on_row_space=L / mu_plus,
            learning_rate=float(result["learning_rate"]), predicted_rate=float(spectrum.optimal_rate(L / mu_plus)),
            num_steps=measured.shape[1] - 1, from_zero_final_distance_to_min_norm=float(measured[0, -1]),
            from_random_final_distance_to_min_norm=float(measured[1, -1]),
            from_random_null_component_norm=float(np.linalg.norm(result["start_null"])),
            from_random_final_distance_to_its_limit=float(measured[2, -1]),
            max_relative_deviation_from_prediction=max_relative_deviation(  # above the rounding floor of ||a_t - a+||
                measured, result["predicted"], result["predicted"] > floor),
            diverged=bool(np.any(result["traces"].diverged))))


def over_draws(seeds, quick, dtype):
    """The claims on other data sets: each one's worst value of what the figures show on the first."""
    each = [numbers(jax.device_get(compute(int(seed), quick, jnp.dtype(dtype)))) for seed in seeds]
    worst = lambda section, key, pick=max: pick(n[section][key] for n in each)  # noqa: E731
    return dict(
        count=len(each), max_interpolant_training_mse=worst("interpolants", "max_training_mse"),
        path_max_relative_deviation_from_prediction=worst("ridge_path", "max_relative_deviation_from_prediction"),
        path_slopes_small_l2=[worst("ridge_path", "fitted_slope_small_l2", pick) for pick in (min, max)],
        descent_max_relative_deviation_from_prediction=worst("descent", "max_relative_deviation_from_prediction"),
        from_zero_max_final_distance_to_min_norm=worst("descent", "from_zero_final_distance_to_min_norm"),
        from_random_max_final_distance_to_its_limit=worst("descent", "from_random_final_distance_to_its_limit"))


def reproduce(out="figures", quick=False, dtype="float64", seed=0):
    """Write `ridge_interpolants.png`, `ridge_path.png`, `ridge_descent.png` and `ridge.json` in `out`."""
    out = prepare(out, dtype)
    result = jax.device_get(compute(seed, quick, jnp.dtype(dtype)))  # numpy from here on: no more compilations
    summary = numbers(result) | {"draws": over_draws(seed + np.arange(size(SIZES, "draws", quick)), quick, dtype)}
    figures = {"interpolants": interpolants_figure(result, shown=len(NULL_NORMS)), "descent": descent_figure(result),
               "path": path_figure(result, SMALL_L2, summary["ridge_path"]["fitted_slope_small_l2"])}
    return save(out, "ridge", summary, figures)


# %%
if __name__ == "__main__":
    summary = command_line(reproduce, __doc__)
    print({key: summary[key] for key in ("rank", "null_space_dimension")}, summary["draws"])
