"""Curvature and the theory of gradient descent on quadratics, computed rather than typed in.

For a quadratic f with Hessian H (eigenvalues mu = h_1 <= ... <= h_P = L),
gradient descent a <- a - eta * grad f(a) (eta: the learning rate) multiplies the component of
a - a* along the i-th eigenvector by (1 - eta h_i) at every step. So

* it is stable iff 0 < eta < 2 / L (`stability_threshold`);
* the per-step contraction is max(|1 - eta mu|, |1 - eta L|) (`contraction`),
  smallest at eta = 2 / (L + mu) (`best_learning_rate`), where it equals
  (kappa - 1) / (kappa + 1) (`optimal_rate`), kappa = L / mu;
* f(a_t) - f* = 1/2 sum_i h_i c_i^2 (1 - eta h_i)^(2t), c = V^T (a_0 - a*),
  exactly (`predicted_gap`), so figures overlay theory without simulating.

With a singular H (fewer samples than features), the minimisers form a+ + null(H), a+ the minimum-norm one in the
row space (`row_space`); ridge's penalty l2 ||a||^2 picks a(l2), which tends to a+ as l2 -> 0 (`ridge_distance`).

Heavy-ball momentum a <- a - eta grad f(a) + beta (a - a_prev) (optax.sgd
with `momentum=beta`) is stable iff eta < 2 (1 + beta) / L, and at its best
parameters contracts by (sqrt(kappa) - 1) / (sqrt(kappa) + 1) (`heavy_ball_*`).
Nesterov's momentum (optax.sgd with `nesterov=True`) is stable iff
eta < (2 + 2 beta) / ((1 + 2 beta) L) (`nesterov_threshold`). On each
eigen-direction h the three are linear maps of (error, velocity) with
characteristic polynomial z^2 - T z + D: gradient descent T = 1 - eta h,
D = 0; heavy ball T = 1 + beta - eta h, D = beta; Nesterov
T = (1 + beta)(1 - eta h), D = beta (1 - eta h). `momentum_rate` is the
largest root's modulus over the spectrum: the exact asymptotic contraction.
"""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lab import _validate, linalg


class Spectrum(NamedTuple):
    """Eigen-decomposition of a Hessian: eigenvalues ascending (P,), eigenvectors as columns (P, P)."""

    eigenvalues: jax.Array
    eigenvectors: jax.Array

    @property
    def L(self):
        """Largest eigenvalue: the smoothness constant."""
        return self.eigenvalues[..., -1]

    @property
    def mu(self):
        """Smallest eigenvalue: the strong-convexity constant (0 for a singular Hessian)."""
        return self.eigenvalues[..., 0]

    @property
    def kappa(self):
        """Condition number L / mu; infinite when mu <= 0."""
        return jnp.where(self.mu > 0, self.L / jnp.where(self.mu > 0, self.mu, 1), jnp.inf)


def hessian(criterion, params, data):
    """The (P, P) Hessian of `criterion` at `params`, by forward-over-reverse differentiation.

    Compiled once per criterion (a static argument: a new lambda on every call recompiles)."""
    _validate.scalar_criterion(criterion, params, data)
    return _hessian(criterion, params, data)


def spectrum(criterion, params, data) -> Spectrum:
    """Eigenvalues and eigenvectors of the Hessian of `criterion` at `params` (exact for a quadratic)."""
    _validate.scalar_criterion(criterion, params, data)
    return _spectrum(criterion, params, data)


@functools.partial(jax.jit, static_argnums=0)
def _hessian(criterion, params, data):
    return jax.hessian(criterion)(params, data)


@functools.partial(jax.jit, static_argnums=0)
def _spectrum(criterion, params, data) -> Spectrum:
    return Spectrum(*linalg.eigh(_hessian(criterion, params, data)))


def hvp(criterion, params, data, vector):
    """Hessian-vector product H(params) @ vector without forming H: cost of about two gradients."""
    return jax.jvp(lambda p: jax.grad(criterion)(p, data), (params,), (vector,))[1]


