"""Runs: one pure function from hyper-parameters to an `Outcome`, the unit a sweep vectorises.

The contract between a run and `lab.sweep` / `lab.stability` is the `Run`
base class: a run is a hashable callable `run(learning_rate=... or
learning_rate_over_edge=..., **axes) -> Outcome` (or a dict holding at least the
Outcome's fields) that declares

* `axis_names`: the names it accepts;
* `check_axes(axes)`: a ValueError for values it cannot run (before any computation);
* `bytes_per_run()`: the memory one run's results hold, and `bytes_per_setting()` the memory
  of the data one setting builds (shared by its step sizes), for chunking;
* `at(**setting)`: the runs of one setting as a function of the step size alone (the edge search's loop);
* `near_optimum()`: the same run started next to a*, where the edge search measures;
* `stability_rule`: 'bounded' (losses that blow up past the edge) or
  'converging' (bounded gradients: logistic, Huber), see `lab.stability`.

The step size has two names, one per unit, and a run takes exactly one:
`learning_rate`, absolute (optax's name), or `learning_rate_over_edge`, a fraction
of the run's 2/L (its `edge_learning_rate`). A run builds its `lab.problems.Problem`
(data, reference optimum, spectrum), converts the step size once
(`learning_rate = learning_rate_over_edge * edge_learning_rate`), optimizes with `optimize`
and returns the `Outcome`, which reports both; all in one traced function: data that depends only
on (kappa, seed) is computed once per setting and shared by every step size of a sweep. Runs are
registered pytrees: a `CriterionRun`'s data travels as an array argument of
the compiled sweep, the rest as its static configuration.
"""

import dataclasses
import functools
import inspect
import warnings
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lab import _validate, criteria, descent, problems, reference, spectrum


class Outcome(NamedTuple):
    """What one run reports: curves over iterations, summaries, and the theory of the optimizer that ran.

    gap, distance: (T // record_every + 1,) f(a_t) - f* and ||a_t - a*||.
    initial_gap, final_gap, final_distance: at t = 0 and t = T.
    diverged, diverged_at: the divergence rule of `lab.descent` (-1: never).
    iterations: first t with gap_t <= tolerance * gap_0, read off the full curve (-1: never).
    iterations_resolved: whether tolerance * gap_0 lies above f's rounding near f* (`iterations_resolved`);
        where not (float32, a tight tolerance), `iterations` counts rounding and comes early.
    measured_rate: per-step contraction of ||a_t - a*|| measured on the curve's
        clean tail (before the rounding floor or the divergence).
    rate_resolution: how well measured_rate is known, relative to itself (`rate_resolution`).
    L, mu, condition_number: the Hessian's extreme eigenvalues at a* and their ratio.
    learning_rate, learning_rate_over_edge: the absolute step size and it over the run's unit 2/L (L at a*,
        or at the start for a `LogisticRun` from a = 0: the unit of its learning_rate_over_edge axis).
    theory_edge_learning_rate: the optimizer's edge on the quadratic model at a*:
        2/L (gradient descent), 2(1 + beta)/L (heavy ball), (2 + 2 beta)/((1 + 2 beta) L)
        (Nesterov); NaN where the lab knows no theory (Adam, schedules, ...).
    theory_kind: which of those theories ran, an index into THEORY_KINDS (0: none; 1: gradient descent, which
        momentum 0 is; 2: heavy ball; 3: Nesterov), so that tables and figures never infer it from numbers.
    predicted_rate: that optimizer's asymptotic contraction at this learning rate (NaN without theory).
    predicted_iterations: iterations to the tolerance at that rate (-1: never, or no theory).
    reference_gradient_norm: ||grad f(a*)|| of the reference the gaps are measured from.
    reference_status: how its search ended, an index into `lab.reference.STATUSES` (0: converged);
        a sweep and the edge search warn when it is not 0, since the gaps then mean nothing. Where it is
        `reference.INVALID_DATA` (traced data the checks refuse) every measurement and theory is NaN, every count -1.
    record_every: the curves hold iterations 0, k, 2k, ... (k = record_every).
    tolerance: `iterations` counts steps to gap <= tolerance * initial_gap.
    """

    gap: jax.Array
    distance: jax.Array
    initial_gap: jax.Array
    final_gap: jax.Array
    final_distance: jax.Array
    diverged: jax.Array
    diverged_at: jax.Array
    iterations: jax.Array
    iterations_resolved: jax.Array
    measured_rate: jax.Array
    rate_resolution: jax.Array
    L: jax.Array
    mu: jax.Array
    condition_number: jax.Array
    learning_rate: jax.Array
    learning_rate_over_edge: jax.Array
    theory_edge_learning_rate: jax.Array
    theory_kind: jax.Array
    predicted_rate: jax.Array
    predicted_iterations: jax.Array
    reference_gradient_norm: jax.Array
    reference_status: jax.Array
    record_every: jax.Array
    tolerance: jax.Array


STABILITY_RULES = ("bounded", "converging")


LEARNING_RATE_AXES = ("learning_rate", "learning_rate_over_edge")
AXIS_VALUE = "axis {name!r} holds {value:g}, which"  # how `_validate.within_dtype` names an axis value
THEORY_KINDS = ("none", "gradient descent", "heavy ball", "nesterov")


def absolute_learning_rate(learning_rate, learning_rate_over_edge, edge_learning_rate, dtype):
    """The learning rate from exactly one of `learning_rate` (absolute) and `learning_rate_over_edge` (in units of
    `edge_learning_rate`)."""
    if (learning_rate is None) == (learning_rate_over_edge is None):
        raise ValueError("give the step size as exactly one of learning_rate (absolute) and learning_rate_over_edge "
                         f"(a fraction of the run's 2/L), got learning_rate={learning_rate}, "
                         f"learning_rate_over_edge={learning_rate_over_edge}.")
    if learning_rate is None:
        return jnp.asarray(learning_rate_over_edge, dtype) * edge_learning_rate
    return jnp.asarray(learning_rate, dtype)


