"""Reference optima, computed to machine precision: what every run is measured against.

Each function takes raw features X (N, D), without the column of ones, and
targets y (N,), and returns the parameter vector a* intercept first, in the
convention of `lab.criteria` (mean loss, penalty `l2 ||a||^2` on the whole
vector, intercept included). All are jittable and vmappable: under tracing
the value checks are skipped (shapes are still checked), so a sweep can
compute a reference per run inside its compiled call.

Linear algebra is orthogonal (QR, SVD): X^T X is never formed or inverted,
since that squares the condition number.
"""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lab import _validate, criteria
from lab.problems import design


def least_squares(X, y, intercept: bool = True):
    """Minimiser of (1/N) ||y - A a||^2, A = [1, X]: a* = (A^T A)^-1 A^T y computed by QR.

    Columns are scaled to unit norm before a Householder QR, which keeps
    polynomial designs with condition numbers of 1e10 and beyond accurate in
    float64. Needs N >= number of columns; for fewer samples use
    `min_norm` or `ridge`.
    """
    X, y = _validate.features_and_targets(X, y)
    A = design(X, intercept)
    if A.shape[0] < A.shape[1]:
        raise ValueError(
            f"X has fewer samples ({A.shape[0]}) than parameters ({A.shape[1]}): least squares has "
            "infinitely many minimisers; use lab.reference.min_norm or lab.reference.ridge with eps > 0."
        )
    return _scaled_qr_solve(A, y)


@jax.jit
def _scaled_qr_solve(A, y):
    norms = jnp.linalg.norm(A, axis=0)
    norms = jnp.where(norms > 0, norms, 1.0)
    q, r = jnp.linalg.qr(A / norms)
    return jax.scipy.linalg.solve_triangular(r, q.T @ y) / norms


def ridge(X, y, eps, intercept: bool = True):
    """Minimiser of (1/N) ||y - A a||^2 + eps ||a||^2 (`criteria.ridge` with `Data.l2 = eps`).

    a* = (A^T A + N eps I)^-1 A^T y, computed from the thin SVD A = U S V^T as
    V diag(s / (s^2 + N eps)) U^T y: stable, and defined for N < D too. (The
    course's penalty without 1/N is N * eps.) eps = 0 gives `min_norm`.
    """
    X, y = _validate.features_and_targets(X, y)
    _validate.nonnegative("eps", eps)
    return _svd_solve(design(X, intercept), y, jnp.asarray(eps, X.dtype))


def min_norm(X, y, intercept: bool = True):
    """The minimum-norm minimiser of (1/N) ||y - A a||^2: pinv(A) y, the limit of `ridge` as eps -> 0.

    With N < D there are infinitely many zero-error solutions; this is the one
    of smallest ||a|| (intercept included), which gradient descent started at
    a = 0 also reaches. Singular values below max(N, P) * machine epsilon *
    the largest one are treated as zero, as in `numpy.linalg.pinv`.
    """
    X, y = _validate.features_and_targets(X, y)
    return _svd_solve(design(X, intercept), y, jnp.zeros((), X.dtype))


@jax.jit
def _svd_solve(A, y, eps):
    u, s, vt = jnp.linalg.svd(A, full_matrices=False)
    n = A.shape[0]
    cutoff = max(A.shape) * jnp.finfo(A.dtype).eps * s[0]
    keep = (s > cutoff) | (eps > 0)
    factor = jnp.where(keep, s / jnp.where(keep, s**2 + n * eps, 1.0), 0.0)
    return vt.T @ (factor * (u.T @ y))


def logistic(X, y, l2=0.0, intercept: bool = True, tol=None, max_iter: int = 100):
    """Minimiser of `criteria.logistic` by Newton's method (IRLS) with backtracking.

    Iterates a <- a - t H^-1 g from a = 0, t halved until the loss decreases
    enough (Armijo), until ||g|| <= tol (default 1e-10 in float64, 1e-5 in
    float32) or `max_iter` steps. Labels y must be 0/1.

    Separable classes with l2 = 0 have no finite optimum (the loss tends to 0
    as ||a|| grows): when Newton's iterate classifies every sample correctly,
    which certifies separability, this raises a ValueError asking for l2 > 0
    rather than returning a huge vector. Under tracing no error can be raised; use
    `logistic_newton` to read the convergence status yourself.
    """
    X, y = _validate.features_and_targets(X, y)
    _validate.binary_labels(y)
    _validate.nonnegative("l2", l2)
    max_iter = _validate.count("max_iter", max_iter)
    if tol is not None:
        _validate.positive("tol", tol)
    result = logistic_newton(design(X, intercept), y, jnp.asarray(l2, X.dtype), tol, max_iter)
    if _validate.is_concrete(result):
        _raise_unless_converged(result, l2, max_iter)
    return result.params


