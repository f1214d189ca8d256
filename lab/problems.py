"""Data and problems: synthetic data with known conditioning, CSV files, feature transforms, and the
`Problem` (criterion, data, start, reference optimum, spectrum) that every run is measured against.

Generators take a PRNG key and their continuous parameters (condition number,
class separation, noise) as ordinary arguments, so `jax.vmap` sweeps them in
one compiled call; sizes (n, d) are static. They return raw features X (N, D)
and targets y (N,); `make_data` turns them into the criteria's `Data` by
prepending the intercept column.
"""

import csv
import dataclasses
import functools
import warnings
from pathlib import Path
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from lab import _validate, criteria, linalg, reference, spectrum
from lab.criteria import Data, Gram, design


def make_data(X, y, intercept: bool = True, l2=0.0) -> Data:
    """Check raw features X (N, D) and targets y (N,) and build `Data` for the criteria.

    Integer inputs become floats; NaN, inf, empty arrays, a column y of shape
    (N, 1) and mismatched lengths raise ValueError. `l2` >= 0 is the weight of
    the penalty `l2 ||a||^2` used by `ridge` and `logistic`.
    """
    X, y = _validate.features_and_targets(X, y)
    _validate.nonnegative("l2", l2)
    return Data(design(X, intercept), y, jnp.asarray(l2, X.dtype))


def regression(key, n: int, d: int, kappa, noise=0.1, intercept: bool = True, dtype=None):
    """Regression data whose least-squares Hessian has condition number exactly `kappa`.

    The design A = [1, X] (or X alone without intercept) is built from chosen
    singular values: the columns of X are orthonormal directions orthogonal to
    the ones column, scaled so that A^T A / N has eigenvalues
    kappa^(-t) for t evenly spaced in [0, 1] (and 1 for the intercept). The
    Hessian (2/N) A^T A thus has L = 2 and mu = 2 / kappa. Targets are
    y = A a_true + noise * standard normal, with a_true standard normal.

    key: PRNG key; n > d samples; kappa >= 1 (traced: vmap over it freely).
    Returns X (n, d) raw features and y (n,).
    """
    intercept = _validate.flag("intercept", intercept)
    n = _validate.count("n", n)
    d = _validate.count("d", d)
    if n < d + intercept:
        raise ValueError(f"n must be at least d{' + 1' if intercept else ''} = {d + intercept} for a full-rank design, "
                         f"got n={n}.")
    if not intercept and d == 1:
        raise ValueError("d must be >= 2 without an intercept: a single column has condition number 1.")
    _validate.at_least_one("kappa", kappa)
    _validate.nonnegative("noise", noise, zero="exact targets")
    dtype = _validate.float_dtype(dtype)
    _validate.kappa_within_dtype(kappa, dtype)
    return _regression(_validate.prng_key("key", key), kappa, noise, n=n, d=d, intercept=bool(intercept), dtype=dtype)


# The generators' bodies are compiled whole: eagerly, their dozens of small operations cost seconds.
@functools.partial(jax.jit, static_argnames=("n", "d", "intercept", "dtype"))
def _regression(key, kappa, noise, *, n, d, intercept, dtype):
    return linalg.one_at_a_time(functools.partial(_regression_body, n=n, d=d, intercept=intercept, dtype=dtype))(
        key, kappa, noise)


def _regression_body(key, kappa, noise, *, n, d, intercept, dtype):
    # One draw for everything: each random call costs compile time in a sweep.
    p = d + intercept
    gaussian, square, a_true, noise_draw = _standard_normals(key, dtype, (n, d), (d, d), (p,), (n,))
    # Orthonormal columns orthogonal to the ones vector: QR of [1, G].
    first = jnp.ones((n, 1), dtype) if intercept else jnp.zeros((n, 0), dtype)
    basis = linalg.qr(jnp.concatenate([first, gaussian], axis=1))[0][:, intercept:]
    rotation = linalg.qr(square)[0]
    exponents = jnp.linspace(0.0, 1.0, d, dtype=dtype) if d > 1 else jnp.ones(1, dtype)
    kappa = jnp.asarray(kappa, dtype)  # below 1 (traced: no check saw it) another problem: NaN data instead
    singular = jnp.sqrt(n * kappa ** (-exponents)) * jnp.where(kappa >= 1, 1, jnp.nan)
    X = (basis * singular) @ rotation.T
    y = design(X, intercept) @ a_true + noise * noise_draw
    return X, y


def _standard_normals(key, dtype, *shapes):
    """Standard normal arrays of the given shapes, from a single draw."""
    sizes = [int(np.prod(shape)) for shape in shapes]
    flat = jax.random.normal(key, (sum(sizes),), dtype)
    pieces = jnp.split(flat, np.cumsum(sizes)[:-1])
    return [piece.reshape(shape) for piece, shape in zip(pieces, shapes)]


def random_regression(key, n: int, d: int, noise=0.1, dtype=None):
    """Gaussian features X (n, d) and y = 1 + X w + noise: any n and d, including n < d."""
    n = _validate.count("n", n)
    d = _validate.count("d", d)
    _validate.nonnegative("noise", noise, zero="exact targets")
    return _random_regression(_validate.prng_key("key", key), noise, n=n, d=d, dtype=_validate.float_dtype(dtype))


