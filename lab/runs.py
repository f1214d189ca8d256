"""Standard runs: one pure function from hyper-parameters to an `Outcome`, ready for a sweep.

A run generates its data, computes its reference optimum and its curvature,
optimizes, and summarises the result against theory, all inside one traced
function. A sweep vectorises it: data that depends only on (kappa, seed) is
computed once per setting and shared by every step size, so the per-step
work of many step sizes becomes one matrix-matrix product.
"""

import dataclasses
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lab import _validate, criteria, descent, problems, reference, spectrum, stability


class Outcome(NamedTuple):
    """What one run reports: curves over iterations, summaries, and the theory beside them.

    gap, distance: (T // record_every + 1,) f(a_t) - f* and ||a_t - a*||.
    initial_gap, final_gap, final_distance: at t = 0 and t = T.
    diverged, diverged_at: the divergence rule of `lab.descent` (-1: never).
    iterations: first t with gap_t <= tolerance * gap_0, read off the full curve (-1: never).
    measured_rate: per-step contraction of ||a_t - a*|| measured on the curve's
        clean tail (before the rounding floor or the divergence).
    L, mu, condition_number: the Hessian's extreme eigenvalues and their ratio.
    learning_rate, step_over_edge: the absolute step and step / (2 / L).
    predicted_rate: max(|1 - step mu|, |1 - step L|), gradient descent's contraction.
    predicted_iterations: iterations gradient descent needs in theory (-1: never).
    """

    gap: jax.Array
    distance: jax.Array
    initial_gap: jax.Array
    final_gap: jax.Array
    final_distance: jax.Array
    diverged: jax.Array
    diverged_at: jax.Array
    iterations: jax.Array
    measured_rate: jax.Array
    L: jax.Array
    mu: jax.Array
    condition_number: jax.Array
    learning_rate: jax.Array
    step_over_edge: jax.Array
    predicted_rate: jax.Array
    predicted_iterations: jax.Array


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

    @property
    def axis_names(self) -> tuple:
        import inspect

        return ("schedule", *inspect.signature(self.optimizer).parameters)

    def __call__(self, learning_rate, schedule=0, **hyper):
        units = (
            optax.constant_schedule(1.0),
            optax.exponential_decay(1.0, self.num_steps, 0.01),
            optax.cosine_decay_schedule(1.0, self.num_steps),
            optax.warmup_cosine_decay_schedule(0.0, 1.0, max(self.num_steps // 10, 1), self.num_steps),
        )
        index = jnp.asarray(schedule).astype(jnp.int32)  # runs cast every hyper-parameter to their float dtype
        branches = [lambda count, unit=unit: jnp.asarray(unit(count), jnp.result_type(learning_rate)) for unit in units]
        return self.optimizer(learning_rate=lambda count: learning_rate * jax.lax.switch(index, branches, count), **hyper)


def _optimizer_axes(optimizer) -> list:
    """The hyper-parameters of an optimizer factory that a sweep may vary (its learning rate is `step`)."""
    import inspect

    names = getattr(optimizer, "axis_names", None) or tuple(inspect.signature(optimizer).parameters)
    return [name for name in names if name not in ("learning_rate", "eps")]


def _key(seed):
    """A PRNG key from a seed that a sweep may hand over as a float (its axis values share one dtype)."""
    return jax.random.key(jnp.asarray(seed).astype(jnp.int32))


CRITERIA = {
    ("least_squares", False): criteria.least_squares,
    ("ridge", False): criteria.ridge,
    ("least_squares", True): criteria.least_squares_gram,
    ("ridge", True): criteria.ridge_gram,
}


@dataclasses.dataclass(frozen=True)
class LinearRegressionRun:
    """Least squares or ridge on `problems.regression(key(seed), n, d, kappa)`, optimized from a = 0.

    Call it as run(step, kappa=10.0, seed=0, l2=0.0, **hyper): `step` is the
    learning rate, or the fraction c of the run's own 2/L when
    `relative_step` (step = c * 2/L); `l2` is ridge's penalty weight
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
    relative_step: bool = True
    optimizer: Callable = optax.sgd
    tolerance: float = 1e-6
    noise: float = 0.1
    dtype: str = "float64"
    record_every: int = 1
    start: str = "zero"

    def __post_init__(self):
        _validate.count("n", self.n)
        _validate.count("d", self.d)
        _validate.count("num_steps", self.num_steps)
        _validate.count("record_every", self.record_every)
        if (self.criterion, self.gram) not in CRITERIA:
            raise ValueError(f"criterion must be 'least_squares' or 'ridge', got {self.criterion!r}.")
        if not 0 < self.tolerance < 1:
            raise ValueError(f"tolerance must be in (0, 1) (a fraction of the initial gap), got {self.tolerance!r}.")
        if self.start not in ("zero", "eigen"):
            raise ValueError(f"start must be 'zero' (a_0 = 0) or 'eigen' (a* plus every unit eigenvector), got {self.start!r}.")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}.")

    @property
    def axis_names(self) -> tuple:
        """The hyper-parameters a sweep may vary: ours and the optimizer's (learning_rate is `step`)."""
        return ("step", "kappa", "seed", "l2", *_optimizer_axes(self.optimizer))

    def check_axes(self, axes: dict):
        """Values a sweep is about to run: steps > 0, kappa >= 1, l2 >= 0, momentum and Adam's betas in [0, 1), integer seeds."""
        in_unit = (lambda v: (v >= 0) & (v < 1), "in [0, 1)")
        rules = {"step": (lambda v: v > 0, "> 0"), "kappa": (lambda v: v >= 1, ">= 1"), "l2": (lambda v: v >= 0, ">= 0"),
                 "momentum": in_unit, "b1": in_unit, "b2": in_unit}
        for name, values in axes.items():
            if name in rules and not np.all(rules[name][0](values)):
                raise ValueError(f"axis {name!r} must hold values {rules[name][1]}, got {values}.")
            if name == "seed" and not np.all(np.mod(values, 1) == 0):
                raise ValueError(f"axis 'seed' must hold integers, got {values}.")
            if name == "schedule" and not np.all(np.isin(values, np.arange(len(SCHEDULES)))):
                raise ValueError(f"axis 'schedule' must hold indices 0..{len(SCHEDULES) - 1} into {SCHEDULES}, got {values}.")

    def bytes_per_run(self) -> int:
        """Memory one run holds: its full curves inside the scan plus the recorded ones."""
        itemsize = np.dtype(self.dtype).itemsize
        return 2 * (self.num_steps + 1) * itemsize * 2 + 32 * itemsize

    def __call__(self, step, kappa=10.0, seed=0, l2=0.0, **hyper) -> Outcome:
        dtype = jnp.dtype(self.dtype)
        X, y = problems.regression(_key(seed), self.n, self.d, kappa, self.noise, dtype=dtype)
        l2 = jnp.asarray(l2, dtype)
        data = criteria.Data(problems.design(X), y, l2)
        target = reference.ridge(X, y, l2) if self.criterion == "ridge" else reference.least_squares(X, y)
        if self.gram:
            data = criteria.gram(data)
        criterion = CRITERIA[self.criterion, self.gram]
        optimum = descent.optimum(criterion, target, data)
        spec = spectrum.spectrum(criterion, target, data)
        step = jnp.asarray(step, dtype) * (spectrum.stability_threshold(spec.L) if self.relative_step else 1)
        hyper = {name: jnp.asarray(value, dtype) for name, value in hyper.items()}
        start = jnp.zeros_like(target) if self.start == "zero" else target + spec.eigenvectors.sum(axis=1)
        trace = descent.run(criterion, data, start, optimum, self.num_steps, self.optimizer,
                            learning_rate=step, **hyper)
        return summarise(trace, spec, step, self.tolerance, self.record_every)


def summarise(trace: descent.Trace, spec: spectrum.Spectrum, step, tolerance, record_every=1) -> Outcome:
    """Summaries of a trace, and gradient descent's theory at `step` beside them."""
    gap, distance = trace.gap, trace.distance
    reached = gap <= tolerance * gap[0]
    iterations = jnp.where(jnp.any(reached) & ~trace.diverged, jnp.argmax(reached), -1)
    rate = spectrum.contraction(step, spec.L, spec.mu)
    predicted = spectrum.predicted_iterations(rate, 1.0, tolerance)
    return Outcome(
        gap=gap[::record_every],
        distance=distance[::record_every],
        initial_gap=gap[0],
        final_gap=gap[-1],
        final_distance=distance[-1],
        diverged=trace.diverged,
        diverged_at=trace.diverged_at,
        iterations=iterations.astype(jnp.int32),
        measured_rate=measured_rate(distance, trace.diverged_at),
        L=spec.L,
        mu=spec.mu,
        condition_number=spec.kappa,
        learning_rate=step,
        step_over_edge=step / spectrum.stability_threshold(spec.L),
        predicted_rate=rate,
        predicted_iterations=jnp.where(predicted < 2**31 - 1, predicted, -1).astype(jnp.int32),
    )


def measured_rate(distance, diverged_at):
    """Per-step factor of ||a_t - a*|| over the second half of the curve's clean part.

    The clean part ends at the divergence step, or where the distance falls
    below 1e3 machine epsilons of its start (rounding noise below that).
    """
    t = jnp.arange(distance.shape[0])
    end = jnp.where(diverged_at >= 0, diverged_at - 1, distance.shape[0] - 1)
    clean = (distance > 1e3 * jnp.finfo(distance.dtype).eps * distance[0]) & (t <= end)
    t1 = jnp.maximum(jnp.sum(jnp.cumprod(clean)) - 1, 0)
    t0 = t1 // 2
    ratio = distance[t1] / jnp.where(distance[t0] > 0, distance[t0], 1)
    return jnp.where(t1 > t0, ratio ** (1 / jnp.maximum(t1 - t0, 1)), 0.0)


PROBE = 1e-2  # LogisticRun(start="eigen"): close enough to a* for its Hessian to rule, far above rounding


@dataclasses.dataclass(frozen=True)
class LogisticRun:
    """Logistic regression on `problems.classification(key(seed), n, d, separation, kappa)`, optimized from a = 0.

    Call it as run(step, l2=1e-2, seed=0, separation=1.0, kappa=1.0, **hyper);
    `kappa` is the condition number of the features' within-class covariance
    (features of different scales). Logistic regression has no closed form:
    the reference is Newton's method inside the same compiled call. Its
    Hessian changes along the path and is largest at a = 0 (s'(z) <= 1/4 is
    reached at z = 0), so `L_start`, the top eigenvalue there, bounds the
    curvature everywhere: with `relative_step` the step is c * 2 / L_start,
    stable from anywhere for c < 1. The theory fields of the `Outcome` (L, mu,
    predicted rate) are those of the Hessian at the optimum, which governs
    the final linear rate and the local edge 2/L. `start="eigen"` probes that
    neighbourhood: it starts at a* + PROBE * (every unit eigenvector of the
    Hessian at a*), and relative steps are then in units of 2/L at a*. With
    `sharpness_every = k > 0` the top Hessian eigenvalue is also measured
    (power iteration on Hessian-vector products) at every k-th iterate.
    Returns a dict: the `Outcome`'s fields, `L_start` and `sharpness`.
    """

    n: int
    d: int
    num_steps: int
    relative_step: bool = True
    optimizer: Callable = optax.sgd
    tolerance: float = 1e-6
    dtype: str = "float64"
    record_every: int = 1
    sharpness_every: int = 0
    power_iterations: int = 100
    start: str = "zero"

    stable = staticmethod(stability.converging)  # past the edge, logistic runs oscillate without growing

    def __post_init__(self):
        _validate.count("n", self.n, 2)
        _validate.count("d", self.d)
        _validate.count("num_steps", self.num_steps)
        _validate.count("record_every", self.record_every)
        _validate.count("sharpness_every", self.sharpness_every, 0)
        if not 0 < self.tolerance < 1:
            raise ValueError(f"tolerance must be in (0, 1) (a fraction of the initial gap), got {self.tolerance!r}.")
        if self.start not in ("zero", "eigen"):
            raise ValueError(f"start must be 'zero' (a_0 = 0) or 'eigen' (next to a*), got {self.start!r}.")

    @property
    def axis_names(self) -> tuple:
        return ("step", "l2", "seed", "separation", "kappa", *_optimizer_axes(self.optimizer))

    def check_axes(self, axes: dict):
        LinearRegressionRun.check_axes(self, axes)
        if "separation" in axes and not np.all(axes["separation"] >= 0):
            raise ValueError(f"axis 'separation' must hold values >= 0, got {axes['separation']}.")

    def bytes_per_run(self) -> int:
        return LinearRegressionRun.bytes_per_run(self) + 8 * (self.d + 1) * (self.num_steps + 1) * bool(self.sharpness_every)

    def __call__(self, step, l2=1e-2, seed=0, separation=1.0, kappa=1.0, **hyper) -> dict:
        dtype = jnp.dtype(self.dtype)
        X, y = problems.classification(_key(seed), self.n, self.d, separation, kappa, dtype=dtype)
        data = criteria.Data(problems.design(X), y, jnp.asarray(l2, dtype))
        # The probe reads ||a - a*|| down to rounding: Newton on until it stalls (tol=0), not to its default 1e-10.
        target = reference.logistic_newton(data.X, y, data.l2, tol=None if self.start == "zero" else 0.0).params
        optimum = descent.optimum(criteria.logistic, target, data)
        spec = spectrum.spectrum(criteria.logistic, target, data)
        L_start = spectrum.spectrum(criteria.logistic, jnp.zeros_like(target), data).L
        if self.start == "zero":
            start, unit = jnp.zeros_like(target), L_start
        else:
            start, unit = target + PROBE * spec.eigenvectors.sum(axis=1), spec.L
        step = jnp.asarray(step, dtype) * (spectrum.stability_threshold(unit) if self.relative_step else 1)
        hyper = {name: jnp.asarray(value, dtype) for name, value in hyper.items()}
        trace = descent.run(criteria.logistic, data, start, optimum, self.num_steps, self.optimizer,
                            record_path=self.sharpness_every > 0, learning_rate=step, **hyper)
        outcome = summarise(trace, spec, step, self.tolerance, self.record_every)._asdict()
        if self.sharpness_every:
            key = jax.random.key(0)
            top = jax.vmap(lambda a: spectrum.largest_eigenvalue(criteria.logistic, a, data, key, self.power_iterations))
            outcome["sharpness"] = top(trace.path[:: self.sharpness_every])
        return outcome | {"L_start": L_start}
