"""Hyper-parameters by k-fold cross-validation: every penalty and every fold in one vectorised call.

Folds are contiguous blocks, as scikit-learn's `KFold(k, shuffle=False)`,
and are expressed as 0/1 weights on the samples rather than as slices, so
that all folds have one shape and `vmap` runs them together. Each fold's
factorisations are computed once and shared by every penalty.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lab import _validate, linalg, reference
from lab.problems import design


class CrossValidation(NamedTuple):
    """Scores of ridge regression for each penalty (E,) and fold (k,).

    l2: (E,) the penalties, in `criteria.ridge`'s mean scaling.
    train_mse, validation_mse: (E, k) mean squared errors on each fold's
        training and held-out samples.
    mean_validation: (E,) the average over folds, what is minimised.
    best: index of the chosen penalty (the first of equal minima); -1 where no score is finite (traced: eagerly
        that is refused), and best_l2 then NaN.
    """

    l2: jax.Array
    train_mse: jax.Array
    validation_mse: jax.Array
    mean_validation: jax.Array
    best: jax.Array

    @property
    def best_l2(self):
        return jnp.where(self.best >= 0, self.l2[self.best], jnp.nan)


def fold_masks(n: int, k: int) -> np.ndarray:
    """(k, n) booleans, True on each fold's training rows: k contiguous held-out blocks, the first n % k one longer."""
    n = _validate.count("n", n, 2)
    k = _validate.count("k", k, 2)
    if k > n:
        raise ValueError(f"k must be at most the number of samples ({n}), got {k}.")
    sizes = np.full(k, n // k) + (np.arange(k) < n % k)
    edges = np.concatenate([[0], np.cumsum(sizes)])
    held_out = (np.arange(n) >= edges[:-1, None]) & (np.arange(n) < edges[1:, None])
    return ~held_out


def ridge_cv(X, y, l2, k: int = 5, intercept: bool = True) -> CrossValidation:
    """k-fold cross-validation of `reference.ridge` over the penalties `l2` (1-D, each >= 0).

    Each fold minimises (1/n_train) sum_train (y - A a)^2 + l2 ||a||^2 (the
    lab's scaling; scikit-learn's `Ridge(alpha=n_train * l2,
    fit_intercept=False)` on the design matrix is the same model).
    """
    X, y = _validate.features_and_targets(X, y)
    if X.shape[0] < 2:  # fold_masks' own message named its argument n
        raise ValueError(f"X has {X.shape[0]} row: k-fold cross-validation holds out part of the samples (rows of X "
                         "and y) and fits the rest, and needs at least 2 of them (one per fold): give more samples.")
    if np.ndim(l2) == 0:
        raise ValueError(f"l2 must be a 1-D grid of penalties to choose from, got the scalar {l2!r}: pass [{l2!r}] "
                         "for one (or reference.ridge to fit it).")
    if np.ndim(l2) > 1:  # as_float_array's hint named y
        raise ValueError(f"l2 must be a 1-D grid of penalties to choose from, got shape {np.shape(l2)}: flatten it "
                         "(np.ravel(l2)).")
    _refuse_penalties_outside(l2, X.dtype)  # as given: with float64 off, [1e-50] became [0.0] in as_float_array
    l2 = _validate.as_float_array("l2", l2, 1)
    _refuse_penalties_outside(l2, X.dtype)  # what was no array of numbers above (a pandas Series), now one
    l2 = l2.astype(X.dtype)
    if _validate.is_concrete(l2) and np.any(np.asarray(l2) < 0):
        raise ValueError(f"l2 must hold penalties >= 0, got {np.asarray(l2)}.")
    masks = jnp.asarray(fold_masks(X.shape[0], k), X.dtype)
    train, validation = _scores(design(X, intercept), y, l2, masks)
    mean_validation = validation.mean(axis=1)
    failed = ~jnp.isfinite(mean_validation)
    if _validate.is_concrete(failed) and bool(jnp.any(failed)):
        raise ValueError(f"the penalties l2 = {np.asarray(l2)[np.asarray(failed)]} give non-finite validation "
                         f"errors (N l2 beyond what {X.dtype} holds, or data that overflow it): drop them.")
    # traced: a penalty whose score is NaN is never the one chosen (argmin would return the NaN's index)
    best = jnp.argmin(jnp.where(failed, jnp.inf, mean_validation))
    return CrossValidation(l2, train, validation, mean_validation, jnp.where(jnp.all(failed), -1, best))


def _refuse_penalties_outside(l2, dtype):
    """ValueError for a concrete nonzero penalty outside the data's dtype's normal numbers, by name and with the fix
    that applies: below them the fit would have no penalty (0, or a subnormal that XLA's CPU flushes to 0; in
    float32 data 1e-50, in float64 1e-320), above them an infinite one. Traced or non-numeric l2: left to the
    other checks."""
    if not _validate.is_concrete(l2) or np.asarray(l2).dtype.kind not in "biuf":
        return
    values = np.asarray(l2, float)
    outside = _validate.outside_normal(values, dtype)
    if not np.any(outside):
        return
    value, name, info = float(values[outside].flat[0]), jnp.dtype(dtype).name, jnp.finfo(dtype)
    tiny, wider = float(info.tiny), "" if name == "float64" else ", or give float64 data (with JAX's float64 switch on)"
    with np.errstate(under="ignore", over="ignore"):
        held = float(np.asarray(value).astype(dtype))
    fix = (f"in {name} it is {'0' if held == 0 else 'subnormal (XLA CPU flushes it to 0)'}, so the fit would have "
           f"no penalty. Use 0 for none or a penalty of at least {tiny:.2g}{wider}" if abs(value) < tiny else
           f"in {name} it is inf. Use a smaller penalty{wider}")
    raise ValueError(f"l2 holds {value:g}, which is outside {name}'s normal numbers (magnitudes {tiny:.2g} to "
                     f"{float(info.max):.2g}): {fix}.")


def scaled_ridge(X, y, l2, k: int = 5):
    """Ridge without intercept on features scaled by their root mean square, the penalty chosen from the grid `l2`
    by `ridge_cv` (k contiguous folds): (predict, penalty), predict(X_new) the (M,) predictions of (M, D) features.

    X (N, D), y (N,): each column is divided by its RMS over the N rows (a zero column by 1/sqrt(N)), so that the
    penalty l2 ||w||^2 (mean loss, as `ridge_cv`) weighs every feature alike whatever its units. No intercept: a
    target that is extensive (a sum over parts, zero for no parts) has none.
    """
    X, y = (np.asarray(v) for v in _validate.features_and_targets(X, y))
    scale = np.asarray(linalg.column_norms(X)) / np.sqrt(X.shape[0])  # RMS, safe for columns of 1e-170 or 1e200
    scores = ridge_cv(X / scale, y, l2, k=k, intercept=False)
    penalty = float(scores.best_l2)
    weights = np.asarray(reference.ridge(X / scale, y, penalty, intercept=False))

    def predict(features):
        features = np.asarray(features, dtype=X.dtype)
        if features.ndim != 2 or features.shape[1] != X.shape[1]:
            raise ValueError(f"predict takes (M, {X.shape[1]}) features, those the model was fitted on; got shape "
                             f"{features.shape}.")
        return features / scale @ weights

    return predict, penalty


def mean_absolute_error(predicted, exact) -> float:
    """mean |predicted - exact| over two (M,) vectors (M >= 1): a column (M, 1) is refused, not broadcast to (M, M)."""
    for name, values in (("predicted", predicted), ("exact", exact)):
        if not _validate.is_real_number_dtype(np.asarray(values).dtype):  # complex: its imaginary part dropped
            raise ValueError(f"{name} must hold real numbers, got dtype {np.asarray(values).dtype}.")
    predicted, exact = np.asarray(predicted, dtype=float), np.asarray(exact, dtype=float)
    if predicted.ndim != 1 or predicted.shape != exact.shape or predicted.size == 0:
        raise ValueError(f"predicted and exact must be two non-empty 1-D arrays of one length, got shapes "
                         f"{predicted.shape} and {exact.shape}: flatten a column with .ravel().")
    for name, values in (("predicted", predicted), ("exact", exact)):
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{name} contains NaN or infinite values at "
                             f"{np.flatnonzero(~np.isfinite(values)).tolist()}"
                             f"{' (the features predicted from: check them)' if name == 'predicted' else ''}.")
    return float(np.mean(np.abs(predicted - exact)))