@functools.partial(jax.jit, static_argnames=("n", "d", "dtype"))
def _random_regression(key, noise, *, n, d, dtype):
    X, w, noise_draw = _standard_normals(key, dtype, (n, d), (d,), (n,))
    return X, 1.0 + X @ w + noise * noise_draw


def classification(key, n: int, d: int, separation=2.0, kappa=1.0, dtype=None):
    """Two Gaussian classes whose means are `separation` apart, with features of different scales.

    Labels y in {0, 1} (as floats) are drawn with probability 1/2 each; class
    means are -/+ separation/2 along a random unit direction. Small
    separation overlaps the classes; large separation makes them (almost
    surely) linearly separable. Feature j is then multiplied by
    kappa^(-t_j / 2), t evenly spaced in [0, 1]: the within-class covariance is
    diag(kappa^(-t)), condition number `kappa` (traced, >= 1; 1 leaves the
    unit covariance). Scaling a feature is a change of units: the classes are
    the same, the criterion's conditioning is not. Returns X (n, d) and y (n,).
    """
    n = _validate.count("n", n, 2)
    d = _validate.count("d", d)
    _validate.nonnegative("separation", separation, zero="one class")
    _validate.at_least_one("kappa", kappa)
    dtype = _validate.float_dtype(dtype)
    _validate.kappa_within_dtype(kappa, dtype)
    return _classification(_validate.prng_key("key", key), separation, kappa, n=n, d=d, dtype=dtype)


@functools.partial(jax.jit, static_argnames=("n", "d", "dtype"))
def _classification(key, separation, kappa, *, n, d, dtype):
    k_y, k_dir, k_x = jax.random.split(key, 3)
    y = jax.random.bernoulli(k_y, 0.5, (n,)).astype(dtype)
    direction = jax.random.normal(k_dir, (d,), dtype)
    direction = direction / jnp.linalg.norm(direction)
    X = jax.random.normal(k_x, (n, d), dtype) + jnp.outer(y - 0.5, separation * direction)
    kappa = jnp.asarray(kappa, dtype)  # below 1 (traced: no check saw it) another problem: NaN features instead
    return X * kappa ** (-jnp.linspace(0.0, 1.0, d, dtype=dtype) / 2) * jnp.where(kappa >= 1, 1, jnp.nan), y


def standardize(X):
    """Centre each column to mean 0 and scale it to standard deviation 1.

    Returns (X_standardized, mean, scale), so new data is transformed with
    (X_new - mean) / scale. A constant column cannot be scaled: ValueError.
    """
    X = _validate.as_float_array("X", X, 2)
    if _validate.is_concrete(X) and np.any(constant := np.all(np.asarray(X) == np.asarray(X)[:1], axis=0)):
        columns = np.flatnonzero(constant).tolist()  # equal values, whose computed std can be rounding, not 0
        raise ValueError(f"X has constant column(s) {columns}: drop them before standardizing.")
    if not _validate.is_concrete(X):  # traced: per column, the plain formulas wherever they do not overflow
        needed = _needs_rescaling(X, jnp)
        return tuple(jnp.where(needed, mine, theirs) for mine, theirs in zip(_rescaled(X), _standardized(X)))
    return _rescaled(X) if np.any(_needs_rescaling(np.asarray(X), np)) else _standardized(X)


def _corrected_mean(X, mean):
    """The mean once more, from the residuals X - mean: a column 1e6 + N(0, 1) summed in float32 is off by 0.1
    (its sums round at 1e6 eps per row), its residuals' mean recovers that (they are exact and of order 1)."""
    return mean + jnp.mean(X - mean, axis=0)


@jax.jit
def _standardized(X):
    mean = _corrected_mean(X, jnp.mean(X, axis=0))
    centred = X - mean
    scale = jnp.sqrt(jnp.mean(centred**2, axis=0))
    return centred / scale, mean, scale


@jax.jit
def _rescaled(X):
    """`_standardized` with each column divided by its largest magnitude before its sums and squares, which
    overflow or underflow otherwise (features of 1e200 or 1e-170 in float64, 1e20 or 1e-25 in float32: a column of
    zeros, or of inf and NaN)."""
    size = jnp.max(jnp.abs(X), axis=0)
    mean = _corrected_mean(X / size, jnp.mean(X / size, axis=0)) * size
    centred = X - mean
    spread = jnp.max(jnp.abs(centred), axis=0)
    scale = spread * jnp.sqrt(jnp.mean((centred / spread) ** 2, axis=0))
    return centred / scale, mean, scale


def _needs_rescaling(X, xp):
    """Per column, whether its sums or squares would overflow or underflow in X's dtype; xp is numpy (eagerly: no
    JAX operation) or jax.numpy (traced)."""
    info = np.finfo(X.dtype)
    size = xp.max(xp.abs(X), axis=0)
    with np.errstate(over="ignore"):
        spread = xp.max(xp.abs(X - xp.mean(X / size, axis=0) * size), axis=0)
    return (size > np.sqrt(info.max / X.shape[0])) | (spread < np.sqrt(info.tiny) / info.eps)


_standardize = standardize  # load_csv's keyword of the same name hides it there


def polynomial_features(x, degree: int):
    """Powers x, x^2, ..., x^degree of a 1-D input x (N,) as columns (N, degree); the intercept is separate."""
    x = _validate.as_float_array("x", x, 1)
    degree = _validate.count("degree", degree)
    return _powers(x, degree)


