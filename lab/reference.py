"""Reference optima, computed to machine precision: what every run is measured against.

For any criterion f(a, data): `solve` (closed forms for the lab's quadratics,
Newton with backtracking, optax's L-BFGS) returns a `Reference` whose status
says how the search ended, a value under jit; `check` turns a failed one
into a ValueError with the reason and the fix.

The closed forms below take raw features X (N, D), without the column of ones, and
targets y (N,), and returns the parameter vector a* intercept first, in the
convention of `lab.criteria` (mean loss, penalty `l2 ||a||^2` on the whole
vector, intercept included). All are jittable and vmappable: under tracing
the value checks are skipped (shapes are still checked), so a sweep can
compute a reference per run inside its compiled call.

Linear algebra is orthogonal (QR, SVD): X^T X is never formed or inverted,
since that squares the condition number.
"""

import functools
import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lab import _validate, criteria, linalg
from lab.criteria import design


def least_squares(X, y, intercept: bool = True):
    """Minimiser of (1/N) ||y - A a||^2, A = [1, X]: a* = (A^T A)^-1 A^T y computed by QR.

    Columns are scaled to unit norm before a Householder QR, which keeps
    polynomial designs with condition numbers of 1e10 and beyond accurate in
    float64, and data of any finite scale solvable. Needs N >= number of
    columns; for fewer samples use `min_norm` or `ridge`. A rank-deficient
    design (a duplicated, constant or zero column) has infinitely many
    minimisers: the minimum-norm one is returned, as numpy.linalg.lstsq and
    scikit-learn do, with a warning giving the numerical rank (`rank`).
    """
    X, y = _validate.features_and_targets(X, y)
    A = design(X, intercept)
    if A.shape[0] < A.shape[1]:
        raise ValueError(
            f"X has fewer samples ({A.shape[0]}) than parameters ({A.shape[1]}): least squares has "
            "infinitely many minimisers; use lab.reference.min_norm or lab.reference.ridge with l2 > 0."
        )
    _warn_if_rank_deficient(A)
    return _solve(A, y)


def rank(A) -> int:
    """The numerical rank of A, scale-free: singular values of A with unit-norm columns above max(N, P) eps times
    the largest (numpy.linalg.matrix_rank's rule, after the column scaling a change of units cannot affect)."""
    return int(_rank(_validate.as_float_array("A", A, 2)))


def _warn_if_rank_deficient(A):
    if _validate.is_concrete(A) and (r := rank(A)) < A.shape[1]:
        which = ("the minimum-norm one" if bool(_resolves_minimum_norm(A)) else
                 f"one of minimum norm in unit-norm columns (the columns' units differ too much for the minimum-norm "
                 f"one to be resolved in {A.dtype}: standardize the features)")
        warnings.warn(f"the design has numerical rank {r} < {A.shape[1]} columns (a duplicated, constant or zero "
                      f"column): least squares has infinitely many minimisers; returning {which}. "
                      "Drop the dependent columns, or use ridge with l2 > 0.", stacklevel=3)


def _warn_if_unresolved(A):
    """`min_norm` (and ridge at l2 = 0) on a design whose minimum-norm fit its dtype cannot resolve: say which fit."""
    if _validate.is_concrete(A) and rank(A) < A.shape[1] and not bool(_resolves_minimum_norm(A)):
        warnings.warn(f"the design's columns differ in units too much for the minimum-norm fit to be resolved in "
                      f"{A.dtype}: returning the least-squares fit of minimum norm in unit-norm columns (the same "
                      "predictions, other coefficients along the null space); standardize the features.",
                      stacklevel=3)


_resolves_minimum_norm = jax.jit(linalg.resolves_minimum_norm)


_rank = jax.jit(linalg.numerical_rank)


@jax.jit
def _solve(A, y, l2=None):
    """argmin (1/N) ||y - A a||^2 + l2 ||a||^2 (l2 None: 0) by `linalg.solve_least_squares`, penalty N l2."""
    return linalg.solve_least_squares(A, y, None if l2 is None else A.shape[0] * l2)