def largest_eigenvalue(criterion, params, data, key, iterations: int = 100):
    """The sharpness L(params) by power iteration on Hessian-vector products; for large P.

    Assumes the top eigenvalue is also largest in magnitude (true for convex
    criteria). Accuracy improves as (h_{P-1} / h_P)^iterations.
    """
    return power_iteration(criterion, params, data, jax.random.normal(key, params.shape, params.dtype), iterations)[0]


def power_iteration(criterion, params, data, vector, iterations: int, scale=None):
    """(v^T S H S v, v): `iterations` power steps on Hessian-vector products from `vector`, v of unit norm.

    scale: a (P,) vector s, S = diag(s) (default 1); s = P^-1/2 measures Adam's preconditioned sharpness
    lambda_max(P^-1 H). Warm-started from the last vector, a few steps follow the top eigenvalue along an
    optimization path. Power iteration finds the eigenvalue largest in magnitude: the top one where the
    curvature is mostly positive (a network near a minimum), a negative one where it is not.
    """
    _validate.count("iterations", iterations)
    if _validate.is_concrete(vector) and not np.linalg.norm(np.asarray(vector)) > 0:
        raise ValueError("vector must be non-zero (a zero start has no direction to iterate): pass a random one, "
                         "e.g. jax.random.normal(key, params.shape).")
    s = jnp.ones_like(params) if scale is None else scale

    def product(v):
        return s * hvp(criterion, params, data, s * v)

    def power_step(v, _):
        w = product(v)
        return w / jnp.linalg.norm(w), None

    v, _ = jax.lax.scan(power_step, vector / jnp.linalg.norm(vector), None, length=iterations)
    return jnp.dot(v, product(v)), v


def largest_resolved_kappa(dtype) -> float:
    """The largest condition number `dtype` resolves, 1/(100 eps): beyond it a computed mu is rounding (inf,
    negative or anything), 4.5e13 in float64 and 8.4e4 in float32. The lab refuses to draw problems beyond it."""
    return _validate.largest_resolved_kappa(dtype)


def stability_threshold(L):
    """2 / L: gradient descent on a quadratic converges iff 0 < eta < 2 / L."""
    _curvature(L)
    L = _arrays(L)
    return _within(L > 0, 2.0 / L)


def sharpness_threshold(learning_rate):
    """2 / eta: gradient descent at learning rate eta is locally stable where the sharpness (the top eigenvalue of
    the Hessian at a_t) is below this, the edge 2/L read the other way (`lab.adam.sharpness_threshold` for Adam)."""
    _validate.learning_rate("learning_rate", learning_rate)
    return 2.0 / jnp.asarray(learning_rate)


def best_learning_rate(L, mu):
    """2 / (L + mu): the constant learning rate that minimises the worst-case contraction. A mu negative by rounding
    only (a singular Hessian's, down to -sqrt(eps) L: `_mu_rounding`) counts as 0, giving 2 / L."""
    _curvatures(L, mu)
    L, mu = _arrays(L, mu)
    where = jnp.where if isinstance(L, jax.Array) or isinstance(mu, jax.Array) else np.where  # numbers stay float64
    convex = (L > 0) & (mu >= -_mu_rounding(L, mu)) & (mu <= L)
    return _within(convex, 2.0 / (L + where((mu < 0) & convex, 0, mu)))


def contraction(learning_rate, L, mu):
    """max(|1 - eta mu|, |1 - eta L|): per-step factor on ||a - a*|| (>= 1 means no convergence; mu < 0, a
    direction of negative curvature, gives 1 + eta |mu|)."""
    _curvature(L)
    _validate.real_values("mu", mu, np.isfinite, "must be finite (the smallest curvature)")
    if _validate.is_concrete(L, mu) and np.any(np.asarray(mu) > np.asarray(L)):
        raise ValueError(f"mu must be at most L (the smallest curvature and the largest), got mu = {mu!r} > L = {L!r}: "
                         "are they swapped?")
    _validate.learning_rate("learning_rate", learning_rate)
    learning_rate, L, mu = _arrays(learning_rate, L, mu)
    return _within((learning_rate > 0) & (mu <= L),
                   jnp.maximum(jnp.abs(1 - learning_rate * mu), jnp.abs(1 - learning_rate * L)))


