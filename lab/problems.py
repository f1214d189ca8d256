"""Data: synthetic problems with known conditioning, and feature transforms.

Generators take a PRNG key and their continuous parameters (condition number,
class separation, noise) as ordinary arguments, so `jax.vmap` sweeps them in
one compiled call; sizes (n, d) are static. They return raw features X (N, D)
and targets y (N,); `make_data` turns them into the criteria's `Data` by
prepending the intercept column.
"""

import jax
import jax.numpy as jnp
import numpy as np

from lab import _validate
from lab.criteria import Data


def design(X, intercept: bool = True):
    """The design matrix: X (N, D) with a leading column of ones when `intercept` (N, D + 1)."""
    if not intercept:
        return X
    return jnp.concatenate([jnp.ones((X.shape[0], 1), X.dtype), X], axis=1)


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
    n = _validate.count("n", n)
    d = _validate.count("d", d)
    if n < d + intercept:
        raise ValueError(f"n must be at least d{' + 1' if intercept else ''} = {d + intercept} for a full-rank design, got n={n}.")
    if not intercept and d == 1:
        raise ValueError("d must be >= 2 without an intercept: a single column has condition number 1.")
    _validate.at_least_one("kappa", kappa)
    dtype = dtype or jnp.result_type(float)
    # One draw for everything: each random call costs compile time in a sweep.
    p = d + intercept
    gaussian, square, a_true, noise_draw = _standard_normals(key, dtype, (n, d), (d, d), (p,), (n,))
    # Orthonormal columns orthogonal to the ones vector: QR of [1, G].
    first = jnp.ones((n, 1), dtype) if intercept else jnp.zeros((n, 0), dtype)
    basis = jnp.linalg.qr(jnp.concatenate([first, gaussian], axis=1))[0][:, intercept:]
    rotation = jnp.linalg.qr(square)[0]
    exponents = jnp.linspace(0.0, 1.0, d, dtype=dtype) if d > 1 else jnp.ones(1, dtype)
    singular = jnp.sqrt(n * jnp.asarray(kappa, dtype) ** (-exponents))
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
    dtype = dtype or jnp.result_type(float)
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
    _validate.nonnegative("separation", separation)
    _validate.at_least_one("kappa", kappa)
    dtype = dtype or jnp.result_type(float)
    k_y, k_dir, k_x = jax.random.split(key, 3)
    y = jax.random.bernoulli(k_y, 0.5, (n,)).astype(dtype)
    direction = jax.random.normal(k_dir, (d,), dtype)
    direction = direction / jnp.linalg.norm(direction)
    X = jax.random.normal(k_x, (n, d), dtype) + jnp.outer(y - 0.5, separation * direction)
    return X * jnp.asarray(kappa, dtype) ** (-jnp.linspace(0.0, 1.0, d, dtype=dtype) / 2), y


def standardize(X):
    """Centre each column to mean 0 and scale it to standard deviation 1.

    Returns (X_standardized, mean, scale), so new data is transformed with
    (X_new - mean) / scale. A constant column cannot be scaled: ValueError.
    """
    X = _validate.as_float_array("X", X, 2)
    mean = jnp.mean(X, axis=0)
    scale = jnp.std(X, axis=0)
    if _validate.is_concrete(scale) and bool(jnp.any(scale == 0)):
        columns = [int(j) for j in jnp.flatnonzero(scale == 0)]
        raise ValueError(f"X has constant column(s) {columns}: drop them before standardizing.")
    return (X - mean) / scale, mean, scale


def polynomial_features(x, degree: int):
    """Powers x, x^2, ..., x^degree of a 1-D input x (N,) as columns (N, degree); the intercept is separate."""
    x = _validate.as_float_array("x", x, 1)
    degree = _validate.count("degree", degree)
    return x[:, None] ** jnp.arange(1, degree + 1, dtype=x.dtype)