class Run:
    """The contract of a run (module docstring); subclasses are frozen dataclasses registered as pytrees."""

    stability_rule: str = "bounded"
    optimizer: Callable | None = None  # an optax factory, whose hyper-parameters are axes too

    @property
    def axis_names(self) -> tuple:
        """The names a sweep may vary: the parameters of `__call__`, then the optimizer's hyper-parameters."""
        parameters = inspect.signature(self.__call__).parameters.values()
        names = [p.name for p in parameters if p.kind is not p.VAR_KEYWORD]
        return (*names, *_optimizer_axes(self.optimizer))

    def check_axes(self, axes: dict):
        """ValueError for values no run can take: step sizes <= 0, kappa < 1, l2 < 0, betas outside [0, 1), ...."""
        if all(name in axes for name in LEARNING_RATE_AXES):
            raise ValueError("axes 'learning_rate' and 'learning_rate_over_edge' are one learning rate in two units: "
                             "give one.")
        _validate.hyper_parameters(axes)
        positive = (lambda v: v > 0, "> 0")
        rules = {"learning_rate": positive, "learning_rate_over_edge": positive, "kappa": (lambda v: v >= 1, ">= 1"),
                 "l2": (lambda v: v >= 0, ">= 0"), "separation": (lambda v: v >= 0, ">= 0")}
        for name, values in axes.items():
            if name in rules and not np.all(rules[name][0](values)):
                raise ValueError(f"axis {name!r} must hold values {rules[name][1]}, got {values}.")
            if name == "seed" and not np.all(np.mod(values, 1) == 0):
                raise ValueError(f"axis 'seed' must hold integers, got {values}.")
            if name == "seed" and not np.all(np.abs(values) < 2**31):
                raise ValueError(f"axis 'seed' must hold integers of magnitude below 2**31 (they become 32-bit PRNG "
                                 f"seeds, and larger ones would alias smaller ones), got {values}.")
            if name == "schedule" and not np.all(np.isin(values, np.arange(len(SCHEDULES)))):
                raise ValueError(f"axis 'schedule' must hold indices 0..{len(SCHEDULES) - 1} into {SCHEDULES}, "
                                 f"got {values}.")

    def check_point(self, **point):
        """`check_axes` on the concrete values of one direct call (a sweep's traced values were checked as axes)."""
        concrete = {name: np.atleast_1d(np.asarray(value)) for name, value in point.items()
                    if value is not None and _validate.is_concrete(value)}
        if concrete:
            self.check_axes(concrete)

    def at(self, **setting):
        """The runs of one setting of the other axes as a function of the step size alone (`learning_rate=`
        or `learning_rate_over_edge=`).

        The edge search calls it once per setting and the result at many step sizes, so a run that
        builds an expensive problem (a reference by Newton or L-BFGS) overrides it to build it once.
        """
        return lambda **learning_rate: self(**learning_rate, **setting)

    @property
    def optimizer_name(self) -> str:
        """The optimizer for titles and tables: 'sgd', 'sgd(momentum=0.9)', 'adam'; '' for a function run."""
        return name_of(self.optimizer) if self.optimizer is not None else ""

    @property
    def problem_name(self) -> str:
        """What the runs minimise, for titles: 'least squares, N = 100, D = 10'; '' where the run does not say."""
        return ""

    def near_optimum(self):
        """The run the edge search measures: started next to a*, where the Hessian there sets the edge.

        Runs with a `start` option return a copy with `start='eigen'`; others are returned as they are.
        """
        return self

    def bytes_per_run(self, point=None) -> int:
        """Memory one run's results hold (curves and summaries) at `point` ({axis: value}), from the shapes of one
        call."""
        point = dict(point or {})
        if not any(name in point for name in LEARNING_RATE_AXES):
            point["learning_rate_over_edge"] = 1.0
        shapes = jax.eval_shape(lambda: self(**point))
        return sum(x.size * x.dtype.itemsize for x in jax.tree_util.tree_leaves(shapes))

    def bytes_per_setting(self, point=None) -> int:
        """Memory of the problem one setting builds (data, reference, spectrum), shared by its step sizes; 0
        for a run that builds none."""
        return 0


# Building a problem from data of B bytes (generating it, its reference by QR, SVD or Newton, the spectrum)
# takes up to about 9 B at once (XLA's memory_analysis of the compiled call, measured for least squares).
PROBLEM_WORKSPACE = 10


def _data_bytes(n, p, dtype) -> int:
    return PROBLEM_WORKSPACE * n * p * np.dtype(dtype).itemsize


@jax.tree_util.register_static
@dataclasses.dataclass(frozen=True)
class FunctionRun(Run):
    """Any pure callable of named scalars returning a NamedTuple or dict of arrays, as a `Run`.

    Its axis names are the function's parameters (any name, when it takes **kwargs).
    """

    function: Callable

    def __post_init__(self):
        if not callable(self.function):
            raise ValueError(f"a run must be callable, got {type(self.function).__name__}.")

    @property
    def axis_names(self):
        parameters = inspect.signature(self.function).parameters.values()
        if any(p.kind is p.VAR_KEYWORD for p in parameters):
            return None
        return tuple(p.name for p in parameters)

    def check_axes(self, axes):
        pass

    def bytes_per_run(self, point=None) -> int:
        shapes = jax.eval_shape(lambda: self.function(**(point or {})))
        return sum(x.size * x.dtype.itemsize for x in jax.tree_util.tree_leaves(shapes))

    def __call__(self, **point):
        return self.function(**point)


def name_of(value):
    """A short, reproducible name of a configuration value (functions by name, not address): 'sgd',
    'sgd(momentum=0.9)', 'Scheduled(adam, num_steps=100)'; None, numbers and strings as they are (NumPy and JAX
    scalars as Python's: a size taken from an array is 30, not 'int64')."""
    value = _python_scalar(value)
    if value is None or isinstance(value, (int, float, str, bool)):
        return value
    if isinstance(value, functools.partial):
        arguments = ", ".join(f"{k}={name_of(v) if callable(v) else repr(_python_scalar(v))}"
                              for k, v in value.keywords.items())
        return f"{name_of(value.func)}({arguments})"
    if isinstance(value, Scheduled):
        return f"{type(value).__name__}({name_of(value.optimizer)}, num_steps={value.num_steps})"
    return getattr(value, "__name__", type(value).__name__)


def _python_scalar(value):
    """A concrete NumPy or JAX scalar as Python's (np.float64(0.5) as 0.5); anything else as it is."""
    if isinstance(value, (np.generic, np.ndarray, jax.Array)) and np.ndim(value) == 0 and _validate.is_concrete(value):
        return value.item()
    return value


def as_run(run) -> Run:
    """`run` itself if it is a `Run`, else a plain callable wrapped in a `FunctionRun`."""
    if isinstance(run, Run):
        return run
    if not callable(run):
        raise ValueError(f"run must be a lab.runs.Run or a callable of named hyper-parameters, "
                         f"got {type(run).__name__}.")
    return FunctionRun(run)


def outputs_of(out) -> dict:
    """A run's return value as {name: array}: a NamedTuple's fields or a dict's items (None values left out)."""
    if isinstance(out, tuple) and hasattr(out, "_fields"):
        return {name: value for name, value in out._asdict().items() if value is not None}
    if isinstance(out, dict):
        return {name: value for name, value in out.items() if value is not None}
    raise ValueError(f"run must return a NamedTuple (such as lab.runs.Outcome) or a dict of arrays, "
                     f"got {type(out).__name__}.")


def require_outcome(run: Run, point: dict, needed=Outcome._fields):
    """ValueError naming the `Outcome` fields that `run` does not return at `point` (from shapes, no computation)."""
    returned = outputs_of(jax.eval_shape(lambda: run(**point)))
    missing = [name for name in needed if name not in returned]
    if missing:
        raise ValueError(f"the run does not return {', '.join(missing)}: return lab.runs.summarise(...) "
                         "(an Outcome, or a dict holding its fields), as lab.runs.optimize does.")


def optimize(problem: problems.Problem, num_steps: int, learning_rate, optimizer=optax.sgd, *, start=None,
             tolerance=1e-6, record_every: int = 1, record_path: bool = False, batches=None, **hyper):
    """One run of `optimizer(learning_rate, **hyper)` on `problem` from `start` (default `problem.start`).

    learning_rate is absolute (a fraction c of the problem's 2/L is
    `c * problem.edge_learning_rate`). batches: `descent.Minibatches` for stochastic
    gradients (the Outcome then has no theory: its edge is not 2/L, see
    `lab.minibatch`). Returns (Outcome, Trace): the summaries with the
    optimizer's theory beside them, and the raw trace (for `record_path`).
    """
    start = problem.start if start is None else start
    if _validate.is_concrete(tolerance) and not 0 < float(tolerance) < 1:
        raise ValueError(f"tolerance must be in (0, 1) (a fraction of the initial gap), got {tolerance!r}.")
    num_steps, hyper = descent.checked(problem.data, start, problem.reference, num_steps, descent.DEFAULT_GROWTH,
                                       dict(hyper, learning_rate=learning_rate), batches,
                                       names=("start", "problem.reference"))
    _check_optimizer(optimizer, num_steps)
    if isinstance(optimizer, Scheduled):
        optimizer.check(hyper.get("schedule", 0))
    if batches is not None:  # here: inside _optimize's jit, descent.run's check sees traced data
        descent.check_row_mean(problem.criterion, problem.data, start)
    record_every = _check_record_every(record_every, num_steps)
    outcome, trace = _optimize(problem, start, tolerance, hyper, batches, optimizer=optimizer, num_steps=num_steps,
                               record_every=record_every, record_path=_validate.flag("record_path", record_path))
    if _validate.is_concrete(outcome.iterations_resolved) and not bool(outcome.iterations_resolved):
        rounding = RESOLVED_TOLERANCE * float(jnp.finfo(outcome.gap.dtype).eps) * abs(float(problem.reference.value))
        warn_unresolved(False, outcome.gap.dtype, f" = {float(tolerance) * float(outcome.initial_gap):.3g}",
                        f" = {rounding:.3g}")
    return outcome, trace


