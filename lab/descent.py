"""One optimization run: T steps of gradient descent or any optax optimizer, as one `lax.scan`.

A run is a pure function of its inputs. Its hyper-parameters (step size,
momentum, Adam's betas, ...) are traced arguments, so new values never
recompile, and a sweep vectorises this very function with `jax.vmap`.

Divergence rule. At every step the run observes g_t = f(a_t) - f*. It is
declared diverged at the first step t where g_t is not finite or
g_t > growth * max(g_0, 0) + ROUNDING eps (1 + |f*|), eps the machine epsilon
(f near f* is known to that much: a start at a* whose gap rounds to -2e-13 is no
divergence, at t = 0 or after). A step just
above 2/L stays finite for hundreds of steps, so finiteness alone is no
test. From then on the run is frozen at its last accepted iterate a_{t-1}
(masked with `where`), its recorded curves repeat the last finite values,
and `diverged_at` holds t. No NaN or inf is ever recorded, and a frozen run
costs the other lanes of a sweep nothing but its own arithmetic.

Mini-batches. With `batches`, each step's gradient is that of the criterion
on B rows of the data drawn inside the scan (`Minibatches`), while the gaps
stay those of the whole criterion.
"""

import dataclasses
import functools
import inspect
import warnings
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lab import _validate, criteria, reference, spectrum


class Optimum(NamedTuple):
    """The reference a run is measured against: a* (P,) and f* = f(a*)."""

    params: jax.Array
    value: jax.Array


def optimum(criterion, params, data) -> Optimum:
    """An `Optimum` from reference parameters (for example `lab.reference.least_squares(X, y)`, on the raw
    features X: it adds the intercept column that `make_data` puts in `data.X`).

    With concrete values, params must be a minimiser to rounding: the gradient at most sqrt(eps) (1 + |f(a*)|),
    and (up to HESSIAN_CHECK_LIMIT parameters) no eigenvalue of the Hessian H below -sqrt(eps) L (a saddle), and,
    where the gradient lies above the lab's solvers' own tolerance (`reference.default_tol`: 1e-10 in float64), the
    Newton correction H^+ grad f to the quadratic model's minimiser at most max(sqrt(eps), 100 sqrt(kappa) eps)
    (1 + ||a*||), over the directions whose gradient component is above rounding. The gradient bound alone passed a
    point 5e-3 from a* at kappa = 1e6 (where ||grad f|| = mu ||a - a*||); a closed form's correction is at most
    2.3 sqrt(kappa) eps (1 + ||a*||) (measured, kappa 1 to 4e13). Another criterion's minimiser or a saddle would
    give false gaps, distances and rates. Refused, with the fix.
    """
    value = criterion(params, data)
    if _validate.is_concrete(params, data, value):
        name = getattr(criterion, "__name__", "the criterion")
        fix = (f"Find the reference with lab.problems.problem({name}, data), which solves for it "
               "(closed form, Newton or L-BFGS) and checks it.")
        gradient = jax.grad(criterion)(params, data)
        norm = float(jnp.linalg.norm(gradient))
        dtype = jnp.result_type(value)
        eps = float(jnp.finfo(dtype).eps)
        bound = float(np.sqrt(eps) * (1 + abs(float(value))))
        if not norm <= bound:
            raise ValueError(f"params is not a minimiser of {name}: ||grad f|| = {norm:.3e} there, above rounding "
                             f"({bound:.1e}). {fix}")
        if np.size(params) <= HESSIAN_CHECK_LIMIT:
            _refuse_unless_near_the_models_minimiser(name, fix, eps, norm > float(reference.default_tol(dtype)),
                                                     np.asarray(params, np.float64), np.asarray(gradient, np.float64),
                                                     np.asarray(spectrum.hessian(criterion, params, data), np.float64))
    return Optimum(params, value)


HESSIAN_CHECK_LIMIT = 2000  # parameters up to which `optimum` forms the Hessian to check a minimum