@functools.partial(jax.jit, static_argnums=1)
def _powers(x, degree):
    return x[:, None] ** jnp.arange(1, degree + 1, dtype=x.dtype)


# Problems: a criterion, its data, a start, the reference optimum and the Hessian's spectrum there.


@functools.partial(jax.tree_util.register_dataclass, data_fields=("data", "start", "reference", "spectrum"),
                   meta_fields=("criterion",))
@dataclasses.dataclass(frozen=True)
class Problem:
    """What a run is measured against: a pytree, built inside compiled sweeps and vmapped like any array.

    criterion: pure `f(a, data) -> scalar` (static). data: any pytree of
    arrays. start: a_0 (P,). reference: `lab.reference.Reference` (a*, f*,
    ||grad f(a*)||, how it was found). spectrum: `lab.spectrum.Spectrum` of
    the Hessian at a*, whose L gives the local edge 2/L.
    """

    criterion: Callable
    data: Any
    start: jax.Array
    reference: reference.Reference
    spectrum: spectrum.Spectrum

    @property
    def edge_learning_rate(self):
        """2/L of the Hessian at a*: the local stability edge of gradient descent."""
        return spectrum.stability_threshold(self.spectrum.L)


def problem(criterion, data, start=None, *, method: str = "auto", tol=None, max_iter=None) -> Problem:
    """The `Problem` of minimising `criterion(a, data)`: its reference optimum and spectrum, found by `method`.

    criterion: pure JAX `f(a, data) -> scalar`, twice differentiable.
    data: a pytree of arrays (`Data` from `make_data` or `load_csv`, or your own).
    start: a_0 (P,); default zeros when P can be read off the data (`Data.X`, `Gram.b`).
    method: how to find a*: 'auto' (closed form for the lab's quadratics,
        else Newton, continued by L-BFGS where Newton fails), 'closed_form',
        'newton' or 'lbfgs' (see `lab.reference.solve`); tol: the gradient
        norm a* must reach (1e-10 in float64, 1e-5 in float32).
    With concrete inputs the criterion is tried at `start` and a reference
    that did not reach `tol` raises a ValueError saying why; under `jit` or
    `vmap` nothing is raised and `problem.reference.status` says it.
    """
    if not callable(criterion):
        raise ValueError(f"criterion must be a function f(a, data) -> scalar, got {type(criterion).__name__}.")
    if method not in ("auto", *reference.METHODS):
        raise ValueError(f"method must be 'auto' or one of {reference.METHODS}, got {method!r}.")
    if tol is not None:
        _validate.positive("tol", tol)
    if max_iter is not None:
        _validate.count("max_iter", max_iter)
    start = _start(data, start)
    _check_start_shape(criterion, data, start)
    concrete = _validate.is_concrete(data, start) and not _validate.staged()
    if concrete:
        _check_data(criterion, data)
        _check_criterion(criterion, data, start)
    found, curvature, change = _solve(criterion, data, start, _eager_method(criterion, method, concrete), tol, max_iter)
    if concrete and method == "auto" and int(found.status) != reference.CONVERGED:
        # Newton alone did not converge
        found, curvature, change = _solve(criterion, data, start, method, tol, max_iter)
    if concrete:
        if int(found.status) == reference.FALLS_FURTHER:
            _refuse_an_infinite_optimum(criterion, data, found)  # logistic and Poisson: why, in the data's words
        reference.check(found, f"the minimum of {getattr(criterion, '__name__', 'the criterion')}")
        _warn_if_singular(criterion, data, found, curvature)
        _warn_if_degenerate(float(change))
        if isinstance(data, Gram):
            _warn_if_cancelling(data, found)
    return Problem(criterion, data, start, found, curvature)


def _refuse_an_infinite_optimum(criterion, data, found: reference.Reference):
    """Logistic and Poisson regression without a penalty, where f falls further from where the solver stopped
    (status FALLS_FURTHER, `_minimum`): no finite optimum, and which property of the data takes it away."""
    base = _unwrapped(criterion)
    if base not in (criteria.logistic, criteria.poisson) or not isinstance(data, Data) or float(data.l2) != 0:
        return
    why = ("the classes are separable (but for samples on the boundary)" if base is criteria.logistic else
           "the counts are 0 wherever some feature is non-zero (or everywhere)")
    raise ValueError(f"{base.__name__} regression with l2 = 0 has no finite optimum here: {why}, and the loss falls "
                     f"further from the iterate a (||a|| = {float(jnp.linalg.norm(found.params)):.3g}). Pass l2 > 0"
                     f"{'' if base is criteria.logistic else ', or drop that feature'}.")


def _eager_method(criterion, method, concrete):
    """With concrete inputs, 'auto' first compiles Newton alone (L-BFGS and the second Newton are most of the
    chain's compile time) and runs the whole chain only where Newton did not converge: `auto`'s answer either
    way, to rounding (the chain returns Newton's result where Newton converged, compiled in another program)."""
    if concrete and method == "auto" and criterion not in reference.QUADRATICS:
        return "newton"
    return method


def _unwrapped(criterion):
    """The lab's criterion under `functools.partial` wrappers: partial(logistic) is checked as logistic."""
    while isinstance(criterion, functools.partial):
        criterion = criterion.func
    return criterion