class NewtonResult(NamedTuple):
    """Outcome of `logistic_newton`: the iterate, and whether it met the tolerance."""

    params: jax.Array
    gradient_norm: jax.Array
    loss: jax.Array
    iterations: jax.Array
    converged: jax.Array
    separated: jax.Array


def logistic_newton(A, y, l2, tol=None, max_iter: int = 100) -> NewtonResult:
    """Newton's method on `criteria.logistic` for a design matrix A (N, P); jittable, no checks."""
    tol = _default_tol(A.dtype) if tol is None else tol
    params, grad_norm, loss, iterations = _newton(A, y, l2, jnp.asarray(tol, A.dtype), max_iter)
    margins = (2 * y - 1) * (A @ params)
    return NewtonResult(params, grad_norm, loss, iterations, grad_norm <= tol, jnp.all(margins > 0))


def _default_tol(dtype):
    return 1e-10 if jnp.finfo(dtype).bits >= 64 else 1e-5


@functools.partial(jax.jit, static_argnames="max_iter")
def _newton(A, y, l2, tol, max_iter):
    data = criteria.Data(A, y, l2)
    loss_and_grad = jax.value_and_grad(criteria.logistic)
    hessian = jax.hessian(criteria.logistic)

    slack = 16 * jnp.finfo(A.dtype).eps  # near the optimum, loss differences fall below rounding

    def line_search(a, loss, g, direction):
        def shrink(state):
            t, _, _ = state
            t = t / 2
            return t, criteria.logistic(a - t * direction, data), None

        def too_long(state):
            t, trial, _ = state
            sufficient = trial <= loss - 1e-4 * t * jnp.dot(g, direction) + slack * jnp.abs(loss)
            return ~sufficient & (t > 1e-12)

        first = criteria.logistic(a - direction, data)
        t, trial, _ = jax.lax.while_loop(too_long, shrink, (jnp.ones((), A.dtype), first, None))
        accepted = jnp.isfinite(trial) & (trial <= loss + slack * jnp.abs(loss))
        return jnp.where(accepted, a - t * direction, a), accepted

    def step(state):
        a, loss, g, it, _ = state
        direction = jnp.linalg.solve(hessian(a, data), g)
        a, progressed = line_search(a, loss, g, direction)
        loss, g = loss_and_grad(a, data)
        return a, loss, g, it + 1, progressed

    def going(state):
        _, _, g, it, progressed = state
        return (jnp.linalg.norm(g) > tol) & (it < max_iter) & progressed

    a0 = jnp.zeros(A.shape[1], A.dtype)
    init = (a0, *loss_and_grad(a0, data), jnp.zeros((), jnp.int32), jnp.array(True))
    a, loss, g, iterations, _ = jax.lax.while_loop(going, step, init)
    return a, jnp.linalg.norm(g), loss, iterations


def newton_params(result: NewtonResult, l2, max_iter: int = 100):
    """The parameters of a concrete `logistic_newton` result, or the ValueError `logistic` raises.

    For code that runs `logistic_newton` inside its own `jit` and checks the outcome afterwards.
    """
    _raise_unless_converged(result, l2, max_iter)
    return result.params


def _raise_unless_converged(result: NewtonResult, l2, max_iter):
    if float(l2) == 0.0 and bool(result.separated):
        norm = float(np.linalg.norm(np.asarray(result.params)))
        raise ValueError(
            "The classes are linearly separable (Newton's iterate classifies every sample correctly), so "
            f"logistic regression with l2=0 has no finite optimum: the loss fell to {float(result.loss):.2e} "
            f"while ||a|| grew to {norm:.2e}. Pass l2 > 0 (a penalty l2 ||a||^2) for a finite, unique optimum."
        )
    if bool(result.converged):
        return
    raise ValueError(
        f"Newton's method stopped at gradient norm {float(result.gradient_norm):.2e} after "
        f"{int(result.iterations)} of max_iter={max_iter} iterations: raise max_iter, or standardize X "
        "(lab.problems.standardize) if its columns have very different scales."
    )
