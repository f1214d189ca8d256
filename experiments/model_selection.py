"""Model selection: under- and over-fitting against polynomial degree, and the ridge penalty by k-fold cross-validation.

A noisy sine sampled at N_TRAIN points is fitted by least squares on polynomial features of growing degree:
training error keeps falling while the error on fresh data rises again. Then a high-degree model is tamed by a ridge
penalty chosen by k-fold cross-validation, computed for every penalty and every fold in one vectorised call, and
checked against scikit-learn's GridSearchCV when it is installed (same chosen penalty, same scores), with the time of
both. In float32 the highest degrees' designs are rank-deficient: warned, and listed in the JSON.
"""

# %%
import warnings
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np

from experiments import SKLEARN_MISSING, command_line, max_relative_deviation, prepare, save, size
from experiments.figures.model_selection import figure
from lab import criteria, linalg, model_selection, problems, reference

N_TRAIN, N_TEST, NOISE = 25, 400, 0.25
SHOWN = (1, 4, 15)
CV_DEGREE, FOLDS = 12, 5
SIZES = dict(l2_grid=(np.geomspace(1e-9, 1e1, 41), np.geomspace(1e-9, 1e1, 11)),  # full, quick
             draws=(20, 5),  # training (and test) sets drawn for the degree curve
             degrees=(tuple(range(1, 16)), (1, 2, 3, 4, 6, 9, 12, 15)))  # one compiled fit each; SHOWN among them


GRID = np.linspace(-1, 1, 400)  # where the fits are drawn


def target(x):
    return np.sin(np.pi * x)


# %%
def sample(seed, n, dtype):
    """x uniform in [-1, 1], y = sin(pi x) + noise."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n)
    return jnp.asarray(x, dtype), jnp.asarray(target(x) + NOISE * rng.normal(size=n), dtype)


def features(x, degree, scale=None):
    """Polynomial features standardised with the training set's mean and scale."""
    powers = problems.polynomial_features(x, degree)
    if scale is None:
        _, mean, std = problems.standardize(powers)
        scale = (mean, std)
    return (powers - scale[0]) / scale[1], scale


def mse(a, X, y):
    return criteria.least_squares(a, problems.make_data(X, y))


@functools.partial(jax.jit, static_argnames="degree")  # one compilation per degree instead of a dozen small ones
def fit(train, test, degree):
    """Least squares on the standardised features of `degree`: training and test error, the fit on `GRID`, and the
    design's numerical rank (below its columns, the fit drops directions: float32 at degree 15)."""
    X, scale = features(train[0], degree)
    a, rank = reference.least_squares(X, train[1]), linalg.numerical_rank(problems.design(X))
    curve = problems.design(features(jnp.asarray(GRID, X.dtype), degree, scale)[0]) @ a
    return mse(a, X, train[1]), mse(a, features(test[0], degree, scale)[0], test[1]), curve, rank


def degree_curve(trains, tests, degrees):
    """Training and test error (draws, degrees, 2), the fitted curves on `GRID` (draws, degrees, 400) and {degree:
    draws whose design is rank-deficient}: one compiled fit per degree, vmapped over the draws (stacked)."""
    fits = jax.device_get([jax.vmap(functools.partial(fit, degree=degree))(trains, tests) for degree in degrees])
    errors = np.stack([np.stack(f[:2], axis=-1) for f in fits], axis=1)
    deficient = {d: int(np.sum(f[3] < d + 1)) for d, f in zip(degrees, fits) if np.any(f[3] < d + 1)}
    return errors, np.stack([f[2] for f in fits], axis=1), deficient


def draws(seed, count, n, dtype):
    """`count` samples of n points (seeds seed, seed + 2, ...: the test sets take the odd ones), stacked."""
    samples = [sample(seed + 2 * k, n, dtype) for k in range(count)]
    return tuple(jnp.stack(parts) for parts in zip(*samples))


