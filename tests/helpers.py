"""Problems with known minima, shared by the tests.

Each builder returns `Known(problem, minimiser)`: the `lab.problems.Problem` in the dtype asked for
(its data rounded from one float64 draw) and the exact minimiser of the float64 problem, computed
here by numpy alone (a formula, or Newton written out), so a test compares the lab with something
the lab did not compute. `minimiser` is float64; the float32 problem's own minimiser differs from it
by rounding of the data, about eps32 * kappa * |a*|.
"""

import contextlib
import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lab import criteria, problems

DTYPES = ("float32", "float64")


@contextlib.contextmanager
def lowerings():
    """The programs JAX lowers inside the block (each a new compilation, or a read of the compilation cache),
    counted through jax.monitoring's public events: a list whose length is the count."""
    lowered = []

    def listener(event, duration, **kwargs):
        if event == "/jax/core/compile/jaxpr_to_mlir_module_duration":
            lowered.append(duration)
    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield lowered
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)


class Known(NamedTuple):
    problem: problems.Problem
    minimiser: np.ndarray  # float64

    @property
    def kappa(self) -> float:
        return float(self.problem.spectrum.kappa)

    @property
    def features(self) -> tuple[jax.Array, jax.Array]:
        """The raw features X (N, D) and targets y of a problem on `criteria.Data`: its design less the column of
        ones, for the lab's functions that prepend it themselves (`lab.reference`, `problems.make_data`)."""
        data = self.problem.data
        return data.X[:, 1:], data.y


class Quadratic(NamedTuple):
    """f(a) = 1/2 (a - a*)^T H (a - a*): minimiser a*, minimum 0, Hessian H everywhere."""

    hessian: jax.Array
    minimiser: jax.Array


def quadratic(a, data: Quadratic):
    e = a - data.minimiser
    return 0.5 * e @ data.hessian @ e


def _rng(seed):
    return np.random.default_rng(seed)


def chosen_spectrum(eigenvalues=(1.0, 3.0, 10.0, 30.0, 100.0), dtype="float64", seed=0) -> Known:
    """A quadratic whose Hessian has exactly `eigenvalues` (in a random orthonormal basis), started at 0."""
    rng = _rng(seed)
    eigenvalues = np.asarray(eigenvalues, float)
    basis, _ = np.linalg.qr(rng.normal(size=(eigenvalues.size, eigenvalues.size)))
    hessian = (basis * eigenvalues) @ basis.T
    minimiser = rng.normal(size=eigenvalues.size)
    data = Quadratic(jnp.asarray(hessian, dtype), jnp.asarray(minimiser, dtype))
    return Known(problems.problem(quadratic, data, start=jnp.zeros(eigenvalues.size, dtype)), minimiser)


def exact_kappa_regression(kappa=100.0, n=100, d=5, dtype="float64", seed=0) -> Known:
    """Least squares on `problems.regression` data, whose Hessian has condition number exactly `kappa`;
    minimiser by numpy's lstsq on the float64 design [1, X], built here."""
    X, y = problems.regression(jax.random.key(seed), n, d, kappa, dtype=jnp.float64)
    A = np.column_stack([np.ones(n), np.asarray(X)])
    minimiser = np.linalg.lstsq(A, np.asarray(y), rcond=None)[0]
    data = criteria.Data(jnp.asarray(A, dtype), jnp.asarray(y, dtype), jnp.zeros((), dtype))
    with warnings.catch_warnings():  # singular by design: the warning that a* is one of many minimisers
        warnings.filterwarnings("ignore", "the Hessian at the reference optimum is singular")
        return Known(problems.problem(criteria.least_squares, data), minimiser)


def underdetermined(n=10, d=30, dtype="float64", seed=0) -> Known:
    """Least squares with fewer samples than parameters (N < P): a plane of minimisers; from a = 0 gradient
    descent stays in the row space and reaches the minimum-norm one, pinv(A) y."""
    rng = _rng(seed)
    A = np.column_stack([np.ones(n), rng.normal(size=(n, d))])
    y = rng.normal(size=n)
    minimiser = np.linalg.pinv(A) @ y
    data = criteria.Data(jnp.asarray(A, dtype), jnp.asarray(y, dtype), jnp.zeros((), dtype))
    with warnings.catch_warnings():  # singular by design: the warning that a* is one of many minimisers
        warnings.filterwarnings("ignore", "the Hessian at the reference optimum is singular")
        return Known(problems.problem(criteria.least_squares, data), minimiser)


def two_classes(n=200, d=3, separation=1.0, l2=1e-2, dtype="float64", seed=0) -> Known:
    """Penalised logistic regression on two overlapping Gaussian classes; minimiser by `logistic_minimiser`."""
    rng = _rng(seed)
    labels = rng.integers(0, 2, n).astype(float)
    X = rng.normal(size=(n, d)) + separation * labels[:, None] / np.sqrt(d)
    return _logistic(np.column_stack([np.ones(n), X]), labels, l2, dtype)


def separable(n=40, d=2, l2=1e-2, dtype="float64", seed=0) -> Known:
    """Two linearly separable classes (a margin of 1 along the first feature): finite minimiser only for l2 > 0."""
    rng = _rng(seed)
    labels = np.arange(n) % 2.0
    X = rng.normal(size=(n, d))
    X[:, 0] = np.abs(X[:, 0]) + 0.5
    X[labels == 0, 0] *= -1
    return _logistic(np.column_stack([np.ones(n), X]), labels, l2, dtype)


def _logistic(A, labels, l2, dtype) -> Known:
    data = criteria.Data(jnp.asarray(A, dtype), jnp.asarray(labels, dtype), jnp.asarray(l2, dtype))
    return Known(problems.problem(criteria.logistic, data), logistic_minimiser(A, labels, l2))


def logistic_minimiser(A, labels, l2, iterations=50) -> np.ndarray:
    """argmin mean(log(1 + exp(A a)) - y A a) + l2 |a|^2 by Newton's method in numpy (strictly convex for l2 > 0)."""
    a = np.zeros(A.shape[1])
    for _ in range(iterations):
        s = 1 / (1 + np.exp(-A @ a))
        gradient = A.T @ (s - labels) / len(labels) + 2 * l2 * a
        hessian = (A.T * (s * (1 - s))) @ A / len(labels) + 2 * l2 * np.eye(A.shape[1])
        a = a - np.linalg.solve(hessian, gradient)
    assert np.linalg.norm(gradient) < 1e-13, "Newton did not converge"
    return a


def tolerance(dtype, kappa, scale=1.0) -> float:
    """What `dtype` allows ||a - a*|| to reach: 4 eps kappa scale, the rounding of the data and of each step
    amplified by the conditioning (measured: at most 0.71 eps kappa (1 + |a*|) over the table of optimizers
    and problems, in either dtype)."""
    return 4 * float(np.finfo(dtype).eps) * max(kappa, 1.0) * scale