def optimal_rate(kappa):
    """(kappa - 1) / (kappa + 1): the contraction at the best learning rate.

    kappa = inf (mu = 0: a singular Hessian, as `Spectrum.kappa` reports it) is refused by name: the error along the
    null space never shrinks, while from a start in the row space the rate is that of the smallest non-zero
    eigenvalue (pass that kappa); the limit 1 would read as a rate of runs that converge. Traced, NaN.
    """
    if _validate.is_concrete(kappa) and np.any(_positive_infinity(kappa)):
        raise ValueError("kappa is infinite (mu = 0: a singular Hessian): no rate over the whole space, where the "
                         "null space's error never shrinks; for runs in the row space (least squares from 0) pass "
                         "kappa = L / (the smallest non-zero eigenvalue), e.g. from spectrum.row_space(spec).")
    _validate.real_values("kappa", kappa, lambda v: v >= 1, "must be >= 1 (L / mu)")
    kappa = _arrays(kappa)
    return _within(kappa >= 1, (kappa - 1) / (kappa + 1))


def _positive_infinity(values):
    """Where `values` (numbers, lists, arrays) are +inf; nothing where they are not numbers (refused by the checks)."""
    try:
        return np.isposinf(np.asarray(values, dtype=float))
    except (TypeError, ValueError):
        return False


def heavy_ball_threshold(L, beta):
    """2 (1 + beta) / L: heavy-ball momentum on a quadratic converges iff 0 < eta < this, 0 <= beta < 1."""
    _curvature(L)
    _momentum(beta)
    L, beta = _arrays(L, beta)
    return _with_momentum(beta, 2.0 * (1 + beta) / L)


def nesterov_threshold(L, beta):
    """(2 + 2 beta) / ((1 + 2 beta) L): Nesterov's momentum (optax's form) on a quadratic converges iff eta < this."""
    _curvature(L)
    _momentum(beta)
    L, beta = _arrays(L, beta)
    return _with_momentum(beta, (2.0 + 2.0 * beta) / ((1.0 + 2.0 * beta) * L))


def momentum_rate(learning_rate, beta, eigenvalues, nesterov=False):
    """Asymptotic contraction per step of gradient descent (beta = 0), heavy ball or Nesterov on a quadratic.

    max over the Hessian's eigenvalues h of the largest |z| with z^2 - T z + D = 0, T and D as in the
    module docstring. eigenvalues: (..., P). beta: one momentum, as the learning rate (several: jax.vmap).
    """
    if np.ndim(beta) != 0:
        raise ValueError(f"beta must be one number, got shape {np.shape(beta)}: an array would broadcast against the "
                         "eigenvalues and mix the momenta into one maximum. For several, jax.vmap over the momenta "
                         "(jax.vmap(lambda b: momentum_rate(eta, b, h))(betas)) or call once per momentum.")
    _momentum(beta)
    _validate.one_learning_rate("learning_rate", learning_rate)
    nesterov = _validate.flag("nesterov", nesterov)
    if np.ndim(eigenvalues) < 1:
        raise ValueError(f"eigenvalues must hold the Hessian's P eigenvalues on its last axis (..., P), got a scalar "
                         f"{eigenvalues!r}: pass jnp.atleast_1d(h) for one.")
    _validate.real_values("eigenvalues", eigenvalues, lambda v: True, "must be finite (the Hessian's)")
    beta, eigenvalues = _arrays(beta, eigenvalues)
    u = learning_rate * eigenvalues
    x = 1 - u
    trace = jnp.where(nesterov, (1 + beta) * x, 1 + beta - u)
    det = jnp.where(nesterov, beta * x, beta * jnp.ones_like(x))
    # trace^2 - 4 det, factored so that (1 + beta)^2 - 4 beta = (1 - beta)^2 does not cancel: written out, float32
    # at beta = 0.9999 read a flat mode's rate 1 as sqrt(beta) (a negative discriminant from rounding)
    disc = jnp.where(nesterov, x * ((1 - beta) ** 2 - (1 + beta) ** 2 * u),
                     (u - (1 - jnp.sqrt(beta)) ** 2) * (u - (1 + jnp.sqrt(beta)) ** 2))
    root = jnp.sqrt(jnp.abs(disc))
    real = jnp.maximum(jnp.abs(trace + root), jnp.abs(trace - root)) / 2
    rate = jnp.where(disc >= 0, real, jnp.sqrt(jnp.abs(det)))
    # NaN curvature (traced): no rate, not sqrt(beta)
    rate = jnp.max(jnp.where(jnp.isnan(disc), jnp.nan, rate), axis=-1)
    return _with_momentum(beta, _within(learning_rate > 0, rate))