def _check_data(criterion, data):
    """`Data` whose y is one target per row, binary labels for logistic regression, counts >= 0 for Poisson, no
    penalty that least squares would ignore; consistent `Gram` moments; one float dtype for the arrays."""
    _validate.data_dtype(data)
    base = _unwrapped(criterion)
    if isinstance(data, Gram):
        _check_gram(base, data)
    if isinstance(data, Data):
        for name, array in (("X", data.X), ("y", data.y)):
            if not jnp.issubdtype(getattr(array, "dtype", None), jnp.floating):
                raise ValueError(f"data.{name} is of dtype {getattr(array, 'dtype', type(array).__name__)}, "
                                 "not floating point: build data with lab.problems.make_data(X, y), "
                                 "which converts integers.")
        if getattr(data.X, "ndim", None) != 2:
            raise ValueError(f"data.X must be the (N, P) design matrix, got shape {getattr(data.X, 'shape', None)}: "
                             "build data with lab.problems.make_data(X, y).")
        n = data.X.shape[0]
        if getattr(data.y, "shape", None) != (n,):
            raise ValueError(f"data.y must have shape ({n},), one target per row of data.X {data.X.shape}, got "
                             f"{getattr(data.y, 'shape', type(data.y).__name__)}: build data with "
                             "lab.problems.make_data(X, y), which checks it (a column y (N, 1): y.ravel()).")
        if base is criteria.logistic:
            _validate.binary_labels(data.y)
        if base is criteria.poisson and np.any(np.asarray(data.y) < 0):
            raise ValueError(f"Poisson regression models counts: data.y must be >= 0, got a minimum of "
                             f"{float(np.min(np.asarray(data.y))):g}.")
        _validate.nonnegative("data.l2", data.l2)
        l2_dtype = getattr(data.l2, "dtype", None)  # a Python float adapts; a numpy or JAX float64 promotes
        if l2_dtype is not None and not getattr(data.l2, "weak_type", False):
            try:
                promoted = jax.dtypes.canonicalize_dtype(jnp.result_type(data.l2, data.X))
            except jax.dtypes.TypePromotionError:  # strict promotion refuses the mix outright
                promoted = None
            if promoted != jax.dtypes.canonicalize_dtype(data.X.dtype):
                raise ValueError(f"data.l2 is {l2_dtype} beside data.X of {data.X.dtype}: the criterion would compute "
                                 f"in {promoted or 'no dtype (strict promotion)'}. Give l2 as a Python float or in "
                                 "X's dtype (lab.problems.make_data does).")
        if base is criteria.least_squares and float(data.l2) != 0:
            raise ValueError(f"least_squares ignores data.l2 = {float(data.l2):g}: use criteria.ridge for the penalty, "
                             "or data.l2 = 0.")


def _check_gram(base, moments: Gram):
    """G (P, P) symmetric to rounding (the gradient assumes it) and positive semi-definite, b (P,), c a scalar,
    l2 >= 0 and not ignored."""
    G, b, c = (np.asarray(x) for x in moments[:3])
    if G.ndim != 2 or G.shape != (b.size, b.size) or b.ndim != 1 or c.ndim != 0:
        raise ValueError(f"Gram moments must be G (P, P), b (P,) and c a scalar, got {G.shape}, {b.shape} and "
                         f"{c.shape}: build them with lab.criteria.gram(data).")
    _validate.symmetric("Gram moments: G", G, "the gradient 2(Ga - b) assumes G = X^T X / N; build them with "
                        "lab.criteria.gram(data)")
    eps = np.finfo(G.dtype).eps
    lowest, highest = np.linalg.eigvalsh(G)[[0, -1]]
    if lowest < -100 * eps * max(abs(highest), abs(lowest)):
        raise ValueError(f"Gram moments: G has a negative eigenvalue ({lowest:.3g}), which X^T X / N cannot: build "
                         "them with lab.criteria.gram(data).")
    # [[G, b], [b^T, c]] is the moment matrix of the rows (x, y), positive semi-definite: the mean square
    # c - 2 a^T b + a^T G a is then >= 0 everywhere. Moments of two data sets break it (a negative f*, or none).
    moments_matrix = np.block([[G, b[:, None]], [b[None, :], c[None, None]]]).astype(np.float64)
    spread = np.linalg.eigvalsh(moments_matrix)
    if spread[0] < -100 * spread.size * eps * max(abs(spread[-1]), np.finfo(np.float64).tiny):
        raise ValueError(f"Gram moments: G, b and c are not the moments of one data set: their moment matrix "
                         f"[[G, b], [b^T, c]] has a negative eigenvalue ({spread[0]:.3g}), so the mean square they "
                         "describe would be negative at its minimum, or unbounded below. Build them with "
                         "lab.criteria.gram(data).")
    _validate.nonnegative("moments.l2", moments.l2)
    if base is criteria.least_squares_gram and float(moments.l2) != 0:
        raise ValueError(f"least_squares_gram ignores moments.l2 = {float(moments.l2):g}: use criteria.ridge_gram for "
                         "the penalty, or l2 = 0.")


