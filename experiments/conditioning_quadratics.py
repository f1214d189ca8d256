"""Conditioning in 2-D: an isotropic against an anisotropic quadratic, gradient descent's paths and rates.

f(a) = 1/2 a^T H a with H = diag(ISOTROPIC) and diag(ANISOTROPIC), written as
least squares (1/N)||y - A a||^2 on A = diag(sqrt(h)), y = 0, N = 2. Gradient
descent from the same start at the course's learning rate 0.1 and at each quadratic's
best learning rate 2/(L + mu), every iterate recorded (`descent.run(record_path=True)`)
and drawn on the contour lines. At learning rate 0.1 both descend at the rate
1 - 0.1 mu = 0.9 set by the flat direction (mu = 1 in both); what anisotropy
costs is the learning rate: the isotropic bowl is stable up to 2/L = 2 and its best learning rate
reaches the minimum in one iteration, the anisotropic one is stable only below
2/L = 0.2 and converges at best at the rate (kappa - 1)/(kappa + 1) = 9/11,
zigzagging. Features of different scales, the same lesson on data, are
`conditioning`.
"""

# %%
import jax
import jax.numpy as jnp
import numpy as np

from experiments import command_line, first_below, plural, prepare, save, stack
from experiments.figures.conditioning_quadratics import figure
from lab import criteria, descent, problems, spectrum

ISOTROPIC, ANISOTROPIC = (1.0, 1.0), (1.0, 10.0)   # Hessian eigenvalues
COURSE_LEARNING_RATE = 0.1
START = (-4.0, 2.0)
PATH_NUM_STEPS = 100
TOLERANCE = 1e-8                                    # on (f(a_t) - f*) / (f(a_0) - f*)


# %%
def quadratic(curvatures, dtype):
    """`Data` whose least-squares criterion is 1/2 a^T diag(curvatures) a: A = diag(sqrt(h)), y = 0, N = 2."""
    h = jnp.asarray(curvatures, dtype)
    return problems.make_data(jnp.diag(jnp.sqrt(h)), jnp.zeros(2, dtype), intercept=False)


# The four 2-D runs: (0 isotropic or 1 anisotropic, whether at the best learning rate 2/(L + mu) rather than
# COURSE_LEARNING_RATE).
RUNS_2D = ((0, False), (0, True), (1, False), (1, True))


def compute(dtype=jnp.float64):
    """Four runs: each quadratic at the course's learning rate and at its best learning rate; iterates, gaps and their
    theory."""
    problems_2d = [quadratic(h, dtype) for h in (ISOTROPIC, ANISOTROPIC)]
    origin, start = jnp.zeros(2, dtype), jnp.asarray(START, dtype)
    specs = [spectrum.spectrum(criteria.least_squares, origin, data) for data in problems_2d]
    learning_rates = jnp.stack([spectrum.best_learning_rate(specs[k].L, specs[k].mu) if best
                                else jnp.asarray(COURSE_LEARNING_RATE, dtype)
                       for k, best in RUNS_2D])
    data = stack([problems_2d[k] for k, _ in RUNS_2D])
    minimum = descent.Optimum(origin, jnp.zeros((), dtype))  # a* = 0, f* = 0
    traces = jax.vmap(lambda d, learning_rate: descent.gradient_descent(criteria.least_squares, d, start, minimum,
                                                               learning_rate, PATH_NUM_STEPS,
                                                               record_path=True))(data, learning_rates)
    predicted = jax.vmap(lambda sp, learning_rate: spectrum.predicted_gap(sp, learning_rate, start, origin,
                                                                          PATH_NUM_STEPS))(
        stack([specs[k] for k, _ in RUNS_2D]), learning_rates)
    contractions = jnp.stack([spectrum.contraction(learning_rates[i], specs[k].L, specs[k].mu)
                              for i, (k, _) in enumerate(RUNS_2D)])
    return dict(specs=specs, kappas=[sp.kappa for sp in specs], learning_rates=learning_rates,
                contractions=contractions, paths=traces.path, gaps=traces.gap, predicted=predicted)


# %%
def numbers(q):
    """The key numbers, as plain JSON-ready values."""
    runs_2d = []
    for i, (problem, best) in enumerate(RUNS_2D):
        spec, gap, predicted = q["specs"][problem], np.asarray(q["gaps"][i]), np.asarray(q["predicted"][i])
        runs_2d.append(dict(
            hessian_eigenvalues=np.asarray(spec.eigenvalues).tolist(), condition_number=float(q["kappas"][problem]),
            learning_rate=float(q["learning_rates"][i]), best_learning_rate=best,
            stability_threshold=float(spectrum.stability_threshold(spec.L)), contraction=float(q["contractions"][i]),
            measured_iterations=first_below(gap, TOLERANCE * gap[0]),
            predicted_iterations=first_below(predicted, TOLERANCE * predicted[0]),
            max_abs_deviation_from_prediction=float(np.max(np.abs(gap - predicted) / gap[0])),
        ))
    return dict(tolerance=TOLERANCE, course_learning_rate=COURSE_LEARNING_RATE, start=list(START),
                isotropic=list(ISOTROPIC), anisotropic=list(ANISOTROPIC), runs=runs_2d)


def reproduce(out="figures", quick=False, dtype="float64", seed=0):
    """Write conditioning_quadratics.png and .json in `out` (deterministic: `quick` and `seed` change nothing)."""
    out = prepare(out, dtype)
    q = jax.device_get(compute(jnp.dtype(dtype)))
    summary = numbers(q)
    return save(out, "conditioning_quadratics", summary, {"": figure(q, summary, RUNS_2D)})


# %%
if __name__ == "__main__":
    summary = command_line(reproduce, __doc__)
    for r in summary["runs"]:
        print(f"H = diag({', '.join(f'{h:g}' for h in r['hessian_eigenvalues'])}), "
              f"learning rate {r['learning_rate']:.3g}: "
              f"{plural(r['measured_iterations'], 'iteration')} (predicted {r['predicted_iterations']})")
