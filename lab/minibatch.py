"""Mini-batch SGD on least squares: the exact mean-square map, its rate and its stability edge.

For f(a) = (1/N) ||X a - y||^2 the per-sample Hessians are H_i = 2 x_i x_i^T
and H is their mean. On interpolating data (y = X a*) one step of SGD on a
batch of B samples maps the error e = a - a* to (I - eta H_B) e, H_B the
batch's mean Hessian, so the second moment M = E[e e^T] evolves by the
linear map

    T_B(M) = M - eta (H M + M H) + eta^2 [(1 - c_B) H M H + c_B S(M)],
    S(M) = (1/N) sum_i H_i M H_i,

with c_B = 1/B for batches drawn with replacement and (N - B) / (B (N - 1))
without (c_N = 0: full-batch gradient descent, whose edge is 2/L). As a
matrix on vec(M) T_B is symmetric, I - eta A + eta^2 C with A = H (+) H (the
Kronecker sum) and C = (1 - c_B) H (x) H + c_B (1/N) sum_i H_i (x) H_i
positive semi-definite, so E||e_t||^2 = tr(M_t) contracts by the spectral
radius rho(T_B) per step.

The edge, the largest eta with rho(T_B) < 1, is exact: T_B preserves
positive semi-definite matrices, so its spectral radius is its largest
eigenvalue, below 1 iff eta v^T C v < v^T A v for every v, that is
eta < eta_c = 1 / lambda_max(A^-1/2 C A^-1/2). Everything is computed in
the eigenbasis of H, where A is diagonal, with P^2 x P^2 matrices: small P.
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from lab import _validate, linalg


def _checked(X, batch_size, replacement, learning_rate=None):
    """X as a finite (N, P) float array, after the checks of every public function here."""
    X = _validate.as_float_array("X", X, 2)
    _check_batch_size(batch_size, X.shape[0], replacement)
    if jnp.ndim(batch_size) != 0:
        raise ValueError(f"batch_size must be one integer, got shape {jnp.shape(batch_size)}: jax.vmap over batch "
                         "sizes for several.")
    if learning_rate is not None:
        _validate.one_learning_rate("learning_rate", learning_rate)
    return X


def _check_batch_size(batch_size, num_samples: int, replacement: bool):
    """Concrete batch sizes must be integers >= 1 (at most N without replacement); traced ones pass."""
    _validate.flag("replacement", replacement)
    if _validate.is_concrete(batch_size):
        b = np.asarray(batch_size)
        if not _validate.is_real_number_dtype(b.dtype):  # True was read as 1, "2" failed in a ufunc
            raise ValueError(f"batch_size must hold integers, got {batch_size!r}.")
        most = np.inf if replacement else num_samples
        if not (np.all(b >= 1) and np.all(b <= most) and np.all(np.mod(b, 1) == 0)):
            bound = ">= 1" if replacement else f"from 1 to N = {num_samples} (rows drawn without replacement)"
            raise ValueError(f"batch_size must hold integers {bound}, got {batch_size}.")


def noise_weight(batch_size, num_samples: int, replacement: bool = True):
    """c_B: the weight of the per-sample term S in T_B; 1/B with replacement, (N - B) / (B (N - 1)) without."""
    num_samples = _validate.count("num_samples", num_samples)
    _check_batch_size(batch_size, num_samples, replacement)
    batch_size = jnp.asarray(batch_size, float)
    # Checked when concrete; traced, a B that is no batch size gives NaN, not the weight of a batch never drawn.
    largest = jnp.inf if replacement else num_samples
    batch_size = jnp.where(_validate.batch_size_in_range(batch_size, largest), batch_size, jnp.nan)
    if replacement:
        return 1.0 / batch_size
    return (num_samples - batch_size) / (batch_size * max(num_samples - 1, 1))


def _operators(X, batch_size, replacement):
    """(A, C, V) of T_B = I - eta A + eta^2 C on vec(M), in the eigenbasis V of H: A diagonal (as a vector)."""
    n = X.shape[0]
    eigenvalues, vectors = linalg.eigh(2 / n * X.T @ X)
    rotated = X @ vectors  # x_i in the eigenbasis of H
    p = X.shape[1]
    outer = 2 * (rotated[:, :, None] * rotated[:, None, :]).reshape(n, p * p)  # vec(H_i)
    c = noise_weight(batch_size, n, replacement).astype(X.dtype)  # checked by the public caller
    A = (eigenvalues[:, None] + eigenvalues[None, :]).ravel()
    C = (1 - c) * jnp.diag(jnp.outer(eigenvalues, eigenvalues).ravel()) + c * outer.T @ outer / n
    return A, C, vectors


def second_moment_map(X, learning_rate, batch_size, replacement: bool = True):
    """T_B as a (P^2, P^2) matrix on vec(M), M in the eigenbasis of H = (2/N) X^T X (module docstring).

    Returns (T, eigenvectors of H): M in the original basis is V M V^T.
    """
    X = _checked(X, batch_size, replacement, learning_rate)
    return _second_moment_map(X, learning_rate, batch_size, replacement)


@functools.partial(jax.jit, static_argnums=3)
def _second_moment_map(X, learning_rate, batch_size, replacement):
    A, C, vectors = _operators(X, batch_size, replacement)
    learning_rate = jnp.asarray(learning_rate, X.dtype)
    return jnp.eye(A.size, dtype=X.dtype) - learning_rate * jnp.diag(A) + learning_rate**2 * C, vectors


def mean_square_rate(X, learning_rate, batch_size, replacement: bool = True):
    """(rho, M): the spectral radius of T_B, the per-step factor of E||a_t - a*||^2, and its top eigenvector
    M (P, P) in the original basis, positive semi-definite with trace 1: the covariance of the start that
    contracts exactly by rho."""
    X = _checked(X, batch_size, replacement, learning_rate)
    return _mean_square_rate(X, learning_rate, batch_size, replacement)


@functools.partial(jax.jit, static_argnums=3)
def _mean_square_rate(X, learning_rate, batch_size, replacement):
    T, vectors = _second_moment_map(X, learning_rate, batch_size, replacement)
    values, eigenvectors = linalg.eigh(T)
    # T_B maps second moments (positive semi-definite) to second moments: its spectral radius is its largest
    # eigenvalue, with a positive semi-definite eigenvector (Perron-Frobenius for cones). Not the largest |value|:
    # where -rho ties with rho (full batches at 2/(L + mu)), that eigenvector has trace ~0, and M blew up. Where rho
    # is repeated (kappa = 1), eigh's vector may be any in its eigenspace: the projection of I there is one that is
    # positive semi-definite (the limit of T^k I / rho^k averaged over two steps).
    p = X.shape[1]
    top = values >= values[-1] - 1e3 * jnp.finfo(values.dtype).eps * jnp.abs(values[-1])
    projected = eigenvectors @ jnp.where(top, eigenvectors.T @ jnp.eye(p, dtype=X.dtype).ravel(), 0.0)
    M = jnp.where(top[-2], projected, eigenvectors[:, -1]).reshape(p, p)  # simple: its eigenvector, as it is
    M = vectors @ ((M + M.T) / 2) @ vectors.T
    return values[-1], M / jnp.trace(M)


def draw_with_second_moment(key, center, M):
    """center + R z, z standard normal and R = V diag(sqrt(max(lambda, 0))) from M = V diag(lambda) V^T: a random
    point whose second moment about `center` is E (a - center)(a - center)^T = M, a symmetric positive semi-definite
    (P, P) matrix (an eigenvalue below 0 by rounding reads as 0). From a* + such a draw with M the top eigenvector of
    T_B (`mean_square_rate`), SGD's mean square E||a_t - a*||^2 is multiplied by exactly rho(T_B) at every step."""
    center = _validate.as_float_array("center", center, 1)
    M = _validate.as_float_array("M", M, 2)
    if M.shape != (center.size, center.size):
        raise ValueError(f"M must be ({center.size}, {center.size}), the second moment of a point like center, "
                         f"got {M.shape}.")
    if _validate.is_concrete(M):
        _validate.symmetric("M", M, "a second moment E (a - center)(a - center)^T is; pass (M + M.T) / 2")
    values, vectors = linalg.eigh(M)
    negative = jnp.min(values) < -1e3 * jnp.finfo(values.dtype).eps * jnp.max(jnp.abs(values))  # beyond rounding
    if _validate.is_concrete(negative) and bool(negative):
        raise ValueError(f"M has an eigenvalue {float(np.min(values)):.3g} < 0: a second moment is positive "
                         "semi-definite, and drawing from it would silently drop that direction.")
    key = _validate.prng_key("key", key)
    draw = center + (vectors * jnp.sqrt(jnp.maximum(values, 0))) @ jax.random.normal(key, center.shape, center.dtype)
    return jnp.where(negative, jnp.nan, draw)  # traced: NaN, not a draw that dropped a direction


def mean_square_edge(X, batch_size, replacement: bool = True):
    """eta_c(B) = 1 / lambda_max(A^-1/2 C A^-1/2): the largest learning rate at which the mean square of
    mini-batch SGD's error contracts on interpolating least squares (module docstring).

    Directions of M with A = 0 (features without variance: H singular) never move and are left out.
    """
    X = _checked(X, batch_size, replacement)
    return _mean_square_edge(X, batch_size, replacement)


@functools.partial(jax.jit, static_argnums=2)
def _mean_square_edge(X, batch_size, replacement):
    A, C, _ = _operators(X, batch_size, replacement)
    floor = A.max() * X.shape[1] * jnp.finfo(X.dtype).eps
    scale = jnp.where(A > floor, 1 / jnp.sqrt(jnp.where(A > floor, A, 1)), 0)
    return 1 / linalg.eigvalsh(scale[:, None] * C * scale[None, :])[-1]