def _warn_if_singular(criterion, data, found: reference.Reference, curvature: spectrum.Spectrum):
    """Warn when the Hessian H at a* is singular to rounding (smallest eigenvalue <= P eps L). Then either a* is
    one of many minimisers (D^-1/2 H D^-1/2, D = diag(H), is singular too: its rank does not depend on the
    parameters' units, as `reference.rank` measures a design with unit-norm columns), or H is only too badly
    conditioned for the dtype, and mu, kappa and the rates are rounding."""
    values = np.asarray(curvature.eigenvalues)
    if _regular(values):
        return
    H = np.asarray(spectrum.hessian(criterion, found.params, data))
    diagonal = np.diag(H)
    scale = 1 / np.sqrt(np.where(diagonal > 0, diagonal, 1.0))
    scaled = np.linalg.eigvalsh(H * scale[:, None] * scale[None, :])
    rank = int(np.sum(scaled > scaled.size * np.finfo(scaled.dtype).eps * abs(scaled[-1])))
    if rank < scaled.size:
        warnings.warn(f"the Hessian at the reference optimum is singular (numerical rank {rank} < {scaled.size}): "
                      "the minimiser is not unique (with data: a duplicated, constant or zero column, or fewer "
                      "samples than parameters) and the reference is one of them: the minimum-norm one for the lab's "
                      "least squares, wherever the search stopped for another criterion (its distances and rates are "
                      "then measured from that point, not from where gradient descent goes); mu is rounding, so the "
                      "edge search gives no 2/(L + mu) and no optimal rate (the runs' predicted rates use the "
                      "curvatures the dtype resolves). Drop the dependent columns, or use ridge with l2 > 0.",
                      stacklevel=3)
    elif isinstance(data, Gram):  # G carries the squared conditioning the data form's QR takes the root of
        warnings.warn(f"the Hessian at the reference optimum is too badly conditioned for {values.dtype} (its smallest "
                      f"eigenvalue is below {values.size} eps times its largest): the Gram form's a* and f*, solved "
                      "from G alone, are rounding along its flattest directions (f* too high, every gap wrong), and "
                      "so are mu, kappa, 2/(L + mu) and the predicted rates. Use the data form (whose QR resolves "
                      "them), standardize the features (lab.problems.standardize), or compute in float64.",
                      stacklevel=3)
    else:
        warnings.warn(f"the Hessian at the reference optimum is too badly conditioned for {values.dtype} (its smallest "
                      f"eigenvalue is below {values.size} eps times its largest): a* is unique, but mu, kappa, "
                      "2/(L + mu) and the predicted rates are rounding. Standardize the features "
                      "(lab.problems.standardize), or compute in float64.", stacklevel=3)


def _warn_if_cancelling(moments: Gram, found: reference.Reference):
    """Warn where the Gram form's f(a) = c - 2 a^T b + a^T G a, which cancels c down to f*, leaves f* and the gaps
    more rounding than a thousandth of f* in float32 (eps c > f* / 1000: y far from centred, or a small f*). In
    float64 that takes c > 5e12 f*, an f* at the data's own rounding: no warning."""
    dtype = np.asarray(moments.c).dtype
    c, value = float(moments.c), float(found.value)
    rounding = float(np.finfo(dtype).eps) * abs(c)
    if dtype != np.float64 and rounding > 1e-3 * abs(value):
        warnings.warn(f"the Gram moments' f(a) = c - 2 a^T b + a^T G a cancels c = {c:.3g} down to f* = {value:.3g}: "
                      f"in {np.asarray(moments.c).dtype} f* and every gap carry rounding of eps c = {rounding:.2g} "
                      f"({rounding / abs(value) if value else np.inf:.1%} of f*): gaps below it are rounding. "
                      "Compute in float64, or centre y if it lies far from 0 (the intercept absorbs its mean).",
                      stacklevel=3)


def _warn_if_degenerate(change):
    """Warn when the Hessian changes by more than DEGENERATE along the Newton step from a* (`_curvature_change`)."""
    if change > DEGENERATE:
        warnings.warn(f"the Hessian at the reference optimum changes by {change:.0%} along the Newton step to the "
                      "minimum its quadratic model predicts: there L, mu, 2/L and the predicted rates describe where "
                      "the solver stopped, not the minimum. Pass a smaller tol; where the change stays, the minimum "
                      "is degenerate (f rises faster than quadratically from it, as a^4 does from 0) and no "
                      "quadratic theory describes it.", stacklevel=3)


# The relative change of the Hessian along the Newton step above which `problem` warns: ~0 at a regular minimum
# (the third derivative times the step), 1 - ((k - 2)/(k - 1))^(k - 2) >= 0.56 at a degenerate one, f = a^k, k >= 4.
DEGENERATE = 0.1


@functools.partial(jax.jit, static_argnames=("criterion", "method", "max_iter"))
def _solve(criterion, data, start, method, tol, max_iter):
    """The reference, the spectrum there and `_curvature_change`, in one compiled call (eagerly, the Hessian alone
    costs seconds)."""
    def solve(data, start, tol):
        found = reference.solve(criterion, data, start, method, tol, max_iter)
        curvature = spectrum.spectrum(criterion, found.params, data)
        return (_minimum(criterion, data, found, curvature), curvature,
                _curvature_change(criterion, data, found, curvature))
    if tol is None:
        return linalg.one_at_a_time(lambda data, start: solve(data, start, None))(data, start)
    return linalg.one_at_a_time(solve)(data, start, tol)