def heavy_ball_optimal(L, mu):
    """(learning_rate, beta, rate) of the best heavy-ball momentum on a quadratic (Polyak, 1964).

    learning_rate = 4 / (sqrt(L) + sqrt(mu))^2, beta = ((sqrt(kappa) - 1) / (sqrt(kappa) + 1))^2,
    and the error then contracts by sqrt(beta) = (sqrt(kappa) - 1) / (sqrt(kappa) + 1)
    per step: iterations grow like sqrt(kappa) instead of kappa.
    """
    _curvatures(L, mu, strongly_convex=True)
    L, mu = _arrays(L, mu)
    root_kappa = jnp.sqrt(_within((mu > 0) & (mu <= L), L / mu))
    rate = (root_kappa - 1) / (root_kappa + 1)
    return _within(jnp.isfinite(rate), 4.0 / (jnp.sqrt(L) + jnp.sqrt(mu)) ** 2), rate**2, rate


def predicted_iterations(rate, initial_gap, tolerance):
    """Steps for f - f* to fall from `initial_gap` to `tolerance` when it shrinks by rate^2 per step.

    Infinite when rate >= 1 or NaN (no theory); 0 when the gap already meets the tolerance; 1
    when the rate is 0 (one step lands on the optimum).
    """
    _validate.real_values("rate", rate, lambda v: v >= 0, "must be >= 0 (a contraction factor |z|)",
                          nan_ok=True)  # NaN: no theory (not plain GD), no prediction
    _validate.real_values("initial_gap", initial_gap, lambda v: v >= 0, "must be >= 0 (f(a_0) - f*)")
    _validate.real_values("tolerance", tolerance, lambda v: v > 0, "must be > 0")
    return _predicted_iterations(rate, initial_gap, tolerance)


@jax.jit  # checked where users call, computed in one compiled call (eagerly: six small ones)
def _predicted_iterations(rate, initial_gap, tolerance):
    steps = jnp.log(tolerance / initial_gap) / (2 * jnp.log(rate))
    done = initial_gap <= tolerance
    iterations = jnp.where(done, 0, jnp.where(rate == 0, 1, jnp.where(rate < 1, jnp.maximum(jnp.ceil(steps), 1),
                                                                        jnp.inf)))
    return jnp.where((initial_gap >= 0) & (tolerance > 0), iterations, jnp.nan)  # traced: no check saw them


def _components(spec: Spectrum, start, optimum_params):
    return spec.eigenvectors.T @ (start - optimum_params)


def predicted_gap(spec: Spectrum, learning_rate, start, optimum_params, num_steps: int):
    """Exact f(a_t) - f* for t = 0..num_steps of gradient descent on a quadratic with spectrum `spec`.

    Returns (num_steps + 1,): 1/2 sum_i h_i c_i^2 (1 - eta h_i)^(2t), c the
    coordinates of start - a* in the eigenbasis.
    """
    num_steps = _check_prediction(spec, learning_rate, start, optimum_params, num_steps)
    learning_rate = jnp.asarray(learning_rate, spec.eigenvalues.dtype)  # the spectrum's precision, as the run's
    return _predicted_gap(spec, learning_rate, start, optimum_params, num_steps)