def bootstrap_errors(X, y, X_test, y_test, l2, rng: np.random.Generator, resamples: int, k: int = 5) -> dict:
    """The test mean absolute error of `scaled_ridge` refitted on `resamples` bootstrap resamples of the training
    rows, each with its own cross-validation over `l2`: {"median", "p10", "p90"} of the errors over the resamples.

    How much a fit depends on which training rows were drawn and on the penalty they pick. The drawn rows are
    sorted, so that a training set ordered by group keeps whole groups in each contiguous fold.
    """
    resamples = _validate.count("resamples", resamples)
    _validate.generator("rng", rng)
    X, y = (np.asarray(v) for v in _validate.features_and_targets(X, y))
    X_test, y_test = (np.asarray(v) for v in _validate.features_and_targets(X_test, y_test, names=("X_test", "y_test")))
    if X_test.shape[1] != X.shape[1]:
        raise ValueError(f"X_test has {X_test.shape[1]} columns, X {X.shape[1]}: test on the features the model is "
                         "fitted on.")
    errors = []
    for _ in range(resamples):
        rows = np.sort(rng.integers(len(y), size=len(y)))
        predict, _ = scaled_ridge(X[rows], y[rows], l2, k)
        errors.append(mean_absolute_error(predict(X_test), y_test))
    return {"median": float(np.median(errors)), "p10": float(np.percentile(errors, 10)),
            "p90": float(np.percentile(errors, 90))}


@jax.jit
def _scores(A, y, l2, masks):
    def fold(weights):
        # Each fit is `reference.ridge`'s on the fold's training rows. Held-out rows are zeroed, not dropped (one shape
        # for every fold); the zero rows change no fit, and the factorisations are shared by every penalty.
        root = jnp.sqrt(weights)
        trained, targets = root[:, None] * A, root * y
        n_train, n_validation = weights.sum(), (1 - weights).sum()

        def fit(penalty):
            a = linalg.solve_least_squares(trained, targets, n_train * penalty)
            a = jnp.where(penalty >= 0, a, jnp.nan)  # a traced negative penalty (no check sees it): NaN scores
            squared = (y - A @ a) ** 2
            return (weights @ squared) / n_train, ((1 - weights) @ squared) / n_validation

        return jax.vmap(fit)(l2)

    train, validation = jax.vmap(fold)(masks)
    return train.T, validation.T