def _minimum(criterion, data, found: reference.Reference, curvature: spectrum.Spectrum) -> reference.Reference:
    """`found`, its status NOT_FINITE where the Hessian is not finite, NOT_A_MINIMUM where the gradient vanishes
    but an eigenvalue is clearly negative (below -sqrt(eps) L: a saddle or a maximum, not rounding), FALLS_FURTHER
    where it vanishes but f falls further along a* or the Hessian's flattest direction (either sign, in steps of
    1 + ||a*||; `reference.still_falls`): where f flattens out with no finite minimum (exp(-a), logistic
    regression on separable classes without a penalty) or where a degenerate stationary point is no minimum (a^3).
    The lab's quadratics need no probe: where their gradient vanishes is a minimum. INVALID_DATA, whatever the
    search found, for data `_check_data` would refuse (`_invalid`)."""
    eps = jnp.finfo(curvature.eigenvalues.dtype).eps
    finite = jnp.all(jnp.isfinite(curvature.eigenvalues))
    saddle = curvature.mu < -jnp.sqrt(eps) * jnp.abs(curvature.L)
    falls = (False if criterion in reference.QUADRATICS else
             reference.still_falls(criterion, found.params, data, _flattest(found, curvature)))
    converged = found.status == reference.CONVERGED
    status = jnp.where(converged & ~finite, reference.NOT_FINITE,
                       jnp.where(converged & saddle, reference.NOT_A_MINIMUM,
                                 jnp.where(converged & falls, reference.FALLS_FURTHER, found.status)))
    status = jnp.where(_invalid(criterion, data), reference.INVALID_DATA, status)
    return found._replace(status=status.astype(found.status.dtype))


def _invalid(criterion, data):
    """Whether `Data` are what `_check_data` refuses by value (traced, no check saw them): l2 < 0, logistic labels
    outside {0, 1}, negative Poisson counts; False for other data."""
    if not isinstance(data, Data):
        return False
    base = _unwrapped(criterion)
    invalid = jnp.asarray(data.l2) < 0
    if base is criteria.logistic:
        invalid |= jnp.any(data.y * (1 - data.y) != 0)
    if base is criteria.poisson:
        invalid |= jnp.any(data.y < 0)
    return invalid


def _curvature_change(criterion, data, found: reference.Reference, curvature: spectrum.Spectrum):
    """||H(a* - s) s - H(a*) s|| / ||H(a*) s||, s = H^-1 grad f(a*) the Newton step to the minimum the quadratic model
    at a* predicts: how much the Hessian changes on the way there. Near 0 where a* is close to a regular minimum;
    large where the spectrum at a* depends on where the solver stopped (a degenerate minimum, a^4: s = a*/3 and H
    falls by 56 %). 0 for the lab's quadratics (a constant Hessian) and where H is singular to rounding."""
    if criterion in reference.QUADRATICS:
        return jnp.zeros((), curvature.eigenvalues.dtype)
    values, vectors = curvature.eigenvalues, curvature.eigenvectors
    regular = _regular(values)
    gradient = jax.grad(criterion)(found.params, data)
    step = jnp.where(regular, vectors @ ((vectors.T @ gradient) / jnp.where(regular, values, 1)), 0)
    here = vectors @ (values * (vectors.T @ step))  # H(a*) s, from the spectrum
    there = spectrum.hvp(criterion, found.params - step, data, step)
    size = jnp.linalg.norm(here)
    return jnp.where(size > 0, jnp.linalg.norm(there - here) / jnp.where(size > 0, size, 1), 0)


def _flattest(found: reference.Reference, curvature: spectrum.Spectrum):
    """+-(1 + ||a*||) v, v the Hessian's flattest eigenvector; zeros where the Hessian is singular to rounding (a
    flat direction of many minimisers, `_warn_if_singular`'s, is not one where f falls)."""
    softest = curvature.eigenvectors[:, 0] * (1 + jnp.linalg.norm(found.params))
    return jnp.where(_regular(curvature.eigenvalues), jnp.stack([softest, -softest]), 0)


def _regular(eigenvalues):
    """Whether a Hessian's smallest eigenvalue (ascending order) is above P eps |L|: not singular to rounding
    (numpy in, numpy out: the eager check runs no JAX operation)."""
    return eigenvalues[0] > eigenvalues.size * jnp.finfo(eigenvalues.dtype).eps * abs(eigenvalues[-1])


def problem_size(data):
    """The number of parameters P read off the data (`Data.X` columns, `Gram.b` length); None for other data.

    For `Data` it is the default, a linear model's P: a criterion of other parameters on the same rows (a
    network) gives its own start, whose shape is then trusted (the lab's linear criteria check theirs)."""
    if isinstance(data, Data):
        return data.X.shape[1]
    if isinstance(data, Gram):
        return data.b.shape[0]
    return None


# The lab's criteria of a linear model on Data: one coefficient per column of X, checked by `problem`.
ON_COLUMNS = (criteria.least_squares, criteria.ridge, criteria.logistic, criteria.huber, criteria.poisson)


def default_size_error(criterion, data):
    """What criterion(a, data) raises for a of the default size (`problem_size`, X's columns), shapes only: nothing
    is computed; None when it takes them."""
    dtype = jax.tree_util.tree_leaves(data)[0].dtype
    dtype = dtype if jnp.issubdtype(dtype, jnp.floating) else jnp.result_type(float)
    try:
        jax.eval_shape(criterion, jax.ShapeDtypeStruct((problem_size(data),), dtype), data)
    except (Exception, SystemExit) as error:  # a user's sys.exit too, named as what it raised
        return error
    return None