def ridge(X, y, l2, intercept: bool = True):
    """Minimiser of (1/N) ||y - A a||^2 + l2 ||a||^2 (`criteria.ridge` with `Data.l2 = l2`).

    a* = (A^T A + N l2 I)^-1 A^T y, computed as the least-squares solution of
    [A; sqrt(N l2) I] a = [y; 0] by QR with unit-norm columns
    (`linalg.penalised_least_squares`): stable whatever the columns' units, and
    defined for N < D too. (The course's penalty without 1/N is N * l2.)
    l2 = 0 gives `min_norm`.
    """
    X, y = _validate.features_and_targets(X, y)
    _validate.nonnegative("l2", l2)
    A = design(X, intercept)
    if _validate.is_concrete(l2) and float(l2) == 0:
        _warn_if_unresolved(A)
    return _solve(A, y, jnp.asarray(l2, X.dtype))


def min_norm(X, y, intercept: bool = True):
    """The minimum-norm minimiser of (1/N) ||y - A a||^2: pinv(A) y, the limit of `ridge` as l2 -> 0.

    With N < D there are infinitely many zero-error solutions; this is the one
    of smallest ||a|| (intercept included), which gradient descent started at
    a = 0 also reaches. Only the top `rank(A)` singular values are kept, the
    rank measured on A with unit-norm columns, so that a column in large units
    does not push the others below the cut-off (numpy.linalg.pinv's relative
    cut-off would drop an intercept beside features of 1e15).
    """
    X, y = _validate.features_and_targets(X, y)
    A = design(X, intercept)
    _warn_if_unresolved(A)
    return _solve(A, y)


def null_part(X, v, intercept: bool = True):
    """v's component in the null space of the design A (N, P) of X (the columns of X, after a column of ones with
    `intercept`): v minus its projection pinv(A) A v on the row space, the `min_norm` solution of A a = A v.

    A a = A (a + null_part(X, v)) for every a: the part of v that changes no prediction. Jittable and vmappable
    over v (P,).
    """
    X, intercept = _validate.as_float_array("X", X, 2), _validate.flag("intercept", intercept)
    _validate.float_params("v", v, X.shape[1] + int(intercept), "X's design (a column of ones first with intercept)")
    if _validate.is_concrete(v) and not np.all(np.isfinite(np.asarray(v))):
        raise ValueError("v contains NaN or infinite values.")
    return v - min_norm(X, design(X, intercept) @ v, intercept)


def null_directions(key, X, count: int, intercept: bool = True):
    """(count, P) random unit vectors of the null space of X's design A (N, P), uniform on its unit sphere: the
    `null_part`s of standard normal draws, each divided by its norm. Added to a minimiser of (1/N) ||y - A a||^2,
    any multiple of one gives another (with N < P, the affine set of zero-error solutions)."""
    X, count = _validate.as_float_array("X", X, 2), _validate.count("count", count)
    intercept = _validate.flag("intercept", intercept)
    draws = jax.random.normal(_validate.prng_key("key", key), (count, X.shape[1] + int(intercept)), X.dtype)
    directions = jax.vmap(lambda v: null_part(X, v, intercept))(draws)
    norms = jnp.linalg.norm(directions, axis=1, keepdims=True)
    # A design of full column rank has no null space: what is left of a draw is rounding, not a direction.
    empty = norms <= 1e3 * jnp.finfo(X.dtype).eps * jnp.linalg.norm(draws, axis=1, keepdims=True)
    if _validate.is_concrete(empty) and np.any(empty):
        raise ValueError(f"X's design ({X.shape[0]} x {X.shape[1] + int(bool(intercept))}) has full column rank: its "
                         "null space is empty, so there are no null directions (they exist where N < P or columns "
                         "are dependent).")
    return jnp.where(empty, jnp.nan, directions / norms)  # NaN, not rounding scaled up, where traced


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
    """Newton's method on `criteria.logistic` for a design matrix A (N, P); jittable, no checks.

    tol=0 runs until the line search stalls (rounding), not to a tolerance.
    """
    tol = default_tol(A.dtype) if tol is None else tol  # from a = 0, where ||grad f|| = ||A^T (1/2 - y)|| / N: O(1)
    found = newton(criteria.logistic, criteria.Data(A, y, l2), jnp.zeros(A.shape[1], A.dtype), tol, max_iter)
    margins = (2 * y - 1) * (A @ found.params)
    return NewtonResult(found.params, found.gradient_norm, found.value, found.iterations,
                        found.gradient_norm <= tol,
                        jnp.all(margins > 0) | ((found.gradient_norm <= tol)  # an unfinished run still falls too
                                                & still_falls(criteria.logistic, found.params,
                                                              criteria.Data(A, y, l2))))