def predicted_distance(spec: Spectrum, learning_rate, start, optimum_params, num_steps: int):
    """Exact ||a_t - a*|| for t = 0..num_steps of gradient descent on a quadratic, shape (num_steps + 1,)."""
    num_steps = _check_prediction(spec, learning_rate, start, optimum_params, num_steps)
    learning_rate = jnp.asarray(learning_rate, spec.eigenvalues.dtype)
    return _predicted_distance(spec, learning_rate, start, optimum_params, num_steps)


@functools.partial(jax.jit, static_argnames="num_steps")
def _predicted_gap(spec, learning_rate, start, optimum_params, num_steps):
    c = _components(spec, start, optimum_params)
    return 0.5 * _squared_factors(spec, learning_rate, num_steps) @ (spec.eigenvalues * c**2)


@functools.partial(jax.jit, static_argnames="num_steps")
def _predicted_distance(spec, learning_rate, start, optimum_params, num_steps):
    c = _components(spec, start, optimum_params)
    return jnp.sqrt(_squared_factors(spec, learning_rate, num_steps) @ c**2)


def row_space(spec: Spectrum):
    """(P,) mask of the eigenvalues above the pseudo-inverse's cut-off P eps L, the Hessian's row space: the others
    are zeros up to rounding, and their eigenvectors span its null space (for least squares, null(A))."""
    _check_spectrum(spec)
    return _row_space(spec)


def ridge_distance(spec: Spectrum, min_norm_params, l2):
    """||a(l2) - a+||: the ridge minimiser's distance to the minimum-norm one, on a quadratic with Hessian H (`spec`).

    The penalty l2 ||a||^2 shrinks the component c_i = v_i^T a+ on each non-zero eigenvalue h_i by h_i / (h_i + 2 l2),
    so ||a(l2) - a+|| = sqrt(sum_{h_i > 0} (2 l2 c_i / (h_i + 2 l2))^2). a+ must lie in the row space (a minimiser
    with a null-space part is refused: the path tends to a+, not to it). l2: any shape, and the result has it; NaN
    where a traced l2 or spectrum is out of range (no check sees it).
    """
    _check_spectrum(spec, min_norm_params=min_norm_params)
    _check_in_row_space(spec, min_norm_params)
    _validate.real_values("l2", l2, lambda v: v >= 0, "must be >= 0 (the ridge penalty)")
    dtype = spec.eigenvalues.dtype  # the spectrum's precision, whatever the penalty's and a+'s
    l2 = jnp.asarray(l2, dtype)[..., None]
    shrink = jnp.where(_row_space(spec), 2 * l2 / (spec.eigenvalues + 2 * l2), 0.0)
    distance = jnp.linalg.norm(shrink * (spec.eigenvectors.T @ jnp.asarray(min_norm_params, dtype)), axis=-1)
    return jnp.where((l2[..., 0] >= 0) & _convex(spec), distance, jnp.nan)


def ridge_distance_slope(spec: Spectrum, min_norm_params):
    """lim_{l2 -> 0} ||a(l2) - a+|| / l2 = ||2 H^+ a+|| (`ridge_distance`, whose a+ this must be): the ridge path
    leaves a+ at slope 1 on log-log axes, with this constant."""
    _check_spectrum(spec, min_norm_params=min_norm_params)
    _check_in_row_space(spec, min_norm_params)
    nonzero = _row_space(spec)
    c = spec.eigenvectors.T @ jnp.asarray(min_norm_params, spec.eigenvalues.dtype)
    slope = jnp.linalg.norm(jnp.where(nonzero, 2 * c / jnp.where(nonzero, spec.eigenvalues, 1.0), 0.0))
    return jnp.where(_convex(spec), slope, jnp.nan)


def _row_space(spec):
    return spec.eigenvalues > spec.eigenvalues.shape[-1] * jnp.finfo(spec.eigenvalues.dtype).eps * spec.L


def _rounding(spec) -> float:
    """Relative size of eigh's rounding errors in the eigenvalues and the eigenvectors' orthonormality."""
    return max(1e-8, 10 * spec.eigenvalues.shape[-1] * float(jnp.finfo(spec.eigenvalues.dtype).eps))