def _refuse_unless_near_the_models_minimiser(name, fix, eps, above_tolerance, params, gradient, hessian):
    if not np.all(np.isfinite(hessian)):
        raise ValueError(f"params cannot be checked as a minimiser of {name}: its Hessian there is not finite (a kink "
                         f"such as |a|^1.5 at 0, or an overflow). {fix}")
    h, V = np.linalg.eigh(hessian)
    L = float(np.max(np.abs(h)))
    if h[0] < -np.sqrt(eps) * L:
        raise ValueError(f"params is not a minimiser of {name}: the gradient vanishes there but the Hessian has an "
                         f"eigenvalue {h[0]:.3e} (L = {L:.3e}): a saddle point or a maximum. {fix}")
    components, size = V.T @ gradient, (1 + float(np.linalg.norm(params)))
    # the Hessian's null space (N < P) moves neither f nor the runs' gaps; a component at rounding moves nothing
    keep = (h > h.size * eps * L) & (np.abs(components) > h.size * eps * L * size)
    if not above_tolerance or not keep.any():
        return
    correction = float(np.linalg.norm(V[:, keep] @ (components[keep] / h[keep])))
    kappa = L / float(np.min(h[keep]))
    bound = max(np.sqrt(eps), 100 * np.sqrt(kappa) * eps) * size
    if not correction <= bound:
        raise ValueError(f"params is not a minimiser of {name}: the minimiser of its quadratic model lies "
                         f"{correction:.3e} away (the Newton correction H^+ grad f; kappa = {kappa:.3g} amplifies the "
                         f"gradient {float(np.linalg.norm(gradient)):.3e}), above rounding ({bound:.1e}). {fix}")


class Trace(NamedTuple):
    """What one run recorded. Arrays have the parameters' dtype.

    gap: (T + 1,) f(a_t) - f* for t = 0..T (frozen after divergence).
    distance: (T + 1,) ||a_t - a*||.
    params: (P,) the last iterate (the last finite one if the run diverged).
    diverged: bool, whether the divergence rule fired.
    diverged_at: int, the step t at which it fired, -1 if never.
    path: (T + 1, P) the iterates a_t when asked for (`record_path=True`), else (0, P).
    opt_state: with `return_state=True`, the optimizer's state after the last step (Adam's moments,
        ...): pass it back as `run(..., opt_state=)` with `init=params` to continue the same run
        (the step count t of the divergence rule and of `Minibatches` restarts at 0: give a
        continued stochastic run a new key). None otherwise.
    """

    gap: jax.Array
    distance: jax.Array
    params: jax.Array
    diverged: jax.Array
    diverged_at: jax.Array
    path: jax.Array
    opt_state: Any = None


DEFAULT_GROWTH = 1e4
ROUNDING = 1e3  # f(a) - f* within ROUNDING eps (1 + |f*|) of 0 is rounding: no start below f*, no divergence


@functools.partial(jax.tree_util.register_dataclass, data_fields=("size", "key"),
                   meta_fields=("largest", "replacement"))
@dataclasses.dataclass(frozen=True)
class Minibatches:
    """B rows of `Data` per step, drawn inside the scan: step t draws from `jax.random.fold_in(key, t)`.

    size: B, traced (a sweep axis), 1 <= B <= largest.
    key: a PRNG key (`jax.random.key(seed)`).
    largest: the largest B of a sweep, static: every step draws `largest` rows and weighs the first B by
        1/B and the others by 0, so that all batch sizes share one shape and one compilation.
    replacement: rows drawn independently (True) or B distinct rows per step (False, largest <= N).
    The gradient is the mean of the per-row gradients grad f(a, row i), which is the criterion's
    mini-batch gradient for any criterion that is a mean over rows plus a penalty.
    """

    size: Any
    key: Any
    largest: int
    replacement: bool = True