def still_falls(criterion, params, data, directions=None):
    """Along d = a or a row of `directions` (K, P), f(a + d) < f(a) beyond rounding and f(a + t d) never above f(a)
    for t = 4, 16, 64: for a convex criterion the loss then falls without end along d, no finite optimum (classes
    separable but for samples on the boundary, where no margin is positive; Poisson counts all 0 where a feature
    is non-zero). A finite minimum that a solver only approached (a nearly flat direction) rises again further
    out, and is not reported. Rounding: 16 eps |f(a)|."""
    value = criterion(params, data)
    moves = params[None] if directions is None else jnp.concatenate([params[None], directions])
    moved = jax.vmap(lambda d: jax.vmap(lambda t: criterion(params + t * d, data))(
        jnp.asarray(STILL_FALLS_T, d.dtype)))(moves)
    rounding = 16 * jnp.finfo(value.dtype).eps * jnp.abs(value)
    moving = jnp.any(moves != 0, axis=1)  # a zero row stays at a: only rounding (batched against not) could "fall"
    return jnp.any(moving & (moved[:, 0] < value - rounding) & jnp.all(moved <= value + rounding, axis=1))


STILL_FALLS_T = (1.0, 4.0, 16.0, 64.0)  # how far out `still_falls` looks, in units of its directions


def default_tol(dtype, scale=0.0):
    """The gradient norm a reference must reach: 1e-10 in float64, 1e-5 in float32, or rounding's
    1e3 eps * scale where that is larger, eps the machine epsilon (scale: ||grad f|| at the start, for data in
    large units)."""
    return jnp.maximum(1e-10 if jnp.finfo(dtype).bits >= 64 else 1e-5, 1e3 * jnp.finfo(dtype).eps * scale)


def _tolerances(criterion, data, start, tol=None, aim=None):
    """(tol, aim): a search is accepted at ||grad f|| <= tol and goes on towards aim while it still progresses. By
    default tol allows for rounding at the start's scale (`default_tol`), often far larger than at the optimum
    (a start far out, data in large units): aim is then 1e-10 (float64) or 1e-5 (float32). A tol the caller
    gives is the aim too, unless an aim is given."""
    if tol is None:
        tol, aim = default_tol(start.dtype, _gradient_norm(criterion, start, data)), default_tol(start.dtype)
    return tol, (tol if aim is None else jnp.minimum(aim, tol))


PATIENCE = 10  # L-BFGS iterations without progress (`_lower`), once below tol, before it stops short of its aim


# How a reference was found, and how its search ended: small integers, so they live in arrays under jit.
METHODS = ("closed_form", "newton", "lbfgs")
# invalid_data: traced data that the eager checks of `lab.problems.problem` refuse (logistic labels outside {0, 1},
# negative Poisson counts, l2 < 0), whatever the search found.
STATUSES = ("converged", "max_iter", "stalled", "not_a_descent_direction", "not_finite", "not_a_minimum",
            "falls_further", "invalid_data")
(CONVERGED, MAX_ITER, STALLED, NOT_DESCENT, NOT_FINITE, NOT_A_MINIMUM, FALLS_FURTHER,
 INVALID_DATA) = range(len(STATUSES))


class Reference(NamedTuple):
    """A reference optimum, with how it was found: what every run is measured against.

    params: a* (P,); value: f* = f(a*); gradient_norm: ||grad f(a*)||;
    iterations: of the search (0 for a closed form); method: index into
    METHODS; status: index into STATUSES (CONVERGED when ||grad f(a*)|| <= tol).
    A pytree of arrays, so it is computed inside a compiled sweep and vmapped.
    """

    params: jax.Array
    value: jax.Array
    gradient_norm: jax.Array
    iterations: jax.Array
    method: jax.Array
    status: jax.Array


def _found(criterion, data, params, iterations, method, tol, failure=None) -> Reference:
    value, grad = jax.value_and_grad(criterion)(params, data)
    norm = jnp.linalg.norm(grad)
    finite = jnp.isfinite(value) & jnp.isfinite(norm)
    failure = MAX_ITER if failure is None else failure
    status = jnp.where(~finite, NOT_FINITE, jnp.where(norm <= tol, CONVERGED, failure))
    return Reference(params, value, norm, jnp.asarray(iterations, jnp.int32), jnp.asarray(method, jnp.int32),
                     jnp.asarray(status, jnp.int32))