def warn_unresolved(resolved, dtype, gap="", rounding=""):
    """Warn, as the caller's caller, where runs' `Outcome.iterations_resolved` is false; gap, rounding: one run's
    tolerance * initial_gap and RESOLVED_TOLERANCE eps |f*|, said where given."""
    resolved = np.asarray(resolved)
    if resolved.all():
        return
    warnings.warn(f"tolerance * initial_gap{gap} lies within {RESOLVED_TOLERANCE:g} eps |f*|{rounding} of 0 for "
                  f"{resolved.size - np.count_nonzero(resolved)} of {resolved.size} runs ({np.dtype(dtype)}): f - f* "
                  "is not told apart from rounding there, so their `iterations` count rounding and come early. Raise "
                  f"the tolerance{', or use float64' if np.dtype(dtype) != np.float64 else ''}.", stacklevel=3)


@functools.partial(jax.jit, static_argnames=("optimizer", "num_steps", "record_every", "record_path"))
def _optimize(problem, start, tolerance, hyper, batches, *, optimizer, num_steps, record_every, record_path):
    """`optimize` as one compiled call: the run and its summaries (eagerly, the summaries' small operations
    would cost more than the run)."""
    trace = descent.run(problem.criterion, problem.data, start, problem.reference, num_steps, optimizer,
                        record_path=record_path, batches=batches, **hyper)
    hyper = dict(hyper)
    learning_rate = hyper.pop("learning_rate")
    known = None if batches is not None else theory(optimizer, hyper)
    return summarise(trace, problem, learning_rate, tolerance, record_every, known), trace


def theory(optimizer, hyper: dict):
    """(beta, nesterov) when the lab knows the optimizer's theory (optax.sgd: plain, heavy ball, Nesterov), else
    None."""
    keywords = {}
    while isinstance(optimizer, functools.partial):
        keywords = {**optimizer.keywords, **keywords}
        optimizer = optimizer.func
    if optimizer is not optax.sgd:
        return None
    beta = hyper.get("momentum", keywords.get("momentum"))
    return (0.0 if beta is None else beta), bool(keywords.get("nesterov", False))


@functools.partial(jax.jit, static_argnums=0)
def _row_gradient_spread(criterion, optimum, start, data):
    """(RMS over rows of the one-row criterion's gradient at `optimum`, ||grad f(start)||)."""
    rows = jax.vmap(lambda x, y: jax.grad(criterion)(optimum, data._replace(X=x[None], y=y[None])))(data.X, data.y)
    return jnp.sqrt(jnp.mean(jnp.sum(rows**2, axis=1))), jnp.linalg.norm(jax.grad(criterion)(start, data))


def probe_start(problem: problems.Problem, scale=1.0):
    """a* plus `scale` times every unit eigenvector of the Hessian at a* of a curvature the dtype resolves: every
    mode excited, the worst-case contraction. Not the null space of a singular Hessian (N < P), along which no run
    moves: there the distance never shrank, every rate read 1 and the best learning rate "below the bracket"."""
    excited = jnp.where(resolved_curvatures(problem.spectrum), problem.spectrum.eigenvectors, 0)  # columns
    return problem.reference.params + scale * excited.sum(axis=1)


def resolved_curvatures(spec) -> jax.Array:
    """(P,) mask of the Hessian's eigenvalues the dtype resolves, h >= L / (2 largest_resolved_kappa): below lies
    rounding, and a singular Hessian's null space."""
    return spec.eigenvalues >= 0.5 * spec.L / spectrum.largest_resolved_kappa(spec.eigenvalues.dtype)


SCHEDULES = ("constant", "exponential", "cosine", "warmup_cosine")