def cross_validate(train, l2):
    X = features(train[0], CV_DEGREE)[0]
    model_selection.ridge_cv(X, train[1], l2, FOLDS)  # compile
    started = time.perf_counter()
    cv = jax.block_until_ready(model_selection.ridge_cv(X, train[1], l2, FOLDS))
    return cv, time.perf_counter() - started, X


def sklearn_cv(X, y, l2):
    """GridSearchCV on the same folds and the same model (alpha = n_train * l2, intercept as a column): (its
    numbers, seconds), or (None, None) without scikit-learn."""
    try:
        from sklearn.linear_model import Ridge
        from sklearn.model_selection import GridSearchCV, KFold
    except ImportError:
        warnings.warn(SKLEARN_MISSING.format(what="the comparison with GridSearchCV"), stacklevel=2)
        return None, None
    A = np.asarray(problems.design(X))
    n_train = len(y) - len(y) // FOLDS
    search = GridSearchCV(Ridge(fit_intercept=False, solver="svd"), {"alpha": n_train * l2},
                          cv=KFold(FOLDS), scoring="neg_mean_squared_error")
    started = time.perf_counter()
    search.fit(A, np.asarray(y))
    seconds = time.perf_counter() - started
    return dict(best_l2=float(search.best_params_["alpha"] / n_train),
                mean_validation=(-search.cv_results_["mean_test_score"]).tolist()), seconds


# %%


def reproduce(out="figures", quick=False, dtype="float64", seed=0):
    """Write model_selection.png, model_selection.json and model_selection_timings.json in `out`; return the numbers."""
    out = prepare(out, dtype)
    dtype = jnp.dtype(dtype)
    train = sample(seed, N_TRAIN, dtype)  # the first draw: the fits drawn, and the cross-validation
    count = size(SIZES, "draws", quick)
    degrees = size(SIZES, "degrees", quick)
    curve, fitted, deficient = degree_curve(draws(seed, count, N_TRAIN, dtype), draws(seed + 1, count, N_TEST, dtype),
                                            degrees)
    if deficient:  # degree: draws
        warnings.warn(f"rank-deficient designs in {dtype} (degree: draws) {deficient}: those fits drop directions, "
                      "and their errors are not the degree's least squares. Use float64.")
    median = np.median(curve, axis=0)
    l2 = size(SIZES, "l2_grid", quick)
    cv, lab_seconds, X = cross_validate(train, l2)
    reference_cv, sklearn_seconds = sklearn_cv(X, train[1], l2)
    numbers = dict(
        degrees=list(degrees), draws=count, train_mse=median[:, 0].tolist(), test_mse=median[:, 1].tolist(),
        test_mse_10_90=np.percentile(curve[:, :, 1], (10, 90), axis=0).tolist(),
        best_degree_on_test=int(degrees[int(np.argmin(median[:, 1]))]),
        cv_degree=CV_DEGREE, folds=FOLDS, l2=l2.tolist(), mean_validation=np.asarray(cv.mean_validation).tolist(),
        best_l2=float(cv.best_l2), sklearn=reference_cv, rank_deficient_draws={str(d): k for d, k in deficient.items()},
    )
    if reference_cv:
        numbers["max_relative_difference_to_sklearn"] = max_relative_deviation(cv.mean_validation,
                                                                               reference_cv["mean_validation"])
    return save(out, "model_selection", numbers, {"": figure(train, curve, fitted, cv, reference_cv, numbers,
                                                          truth=(GRID, target(GRID)),
                                                          shown=SHOWN, noise=NOISE, n_test=N_TEST)},
                timings=dict(lab_seconds=lab_seconds, sklearn_seconds=sklearn_seconds))


# %%
if __name__ == "__main__":
    result = command_line(reproduce, __doc__)
    print(f"best degree on fresh data: {result['best_degree_on_test']}; chosen l2 {result['best_l2']:.3g}")