QUADRATICS = (criteria.least_squares, criteria.ridge, criteria.least_squares_gram, criteria.ridge_gram)


@functools.partial(jax.jit, static_argnames="criterion")
def closed_form(criterion, data, tol=None) -> Reference:
    """The lab's quadratics in closed form: least squares by column-scaled QR (the minimum-norm
    solution by SVD when N < P), ridge by QR (`ridge`), their Gram forms by an eigen-decomposition of G."""
    if criterion not in QUADRATICS:
        raise ValueError(f"closed_form knows {[f.__name__ for f in QUADRATICS]}, not "
                         f"{getattr(criterion, '__name__', criterion)!r}: use method='newton' or 'lbfgs'.")
    if criterion in (criteria.least_squares_gram, criteria.ridge_gram):
        l2 = data.l2 if criterion is criteria.ridge_gram else 0.0
        params = _gram_solve(data.G, data.b, jnp.asarray(l2, data.G.dtype))
    elif criterion is criteria.ridge:
        params = _solve(data.X, data.y, jnp.asarray(data.l2, data.X.dtype))
    else:  # QR at full rank, else the minimum-norm solution
        params = _solve(data.X, data.y)
    tol = default_tol(params.dtype, _gradient_norm(criterion, jnp.zeros_like(params), data)) if tol is None else tol
    return _found(criterion, data, params, 0, METHODS.index("closed_form"), tol)


def _gradient_norm(criterion, params, data):
    return _value_and_gradient_norm(criterion, params, data)[1]


def _value_and_gradient_norm(criterion, params, data):
    value, grad = jax.value_and_grad(criterion)(params, data)
    return value, jnp.linalg.norm(grad)


def _gram_solve(G, b, l2):
    """(G + l2 I)^+ b by eigh, small eigenvalues cut as in `min_norm`."""
    h, V = linalg.eigh(G)
    h = h + l2
    keep = h > G.shape[0] * jnp.finfo(G.dtype).eps * jnp.max(jnp.abs(h))
    return V @ jnp.where(keep, (V.T @ b) / jnp.where(keep, h, 1.0), 0.0)


DENSE_LIMIT = 2000  # Newton's system: solved densely up to this many parameters, by conjugate gradients beyond