def _convex(spec):
    """Whether the eigenvalues are >= 0 up to rounding (a traced spectrum passes no check: NaN theory where not)."""
    return jnp.all(spec.eigenvalues >= -_rounding(spec) * jnp.max(jnp.abs(spec.eigenvalues)))


def _check_in_row_space(spec, params):
    """ValueError when concrete `params` has a part in the Hessian's null space beyond rounding."""
    if not _validate.is_concrete(spec, params):
        return
    null = np.asarray(spec.eigenvectors, float)[:, ~np.asarray(_row_space(spec))]
    outside, norm = float(np.linalg.norm(null.T @ np.asarray(params, float))), float(np.linalg.norm(params))
    if outside > np.sqrt(_rounding(spec)) * max(norm, np.finfo(float).tiny):
        raise ValueError(f"min_norm_params must be the minimum-norm minimiser a+, in the Hessian's row space; it has "
                         f"a null-space part of norm {outside:.3g} (of {norm:.3g}): pass reference.min_norm(X, y), or "
                         "project the point on the row space (the ridge path tends to a+, not to it). If it is a+, the "
                         "spectrum's cut-off P eps L took curvature for null space (float32 on features of very "
                         "different scales): compute in float64, or standardize the features.")


def _check_spectrum(spec, **points):
    """ValueError unless spec is a Spectrum of P >= 1 float eigenvalues, ascending and >= 0 up to rounding (a convex
    quadratic's, as `spectrum` returns them), with P x P orthonormal eigenvectors, and each of `points` (name: value)
    is finite of shape (P,). Traced values pass (the formulas give NaN for what they cannot use)."""
    if not isinstance(spec, Spectrum):
        raise ValueError(f"spec must be a lab.spectrum.Spectrum (spectrum(criterion, a_star, data)), "
                         f"got {type(spec).__name__}.")
    for name, value in (("eigenvalues", spec.eigenvalues), ("eigenvectors", spec.eigenvectors)):
        if not (isinstance(value, (jax.Array, np.ndarray)) and jnp.issubdtype(value.dtype, jnp.floating)):
            raise ValueError(f"spec.{name} must be an array of floats, got {type(value).__name__} "
                             f"{getattr(value, 'dtype', '')}: build spec with spectrum.spectrum, "
                             "or from jnp.asarray(..., float).")
    size = jnp.shape(spec.eigenvalues)[-1:] if jnp.ndim(spec.eigenvalues) else ()
    if jnp.ndim(spec.eigenvalues) != 1 or jnp.shape(spec.eigenvectors) != size * 2 or size == (0,):
        raise ValueError(f"spec must hold P >= 1 eigenvalues (P,) and eigenvectors (P, P), got shapes "
                         f"{jnp.shape(spec.eigenvalues)} and {jnp.shape(spec.eigenvectors)}.")
    for name, value in points.items():
        if jnp.shape(value) != size:
            raise ValueError(f"{name} must have shape {size} to match the spectrum, got {jnp.shape(value)}.")
        _validate.real_values(name, value, lambda v: True, "must be finite")
    rounding = _rounding(spec)
    _validate.real_values("spec.eigenvalues", spec.eigenvalues, lambda v: v >= -rounding * np.max(np.abs(v)),
                          "must be >= 0 (up to rounding): the theory is that of a convex quadratic")
    if _validate.is_concrete(spec):
        values, vectors = np.asarray(spec.eigenvalues, float), np.asarray(spec.eigenvectors, float)
        if np.any(np.diff(values) < 0):
            raise ValueError(f"spec.eigenvalues must be ascending, as spectrum() returns them (L is the last), got "
                             f"{values}: sort them with their eigenvectors' columns.")
        if np.max(np.abs(vectors.T @ vectors - np.eye(len(values)))) > np.sqrt(rounding):
            raise ValueError("spec.eigenvectors must be orthonormal columns (V^T V = I), as spectrum() returns them.")