def check_row_mean(criterion, data, params):
    """Mini-batch gradients take the criterion for a mean over rows plus a penalty, f(a) = mean_i f(a, row i):
    a sum over rows (or anything else) would be run N times too slowly, against a reference and a 2/L of the
    whole sum. Refused when the identity fails beyond rounding at `params` or at a random point params + N(0, 1)
    (a penalty of N times its weight, the course's (sum + eps ||a||^2) / N, vanishes at a = 0; a point where
    either value is not finite, exp overflowing, says nothing there). Concrete values only."""
    if not _validate.is_concrete(data, params):
        return
    anywhere = params + jax.random.normal(jax.random.key(0), params.shape, params.dtype)
    rounding = np.sqrt(np.finfo(params.dtype).eps)
    for point, finite_only in ((params, False), (anywhere, True)):
        whole, mean = _whole_and_row_mean(criterion, point, data)
        if not _validate.is_concrete(whole):  # called inside jit on constants
            return
        whole, mean = float(whole), float(mean)
        if finite_only and not (np.isfinite(whole) and np.isfinite(mean)):
            continue
        if not np.isclose(whole, mean, rtol=rounding, atol=rounding):
            name = getattr(criterion, "__name__", "the criterion")
            where = "" if point is params else " at a random point (a = start + N(0, 1))"
            raise ValueError(f"mini-batches need a criterion that is a mean over the rows (plus a penalty): "
                             f"{name}(a, data) = {whole:.6g}{where}, but the mean of its rows' values is {mean:.6g} "
                             "(a sum over rows, or a penalty divided by N?). Write it with jnp.mean over the samples "
                             "and the penalty once.")


@functools.partial(jax.jit, static_argnums=0)
def _whole_and_row_mean(criterion, params, data):
    rows = jax.vmap(lambda x, y: criterion(params, data._replace(X=x[None], y=y[None])))(data.X, data.y)
    return criterion(params, data), jnp.mean(rows)


def minibatch_gradient(criterion, params, data, batches: Minibatches, step):
    """The gradient of `criterion` at `params` on the mini-batch of step `step` (`Minibatches`).

    The batch is a weight per row (how often it was drawn, over B) and the gradient that of the weighted
    sum of the per-row criteria: one pass over the data as a matrix product per step, never a gathered copy
    of the batch per run (plus the draws of `largest` rows).
    """
    weighted, in_range = _minibatch_criterion(criterion, data, batches, step, params.dtype)
    # Checked when concrete; traced, a B that is no batch size in 1..largest gives a NaN gradient (the run then
    # counts as diverged), not a quietly rescaled or zero step.
    return jnp.where(in_range, jax.grad(weighted)(params), jnp.nan)


def _minibatch_criterion(criterion, data, batches: Minibatches, step, dtype):
    """(a -> the criterion on step `step`'s mini-batch, the weighted sum of its rows' values; whether B is in range)."""
    n, key = data.X.shape[0], jax.random.fold_in(batches.key, step)
    if batches.replacement:
        rows = jax.random.randint(key, (batches.largest,), 0, n)
    else:
        rows = jax.random.permutation(key, n)[: batches.largest]
    size = jnp.asarray(batches.size, dtype)
    drawn = jnp.where(jnp.arange(batches.largest, dtype=dtype) < size, 1 / size, 0).astype(dtype)
    weights = jnp.zeros(n, dtype).at[rows].add(drawn)

    def weighted(a):
        per_row = jax.vmap(lambda x, y: criterion(a, data._replace(X=x[None], y=y[None])))(data.X, data.y)
        return weights @ per_row

    return weighted, _validate.batch_size_in_range(size, batches.largest)