@functools.partial(jax.jit, static_argnames="criterion")
def newton(criterion, data, start, tol=None, max_iter: int = 100, aim=None) -> Reference:
    """Newton's method with backtracking (Armijo) from `start`, until ||grad f|| <= aim; jittable, no checks.

    `max_iter` may be traced: vmapped over k = 0, 1, ..., K it gives Newton's path, one compiled call.

    The direction solves H d = g (dense, or conjugate gradients on
    Hessian-vector products above DENSE_LIMIT parameters); the step is halved
    until f decreases enough. Stops with NOT_DESCENT when d is not a descent
    direction (H not positive definite: a non-convex criterion away from a
    minimum), STALLED when no step decreases f (rounding), MAX_ITER. Converged where ||grad f|| <= tol
    (`_tolerances`): past tol a step is kept only where it lowers ||grad f||, and the first that does not ends
    the search; at aim, one more step (the polish).
    """
    tol, aim = _tolerances(criterion, data, start, tol, aim)
    max_iter = jnp.asarray(max_iter).astype(jnp.int32)  # the iteration counter's dtype, whatever integer came
    loss_and_grad = jax.value_and_grad(criterion)
    slack = 16 * jnp.finfo(start.dtype).eps  # near the optimum, loss differences fall below rounding

    def direction(a, g):
        if a.shape[0] <= DENSE_LIMIT:
            return linalg.solve(jax.hessian(criterion)(a, data), g)
        hvp = lambda v: jax.jvp(lambda p: jax.grad(criterion)(p, data), (a,), (v,))[1]
        return jax.scipy.sparse.linalg.cg(hvp, g, maxiter=4 * a.shape[0])[0]

    def line_search(a, loss, g, d):
        def shrink(state):
            t, _ = state
            return t / 2, criterion(a - t / 2 * d, data)

        def too_long(state):
            t, trial = state
            sufficient = trial <= loss - 1e-4 * t * jnp.dot(g, d) + slack * jnp.abs(loss)
            return ~sufficient & (t > 1e-12)

        t, trial = jax.lax.while_loop(too_long, shrink, (jnp.ones((), a.dtype), criterion(a - d, data)))
        accepted = jnp.isfinite(trial) & (trial <= loss + slack * jnp.abs(loss))
        return jnp.where(accepted, a - t * d, a), accepted

    def step(state):
        # Once ||g|| <= aim, one more step (the polish): quadratic convergence takes a* down to rounding, so that
        # curves of ||a_t - a*|| measure the run, not the reference's error; not counted as an iteration.
        a, loss, g, it, status, polish, _ = state
        norm = jnp.linalg.norm(g)
        polishing = norm <= aim
        d = direction(a, g)
        descent = jnp.all(jnp.isfinite(d)) & (jnp.dot(g, d) > 0)
        moved, accepted = line_search(a, loss, g, jnp.where(descent, d, 0.0))
        new_loss, new_g = loss_and_grad(moved, data)
        keep = (norm > tol) | (jnp.linalg.norm(new_g) < norm)
        a, loss, g = (jnp.where(keep, new, old) for new, old in ((moved, a), (new_loss, loss), (new_g, g)))
        status = jnp.where(~descent, NOT_DESCENT, jnp.where(accepted, CONVERGED, STALLED))
        status = jnp.where(polishing, CONVERGED, status).astype(jnp.int32)
        return a, loss, g, it + 1 - polishing.astype(it.dtype), status, polish & ~polishing, keep

    def going(state):
        _, loss, g, it, status, polish, kept = state
        norm = jnp.linalg.norm(g)
        return ((((norm > aim) & (it < max_iter) & kept) | (polish & (norm <= aim))) & (status == CONVERGED)
                & jnp.isfinite(loss))

    init = (start, *loss_and_grad(start, data), jnp.zeros((), jnp.int32), jnp.asarray(CONVERGED, jnp.int32),
            jnp.array(True), jnp.array(True))
    a, _, _, iterations, status, _, _ = jax.lax.while_loop(going, step, init)
    return _found(criterion, data, a, iterations, METHODS.index("newton"), tol,
                  failure=jnp.where(status == CONVERGED, MAX_ITER, status))


@functools.partial(jax.jit, static_argnames=("criterion", "max_iter"))
def lbfgs(criterion, data, start, tol=None, max_iter: int = 2000, aim=None) -> Reference:
    """optax's L-BFGS (zoom line search) from `start` until ||grad f|| <= tol, then on towards `_tolerances`' aim
    while f or ||grad f|| still falls: for non-convex criteria; jittable.

    Past tol it returns the iterate of the lowest f among those with ||grad f|| <= tol, and stops once that one
    reaches aim or neither f nor ||grad f|| has reached a new low for PATIENCE iterations (rounding): where the
    Hessian jumps (Huber's kinks), ||grad f|| wanders and dips below a loose tol long before the minimum.
    """
    tol, aim = _tolerances(criterion, data, start, tol, aim)
    value_fn = lambda a: criterion(a, data)  # noqa: E731
    solver = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(value_fn)

    rounding = 4 * jnp.finfo(start.dtype).eps  # relative: f values closer than this are not told apart

    def step(state):
        a, opt_state, it, _, lowest, since_lowest, best, best_value, best_norm = state
        value, grad = value_and_grad(a, state=opt_state)
        with jax.numpy_dtype_promotion("standard"):  # optax's L-BFGS mixes dtypes (lab.descent.OPTAX_PROMOTION)
            updates, opt_state = solver.update(grad, opt_state, a, value=value, grad=grad, value_fn=value_fn)
        moved = optax.apply_updates(a, updates)
        new = _value_and_gradient_norm(criterion, moved, data)
        # Lower f, or f equal to rounding and a lower ||grad f||: the better iterate, and progress.
        better = (new[1] <= tol) & _lower(new, (best_value, best_norm), rounding)
        best, best_value, best_norm = (jnp.where(better, x, old) for x, old in
                                       ((moved, best), (new[0], best_value), (new[1], best_norm)))
        progress = _lower(new, lowest, rounding)
        lowest = tuple(jnp.minimum(x, old) for x, old in zip(new, lowest))
        return (moved, opt_state, it + 1, jnp.any(moved != a), lowest, jnp.where(progress, 0, since_lowest + 1),
                best, best_value, best_norm)

    def going(state):
        _, _, it, moving, _, since_lowest, _, _, best_norm = state
        searching = best_norm > tol  # no iterate has reached tol yet
        polishing = (best_norm > aim) & (since_lowest < PATIENCE)
        return (searching | polishing) & (it < max_iter) & moving

    here = _value_and_gradient_norm(criterion, start, data)
    reached = here[1] <= tol
    init = (start, solver.init(start), jnp.zeros((), jnp.int32), jnp.array(True), here, jnp.zeros((), jnp.int32),
            start, jnp.where(reached, here[0], jnp.inf), jnp.where(reached, here[1], jnp.inf))
    a, _, iterations, moving, _, _, best, _, best_norm = jax.lax.while_loop(going, step, init)
    return _found(criterion, data, jnp.where(best_norm <= tol, best, a), iterations, METHODS.index("lbfgs"), tol,
                  failure=jnp.where(moving, MAX_ITER, STALLED))