def _check_prediction(spec, learning_rate, start, optimum_params, num_steps) -> int:
    """ValueError unless spec is a Spectrum of P eigenvalues, P x P eigenvectors, start and a* finite of shape (P,),
    and the learning rate > 0."""
    _check_spectrum(spec, start=start, optimum_params=optimum_params)
    _validate.one_learning_rate("learning_rate", learning_rate)
    return _validate.count("num_steps", num_steps, 0)


def _curvature(L):
    _validate.real_values("L", L, lambda v: v > 0, "must be > 0 (the largest curvature of a convex problem)")


def _curvatures(L, mu, strongly_convex=False):
    """ValueError unless L > 0 and mu <= L, mu > 0 if `strongly_convex`, else mu >= 0 up to rounding."""
    _curvature(L)
    rounding = _mu_rounding(np.asarray(L), mu) if _validate.is_concrete(L) else 0.0  # L: checked real above
    _validate.real_values("mu", mu, (lambda v: v > 0) if strongly_convex else (lambda v: v >= -rounding),
                          ("must be > 0 (the smallest curvature; 0, or negative by rounding, is a singular Hessian's, "
                           "which has no linear rate: add a ridge penalty l2 > 0)" if strongly_convex
                           else "must be >= 0 (the smallest curvature; down to -sqrt(eps) L it is rounding, taken "
                                "as 0)"))
    if _validate.is_concrete(L, mu) and np.any(np.asarray(mu) > np.asarray(L)):
        raise ValueError(f"mu must be at most L (the smallest curvature and the largest), got mu = {mu!r} > L = {L!r}: "
                         "are they swapped?")


def _mu_rounding(L, mu):
    """sqrt(eps) |L|: a mu negative by less is 0 up to rounding (a singular Hessian's computed smallest eigenvalue),
    by more clearly negative, the line `problems` draws between a minimum and a saddle, so that every spectrum of a
    problem it accepts passes. eps: the least precise float among L and mu (float64 for Python numbers)."""
    eps = max([float(jnp.finfo(d).eps) for d in (getattr(v, "dtype", None) for v in (L, mu))
               if d is not None and jnp.issubdtype(d, jnp.floating)], default=float(np.finfo(np.float64).eps))
    if isinstance(L, jax.Array):
        return float(np.sqrt(eps)) * jnp.abs(L)
    scale = np.abs(L)  # a Python number stays one (weakly typed: no float64 beside a float32 mu under strict promotion)
    return float(np.sqrt(eps)) * (float(scale) if np.ndim(scale) == 0 else scale)


def _within(domain, value):
    """`value` where `domain` holds, NaN elsewhere: traced inputs outside a formula's domain, which the eager checks
    refuse, give no plausible number (numbers stay numpy float64)."""
    where = jnp.where if isinstance(value, jax.Array) or isinstance(domain, jax.Array) else np.where
    return where(domain, value, np.nan)


def _arrays(*values):
    """Lists and tuples as arrays, as `lab.adam`'s formulas take them (Python's + and * would join or repeat them);
    numbers and arrays as they are. Call after the checks, which name what is not numbers."""
    arrays = tuple(jnp.asarray(v) if isinstance(v, (list, tuple)) else v for v in values)
    return arrays if len(arrays) > 1 else arrays[0]


def _momentum(beta):
    _validate.real_values("beta", beta, lambda v: (v >= 0) & (v < 1), "must be in [0, 1) (the momentum)")


def _with_momentum(beta, value):
    """`value` where the momentum is in [0, 1), NaN elsewhere: a traced beta no check saw gets no theory (at 1.5,
    heavy ball's formula gives 5/L)."""
    return jnp.where((beta >= 0) & (beta < 1), value, jnp.nan)


def _squared_factors(spec, learning_rate, num_steps):
    """(1 - eta h_i)^(2t) for t = 0..num_steps, shape (num_steps + 1, P); squared first so signs never matter."""
    t = jnp.arange(num_steps + 1, dtype=spec.eigenvalues.dtype)[:, None]
    return ((1 - learning_rate * spec.eigenvalues) ** 2) ** t
