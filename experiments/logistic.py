"""Logistic regression: least squares fails on 0/1 labels; no closed form, so Newton gives the reference that
gradient descent reaches, on synthetic and real data.

1. One feature, labels 0/1, a few easy points far to the right: the
   least-squares line is dragged by them and misclassifies, the logistic
   curve is not; misclassification and log-likelihood of both.
2. Two features: the logistic decision boundary, gradient descent at several
   steps converging to the Newton reference (suboptimality on a log scale),
   Newton's own iterates beside them, and the convexity of the criterion
   along lines through the optimum.
3. The Wisconsin breast-cancer data (shipped in lab/data/),
   standardised, with an L2 term: the lab's Newton reference and its
   gradient-descent solution, against scikit-learn's LogisticRegression
   when installed.
The stability edge on these problems, measured next to a* and from a = 0, is `logistic_edges`.
"""

# %%
import warnings

import jax
import jax.numpy as jnp
import numpy as np

from experiments import SKLEARN_MISSING, command_line, first_below, prepare, rounding_floor, save, size
from experiments.figures.logistic import figure
from lab import criteria, datasets, problems, reference, runs, spectrum, sweep

L2_SYNTHETIC, L2_REAL = 1e-3, 1e-3
N2, SEPARATION = 200, 2.0
LEARNING_RATES_OVER_EDGE = np.array([0.25, 0.5, 1.0, 1.5])  # in units of 2/L at a = 0, the largest curvature
NEWTON_ITERATIONS = 12
SIZES = dict(num_steps=(600, 300), real_num_steps=(20000, 10000), seeds=(20, 4))  # full, quick