def _lower(new, old, rounding):
    """Whether (f, ||grad f||) `new` improves on `old`: f lower beyond rounding (relative), or f equal to rounding
    and ||grad f|| lower."""
    (value, norm), (old_value, old_norm) = new, old
    margin = rounding * jnp.abs(old_value)
    return (value < old_value - margin) | ((value <= old_value + margin) & (norm < old_norm))


def solve(criterion, data, start, method: str = "auto", tol=None, max_iter=None) -> Reference:
    """A reference optimum of any twice-differentiable `criterion(a, data)`; jittable, failure as `status`.

    method: 'closed_form' (the lab's quadratics), 'newton', 'lbfgs', or
    'auto': the closed form where there is one, else Newton from `start`,
    continued by L-BFGS where Newton did not converge (a Hessian that is not
    positive definite, as for a network away from its minimum).

    CONVERGED means the gradient vanished there, not that it is a minimum: a saddle, or a point from which f falls
    further (separable classes without a penalty), converge too. `lab.problems.problem` checks the Hessian and the
    fall there (statuses NOT_A_MINIMUM, FALLS_FURTHER): use it, not `solve` alone, for a criterion of your own.
    """
    if max_iter is not None:
        max_iter = _validate.count("max_iter", max_iter)  # 0 meant the default before
    newton_iterations, lbfgs_iterations = max_iter or 100, max_iter or 2000
    if method == "closed_form" or (method == "auto" and criterion in QUADRATICS):
        return closed_form(criterion, data, tol)
    if method == "newton":
        return newton(criterion, data, start, tol, newton_iterations)
    if method == "lbfgs":
        return lbfgs(criterion, data, start, tol, lbfgs_iterations)
    if method != "auto":
        raise ValueError(f"method must be 'auto' or one of {METHODS}, got {method!r}.")
    tol, aim = _tolerances(criterion, data, start, tol)  # from the caller's start, for all three searches
    first = newton(criterion, data, start, tol, newton_iterations, aim)
    # L-BFGS from Newton's last iterate, then Newton again from there (quadratic convergence once the Hessian is
    # positive definite): each loop's test fails at once where the previous search converged.
    second = lbfgs(criterion, data, first.params, tol, lbfgs_iterations, aim)
    third = newton(criterion, data, second.params, tol, newton_iterations, aim)
    # The answer: Newton's polish where it converged, else whichever search ended nearest a stationary point,
    # with its own method and status (so that the advice of `check` fits what failed); the last Newton only
    # where it got nearer than L-BFGS (one that could not move from there would mask L-BFGS's MAX_ITER).
    searches = (third._replace(method=jnp.where(second.iterations > 0, second.method, first.method)), second, first)
    norms = jnp.stack([jnp.where(s.status == CONVERGED, -1.0, s.gradient_norm) for s in searches])
    norms = norms.at[0].set(jnp.where((third.status != CONVERGED) & (third.gradient_norm >= second.gradient_norm),
                                      jnp.inf, norms[0]))
    best = jnp.argmin(norms)
    chosen = jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves)[best], *searches)
    return chosen._replace(iterations=first.iterations + second.iterations + third.iterations)