@dataclasses.dataclass(frozen=True)
class Scheduled:
    """An optax optimizer whose learning rate follows an optax schedule picked by a traced index.

    `Scheduled(optax.sgd, num_steps)(learning_rate, schedule=k, ...)` runs the
    optimizer with learning_rate * u_k(t), u_k one of SCHEDULES over
    `num_steps`: constant; exponential decay to 1 % at the end; cosine decay
    to 0; linear warm-up over the first 10 % then cosine decay. The index is
    an ordinary traced value (`jax.lax.switch`), so `schedule` is a sweep axis
    like any other: `{"schedule": [0, 1, 2, 3]}`.
    """

    optimizer: Callable
    num_steps: int

    def __post_init__(self):
        descent.check_optimizer(self.optimizer)  # a factory, its bound hyper-parameters in range
        _validate.count("num_steps", self.num_steps, minimum=2)  # the warm-up's cosine needs a step after it

    @property
    def axis_names(self) -> tuple:
        return ("schedule", *values_of(self.optimizer))

    @staticmethod
    def check(schedule):
        """A concrete schedule must index SCHEDULES (jax.lax.switch would clamp 7 to 3 and -1 to 0)."""
        index = np.asarray(schedule).item() if _validate.is_concrete(schedule) else 0
        if index not in range(len(SCHEDULES)):
            raise ValueError(f"schedule must be an index 0..{len(SCHEDULES) - 1} into {SCHEDULES}, got {index!r}.")

    def __call__(self, learning_rate, schedule=0, **hyper):
        self.check(schedule)
        descent.check_optimizer(self.optimizer, tuple(hyper))  # one bound in self.optimizer would be replaced
        units = (
            optax.constant_schedule(1.0),
            optax.exponential_decay(1.0, self.num_steps, 0.01),
            optax.cosine_decay_schedule(1.0, self.num_steps),
            optax.warmup_cosine_decay_schedule(0.0, 1.0, max(self.num_steps // 10, 1), self.num_steps),
        )
        schedule = jnp.asarray(schedule)
        index = schedule.astype(jnp.int32)  # runs cast every hyper-parameter to their float dtype
        dtype = jnp.result_type(learning_rate)  # optax's count is int32: an integer count gives float32 schedules
        branches = [lambda count, unit=unit: jnp.asarray(unit(count.astype(dtype)), dtype) for unit in units]
        # A traced index no check can see, outside 0..3 or not whole: a NaN learning rate, not the clamped schedule.
        known = (index.astype(schedule.dtype) == schedule) & (index >= 0) & (index < len(units))
        learning_rate = jnp.where(known, learning_rate, jnp.nan).astype(dtype)
        return self.optimizer(learning_rate=lambda count: learning_rate * jax.lax.switch(index, branches, count),
                              **hyper)


def _optimizer_axes(optimizer) -> list:
    """The hyper-parameters of an optimizer factory that a sweep may vary (its learning rate is the run's own axis)."""
    if optimizer is None:
        return []
    names = optimizer.axis_names if isinstance(optimizer, Scheduled) else values_of(optimizer)
    return [name for name in names if name not in ("learning_rate", "eps")]


def values_of(optimizer) -> list:
    """An optimizer factory's parameters that are values a sweep may trace: those without a default, with a number
    as default, or with None for a number (optax.sgd's momentum). Flags (nesterov=False), dtypes, counts (optax.lbfgs's
    memory_size), objects (its linesearch), masks and PRNG keys or seeds change the program or are no number: they
    are bound with functools.partial, never traced."""
    descent.check_optimizer(optimizer, ())
    bound, values = descent.bound_hyper_parameters(optimizer), []  # bound: set once, not a sweep's to vary
    for name, parameter in inspect.signature(optimizer).parameters.items():
        default, kind = parameter.default, parameter.kind
        if kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD) or name.endswith("dtype"):
            continue
        number = (isinstance(default, (int, float, np.integer, np.floating)) and not isinstance(default, bool)
                  or default is inspect.Parameter.empty)
        optional_number = default is None and "typing.Any" not in str(parameter.annotation)  # not adamw's mask
        if (number or optional_number) and name not in NOT_VALUES and name not in bound:
            values.append(name)
    return values


# Parameters of optax factories that take no traced number whatever their default or annotation says: a PRNG key
# or seed (noisy_sgd's: bind it with functools.partial; the run's seed axis draws the data, the start and the
# batches, not the optimizer's own noise), a mask, and counts that set shapes or loops (lbfgs's memory_size,
# lookahead's sync_period, adafactor's min_dim_size_to_factor, which on the lab's vector of parameters changes
# nothing).
NOT_VALUES = ("key", "seed", "mask", "memory_size", "sync_period", "min_dim_size_to_factor")


def _key(seed):
    """A PRNG key from a seed: an integer of magnitude below 2**31 (`Run.check_point` refuses other concrete ones;
    a concrete float one is converted on the host, as float32 would alias above 2**24), keyed as a 32-bit integer.

    A traced seed no check saw (your own `jit`) keys the same way when it is an integer of [-2**31, 2**31) in any
    dtype; any other value (a 64-bit integer beyond, a uint32 from 2**31, a fraction, NaN) folds its bits into that
    key, so that no two seeds share a stream."""
    if _validate.is_concrete(seed):
        seed = np.asarray(seed).astype(np.int32)
    seed = jnp.asarray(seed)
    narrow = jax.random.key(seed.astype(jnp.int32))
    if seed.dtype == jnp.bool_ or (jnp.issubdtype(seed.dtype, jnp.integer) and seed.dtype.itemsize < 4
                                   or seed.dtype == jnp.int32):
        return narrow  # every value keys as itself
    if jnp.issubdtype(seed.dtype, jnp.floating) and seed.dtype.itemsize < 4:
        seed = seed.astype(jnp.float32)  # exact; 16-bit floats have no 32-bit word to fold
    exact = seed.astype(jnp.int32).astype(seed.dtype) == seed  # integral and within int32, for signed integers
    if jnp.issubdtype(seed.dtype, jnp.unsignedinteger):
        exact = exact & ((seed >> 31) == 0)  # a uint32 from 2**31 would wrap onto a negative seed's key
    elif jnp.issubdtype(seed.dtype, jnp.floating):  # the cast saturates: 2**31 and beyond would read 2**31 - 1
        exact = exact & (seed >= -(2.0**31)) & (seed < 2.0**31)
    wide = narrow
    for word in jax.lax.bitcast_convert_type(seed, jnp.uint32).reshape(-1):  # one word, or two for 64 bits
        wide = jax.random.fold_in(wide, word)
    return jax.random.wrap_key_data(jnp.where(exact, jax.random.key_data(narrow), jax.random.key_data(wide)))


def _check_optimizer(optimizer, num_steps=None):
    """The hyper-parameters bound in an optimizer factory (functools.partial(optax.sgd, momentum=1.5)) checked;
    a `Scheduled` optimizer's schedules last the run's `num_steps` at least (a shorter cosine would stop the run
    at 0; a longer one runs the first part of its decay)."""
    descent.check_optimizer(optimizer)
    while isinstance(optimizer, functools.partial):  # functools.partial(Scheduled(...), schedule=2) too
        optimizer = optimizer.func
    if isinstance(optimizer, Scheduled) and num_steps is not None and optimizer.num_steps < num_steps:
        raise ValueError(f"Scheduled(..., num_steps={optimizer.num_steps}) in a run of {num_steps} steps: its "
                         f"schedules would end at step {optimizer.num_steps}; give Scheduled(..., {num_steps}).")


def _check_record_every(record_every, num_steps: int) -> int:
    """record_every, a count that divides num_steps: the curves then end at the final step, where the converging
    rule compares final_gap with the gap a whole period of two earlier (an odd T against the even steps recorded
    read a period-two oscillation as converging, and moved the measured edge by 20 %)."""
    every = _validate.count("record_every", record_every)
    if num_steps % every:
        raise ValueError(f"record_every = {every} must divide num_steps = {num_steps}, so that the curves end at the "
                         f"final step: e.g. num_steps = {num_steps + every - num_steps % every}.")
    return every


def _check_common(run):
    _validate.count("num_steps", run.num_steps)
    _check_optimizer(run.optimizer, run.num_steps)
    _check_record_every(run.record_every, run.num_steps)
    if not 0 < run.tolerance < 1:
        raise ValueError(f"tolerance must be in (0, 1) (a fraction of the initial gap), got {run.tolerance!r}.")
    if run.dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {run.dtype!r}.")
    if run.dtype == "float64" and not jax.config.jax_enable_x64:
        raise ValueError("dtype='float64' needs JAX's float64 switch, which is off (JAX would compute in float32 "
                         "while the results say float64): call jax.config.update('jax_enable_x64', True) first, "
                         "or use dtype='float32'.")


@jax.tree_util.register_static
@dataclasses.dataclass(frozen=True)
class LinearRegressionRun(Run):
    """Least squares or ridge on `problems.regression_problem(key(seed), n, d, kappa)`, optimized from a = 0.

    Call it as run(learning_rate= or learning_rate_over_edge=, kappa=10.0, seed=0,
    l2=0.0, **hyper): the step size absolute, or as the fraction c of the
    run's own 2/L (learning_rate = c * 2/L); `l2` is ridge's penalty weight
    (`Data.l2`); `hyper` goes to the optimizer (momentum, b1, ...).
    With `gram`, the criterion is written on X^T X / N and X^T y / N: same
    iterates, a cost per step of P^2 instead of N P. `start="eigen"` starts
    at a* plus every unit eigenvector of the Hessian, so that every mode is
    excited equally and the measured contraction is the worst case. Frozen
    and hashable, so equal configurations share one compiled sweep.
    """

    n: int
    d: int
    num_steps: int
    criterion: str = "least_squares"
    gram: bool = False
    optimizer: Callable = optax.sgd
    tolerance: float = 1e-6
    noise: float = 0.1
    dtype: str = "float64"
    record_every: int = 1
    start: str = "zero"

    def __post_init__(self):
        _validate.count("n", self.n)
        _validate.count("d", self.d)
        _check_common(self)
        _validate.nonnegative("noise", self.noise, zero="exact targets")
        if self.criterion not in ("least_squares", "ridge"):
            raise ValueError(f"criterion must be 'least_squares' or 'ridge', got {self.criterion!r}.")
        if self.start not in ("zero", "eigen"):
            raise ValueError(f"start must be 'zero' (a_0 = 0) or 'eigen' (a* plus every unit eigenvector), "
                             f"got {self.start!r}.")

    def check_axes(self, axes: dict):
        super().check_axes(axes)
        _validate.within_dtype(axes, self.dtype, AXIS_VALUE)
        if "kappa" in axes:
            _validate.kappa_within_dtype(axes["kappa"], self.dtype)
        if "l2" in axes and self.criterion == "least_squares" and np.any(axes["l2"] != 0):
            raise ValueError("axis 'l2' is the ridge penalty: least squares ignores it. Use criterion='ridge'.")

    def bytes_per_run(self, point=None) -> int:
        """Memory one run holds: its full curves inside the scan plus the recorded ones."""
        itemsize = np.dtype(self.dtype).itemsize
        return 2 * (self.num_steps + 1) * itemsize * 2 + 32 * itemsize

    def bytes_per_setting(self, point=None) -> int:
        return _data_bytes(self.n, self.d + 1, self.dtype)

    def __call__(self, *, learning_rate=None, learning_rate_over_edge=None, kappa=10.0, seed=0, l2=0.0,
                 **hyper) -> Outcome:
        # `at` checks the setting
        self.check_point(learning_rate=learning_rate, learning_rate_over_edge=learning_rate_over_edge)
        return self.at(kappa=kappa, seed=seed, l2=l2, **hyper)(learning_rate=learning_rate,
                                                               learning_rate_over_edge=learning_rate_over_edge)

    def near_optimum(self):
        return dataclasses.replace(self, start="eigen")

    @property
    def problem_name(self):
        return f"{self.criterion.replace('_', ' ')}, N = {self.n}, D = {self.d}"

    def at(self, kappa=10.0, seed=0, l2=0.0, **hyper):
        """The runs of one setting as a function of the step size, its problem built once."""
        self.check_point(kappa=kappa, seed=seed, l2=l2, **hyper)
        dtype = jnp.dtype(self.dtype)
        problem = problems.regression_problem(_key(seed), self.n, self.d, kappa, self.noise, l2=l2, gram=self.gram,
                                              criterion=getattr(criteria, self.criterion), dtype=dtype)
        start = problem.start if self.start == "zero" else probe_start(problem)
        hyper = {name: jnp.asarray(value, dtype) for name, value in hyper.items()}

        def at_learning_rate(*, learning_rate=None, learning_rate_over_edge=None):
            learning_rate = absolute_learning_rate(learning_rate, learning_rate_over_edge, problem.edge_learning_rate,
                                                   dtype)
            return optimize(problem, self.num_steps, learning_rate, self.optimizer, start=start,
                            tolerance=self.tolerance, record_every=self.record_every, **hyper)[0]

        return at_learning_rate


def summarise(trace: descent.Trace, problem: problems.Problem, learning_rate, tolerance, record_every=1,
              momentum=(0.0, False)) -> Outcome:
    """Summaries of a trace, and the optimizer's theory at `learning_rate` beside them.

    momentum: (beta, nesterov) of the optimizer that ran (`theory`), or None where there is no theory.
    """
    gap, distance, spec = trace.gap, trace.distance, problem.spectrum
    # theory in the run's precision (a float32 tolerance of a float64 run too)
    learning_rate, tolerance = jnp.asarray(learning_rate, gap.dtype), jnp.asarray(tolerance, gap.dtype)
    reached = gap <= tolerance * gap[0]
    iterations = jnp.where(jnp.any(reached) & ~trace.diverged, jnp.argmax(reached), -1)
    nan = jnp.full((), jnp.nan, gap.dtype)
    if momentum is None:
        edge, rate, kind = nan, nan, jnp.int32(THEORY_KINDS.index("none"))
    else:
        beta, nesterov = jnp.asarray(momentum[0], gap.dtype), momentum[1]
        edge = (spectrum.nesterov_threshold(spec.L, beta) if nesterov else spectrum.heavy_ball_threshold(spec.L, beta))
        # over the curvatures the dtype resolves: along a singular H's null space (N < P) f is flat and no gap
        # converges or grows; a rounding mu of -1e-15 there read the rate as 1 + 1e-16, a converging run as "never"
        curvatures = jnp.where(resolved_curvatures(spec), spec.eigenvalues, spec.L)
        rate = spectrum.momentum_rate(learning_rate, beta, curvatures, nesterov)
        kind = jnp.where(beta == 0, THEORY_KINDS.index("gradient descent"),
                         THEORY_KINDS.index("nesterov" if nesterov else "heavy ball")).astype(jnp.int32)
    predicted = spectrum.predicted_iterations(rate, 1.0, tolerance)
    reference_norm = jnp.linalg.norm(problem.reference.params)
    outcome = Outcome(
        gap=gap[::record_every],
        distance=distance[::record_every],
        initial_gap=gap[0],
        final_gap=gap[-1],
        final_distance=distance[-1],
        diverged=trace.diverged,
        diverged_at=trace.diverged_at,
        iterations=iterations.astype(jnp.int32),
        iterations_resolved=iterations_resolved(tolerance, gap[0], problem.reference.value),
        measured_rate=measured_rate(distance, trace.diverged_at, reference_norm),
        rate_resolution=rate_resolution(distance, trace.diverged_at, reference_norm),
        L=spec.L,
        mu=spec.mu,
        condition_number=spec.kappa,
        learning_rate=learning_rate,
        learning_rate_over_edge=learning_rate / problem.edge_learning_rate,
        theory_edge_learning_rate=jnp.asarray(edge, gap.dtype),
        theory_kind=kind,
        predicted_rate=jnp.asarray(rate, gap.dtype),
        predicted_iterations=jnp.where(predicted < 2**31 - 1, predicted, -1).astype(jnp.int32),
        reference_gradient_norm=problem.reference.gradient_norm,
        reference_status=problem.reference.status,
        record_every=jnp.asarray(record_every, jnp.int32),
        tolerance=jnp.asarray(tolerance, gap.dtype),
    )
    return _without_measurements(outcome, problem.reference.status == reference.INVALID_DATA)


def _without_measurements(outcome: Outcome, invalid) -> Outcome:
    """Where `invalid` (traced data `problems.problem`'s checks would refuse: `reference.INVALID_DATA`), every
    measurement and theory NaN and every count -1: they were read against a minimum that is none (logistic l2 < 0
    under jit gave a final gap of -4e14). The step size, the tolerance and the statuses stay as given."""
    kept = ("learning_rate", "tolerance", "reference_status", "record_every", "theory_kind")
    nan = jnp.where(invalid, jnp.nan, 0.0)  # x + nan: x, or NaN (one scalar select, not one per field)

    def blank(value):
        if jnp.issubdtype(value.dtype, jnp.floating):
            return value + nan.astype(value.dtype)
        return value & ~invalid if value.dtype == bool else jnp.where(invalid, -1, value).astype(value.dtype)

    return outcome._replace(**{name: blank(value) for name, value in outcome._asdict().items() if name not in kept})


RESOLVED_TOLERANCE = 10  # a target gap within this many eps |f*| of 0 is not told apart from rounding


def iterations_resolved(tolerance, initial_gap, f_star):
    """Whether tolerance * initial_gap lies above RESOLVED_TOLERANCE eps |f*|, so that counting iterations to it
    counts convergence.

    Near a* f(a) is known to a few eps |f*| (and f* itself rounded by as
    much): a target gap below that is crossed by rounding, early (float32
    least squares: 7 % early at 1 eps |f*|, 0.4 % at 10, none at 100).
    """
    gap = jnp.asarray(initial_gap)
    eps = jnp.finfo(gap.dtype).eps
    return jnp.asarray(tolerance, gap.dtype) * gap > RESOLVED_TOLERANCE * eps * jnp.abs(jnp.asarray(f_star, gap.dtype))


def measured_rate(distance, diverged_at, reference_norm=0.0):
    """Per-step factor of ||a_t - a*|| over the second half of the curve's clean part.

    The clean part ends at the divergence step, or where the distance falls
    below 1e3 machine epsilons of the larger of its start and ||a*|| =
    `reference_norm` (rounding noise below that: the iterates themselves are
    known to eps ||a*||, so a run started 1e-3 from an a* of norm 1e3 sat on a
    floor of 3e-13 that read as the rate 1). NaN where the start itself lies
    below that floor, or the run diverged at once or at its first step: no rate
    to measure; 0 where the curve reaches the floor in one step.
    """
    return _clean_tail(distance, diverged_at, reference_norm)[0]


def rate_resolution(distance, diverged_at, reference_norm=0.0):
    """How well `measured_rate` is known, relative to itself: (e / d_t1) / (t1 - t0).

    The rate is (d_t1 / d_t0)^(1 / (t1 - t0)) over the clean tail; its end d_t1
    carries the iterates' rounding e: eps s per step (s the larger of
    ||a_0 - a*|| and ||a*||), added up at random over the steps the run has not
    yet contracted away, e = eps s / sqrt(1 - rate^2) (at most eps s sqrt(t1 + 1));
    the exponent spreads it over t1 - t0 steps: 3e-5 for a float64 curve that
    reaches the floor in 60 steps, far more than the rounding of the rate itself.
    Two rates closer than this are not told apart (the best learning rate's
    search). 0 where the rate is 0 (the floor in one step), NaN where it is NaN.
    """
    return _clean_tail(distance, diverged_at, reference_norm)[1]


def _clean_tail(distance, diverged_at, reference_norm):
    """(measured_rate, rate_resolution) of one distance curve."""
    t = jnp.arange(distance.shape[0], dtype=jnp.int32)
    end = jnp.where(diverged_at >= 0, diverged_at - 1, distance.shape[0] - 1).astype(jnp.int32)
    floor = descent.ROUNDING * jnp.finfo(distance.dtype).eps * jnp.maximum(distance[0], reference_norm)
    clean = (distance > floor) & (t <= end)
    t1 = jnp.maximum(jnp.sum(jnp.cumprod(clean)) - 1, 0)
    t0 = t1 // 2
    ratio = distance[t1] / jnp.where(distance[t0] > 0, distance[t0], 1)
    steps = jnp.maximum(t1 - t0, 1)
    rate = jnp.where(t1 > t0, ratio ** (1 / steps).astype(ratio.dtype), 0.0)
    # Each step rounds the iterate by about eps s and the run contracts what came before by the rate: over t1 steps
    # the roundings add up (at random) to eps s sqrt(sum_k rate^2k), at most sqrt(1 / (1 - rate^2)) or sqrt(t1 + 1).
    decay = 1 - jnp.minimum(rate, 1) ** 2
    accumulated = jnp.sqrt(1 / jnp.maximum(decay, 1 / (t1 + 1).astype(floor.dtype)))
    end_rounding = accumulated * (floor / descent.ROUNDING) / jnp.where(distance[t1] > 0, distance[t1], 1)
    resolution = jnp.where(t1 > t0, end_rounding / steps.astype(floor.dtype), 0.0)
    # A one-point clean part is a rate of 0 only where the next distance lies on the floor: not where the run
    # diverged at step 1 or the next distance is NaN.
    floor_in_one_step = (end >= 1) & (distance[jnp.minimum(1, distance.shape[0] - 1)] <= floor)
    # Momentum's distance oscillates: the clean part can end at a trough while the peaks after it still lie above
    # the floor, and the two-point rate is then off by up to (peak / floor)^(1 / steps). Where the peaks after it
    # lie above floor * 1.01^steps (the rate off by more than 1 %, or the run passed through a* and left it again:
    # kappa = 1, exactly, a rate of 0 from a zero), there is no rate; below, it stands (heavy ball at beta 0.9
    # crossing the floor 2.4 times under its peaks, 266 steps: 0.3 %). Never above sqrt(floor * scale), halfway to
    # where the run started (in decades): a return there is a run that left a*, however long its clean part.
    scale = jnp.maximum(distance[0], reference_norm)
    allowance = jnp.minimum(floor * 1.01 ** steps.astype(floor.dtype), jnp.sqrt(floor * scale))
    relapsed = jnp.any((distance > allowance) & (t > (t1 + 1).astype(t.dtype)) & (t <= end))
    # A clean part that met a floor within a decade of the start measured the start's transient, not a rate (float32
    # next to an a* of norm 150: a floor of 0.018 for a start 0.033 away read 0.71 where the run contracts by 0.996).
    transient = (t1.astype(end.dtype) < end) & (floor > 0.1 * distance[0])
    measurable = clean[0] & ((t1 > t0) | floor_in_one_step) & ~transient & ~relapsed
    return jnp.where(measurable, rate, jnp.nan), jnp.where(measurable, resolution, jnp.nan)


PROBE = 1e-2  # start="eigen" off a quadratic: close enough to a* for its Hessian to rule, far above rounding


@jax.tree_util.register_static
@dataclasses.dataclass(frozen=True)
class LogisticRun(Run):
    """Logistic regression on `problems.classification_problem(key(seed), n, d, separation, kappa, l2)` from a = 0.

    Call it as run(learning_rate= or learning_rate_over_edge=, l2=1e-2, seed=0,
    separation=1.0, kappa=1.0, **hyper);
    `kappa` is the condition number of the features' within-class covariance
    (features of different scales). Logistic regression has no closed form:
    the reference is Newton's method inside the same compiled call. Its
    Hessian changes along the path and is largest at a = 0 (s'(z) <= 1/4 is
    reached at z = 0), so `L_start`, the top eigenvalue there, bounds the
    curvature everywhere: from a = 0 the unit of `learning_rate_over_edge` (in and
    out) is 2 / L_start, and c < 1 is stable from anywhere. The theory fields of the `Outcome` (L, mu,
    predicted rate) are those of the Hessian at the optimum, which governs
    the final linear rate and the local edge 2/L. `start="eigen"` probes that
    neighbourhood: it starts at a* + PROBE * (every unit eigenvector of the
    Hessian at a*), and `learning_rate_over_edge` is then in units of 2/L at a*. With
    `sharpness_every = k > 0` the top Hessian eigenvalue is also measured
    (power iteration on Hessian-vector products) at every k-th iterate.
    Returns a dict: the `Outcome`'s fields, `L_start`, and with `sharpness_every` `sharpness` and `sharpness_every`.
    """

    n: int
    d: int
    num_steps: int
    optimizer: Callable = optax.sgd
    tolerance: float = 1e-6
    dtype: str = "float64"
    record_every: int = 1
    sharpness_every: int = 0
    power_iterations: int = 100
    start: str = "zero"

    stability_rule = "converging"  # past the edge, logistic runs oscillate without growing

    def __post_init__(self):
        _validate.count("n", self.n, 2)
        _validate.count("d", self.d)
        _check_common(self)
        _validate.count("sharpness_every", self.sharpness_every, 0)
        if self.start not in ("zero", "eigen"):
            raise ValueError(f"start must be 'zero' (a_0 = 0) or 'eigen' (next to a*), got {self.start!r}.")

    def check_axes(self, axes: dict):
        super().check_axes(axes)
        _validate.within_dtype(axes, self.dtype, AXIS_VALUE)
        if "kappa" in axes:
            _validate.kappa_within_dtype(axes["kappa"], self.dtype)
        if "l2" in axes and not np.all(axes["l2"] > 0):
            raise ValueError(f"axis 'l2' must hold values > 0 for logistic regression (separable classes have no "
                             f"finite optimum without a penalty), got {axes['l2']}.")

    def bytes_per_run(self, point=None) -> int:
        itemsize = np.dtype(self.dtype).itemsize
        curves = 2 * (self.num_steps + 1) * itemsize * 2 + 32 * itemsize
        return curves + 8 * (self.d + 1) * (self.num_steps + 1) * bool(self.sharpness_every)

    def bytes_per_setting(self, point=None) -> int:
        return _data_bytes(self.n, self.d + 1, self.dtype)

    def __call__(self, *, learning_rate=None, learning_rate_over_edge=None, l2=1e-2, seed=0, separation=1.0, kappa=1.0,
                 **hyper) -> dict:
        # `at` checks the setting
        self.check_point(learning_rate=learning_rate, learning_rate_over_edge=learning_rate_over_edge)
        return self.at(l2=l2, seed=seed, separation=separation, kappa=kappa, **hyper)(
            learning_rate=learning_rate, learning_rate_over_edge=learning_rate_over_edge)

    def near_optimum(self):
        return dataclasses.replace(self, start="eigen")

    @property
    def problem_name(self):
        return f"logistic regression, N = {self.n}, D = {self.d}"

    def at(self, l2=1e-2, seed=0, separation=1.0, kappa=1.0, **hyper):
        """The runs of one setting as a function of the step size, its problem (Newton) built once."""
        self.check_point(l2=l2, seed=seed, separation=separation, kappa=kappa, **hyper)
        dtype = jnp.dtype(self.dtype)
        problem = problems.classification_problem(_key(seed), self.n, self.d, separation, kappa, l2, dtype=dtype)
        L_start = spectrum.spectrum(criteria.logistic, problem.start, problem.data).L
        if self.start == "zero":
            start, unit = problem.start, spectrum.stability_threshold(L_start)
        else:
            start, unit = probe_start(problem, PROBE), problem.edge_learning_rate
        hyper = {name: jnp.asarray(value, dtype) for name, value in hyper.items()}

        def at_learning_rate(*, learning_rate=None, learning_rate_over_edge=None):
            learning_rate = absolute_learning_rate(learning_rate, learning_rate_over_edge, unit, dtype)
            outcome, trace = optimize(problem, self.num_steps, learning_rate, self.optimizer, start=start,
                                      tolerance=self.tolerance, record_every=self.record_every,
                                      record_path=self.sharpness_every > 0, **hyper)
            outcome = outcome._asdict()
            if self.sharpness_every:
                key = jax.random.key(0)
                top = jax.vmap(lambda a: spectrum.largest_eigenvalue(criteria.logistic, a, problem.data, key,
                                                                     self.power_iterations))
                outcome["sharpness"] = top(trace.path[:: self.sharpness_every])
                outcome["sharpness_every"] = jnp.asarray(self.sharpness_every, jnp.int32)  # its own iterations
            return outcome | {"learning_rate_over_edge": learning_rate / unit, "L_start": L_start}

        return at_learning_rate


STARTS = ("zero", "random", "eigen")
BATCH_NEEDS_LARGEST = "batch_size needs mini-batches: give the run largest_batch > 0 (0 is the full gradient)."


@functools.partial(jax.tree_util.register_dataclass, data_fields=("data",),
                   meta_fields=("criterion", "num_steps", "start", "init_scale", "size", "resample",
                                "optimizer", "tolerance", "method", "reference_tol", "reference_max_iter",
                                "stability_rule", "record_every", "largest_batch", "replacement"))
@dataclasses.dataclass(frozen=True, eq=False)
class CriterionRun(Run):
    """Your criterion on your data: run(learning_rate= or learning_rate_over_edge=, seed=0, **hyper), its problem built
    per seed inside the sweep.

    criterion: pure `f(a, data) -> scalar`; data: `lab.criteria.Data`, or any
        pytree of arrays with `resample=False` and `size` given.
    seed: 0 is the data as given; seed k > 0 with `resample` is a bootstrap
        resample of its rows (`Data.X`, `Data.y`), with its own reference
        optimum and Hessian: the seed axis shows how the edge varies with the
        sample. Without `resample`, seeds change only a random initialisation.
    init_scale: the reference search starts at a = 0, or, when > 0, at
        init_scale * N(0, 1) drawn from the seed (a network, whose zero is a
        saddle, then finds the minimum near its own initialisation).
    start: where the run starts: 'zero', 'random' (that initialisation) or
        'eigen' (a* plus PROBE * every unit eigenvector of the Hessian at a*,
        to measure the local edge 2/L).
    size: the number of parameters P, an integer >= 1; by default `Data.X`'s columns (a linear model's),
        needed for other data and for a criterion of other parameters on `Data` rows (a network:
        `networks.size(widths)`); a criterion that does not take the default is refused, naming size.
    stability_rule: 'bounded' or 'converging' (losses with bounded gradients, as Huber's).
    method: how the reference optimum is found (`lab.reference.solve`); 'auto'
        becomes 'newton' at construction when Newton alone converges on seed 0
        (the sweep then compiles Newton only). reference_tol, reference_max_iter:
        the gradient norm the reference must reach and the solver's iterations
        (`problems.problem`'s tol and max_iter; default 1e-10 in float64, 1e-5 in
        float32): a network whose minimum L-BFGS approaches slowly may need a looser
        tol, which bounds f* 's error by about tol^2 / mu.
    largest_batch: > 0 for mini-batch gradients: the axis `batch_size` (B, 1 to
        largest_batch, default largest_batch) draws B rows per step from the
        seed (`lab.descent.Minibatches`, all B masked to one shape); 0 for
        the full gradient. replacement: rows drawn independently, or B
        distinct rows per step.
    """

    criterion: Callable
    data: Any
    num_steps: int
    start: str = "zero"
    init_scale: float = 0.0
    size: int | None = None
    resample: bool = True
    optimizer: Callable = optax.sgd
    tolerance: float = 1e-6
    method: str = "auto"
    reference_tol: float | None = None
    reference_max_iter: int | None = None
    stability_rule: str = "bounded"
    record_every: int = 1
    largest_batch: int = 0
    replacement: bool = True

    def __post_init__(self):
        _validate.count("num_steps", self.num_steps)
        _check_optimizer(self.optimizer, self.num_steps)
        _validate.count("largest_batch", self.largest_batch, 0)
        _validate.flag("replacement", self.replacement)
        _validate.flag("resample", self.resample)
        # numpy arrays in a hand-built Data would meet tracers in the sweep's bootstrap (a TracerArrayConversionError)
        object.__setattr__(self, "data", jax.tree.map(lambda x: jnp.asarray(x) if isinstance(x, np.ndarray) else x,
                                                      self.data))
        if self.largest_batch and not isinstance(self.data, criteria.Data):
            raise ValueError("largest_batch > 0 draws rows of the data: pass data as lab.criteria.Data.")
        if self.largest_batch and not self.replacement and self.largest_batch > self.data.X.shape[0]:
            raise ValueError(f"largest_batch = {self.largest_batch} distinct rows per step, but the data have "
                             f"{self.data.X.shape[0]}: lower it, or use replacement=True.")
        _check_record_every(self.record_every, _validate.count("num_steps", self.num_steps))
        if not callable(self.criterion):
            raise ValueError(f"criterion must be a function f(a, data) -> scalar, got {type(self.criterion).__name__}.")
        if self.start not in STARTS:
            raise ValueError(f"start must be one of {STARTS}, got {self.start!r}.")
        _validate.nonnegative("init_scale", self.init_scale, zero="the reference search starts at a = 0")
        if self.start == "random" and not self.init_scale > 0:
            raise ValueError("start='random' starts at init_scale * N(0, 1): give init_scale > 0.")
        if self.stability_rule not in STABILITY_RULES:
            raise ValueError(f"stability_rule must be one of {STABILITY_RULES}, got {self.stability_rule!r}.")
        if not 0 < self.tolerance < 1:
            raise ValueError(f"tolerance must be in (0, 1) (a fraction of the initial gap), got {self.tolerance!r}.")
        if self.resample and not isinstance(self.data, criteria.Data):
            raise ValueError("resample=True draws bootstrap samples of Data rows; pass data as lab.criteria.Data "
                             "(lab.problems.make_data) or resample=False.")
        if self.size is None and problems.problem_size(self.data) is None:
            raise ValueError(f"size (the number of parameters) is needed: data of type {type(self.data).__name__} "
                             "does not say it.")
        if self.reference_tol is not None:
            _validate.positive("reference_tol", self.reference_tol)
        if self.reference_max_iter is not None:
            _validate.count("reference_max_iter", self.reference_max_iter)
        if self.size is not None:
            _validate.count("size", self.size)
        elif _validate.is_concrete(self.data) and (
                error := problems.default_size_error(self.criterion, self.data)) is not None:
            raise ValueError(f"{getattr(self.criterion, '__name__', 'the criterion')}(a, data) with a of "
                             f"{problems.problem_size(self.data)} parameters, the default size (data.X's columns), "
                             f"raised {type(error).__name__}: {error}. If it has other parameters, pass size=P "
                             "(a network: networks.size(widths); lab sweep: --size P).") from error
        if _validate.is_concrete(self.data):  # the criterion, the data and seed 0's reference, checked before any sweep
            start = self._init(self.data, jax.random.fold_in(_key(0), 1))
            self._settle_method(start)
            if self.largest_batch:
                descent.check_row_mean(self.criterion, self.data, start)

    def _settle_method(self, start):
        """Solve seed 0's problem from `start`; settle 'auto' on 'newton' when Newton alone converges there.

        Every run of a sweep then compiles Newton only, not Newton, L-BFGS and Newton again (which a
        convex criterion never needs); a resample where Newton fails would report it in its status. Not
        for the lab's quadratics, whose 'auto' is the closed form: on a rank-deficient design Newton stops at
        some minimiser, not the minimum-norm one gradient descent from 0 reaches.
        """
        if self.method == "auto" and self.criterion not in reference.QUADRATICS:
            try:
                problems.problem(self.criterion, self.data, start, method="newton", **self._reference_options)
                object.__setattr__(self, "method", "newton")  # frozen: settled once, at construction
                return
            except ValueError:
                pass
        problems.problem(self.criterion, self.data, start, method=self.method, **self._reference_options)

    @property
    def _reference_options(self) -> dict:
        return {"tol": self.reference_tol, "max_iter": self.reference_max_iter}

    def _init(self, data, key):
        """Where the reference search starts: zeros, or init_scale * N(0, 1)."""
        size = self.size if self.size is not None else problems.problem_size(data)
        dtype = jax.tree_util.tree_leaves(data)[0].dtype
        dtype = dtype if jnp.issubdtype(dtype, jnp.floating) else jnp.result_type(float)
        if self.init_scale > 0:
            return self.init_scale * jax.random.normal(key, (size,), dtype)
        return jnp.zeros(size, dtype)

    def __call__(self, *, learning_rate=None, learning_rate_over_edge=None, seed=0, batch_size=None,
                 **hyper) -> Outcome:
        # `at` checks the setting
        self.check_point(learning_rate=learning_rate, learning_rate_over_edge=learning_rate_over_edge)
        return self.at(seed=seed, batch_size=batch_size, **hyper)(learning_rate=learning_rate,
                                                                  learning_rate_over_edge=learning_rate_over_edge)

    def check_axes(self, axes: dict):
        super().check_axes(axes)
        _validate.within_dtype(axes, _validate.data_dtype(self.data) or jnp.result_type(float), AXIS_VALUE)
        if "batch_size" in axes:
            values = axes["batch_size"]
            if not self.largest_batch:
                raise ValueError(BATCH_NEEDS_LARGEST)
            if not np.all((values >= 1) & (values <= self.largest_batch) & (np.mod(values, 1) == 0)):
                raise ValueError(f"axis 'batch_size' must hold integers in [1, largest_batch = {self.largest_batch}], "
                                 f"got {values}.")
        # next to a*, once per sweep or search (not again for each point a traced run checks)
        if self.start == "eigen" and self.largest_batch and _validate.is_concrete(self.data) and not _validate.staged():
            self._warn_if_noise_rules_near_the_optimum(int(np.min(axes.get("batch_size", self.largest_batch))))

    def bytes_per_setting(self, point=None) -> int:
        return PROBLEM_WORKSPACE * sum(np.asarray(x).nbytes for x in jax.tree_util.tree_leaves(self.data))

    def near_optimum(self):
        return dataclasses.replace(self, start="eigen")

    def _warn_if_noise_rules_near_the_optimum(self, b):
        """Next to a* (the edge search's start, a* + PROBE per eigen-direction) mini-batch gradients carry the rows'
        own gradients at a*, which vanish only where the model fits every row (interpolating data). Where their
        spread over the smallest batch B = b exceeds 1 % of the gradient at that start, SGD's noise floor decides the
        runs: at B = 16 on the diabetes data with 0.13 % noise added to an exact fit, edges of 0.33-0.82 x 2/L where
        SGD is stable to 0.9 x 2/L (the gap hovers; the rule reads the floor crossing the start's gap)."""
        problem = problems.problem(self.criterion, self.data, self._init(self.data, jax.random.fold_in(_key(0), 1)),
                                   method=self.method, **self._reference_options)
        start, n = probe_start(problem, PROBE), self.data.X.shape[0]
        spread, gradient = _row_gradient_spread(self.criterion, problem.reference.params, start, self.data)
        over_batch = float(spread) / np.sqrt(b) * (np.sqrt((n - b) / max(n - 1, 1)) if not self.replacement else 1.0)
        if over_batch > 0.01 * float(gradient):
            warnings.warn(
                f"mini-batch runs next to a* on data the criterion does not fit row by row: its rows' gradients at a* "
                f"spread by {float(spread):.3g} (RMS), {over_batch:.3g} over batches of {b}, against a gradient of "
                f"{float(gradient):.3g} where the edge search starts (a* + {PROBE:g} per eigen-direction): SGD's noise "
                "floor, not its stability, decides these runs, and an edge measured there is where that floor "
                "crosses the start's gap. Measure mini-batch edges on data the model interpolates "
                "(lab.problems.interpolating), or the mean square's edge (lab.minibatch.mean_square_edge).",
                stacklevel=5)  # the caller of sweep or edge_and_best (through checked_axes and check_axes)

    @property
    def problem_name(self):
        """'huber, N = 442, P = 11': the criterion, its data's rows (`Data`) and the parameters it fits."""
        size = self.size if self.size is not None else problems.problem_size(self.data)
        rows = f", N = {self.data.X.shape[0]}" if isinstance(self.data, criteria.Data) else ""
        return f"{name_of(self.criterion).replace('_', ' ')}{rows}, P = {size}"

    def at(self, seed=0, batch_size=None, **hyper):
        """The runs of one setting as a function of the step size, its problem built once (the edge search's loop)."""
        self.check_point(seed=seed, batch_size=batch_size, **hyper)
        key = _key(seed)
        batches = None
        if batch_size is not None and not self.largest_batch:
            raise ValueError(BATCH_NEEDS_LARGEST)
        if self.largest_batch:
            size = self.largest_batch if batch_size is None else batch_size
            batches = descent.Minibatches(size, jax.random.fold_in(key, 2), self.largest_batch, self.replacement)
        data = self.data
        if self.resample:
            n = data.X.shape[0]
            rows = jnp.where(jnp.asarray(seed) == 0, jnp.arange(n), jax.random.randint(key, (n,), 0, n))
            data = data._replace(X=data.X[rows], y=data.y[rows])
        problem = problems.problem(self.criterion, data, self._init(data, jax.random.fold_in(key, 1)),
                                   method=self.method, **self._reference_options)
        dtype = problem.start.dtype
        start = {"zero": jnp.zeros_like(problem.start), "random": problem.start}.get(self.start)
        start = probe_start(problem, PROBE) if start is None else start
        hyper = {name: jnp.asarray(value, dtype) for name, value in hyper.items()}

        def at_learning_rate(*, learning_rate=None, learning_rate_over_edge=None):
            learning_rate = absolute_learning_rate(learning_rate, learning_rate_over_edge, problem.edge_learning_rate,
                                                   dtype)
            return optimize(problem, self.num_steps, learning_rate, self.optimizer, start=start,
                            tolerance=self.tolerance, record_every=self.record_every, batches=batches,
                            **hyper)[0]

        return at_learning_rate