# %%
def one_feature(dtype):
    """Two overlapping classes on a line, plus easy positives far to the right."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(-1, 0.8, 30), rng.normal(1, 0.8, 30), rng.uniform(6, 9, 10)])
    y = np.concatenate([np.zeros(30), np.ones(40)])
    X = jnp.asarray(x[:, None], dtype)
    line = np.asarray(reference.least_squares(X, jnp.asarray(y, dtype)))
    logit = newton_optimum(problems.make_data(X, jnp.asarray(y, dtype), l2=L2_SYNTHETIC))
    return dict(x=x, y=y.astype(dtype), line=line, logit=logit, least_squares=scores(line[0] + line[1] * x, y),
                logistic=scores(1 / (1 + np.exp(-(logit[0] + logit[1] * x))), y))


def newton_optimum(data):
    """The logistic criterion's minimiser, by Newton's method (`problems.problem` checks that it converged)."""
    return np.asarray(problems.problem(criteria.logistic, data, method="newton").reference.params)


def newton_path(problem, iterations=NEWTON_ITERATIONS):
    """f(a_k) - f* for Newton's iterates k = 0..iterations from the problem's start: `reference.newton` vmapped over
    its iteration limit, one compiled call."""
    path = jax.vmap(lambda k: reference.newton(problem.criterion, problem.data, problem.start, 0.0, k).params)(
        jnp.arange(iterations + 1))
    return np.asarray(jax.vmap(lambda a: problem.criterion(a, problem.data))(path) - problem.reference.value)


def scores(probability, y):
    """Errors at the threshold 1/2 and log-likelihood (a line leaves [0, 1]: clipped to score it at all)."""
    p = np.clip(probability, 1e-12, 1 - 1e-12)
    return dict(errors=int(np.sum((probability > 0.5) != (y > 0.5))),
                log_likelihood=float(np.sum(y * np.log(p) + (1 - y) * np.log(1 - p))))


def two_features(num_steps, seeds, dtype):
    """Gradient descent at several steps against Newton on `seeds` drawn data sets, in one sweep of
    `runs.LogisticRun`; on the first, the criterion along three random lines through the optimum, and its
    curvature there."""
    run = runs.LogisticRun(N2, 2, num_steps, dtype=dtype)
    grid = sweep.sweep(run, {"learning_rate_over_edge": LEARNING_RATES_OVER_EDGE, "seed": np.arange(seeds),
                             "l2": np.array([L2_SYNTHETIC]), "separation": np.array([SEPARATION])}, progress=False)
    X, y = problems.classification(jax.random.key(0), N2, 2, SEPARATION, dtype=dtype)  # seed 0's data
    problem = problems.problem(criteria.logistic, problems.make_data(X, y, l2=L2_SYNTHETIC), method="newton")
    a, hessian = problem.reference.params, spectrum.hessian(criteria.logistic, problem.reference.params, problem.data)
    directions = jax.random.normal(jax.random.key(1), (3, 3), a.dtype)
    directions = directions / jnp.linalg.norm(directions, axis=1, keepdims=True)
    s = jnp.linspace(-3, 3, 121)
    along = jax.vmap(lambda v: jax.vmap(lambda t: criteria.logistic(a + t * v, problem.data))(s))(directions)
    curvature = jnp.einsum("ki,ij,kj->k", directions, hessian, directions)
    return jax.device_get(dict(grid=grid, X=X, y=y, a=a, s=s, along=along, curvature=curvature,
                               newton=newton_path(problem)))


def real_data(num_steps, dtype):
    """Breast cancer, standardised: Newton, gradient descent from 0 at 2/(L(0) + mu*), and scikit-learn if installed."""
    X, y, _ = datasets.breast_cancer(standardize=True, dtype=dtype)
    problem = problems.problem(criteria.logistic, problems.make_data(X, y, l2=L2_REAL), method="newton")
    data, newton, at_optimum = problem.data, problem.reference, problem.spectrum
    L_start = spectrum.spectrum(criteria.logistic, problem.start, data).L  # the largest curvature, at a = 0
    learning_rate = spectrum.best_learning_rate(L_start, at_optimum.mu)
    _, trace = runs.optimize(problem, num_steps, learning_rate)
    gradient = jax.grad(criteria.logistic)
    numbers = dict(n=int(X.shape[0]), d=int(X.shape[1]), l2=L2_REAL, L_start=float(L_start),
                   L_optimum=float(at_optimum.L), mu_optimum=float(at_optimum.mu), learning_rate=float(learning_rate),
                   num_steps=num_steps, gd_gradient_norm=float(jnp.linalg.norm(gradient(trace.params, data))),
                   gd_relative_distance=float(jnp.linalg.norm(trace.params - newton.params)
                                              / jnp.linalg.norm(newton.params)),
                   newton_gradient_norm=float(newton.gradient_norm),
                   training_errors=int(jnp.sum((data.X @ newton.params > 0) != (data.y > 0.5))))
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        warnings.warn(SKLEARN_MISSING.format(what="the comparison with LogisticRegression"), stacklevel=2)
        numbers["sklearn"] = None
    else:
        sk = LogisticRegression(C=1 / (2 * len(y) * L2_REAL), fit_intercept=False, solver="newton-cholesky",
                                tol=1e-12, max_iter=200).fit(np.asarray(data.X), np.asarray(data.y))
        theirs = sk.coef_.ravel()
        numbers["sklearn"] = dict(relative_difference=float(np.linalg.norm(theirs - newton.params)
                                                            / np.linalg.norm(theirs)))
    return numbers, np.asarray(trace.gap), newton_path(problem)


# %%
def reproduce(out="figures", quick=False, dtype="float64", seed=0):
    """Write logistic.png and logistic.json in `out`; return the numbers (the data sets drawn are seeds 0, 1, ...:
    `seed` changes nothing)."""
    out = prepare(out, dtype)
    one = one_feature(dtype)
    two = two_features(size(SIZES, "num_steps", quick), size(SIZES, "seeds", quick), dtype)
    real, real_gap, real_newton = real_data(size(SIZES, "real_num_steps", quick), dtype)
    g = two["grid"]
    per_rate = lambda name: g[name].reshape(  # noqa: E731 (every run at each learning rate)
        len(LEARNING_RATES_OVER_EDGE), -1)
    numbers = dict(
        one_feature=dict(least_squares=one["least_squares"], logistic=one["logistic"]),
        two_features=dict(learning_rates_over_edge_at_start=LEARNING_RATES_OVER_EDGE.tolist(),
                          data_sets=int(g.shape[1]), diverged=g["diverged"].any(axis=(1, 2, 3)).tolist(),
                          iterations=np.median(per_rate("iterations"), axis=1).tolist(),
                          iterations_10_90=np.percentile(per_rate("iterations"), (10, 90), axis=1).tolist(),
                          final_gap=np.median(per_rate("final_gap"), axis=1).tolist(),
                          directional_curvature=two["curvature"].tolist()),
        breast_cancer=real,
        newton_gap=dict(two_features=two["newton"].tolist(), breast_cancer=real_newton.tolist()),
        newton_iterations_to_rounding={name: first_below(gap, rounding_floor(gap)) for name, gap in
                                       (("two_features", two["newton"]), ("breast_cancer", real_newton))},
    )
    return save(out, "logistic", numbers, {"": figure(one, two, real_gap, real_newton, L2_SYNTHETIC)})


# %%
if __name__ == "__main__":
    result = command_line(reproduce, __doc__)
    print(result["one_feature"], result["breast_cancer"])