def run(criterion, data, init, optimum: Optimum, num_steps: int, optimizer=optax.sgd, growth=DEFAULT_GROWTH,
        record_path: bool = False, batches: Minibatches | None = None, opt_state=None, return_state: bool = False,
        **hyperparams) -> Trace:
    """Run `optimizer(**hyperparams)` from `init` for `num_steps` steps on `criterion(a, data)`.

    criterion: pure function (a, data) -> scalar, differentiated by `jax.grad`.
    optimizer: an optax optimizer factory such as `optax.sgd` (plain gradient
        descent a <- a - learning_rate * grad f(a), bit for bit), `optax.adam`;
        it is called inside the compiled function, so its hyper-parameters are
        traced: `run(..., optimizer=optax.adam, learning_rate=lr, b1=0.9)`.
        Optimizers whose update needs the value and the function (`optax.lbfgs`,
        line searches, optax.contrib.sophia) get `value`, `grad`, `value_fn` and
        `obj_fn` as extra arguments: with `batches`, the mini-batch's f, as its gradient.
    optimum: what the gaps are measured from: an `Optimum` or a `lab.reference.Reference`.
    growth: factor on the initial gap beyond which the run counts as diverged.
    record_path: also keep every iterate (T + 1, P), e.g. to follow the curvature along the path.
    batches: `Minibatches` for stochastic gradients on `Data` (None: the full gradient).
    opt_state: where the optimizer's state starts (a previous `Trace.opt_state`; default its init);
    return_state: keep the final state in `Trace.opt_state`.
    Returns a `Trace`. Checks its inputs when they are concrete (not traced).
    """
    num_steps, hyperparams = checked(data, init, optimum, num_steps, growth, hyperparams, batches)
    check_optimizer(optimizer, hyperparams)
    _check_start_value(criterion, data, init, optimum)
    if batches is not None:
        check_row_mean(criterion, data, init)
    trace = _run(criterion, optimizer, num_steps, _validate.flag("record_path", record_path),
                 _validate.flag("return_state", return_state), data, init, optimum, growth, hyperparams, batches,
                 opt_state)
    _warn_if_below(trace.gap, optimum.value)
    return trace


def _warn_if_below(gap, best):
    """Warn where a concrete run's f(a_t) fell below best = f* by more than sqrt(eps) (1 + |f*|), the bound
    `optimum` holds a minimiser's gradient to: then f* is not the minimum (a plain `Optimum` of any point is
    accepted), and every gap, distance and rate is measured from another point."""
    if not _validate.is_concrete(gap, best):
        return
    gap, best = np.asarray(gap), float(best)
    lowest = np.nanmin(gap, initial=np.inf)
    if lowest < -np.sqrt(float(jnp.finfo(gap.dtype).eps)) * (1 + abs(best)):
        warnings.warn(f"f(a_t) fell {-lowest:.3g} below optimum.value = {best:.6g} (at t = {int(np.nanargmin(gap))}): "
                      "it is not the minimum, so the gaps, distances and rates are measured from another point. "
                      "Pass descent.optimum(criterion, params, data), which checks a minimiser, or a "
                      "lab.reference.Reference (lab.problems.problem finds one).", stacklevel=3)


def check_optimizer(optimizer, hyperparams=("learning_rate",)):
    """An optax factory that takes these hyper-parameters (names): not a transformation already built, whose
    call inside the run would fail with optax's words, nor one without a learning rate (optax.scale_by_adam)."""
    if isinstance(optimizer, optax.GradientTransformation) or not callable(optimizer):
        raise ValueError(f"optimizer must be an optax factory such as optax.adam, which the run calls with its "
                         f"hyper-parameters, got {type(optimizer).__name__}: pass optax.adam, not optax.adam(...), "
                         "or for a chain a function of the learning rate, e.g. "
                         "lambda learning_rate: optax.chain(optax.clip(1.0), optax.sgd(learning_rate)).")
    bound = bound_hyper_parameters(optimizer)
    both = [name for name in ("learning_rate", *hyperparams) if name in bound]
    if both:  # the run's keyword would replace the bound value, while the optimizer's name still shows it
        name = both[0]
        fix = ("leave it out of the partial: the run's learning_rate (or a sweep's learning-rate axis) sets it; for a "
               "schedule use lab.runs.Scheduled(optimizer, num_steps)" if name == "learning_rate" else
               "bind it or set it in the run (a hyper-parameter, or a sweep axis), not both")
        raise ValueError(f"optimizer binds {name}={bound[name]!r}, which the run sets too and would replace in "
                         f"silence: {fix}.")
    try:
        parameters = inspect.signature(optimizer).parameters
    except (TypeError, ValueError):  # a builtin or C callable: nothing more to check
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    unknown = [name for name in hyperparams if name not in parameters]
    if unknown:
        raise ValueError(f"optimizer {getattr(optimizer, '__name__', optimizer)!r} takes no {', '.join(unknown)} "
                         f"(its parameters: {', '.join(parameters)}): the run sets the learning rate of a factory "
                         "such as optax.sgd or optax.adam.")