def _check_start_shape(criterion, data, start):
    """On `Data` a start of other than X's columns is a criterion of other parameters (a network): refused for the
    lab's linear criteria (one coefficient per column, under `jit` too: shapes are static), warned about where the
    criterion accepts X's columns as well (one that broadcasts would fit another model in silence; one that
    ignores X, a pure penalty say, is warned about too)."""
    columns = problem_size(data) if isinstance(data, Data) else None
    if columns is None or start.shape == (columns,):
        return
    name = getattr(_unwrapped(criterion), "__name__", "the criterion")
    if _unwrapped(criterion) in ON_COLUMNS:
        raise ValueError(f"start must have shape ({columns},): {name} has one coefficient per column of data.X "
                         f"{data.X.shape}, got {start.shape}.")
    if default_size_error(criterion, data) is not None:  # its parameters are not X's columns: nothing to confuse
        return
    warnings.warn(f"{name} takes a start of {start.shape[0]} parameters and also one of data.X's {columns} columns: "
                  "check start (or CriterionRun's size). A criterion that broadcasts a against X would fit another "
                  "model without an error.", stacklevel=3)


def _start(data, start):
    if start is None:
        size = problem_size(data)
        if size is None:
            raise ValueError(f"start is needed for data of type {type(data).__name__}: pass start=jnp.zeros(P), "
                             "P the number of parameters.")
        leaf = jax.tree_util.tree_leaves(data)[0]
        return jnp.zeros(size, leaf.dtype if jnp.issubdtype(leaf.dtype, jnp.floating) else jnp.result_type(float))
    dtype = getattr(start, "dtype", None)
    if getattr(start, "ndim", None) != 1 or not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"start must be a 1-D floating-point array a_0 (P,), got {getattr(start, 'shape', start)!r} "
                         f"of dtype {dtype}: e.g. jnp.zeros(P).")
    if isinstance(data, Gram) and start.shape != data.b.shape:  # on Data, a network's P is not X's columns
        raise ValueError(f"start must have shape {data.b.shape} to match the moments' b (a run's size too), "
                         f"got {start.shape}.")
    # the data's precision: a float32 start would solve float64 data in float32
    return jnp.asarray(start, _validate.data_dtype(data))


def _check_criterion(criterion, data, start):
    """Try the criterion once at `start`: it must run and return a finite real scalar."""
    name = getattr(criterion, "__name__", "criterion")
    leaves = jax.tree_util.tree_leaves(data)
    if not all(np.all(np.isfinite(np.asarray(x))) for x in leaves if np.issubdtype(np.asarray(x).dtype, np.number)):
        raise ValueError("data contains NaN or infinite values: remove them (lab.problems.make_data says where).")
    try:
        value = jax.jit(criterion)(start, data)  # one compiled call: eagerly, each operation compiles alone
    except (Exception, SystemExit) as error:  # sys.exit in a criterion ended `lab sweep` with its code, unsaid
        raise ValueError(f"{name}(start, data) raised {type(error).__name__}: {error}") from error
    if getattr(value, "shape", None) != () or not jnp.issubdtype(getattr(value, "dtype", None), jnp.floating):
        raise ValueError(f"{name}(a, data) must return a real scalar, got shape {getattr(value, 'shape', None)} "
                         f"and dtype {getattr(value, 'dtype', type(value).__name__)}: sum or average over samples.")
    if not np.isfinite(float(value)):
        raise ValueError(f"{name}(start, data) is {float(value)}: choose a start where the criterion is finite.")


def interpolating(data: Data) -> tuple[Data, jax.Array]:
    """`data` with y replaced by X a*, a* its least-squares fit: (that Data, a*). Least squares then fits it
    exactly (f* = 0), so mini-batch SGD's gradient noise vanishes at a* and its mean square contracts (`minibatch`)."""
    fit = problem(criteria.least_squares, data).reference.params  # refuses a penalty, which least squares ignores
    return Data(data.X, data.X @ fit), fit


def regression_problem(key, n: int, d: int, kappa, noise=0.1, *, criterion=criteria.least_squares, l2=0.0,
                       gram: bool = False, dtype=None) -> Problem:
    """Least squares (or ridge) on `regression(key, n, d, kappa, noise)` from a = 0, a* in closed form.

    With `gram` the criterion is written on the moments X^T X / N (`criteria.gram`): same iterates, P^2 per step.
    """
    if criterion is criteria.least_squares and _validate.is_concrete(l2) and np.any(np.asarray(l2) != 0):
        raise ValueError(f"least_squares ignores l2 = {l2!r}: pass criterion=criteria.ridge for the penalty.")
    on_moments = {criteria.least_squares: criteria.least_squares_gram, criteria.ridge: criteria.ridge_gram}
    if _validate.flag("gram", gram) and criterion not in on_moments:
        name = getattr(criterion, "__name__", "this criterion")
        raise ValueError(f"gram=True writes least_squares or ridge on the moments; {name} has no moment form: "
                         "use gram=False.")
    X, y = regression(key, n, d, kappa, noise, dtype=dtype)
    data = Data(design(X), y, jnp.asarray(l2, X.dtype))
    if gram:
        data = criteria.gram(data)
        criterion = on_moments[criterion]
    return problem(criterion, data)


def classification_problem(key, n: int, d: int, separation=1.0, kappa=1.0, l2=1e-2, *, tol=None,
                           dtype=None) -> Problem:
    """Penalised logistic regression on `classification(key, n, d, separation, kappa)` from a = 0, a* by Newton."""
    X, y = classification(key, n, d, separation, kappa, dtype=dtype)
    return problem(criteria.logistic, Data(design(X), y, jnp.asarray(l2, X.dtype)), method="newton", tol=tol)