def check(found: Reference, what: str = "the reference optimum") -> Reference:
    """`found` if it converged, else a ValueError saying how the search ended and what to try (concrete only).
    Whether a converged point is a minimum is `problems.problem`'s status to say (see `solve`)."""
    status = int(found.status)
    if status == CONVERGED:
        return found
    if status == NOT_A_MINIMUM:
        raise ValueError(
            f"{what} was not found: {METHODS[int(found.method)]} reached a point where the gradient vanishes "
            f"(||grad f|| = {float(found.gradient_norm):.3e}) but the Hessian has a negative eigenvalue: a saddle "
            "point or a maximum. Start elsewhere (problem(..., start=...); for a network, "
            "CriterionRun(init_scale=0.5), since a = 0 is a saddle of most networks)."
        )
    if status == FALLS_FURTHER:
        raise ValueError(
            f"{what} was not found: {METHODS[int(found.method)]} reached a point where the gradient vanishes "
            f"(||grad f|| = {float(found.gradient_norm):.3e}, f = {float(found.value):.6g} at ||a|| = "
            f"{float(jnp.linalg.norm(found.params)):.3g}) but f falls further from it, "
            "and keeps falling 64 times as far "
            "out (along a or the Hessian's flattest direction): no finite minimum (f(a) = exp(-a) flattens out without "
            "one; f(a) = a^3 is unbounded below). Check the criterion's sign and terms, or add a penalty (l2 > 0)."
        )
    if METHODS[int(found.method)] == "closed_form" and status != NOT_FINITE:
        raise ValueError(
            f"{what} was not found: the closed form leaves ||grad f|| = {float(found.gradient_norm):.3e}, above "
            "rounding: the design is rank-deficient or badly scaled. Standardize the features "
            "(lab.problems.standardize), drop duplicated or constant columns, or use ridge with l2 > 0."
        )
    where = f"f = {float(found.value):.6g} at ||a|| = {float(jnp.linalg.norm(found.params)):.3g}"
    if status == NOT_DESCENT and METHODS[int(found.method)] == "lbfgs":
        raise ValueError(
            f"{what} was not found in {int(found.iterations)} iterations: lbfgs ended with ||grad f|| = "
            f"{float(found.gradient_norm):.3e} ({where}), finding no descent direction: the criterion may be unbounded "
            "below (no finite minimum: add a penalty, e.g. l2 > 0) or not smooth there, or, non-convex (a network), "
            "its line search failed where f is flat or curves down: loosen tol, or start elsewhere."
        )
    advice = {
        MAX_ITER: f"raise max_iter, or standardize the features (lab.problems.standardize) if their scales differ; "
                  "a tol below the rounding of ||grad f|| (about eps L ||a||) is never met: loosen it; "
                  f"if f keeps falling as ||a|| grows ({where}), the criterion has no finite minimum: add a penalty "
                  "(l2 > 0)",
        STALLED: f"no step decreased f any more ({where}): rounding (loosen tol, or compute in float64), or a kink "
                 "of a non-smooth criterion (|a|, max), where the gradient never vanishes",
        NOT_DESCENT: "the Hessian is not positive definite there (negative curvature: a non-convex criterion; or "
                     "singular: a linear or piecewise-linear one, with no minimum or no gradient that vanishes): use "
                     "method='lbfgs', and a penalty (l2 > 0) for a criterion unbounded below",
        INVALID_DATA: "the data are not the criterion's (logistic labels outside {0, 1}, negative counts, l2 < 0): "
                      "build the problem eagerly (lab.problems.problem), whose checks say which",
        NOT_FINITE: "f, its gradient or its Hessian is NaN or infinite there: check the criterion and the data "
                    "(features near the float32 range overflow: standardize them, or compute in float64)",
    }[status]
    raise ValueError(
        f"{what} was not found in {int(found.iterations)} iterations (of every search the method ran; 'auto' runs "
        f"Newton, L-BFGS, Newton): {METHODS[int(found.method)]} ended with ||grad f|| = "
        f"{float(found.gradient_norm):.3e} ({STATUSES[status]}): {advice}."
    )


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
            "The classes are linearly separable (Newton's iterate classifies every sample correctly, or but for "
            "samples on the boundary: the loss still falls along it), so "
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