def bound_hyper_parameters(optimizer) -> dict:
    """What a factory binds (functools.partial(optax.sgd, momentum=1.5), nested partials too: the outer wins),
    checked: the hyper-parameters' ranges, and flags True or False (nesterov="no" meant True)."""
    bound, factory = {}, optimizer
    while isinstance(factory, functools.partial):
        bound, factory = {**factory.keywords, **bound}, factory.func
    _validate.hyper_parameters(bound)
    try:
        defaults = {name: p.default for name, p in inspect.signature(factory).parameters.items()}
    except (TypeError, ValueError):
        return bound
    for name, value in bound.items():
        if isinstance(defaults.get(name), bool):
            _validate.flag(name, value)
    return bound


def _check_start_value(criterion, data, init, optimum):
    """f(init) finite and not below optimum.value (when concrete): else every gap is inf, or the run counts as
    diverged at t = 0 (its gap starts negative)."""
    if not _validate.is_concrete(data, init, optimum.value):
        return  # traced (a sweep): jax.grad itself refuses a vector criterion there
    _validate.scalar_criterion(criterion, init, data)
    start = jax.jit(criterion)(init, data)  # a tracer when called inside jit, vmap or eval_shape on constants
    if not _validate.is_concrete(start):
        return
    start, best = float(start), float(optimum.value)
    if not np.isfinite(start):
        raise ValueError(f"f(init) is {start}: choose a start where the criterion is finite.")
    if start < best - ROUNDING * float(jnp.finfo(init.dtype).eps) * (1 + abs(best)):
        raise ValueError(f"optimum.value = {best:.6g} is above f(init) = {start:.6g}: it is not the minimum value (the "
                         "run would count as diverged at t = 0). Pass descent.optimum(...) or a "
                         "lab.reference.Reference.")


