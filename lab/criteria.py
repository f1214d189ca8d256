"""Optimization criteria: pure JAX functions `criterion(a, data) -> scalar`.

Conventions, the same in every module of the lab:

* `data.X` is the design matrix, shape (N, P). With an intercept (the default
  everywhere) its first column is ones and P = D + 1, exactly as in the
  course: X = [1, x_1 .. x_D] and a = (b, a_1 .. a_D), intercept first.
  Build it with `lab.problems.make_data(X, y)`, which prepends the ones.
* `data.y` has shape (N,); never (N, 1).
* Every loss is a *mean* over samples, and the L2 penalty `l2 * ||a||^2`
  covers the whole vector a, intercept included (the course's
  `||y - Xa||^2 + ε ||a||^2`, divided by N, with `l2 = ε / N`). One
  convention, so closed forms, curvature and step thresholds all follow it.

All criteria work under `grad`, `jit` and `vmap`, in float32 and float64.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lab import _validate


def design(X, intercept: bool = True):
    """The design matrix: X (N, D) with a leading column of ones when `intercept` (N, D + 1)."""
    X = _validate.as_float_array("X", X, 2)
    if not _validate.flag("intercept", intercept):
        return X
    return jnp.concatenate([jnp.ones((X.shape[0], 1), X.dtype), X], axis=1)


class Data(NamedTuple):
    """A supervised data set with its L2 weight: a pytree, so `l2` can be a traced sweep axis.

    X: (N, P) design matrix (first column ones when there is an intercept).
    y: (N,) targets (real for regression, 0/1 for logistic regression).
    l2: scalar >= 0, weight of `l2 * ||a||^2` in `ridge` and `logistic`.
    """

    X: jax.Array
    y: jax.Array
    l2: jax.Array | float = 0.0


def _check_shapes(a, data):
    n, p = data.X.shape
    if data.y.shape != (n,):
        raise ValueError(f"data.y must have shape ({n},) to match data.X {data.X.shape}, got {data.y.shape}.")
    if a.shape != (p,):
        raise ValueError(f"a must have shape ({p},) to match data.X {data.X.shape}, got {a.shape}.")


def least_squares(a, data: Data):
    """Mean squared error f(a) = (1/N) ||y - X a||^2.

    a: (P,), data.X: (N, P), data.y: (N,). Gradient (2/N)(X^T X a - X^T y),
    Hessian (2/N) X^T X. `data.l2` is ignored: use `ridge` for the penalty.
    """
    _check_shapes(a, data)
    residual = data.y - data.X @ a
    return jnp.mean(residual**2)


def ridge(a, data: Data):
    """Ridge criterion f(a) = (1/N) ||y - X a||^2 + l2 ||a||^2, intercept penalised too.

    The minimiser is (X^T X + N l2 I)^-1 X^T y: the course's ε is N * l2,
    and scikit-learn's `Ridge(alpha=N * l2, fit_intercept=False)` on the
    design matrix fits the same model. Hessian (2/N) X^T X + 2 l2 I.
    """
    return least_squares(a, data) + data.l2 * jnp.sum(a**2)


def logistic(a, data: Data):
    """Mean negative log-likelihood of logistic regression, plus l2 ||a||^2.

    f(a) = (1/N) sum_n [log(1 + exp(z_n)) - y_n z_n] + l2 ||a||^2,  z = X a,
    which is -(1/N) sum_n [y_n log s(z_n) + (1 - y_n) log(1 - s(z_n))] with
    s(z) = 1 / (1 + exp(-z)), written with softplus so that |z| = 1e3 neither
    overflows nor loses the gradient. y in {0, 1}, shape (N,). Gradient
    (1/N) X^T (s(z) - y) + 2 l2 a. scikit-learn's
    `LogisticRegression(C=1 / (2 N l2), fit_intercept=False)` on the design
    matrix fits the same model.
    """
    _check_shapes(a, data)
    z = data.X @ a
    return jnp.mean(jax.nn.softplus(z) - data.y * z) + data.l2 * jnp.sum(a**2)


def huber(a, data: Data, delta=1.0):
    """Mean Huber loss of the residuals r = y - X a, plus l2 ||a||^2: r^2 / 2 for |r| <= delta,
    else delta (|r| - delta / 2).

    Quadratic near zero, linear beyond `delta` (in units of y): robust to
    outliers. Without a penalty its gradient is bounded, so steps past the
    edge oscillate without blowing up: measure its edge with the 'converging' rule. Hessian
    (1/N) sum over |r_n| < delta of x_n x_n^T + 2 l2 I (once differentiable at
    |r| = delta). Pass another delta with functools.partial(huber, delta=...).
    """
    _check_shapes(a, data)
    if isinstance(delta, (str, bytes, bool)) or jnp.ndim(delta) != 0:
        raise ValueError(f"huber's delta must be one number (in units of y: where the loss turns linear), got "
                         f"{delta!r}.")
    if _validate.is_concrete(delta) and not 0 < float(delta) < np.inf:
        raise ValueError(f"huber's delta must be finite and > 0 (in units of y: where the loss turns linear), got "
                         f"{delta!r}.")
    r = data.y - data.X @ a
    small = jnp.abs(r) <= delta
    return jnp.mean(jnp.where(small, 0.5 * r**2, delta * (jnp.abs(r) - 0.5 * delta))) + data.l2 * jnp.sum(a**2)


def poisson(a, data: Data):
    """Mean negative log-likelihood of Poisson regression with log link, plus l2 ||a||^2.

    f(a) = (1/N) sum_n [exp(z_n) - y_n z_n] + l2 ||a||^2, z = X a, counts
    y >= 0 (the constant log y_n! dropped). Gradient (1/N) X^T (exp(z) - y) + 2 l2 a,
    Hessian (1/N) X^T diag(exp(z)) X + 2 l2 I. scikit-learn's
    `PoissonRegressor(alpha=2 l2, fit_intercept=False)` on the design matrix
    fits the same model.
    """
    _check_shapes(a, data)
    z = data.X @ a
    return jnp.mean(jnp.exp(z) - data.y * z) + data.l2 * jnp.sum(a**2)


class Gram(NamedTuple):
    """Least squares summarised by its moments: G = X^T X / N (P, P), b = X^T y / N (P,), c = y^T y / N.

    For N much larger than P the cost per gradient falls from N P to P^2, and
    the criterion is still a pure JAX function: `jax.grad` of it is exact.
    Build it with `gram(data)`.
    """

    G: jax.Array
    b: jax.Array
    c: jax.Array
    l2: jax.Array | float = 0.0


def gram(data: Data) -> Gram:
    """The `Gram` moments of `data` (its L2 weight carried along)."""
    if jnp.ndim(data.X) != 2 or jnp.shape(data.y) != jnp.shape(data.X)[:1]:
        raise ValueError(f"gram needs data.X (N, P) and data.y (N,), got {jnp.shape(data.X)} and {jnp.shape(data.y)}: "
                         "build data with lab.problems.make_data(X, y) (a column y (N, 1): y.ravel()).")
    n = data.X.shape[0]
    return Gram(data.X.T @ data.X / n, data.X.T @ data.y / n, data.y @ data.y / n, data.l2)


def least_squares_gram(a, moments: Gram):
    """(1/N) ||y - X a||^2 written on the moments: a^T G a - 2 a^T b + c. Equal to `least_squares`.

    Differentiated with G symmetric (`gram` builds it so): the gradient 2 (G a - b) reuses the value's
    G a, one matrix-vector product per step where plain autodiff of a^T G a takes two (G a and G^T a).
    The product is written a^T G (= (G a)^T): vmapped runs hold their iterates as the rows of an (R, P)
    array, and A G is then one matrix product with no transposed copy (benchmarks/bookkeeping.py).
    """
    if a.shape != moments.b.shape:
        raise ValueError(f"a must have shape {moments.b.shape} to match the moments' G {moments.G.shape}, "
                         f"got {a.shape}.")
    return _symmetric_form(a, moments.G) - 2 * (a @ moments.b) + moments.c


@jax.custom_jvp
def _symmetric_form(a, G):
    """a^T G a for a symmetric G (a^T G first: see `least_squares_gram`)."""
    return (a @ G) @ a


@_symmetric_form.defjvp
def _symmetric_form_jvp(primals, tangents):
    (a, G), (da, dG) = primals, tangents
    Ga = a @ G  # = G a, G symmetric
    return a @ Ga, 2 * (Ga @ da) + a @ (dG @ a)


def ridge_gram(a, moments: Gram):
    """`ridge` on the moments: a^T G a - 2 a^T b + c + l2 ||a||^2."""
    return least_squares_gram(a, moments) + moments.l2 * jnp.sum(a**2)