def load_csv(path, target: str, *, standardize: bool = False, labels: bool = False, dtype=None):
    """Numeric columns of a CSV file with a header: features X (N, D), the `target` column y (N,), feature names.

    standardize: centre and scale every feature (`standardize`) on the file's
    float64 digits, whatever JAX's float64 switch, then cast. labels: y
    must hold 0/1 (for logistic regression). dtype: of X and y (default JAX's
    default float; float64 needs JAX's float64 switch). Text cells, empty or
    NaN cells, values the dtype turns into 0 or inf, and a missing target raise
    a ValueError naming the row and column.
    Build the criterion's data with `make_data(X, y)`.
    """
    path = Path(path)
    standardize, labels = _validate.flag("standardize", standardize), _validate.flag("labels", labels)
    if not path.is_file():
        raise ValueError(f"no CSV file at {str(path)!r}: check the path.")
    try:
        with path.open(newline="", encoding="utf-8-sig") as file:  # -sig: a spreadsheet's byte-order mark is no name
            rows = [(number, row) for number, row in enumerate(csv.reader(file), start=1) if row]  # blank lines skipped
    except UnicodeDecodeError as error:
        raise ValueError(f"{str(path)!r} is not UTF-8 text ({error.reason} at byte {error.start}): save it as a CSV "
                         "file in UTF-8 (a spreadsheet's 'CSV UTF-8'), or convert it (iconv -t utf-8).") from None
    if len(rows) < 2:
        raise ValueError(f"{str(path)!r} needs a header line and at least one row of numbers.")
    header = [name.strip() for name in rows[0][1]]
    unnamed = [j + 1 for j, name in enumerate(header) if not name]
    if unnamed:  # pandas' DataFrame.to_csv writes its index so: row numbers would become a feature
        raise ValueError(f"{str(path)!r} has no name for column(s) {unnamed} (counted from 1): if it is a row index "
                         "(pandas' to_csv writes one unless index=False), delete it; otherwise name it.")
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise ValueError(f"{str(path)!r} names more than one column {', '.join(map(repr, repeated))}: rename them "
                         "(a repeated target would become a feature equal to y).")
    if target not in header:
        raise ValueError(f"{str(path)!r} has no column {target!r}; its columns are {', '.join(header)}.")
    table = np.empty((len(rows) - 1, len(header)))
    lines = [number for number, _ in rows[1:]]
    for k, (i, row) in enumerate(rows[1:]):
        if len(row) != len(header):
            raise ValueError(f"{str(path)!r} line {i} has {len(row)} cells, the header {len(header)}.")
        for j, cell in enumerate(row):
            try:
                if "_" in cell:  # float() reads 1_000 as 1000 (Python literals), a code such as 2020_01 as 202001
                    raise ValueError(cell)
                table[k, j] = float(cell)
            except ValueError:
                what = "is empty (a missing value: fill or drop the row)" if not cell.strip() else (
                    f"{cell!r} is not a number (the lab reads numeric columns only: encode or drop it)")
                raise ValueError(f"{str(path)!r} line {i}, column {header[j]!r}: {what}.") from None
    bad = ~np.isfinite(table)
    if bad.any():
        lines = [lines[k] for k in np.flatnonzero(bad.any(axis=1))]
        raise ValueError(f"{str(path)!r} has NaN or infinite cells on line(s) {lines[:10]}"
                         f"{'...' if len(lines) > 10 else ''}: drop or impute them.")
    column = header.index(target)
    X, y = np.delete(table, column, axis=1), table[:, column]
    if X.shape[1] == 0:
        raise ValueError(f"{str(path)!r} has no feature column besides the target {target!r}.")
    if labels:
        _validate.binary_labels(y)
    dtype = _validate.float_dtype(dtype)  # float16 and complex refused here, not later in make_data
    outside = _validate.outside_normal(table, dtype)
    if outside.any():
        k, j = np.argwhere(outside)[0]
        info = jnp.finfo(dtype)
        raise ValueError(f"{str(path)!r} line {lines[k]}, column {header[j]!r}: {table[k, j]:g} is outside "
                         f"{dtype.name}'s normal numbers (magnitudes {float(info.tiny):.2g} to {float(info.max):.3g}), "
                         f"which would read it as {'inf' if abs(table[k, j]) > 1 else 0}: rescale the column"
                         f"{'' if dtype == jnp.float64 else ', or read it with dtype=jnp.float64'}.")
    names = [name for name in header if name != target]
    if standardize:
        constant = [name for name, column in zip(names, X.T) if np.all(column == column[0])]
        if constant:  # by name: standardize's indices count the features, not the file's columns
            raise ValueError(f"{str(path)!r} has constant column(s) {', '.join(map(repr, constant))}: drop them "
                             "before standardizing.")
        # on the file's float64 digits, then cast: in float32 the mean of a column 1e6 + N(0, 1) rounds by 0.08.
        # With JAX's float64 switch off JAX would compute in float32 (a mean of 0.016): switched on for this alone.
        with jax.enable_x64(True):
            X = np.asarray(_standardize(jnp.asarray(X, jnp.float64))[0])
    return jnp.asarray(X, dtype), jnp.asarray(y, dtype), names