def checked(data, init, optimum, num_steps, growth, hyperparams: dict, batches=None, *, names=("init", "optimum")):
    """`run`'s checks (ValueError naming the argument; values only when concrete): (num_steps as an int,
    the hyper-parameters as arrays of init's dtype, the run's precision). names: what the caller calls init and
    optimum (`runs.optimize`: start and the problem's reference)."""
    start, reference = names
    num_steps = _validate.count("num_steps", num_steps)
    for name in ("params", "value"):
        leaf = getattr(optimum, name, None)
        if leaf is None:
            raise ValueError(f"{reference} must have .params and .value (a descent.Optimum or reference.Reference), "
                             f"got {type(optimum).__name__}.")
    if jnp.ndim(optimum.params) != 1:
        raise ValueError(f"{reference}.params must be a vector a* (P,), got shape {jnp.shape(optimum.params)}.")
    if jnp.ndim(optimum.value) != 0:
        raise ValueError(f"{reference}.value must be one number f*, got shape {jnp.shape(optimum.value)}: the gaps "
                         "f(a_t) - f* are a curve of scalars.")
    on_moments = isinstance(data, criteria.Gram)  # P is b's length; on Data a network's P is not X's columns
    _validate.float_params(start, init, data.b.shape[0] if on_moments else jnp.shape(optimum.params)[0],
                           "the moments' b" if on_moments else f"{reference}.params")
    _validate.params_in_data_dtype(start, init, data)
    if jnp.shape(optimum.params) != init.shape:
        raise ValueError(f"{reference}.params has shape {jnp.shape(optimum.params)}, {start} {init.shape}: "
                         "they must match.")
    for name, value in ((start, init), (f"{reference}.params", optimum.params), (f"{reference}.value", optimum.value)):
        if _validate.is_concrete(value) and not np.all(np.isfinite(np.asarray(value))):
            raise ValueError(f"{name} contains NaN or infinite values: every gap would be NaN; give finite values.")
    if any(callable(value) for value in hyperparams.values()):
        raise ValueError(
            "hyper-parameters must be numbers (they are traced, so new values never recompile), not functions: "
            "for a learning-rate schedule use lab.runs.Scheduled(optimizer, num_steps) as the optimizer."
        )
    flags = [name for name, value in hyperparams.items()
             if isinstance(value, (bool, np.bool_)) or name.endswith("dtype")]
    if flags:
        raise ValueError(f"{', '.join(flags)}: flags and dtypes change the optimizer's program, not a value, so they "
                         "are not traced hyper-parameters: bind them in the optimizer, e.g. "
                         f"optimizer=functools.partial(optax.sgd, {flags[0]}=...).")
    if "learning_rate" in hyperparams:
        _validate.positive("learning_rate", hyperparams["learning_rate"])
    shaped = {name: np.shape(value) for name, value in hyperparams.items() if value is not None and np.ndim(value)}
    if shaped:
        raise ValueError(f"hyper-parameters are one number each (a sweep axis gives several runs), "
                         f"got shapes {shaped}: sweep over the values with lab.sweep.sweep, or vmap the run.")
    _validate.hyper_parameters(hyperparams)
    _validate.within_dtype(hyperparams, init.dtype)  # they are cast to it: 1e-50 would run as 0 in float32
    if jnp.ndim(growth) != 0:
        raise ValueError(f"growth must be one number, a factor on the initial gap, got shape {jnp.shape(growth)}.")
    if _validate.is_concrete(growth) and not np.all(np.asarray(growth, float) >= 1):
        raise ValueError(f"growth must be >= 1, a factor on the initial gap (below 1 the start itself counts as "
                         f"diverged), got {growth!r}.")
    if _validate.is_concrete(data) and not all(np.all(np.isfinite(np.asarray(x)))
                                               for x in jax.tree_util.tree_leaves(data)):
        raise ValueError("data contains NaN or infinite values: build it with lab.problems.make_data, "
                         "which says where.")
    if batches is not None:
        _check_batches(data, batches)
    # None means the optimizer's default (optax.sgd(momentum=None)): left out
    return num_steps, {name: jnp.asarray(value, init.dtype) for name, value in hyperparams.items() if value is not None}


def _check_batches(data, batches):
    """Mini-batches need `Data` rows, a largest batch that the data hold (without replacement), and 1 <= B <= it."""
    if not isinstance(batches, Minibatches):
        raise ValueError(f"batches must be a lab.descent.Minibatches, got {type(batches).__name__}.")
    if not isinstance(data, criteria.Data):
        raise ValueError("batches draw rows of the data: pass data as lab.criteria.Data (lab.problems.make_data).")
    n = data.X.shape[0]
    _validate.prng_key("batches.key", batches.key)
    if np.ndim(batches.size):
        raise ValueError(f"batches.size must be one batch size (a sweep axis gives several), got shape "
                         f"{np.shape(batches.size)}.")
    largest = _validate.count("batches.largest", batches.largest)
    _validate.flag("batches.replacement", batches.replacement)
    if not batches.replacement and largest > n:
        raise ValueError(f"batches.largest = {largest} distinct rows per step, but the data have {n}: "
                         f"use largest <= {n}, or replacement=True.")
    if _validate.is_concrete(batches.size):
        size = np.asarray(batches.size)
        if not (np.all(size >= 1) and np.all(size <= largest) and np.all(np.mod(size, 1) == 0)):
            raise ValueError(f"batches.size must hold integers in [1, largest = {largest}], got {size}.")


def gradient_descent(criterion, data, init, optimum: Optimum, learning_rate, num_steps: int, **kwargs) -> Trace:
    """Plain gradient descent a <- a - learning_rate * grad f(a): `run` with `optax.sgd`."""
    return run(criterion, data, init, optimum, num_steps, optax.sgd, learning_rate=learning_rate, **kwargs)


# OPTAX_PROMOTION: optax's Adam and L-BFGS mix int32 with int64 and float32 with float64 internally when JAX's
# float64 switch is on; their updates are traced with JAX's standard promotion whatever the caller's setting, so
# that the lab runs under `jax_numpy_dtype_promotion="strict"` (as its test suite does) and checks its own code.
@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3, 4))
def _run(criterion, optimizer, num_steps, record_path, return_state, data, init, optimum, growth, hyperparams,
         batches=None, opt_state=None):
    transform = optax.with_extra_args_support(optimizer(**hyperparams))
    value_and_grad = jax.value_and_grad(criterion)
    # optax's line searches call value_fn(a, **the extra arguments its signature names) and refuse the others:
    # it names sophia's obj_fn, and ignores it
    value_fn = lambda a, obj_fn=None: criterion(a, data)  # noqa: E731
    eps = jnp.finfo(init.dtype).eps
    gap0 = criterion(init, data) - optimum.value
    limit = growth * jnp.maximum(gap0, 0) + ROUNDING * eps * (1 + jnp.abs(optimum.value))

    def observe(carry, params, gap):
        """Apply the divergence rule to the new observation; return the carry and what to record."""
        last, last_gap, diverged, diverged_at, t = carry
        blown = ~jnp.isfinite(gap) | (gap > limit)
        diverged_at = jnp.where(blown & ~diverged, t, diverged_at)
        diverged = diverged | blown
        params = jnp.where(diverged, last, params)
        gap = jnp.where(diverged, last_gap, gap)
        distance = jnp.linalg.norm(params - optimum.params)
        return (params, gap, diverged, diverged_at, t + 1), (gap, distance, params if record_path else None)

    def step(state, _):
        params, opt_state, carry = state
        value, grad = value_and_grad(params, data)
        given = value, value_fn  # what an optimizer that evaluates f gets (line searches, sophia)
        if batches is not None:
            weighted, in_range = _minibatch_criterion(criterion, data, batches, carry[4], params.dtype)
            grad = jnp.where(in_range, jax.grad(weighted)(params), jnp.nan)
            # the mini-batch's f beside its gradient, not the whole data's
            given = weighted(params), lambda a, obj_fn=None: weighted(a)
        carry, record = observe(carry, params, value - optimum.value)
        with jax.numpy_dtype_promotion("standard"):  # see OPTAX_PROMOTION
            updates, new_state = transform.update(grad, opt_state, params, value=given[0], grad=grad,
                                                  value_fn=given[1], obj_fn=given[1])
        diverged = carry[2]
        params = jnp.where(diverged, carry[0], optax.apply_updates(params, updates))
        opt_state = jax.tree_util.tree_map(lambda new, old: jnp.where(diverged, old, new), new_state, opt_state)
        return (params, opt_state, carry), record

    carry = (init, gap0, jnp.array(False), jnp.array(-1, jnp.int32), jnp.array(0, jnp.int32))
    state = transform.init(init) if opt_state is None else opt_state
    (params, state, carry), (gaps, distances, path) = jax.lax.scan(step, (init, state, carry), length=num_steps)
    carry, (last_gap, last_distance, last) = observe(carry, params, criterion(params, data) - optimum.value)
    return Trace(
        gap=jnp.append(gaps, last_gap),
        distance=jnp.append(distances, last_distance),
        params=carry[0],
        diverged=carry[2],
        diverged_at=carry[3],
        path=jnp.concatenate([path, last[None]]) if record_path else jnp.zeros((0, init.shape[0]), init.dtype),
        opt_state=state if return_state else None,
    )
