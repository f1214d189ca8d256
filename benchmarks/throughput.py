"""Throughput of gradient descent on least squares: the lab's sweep against the ways people write it.

Two workloads, each run in float32 and float64: R learning rates, log-spaced from
1e-3 to 1.2 times 2/L, each running T steps of a <- a - lr * (2/N) X^T (X a - y)
from a = 0 on the design X = [1, features] of `lab.problems.regression` (seed 0,
Hessian condition number 1e4, so L = 2 and 2/L = 1 exactly), recording the
loss f(a_t) at every step. Variants:

  (a) numpy, a Python loop over runs and steps, as a notebook would;
  (b) numpy vectorised over runs: one matmul per step into preallocated buffers;
  (c) JAX, a Python loop over runs of one jitted `lax.scan`;
  (d) the optax tutorial pattern: a Python loop calling a jitted update step each step;
  (e) the lab's `sweep` of `LinearRegressionRun` (which also generates the data,
      its exact optimum and spectrum, records ||a - a*|| and applies the divergence rule);
  (f) the same in Gram form (X^T X / N and X^T y / N: P^2 per step instead of N P);
  (g) PyTorch batched over runs, when torch is importable (optional, not a dependency);

beside the machine's own matmul throughput for the same shapes (X @ A and
X^T @ Rmat, JAX jit), and diagnostics that locate the lab's costs: (h) the same
algorithm batched by hand in one jitted `lax.scan`; (i) the lab's sweep over the
learning-rate axis alone, kappa bound to the run rather than given as an axis of one
value (equal to (e) when such an axis costs nothing: it used to cost 1.3-2.3x);
and the lab's sweep with one step (its fixed cost per call). Variants are
interleaved, repeated, and reported as medians (and best times); slow loops are
timed on an evenly spread subset of runs and extrapolated linearly (the JSON
says which). Numbers go to `figures/throughput.json`, the picture to
`figures/throughput.png`. A scaling table follows: the lab's sweep as R grows
from 16 to 4096 (N = 2000) and as N grows from 500 to 8000 (R = 256), float32.

Run: python -m benchmarks.throughput [--out figures] [--quick]
"""

# %% [markdown]
# # Throughput: runs x steps per second, and where the time goes
#
# FLOP counts per run-step: 4 N P for the data form (X a and X^T r), 2 P^2 for
# the Gram form (G a), P = D + 1. The matmul ceiling is one step's two matmuls
# for all R runs, timed with JAX jit in this process.

# %%
import argparse
import dataclasses
import functools
import json
import os
import platform
import time
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from lab import files, problems, runs, sweep  # noqa: E402

KAPPA = 1e4  # the Hessian's condition number (X's is 100)
SEED = 0
# absolute learning rates; L = 2 exactly, so 2/L = 1 and the top is 1.2 * 2/L
LEARNING_RATE_LOW, LEARNING_RATE_HIGH = 1e-3, 1.2
WORKLOADS = {
    "large": dict(n=2000, d=50, num_steps=500, num_runs=256),
    "small": dict(n=200, d=10, num_steps=1000, num_runs=1024),
}
QUICK_WORKLOADS = {"tiny": dict(n=100, d=5, num_steps=50, num_runs=16)}
DTYPES, QUICK_DTYPES = ("float32", "float64"), ("float64",)  # quick: the dtype in which variants must agree
REPEATS, QUICK_REPEATS = 5, 1
PAUSE_S, QUICK_PAUSE_S = 1.0, 0.0  # sleep between libraries: lets BLAS / XLA thread pools go idle
SUBSET_ABOVE_S = 3.0  # a loop variant estimated to take longer than this alone is timed on a subset of runs
SUBSET_TARGET_S = 1.0  # ... of about this duration, and extrapolated linearly to all R runs
MATMUL_CALLS = 20  # calls per median for the per-call matmul timing
SCALING_DTYPE = "float32"
SCALING_BASE = WORKLOADS["large"]
SCALING_R = (16, 64, 256, 1024, 4096)
SCALING_N = (500, 1000, 2000, 4000, 8000)
SCALING_REPEATS = 3  # warm calls per point, fewer once SCALING_BUDGET_S is spent (R = 4096 takes a minute a call)
SCALING_BUDGET_S = 20.0
SCALING_CHAIN_NUM_STEPS = 50  # steps of the chained-matmul ceiling in the scaling table
AGREEMENT_RTOL = {"float64": 1e-4, "float32": 1e-3}  # final losses against (e), runs with step < 1.0 = 2/L
REFERENCE = "lab_sweep"

# key: (letter, label, library, FLOP form)
VARIANTS = {
    "numpy_loop": ("a", "numpy, loop over runs and steps", "numpy", "data"),
    "numpy_batched": ("b", "numpy, batched over runs", "numpy", "data"),
    "jax_loop_scan": ("c", "JAX, loop over runs of a jitted scan", "jax", "data"),
    "optax_loop_step": ("d", "optax tutorial: jitted step per step", "jax", "data"),
    "lab_sweep": ("e", "lab sweep", "jax", "data"),
    "lab_sweep_gram": ("f", "lab sweep, Gram form", "jax", "gram"),
    "torch_batched": ("g", "PyTorch, batched over runs", "torch", "data"),
}
DIAGNOSTICS = {
    "jax_batched_scan": ("h", "JAX batched by hand, one jitted scan", "jax", "data"),
    "lab_sweep_learning_rate_axis": ("i", "lab sweep, learning-rate axis only (kappa bound)", "jax", "data"),
}
MEASURED = {**VARIANTS, **DIAGNOSTICS}
QUICK_SKIP = ("lab_sweep_learning_rate_axis",)  # quick mode: one more lab compilation (seconds) for a diagnostic
AGREEMENT_REQUIRED = ("numpy_batched", "jax_loop_scan", "optax_loop_step", "lab_sweep")


# %%
class Problem(NamedTuple):
    """One least-squares problem in one dtype: the design X = [1, features] (N, P), y (N,), as numpy and on device."""

    n: int
    d: int
    num_steps: int
    dtype: str
    X: np.ndarray
    y: np.ndarray
    Xj: jax.Array
    yj: jax.Array
    fstar: float  # min f, float64 least squares on the same (rounded) data


def make_problem(n, d, num_steps, dtype, seed=SEED, kappa=KAPPA) -> Problem:
    """The lab's generator, with the lab's seed and kappa: every variant solves the lab's problem."""
    X, y = problems.regression(jax.random.key(seed), n, d, kappa, dtype=jnp.dtype(dtype))
    design = np.array(problems.design(X))  # writable copies (torch wants them)
    y = np.array(y)
    solution = np.linalg.lstsq(design.astype(np.float64), y.astype(np.float64), rcond=None)[0]
    fstar = float(np.mean((design.astype(np.float64) @ solution - y) ** 2))
    return Problem(n, d, num_steps, dtype, design, y, jnp.asarray(design), jnp.asarray(y), fstar)


def learning_rate_grid(num_runs):
    """R absolute learning rates from LEARNING_RATE_LOW to LEARNING_RATE_HIGH * 2/L (2/L = 1 for the lab's
    generator)."""
    return np.geomspace(LEARNING_RATE_LOW, LEARNING_RATE_HIGH, num_runs)


# %% [markdown]
# ## The variants: pure functions (problem, learning_rates) -> losses (runs, T + 1), f(a_t) for t = 0..T

# %%
def numpy_loop(problem: Problem, learning_rates):
    """(a) numpy, one run after another, one step after another."""
    X, y, T = problem.X, problem.y, problem.num_steps
    n = X.shape[0]
    losses = np.empty((len(learning_rates), T + 1), X.dtype)
    with np.errstate(all="ignore"):  # runs above 2/L overflow
        for i, lr in enumerate(np.asarray(learning_rates, X.dtype)):
            a = np.zeros(X.shape[1], X.dtype)
            for t in range(T):
                r = X @ a - y
                losses[i, t] = r @ r / n
                a = a - lr * (2 / n) * (X.T @ r)
            r = X @ a - y
            losses[i, T] = r @ r / n
    return losses


def numpy_batched(problem: Problem, learning_rates):
    """(b) numpy, all runs at once: the parameters are a (P, R) matrix, one matmul each way per step."""
    X, y, T = problem.X, problem.y, problem.num_steps
    (n, p), R = X.shape, len(learning_rates)
    A = np.zeros((p, R), X.dtype)
    residual, gradient = np.empty((n, R), X.dtype), np.empty((p, R), X.dtype)
    losses = np.empty((T + 1, R), X.dtype)
    scale = np.asarray(learning_rates * (2 / n), X.dtype)
    column, XT = y[:, None], X.T
    with np.errstate(all="ignore"):
        for t in range(T + 1):
            np.matmul(X, A, out=residual)
            residual -= column
            np.einsum("nr,nr->r", residual, residual, out=losses[t])
            losses[t] /= n
            if t < T:
                np.matmul(XT, residual, out=gradient)
                gradient *= scale
                A -= gradient
    return np.ascontiguousarray(losses.T)


@functools.partial(jax.jit, static_argnums=2)
def _jax_one_run(X, y, num_steps, lr):
    n = X.shape[0]

    def step(a, _):
        r = X @ a - y
        return a - lr * (2 / n) * (X.T @ r), r @ r / n

    a, losses = jax.lax.scan(step, jnp.zeros(X.shape[1], X.dtype), length=num_steps)
    r = X @ a - y
    return jnp.append(losses, r @ r / n)


def jax_loop_scan(problem: Problem, learning_rates):
    """(c) JAX: a Python loop over runs, each one call of a jitted `lax.scan` over the T steps."""
    lrs = np.asarray(learning_rates, problem.dtype)
    outs = [_jax_one_run(problem.Xj, problem.yj, problem.num_steps, lr) for lr in lrs]
    return np.stack(jax.device_get(outs))


def _mean_squared_error(params, X, y):
    return jnp.mean((X @ params - y) ** 2)


# The optax tutorial's pattern, with the learning rate injected as state so one compiled step serves every run.
_OPTIMIZER = optax.inject_hyperparams(optax.sgd)(learning_rate=0.1)


@jax.jit
def _optax_step(params, opt_state, X, y):
    loss, grads = jax.value_and_grad(_mean_squared_error)(params, X, y)
    updates, opt_state = _OPTIMIZER.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss


_optax_loss = jax.jit(_mean_squared_error)


def optax_loop_step(problem: Problem, learning_rates):
    """(d) the optax tutorial: for each run, a Python loop calling a jitted update step T times."""
    X, y, dtype = problem.Xj, problem.yj, jnp.dtype(problem.dtype)
    curves = []
    for lr in learning_rates:
        params = jnp.zeros(X.shape[1], dtype)
        opt_state = _OPTIMIZER.init(params)
        opt_state.hyperparams["learning_rate"] = jnp.asarray(lr, dtype)
        losses = []
        for _ in range(problem.num_steps):
            params, opt_state, loss = _optax_step(params, opt_state, X, y)
            losses.append(loss)
        losses.append(_optax_loss(params, X, y))
        curves.append(losses)
    return np.asarray(jax.device_get(curves))


def lab_run(problem: Problem, gram=False, num_steps=None) -> runs.LinearRegressionRun:
    return runs.LinearRegressionRun(n=problem.n, d=problem.d, num_steps=num_steps or problem.num_steps,
                                    dtype=problem.dtype, gram=gram)


def lab_axes(learning_rates):
    return {"learning_rate": np.asarray(learning_rates, np.float64), "kappa": np.array([KAPPA])}


def lab_sweep(problem: Problem, learning_rates, gram=False):
    """(e) the lab: one `sweep` over the learning-rate axis; losses = recorded gap + f*."""
    result = sweep.sweep(lab_run(problem, gram), lab_axes(learning_rates), progress=False)
    return result["gap"][:, 0, :].astype(np.float64) + problem.fstar


def lab_sweep_gram(problem: Problem, learning_rates):
    """(f) the lab in Gram form: the criterion written on X^T X / N and X^T y / N."""
    return lab_sweep(problem, learning_rates, gram=True)


@dataclasses.dataclass(frozen=True)
class FixedKappa:
    """A lab run with kappa bound: a sweep over `learning_rate` alone (hashable, so the sweep compiles once)."""

    run: runs.LinearRegressionRun
    kappa: float

    def __call__(self, learning_rate):
        return self.run(learning_rate=learning_rate, kappa=self.kappa)

    def bytes_per_run(self) -> int:
        return self.run.bytes_per_run()


def lab_sweep_learning_rate_axis(problem: Problem, learning_rates):
    """(i, diagnostic) the lab's sweep of the same runs with kappa bound, not an axis of length one."""
    result = sweep.sweep(FixedKappa(lab_run(problem), KAPPA), {"learning_rate": np.asarray(learning_rates, np.float64)},
                         progress=False)
    return result["gap"].astype(np.float64) + problem.fstar


def torch_batched(problem: Problem, learning_rates):
    """(g) PyTorch, all runs at once, as (b) with torch tensors on the CPU."""
    import torch

    T = problem.num_steps
    with torch.inference_mode():
        X, column = torch.from_numpy(problem.X), torch.from_numpy(problem.y)[:, None]
        (n, p), R = X.shape, len(learning_rates)
        A = torch.zeros((p, R), dtype=X.dtype)
        residual, gradient = torch.empty((n, R), dtype=X.dtype), torch.empty((p, R), dtype=X.dtype)
        losses = torch.empty((T + 1, R), dtype=X.dtype)
        scale = torch.from_numpy(np.asarray(learning_rates * (2 / n), problem.dtype))
        for t in range(T + 1):
            torch.matmul(X, A, out=residual)
            residual -= column
            torch.sum(residual * residual, dim=0, out=losses[t])
            losses[t] /= n
            if t < T:
                torch.matmul(X.T, residual, out=gradient)
                gradient *= scale
                A -= gradient
        return losses.T.contiguous().numpy()


@functools.partial(jax.jit, static_argnums=3)
def _jax_batched(X, y, lr, num_steps):
    n = X.shape[0]

    def step(A, _):
        r = X @ A - y[:, None]
        return A - (lr * (2 / n)) * (X.T @ r), jnp.mean(r * r, axis=0)

    A, losses = jax.lax.scan(step, jnp.zeros((X.shape[1], lr.shape[0]), X.dtype), length=num_steps)
    r = X @ A - y[:, None]
    return jnp.concatenate([losses, jnp.mean(r * r, axis=0)[None]]).T


def jax_batched_scan(problem: Problem, learning_rates):
    """(h, diagnostic) the same algorithm batched by hand: one jitted scan, (P, R) matmuls, nothing else."""
    return np.asarray(_jax_batched(problem.Xj, problem.yj, jnp.asarray(learning_rates, problem.dtype),
                                   problem.num_steps))


FUNCTIONS = {f.__name__: f for f in (numpy_loop, numpy_batched, jax_loop_scan, optax_loop_step, lab_sweep,
                                     lab_sweep_gram, torch_batched, jax_batched_scan, lab_sweep_learning_rate_axis)}


# %% [markdown]
# ## The ceiling: the two matmuls of one step for all R runs, JAX jit

# %%
_forward = jax.jit(lambda X, A: X @ A)
_backward = jax.jit(lambda X, residual: X.T @ residual)


@functools.partial(jax.jit, static_argnums=2)
def _matmul_chain(X, A0, num_steps):
    """num_steps dependent pairs X^T (X A): the per-step matmuls without dispatch, A staying O(1)."""
    c = -0.5 / X.shape[0]  # A <- A0 - 0.5 (X^T X / N) A contracts (eigenvalues of X^T X / N are <= 1)

    def step(A, _):
        return A0 + c * (X.T @ (X @ A)), None

    return jax.lax.scan(step, A0, length=num_steps)[0]


def matmul_ceiling(problem: Problem, num_runs, chain_steps=None):
    """Seconds per step of the pair X @ A (A: (P, R)) and X^T @ Rmat (Rmat: (N, R)): per call and chained."""
    X = problem.Xj
    A = jnp.ones((X.shape[1], num_runs), X.dtype)
    residual = jnp.ones((X.shape[0], num_runs), X.dtype)
    per_call = []
    for fn, arg in ((_forward, A), (_backward, residual)):
        times = []
        for _ in range(MATMUL_CALLS):
            started = time.perf_counter()
            fn(X, arg).block_until_ready()
            times.append(time.perf_counter() - started)
        per_call.append(float(np.median(times)))
    chain_steps = chain_steps or problem.num_steps
    started = time.perf_counter()
    _matmul_chain(X, A, chain_steps).block_until_ready()
    chained = (time.perf_counter() - started) / chain_steps
    return dict(forward_s=per_call[0], backward_s=per_call[1], per_call_step_s=sum(per_call), chained_step_s=chained)


def warm_ceiling(problem: Problem, num_runs, chain_steps=None):
    X = problem.Xj
    A = jnp.ones((X.shape[1], num_runs), X.dtype)
    _forward(X, A).block_until_ready()
    _backward(X, jnp.ones((X.shape[0], num_runs), X.dtype)).block_until_ready()
    _matmul_chain(X, A, chain_steps or problem.num_steps).block_until_ready()


# %% [markdown]
# ## Measuring: compile times, warm-up, interleaved repeats, agreement

# %%
def flops_per_run_step(form, n, d):
    p = d + 1
    return 4 * n * p if form == "data" else 2 * p * p


def timed(fn, *args):
    started = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - started, out


def compile_times(problem: Problem, learning_rates, gram: bool, aot: bool):
    """The lab's compile time, two ways: with `aot`, `sweep.lower(...)` and `.compile()` timed on cold caches
    (their executable is not the one a call of `sweep` looks up: its arrays are sharded); then the first
    call of `sweep` minus a warm call."""
    out = {}
    if aot:
        started = time.perf_counter()
        lowered = sweep.lower(lab_run(problem, gram), lab_axes(learning_rates))
        lowered_at = time.perf_counter()
        lowered.compile()
        out.update(lower_s=lowered_at - started, compile_s=time.perf_counter() - lowered_at)
        out["lower_plus_compile_s"] = out["lower_s"] + out["compile_s"]
    first, _ = timed(lab_sweep, problem, learning_rates, gram)
    warm, _ = timed(lab_sweep, problem, learning_rates, gram)
    out.update(first_call_s=first, warm_call_s=warm, first_minus_warm_s=first - warm)
    return out


def subset_for(per_run_s, num_runs):
    """Indices of the runs to time: all, or an even spread sized to SUBSET_TARGET_S when all would exceed
    SUBSET_ABOVE_S."""
    if per_run_s * num_runs <= SUBSET_ABOVE_S:
        return np.arange(num_runs)
    k = int(np.clip(SUBSET_TARGET_S / max(per_run_s, 1e-9), 2, num_runs))
    return np.unique(np.linspace(0, num_runs - 1, k).round().astype(int))


def available_variants(quick=False):
    """Every measured variant, less torch when it is not importable (with the reason)."""
    names = [name for name in MEASURED if not (quick and name in QUICK_SKIP)]
    skipped = {name: "quick mode" for name in MEASURED if name not in names}
    try:
        import torch  # noqa: F401
    except ImportError as error:
        names.remove("torch_batched")
        skipped["torch_batched"] = f"torch not importable ({error})"
    return names, skipped


def warm_up(problem: Problem, learning_rates, names):
    """Compile every JAX function for these shapes and pick each loop variant's subset of runs."""
    subsets = {}
    for name in names:
        fn = FUNCTIONS[name]
        if name in ("numpy_loop", "jax_loop_scan", "optax_loop_step"):
            fn(problem, learning_rates[:1])  # compiles
            seconds, _ = timed(fn, problem, learning_rates[:2])
            subsets[name] = subset_for(seconds / 2, len(learning_rates))
        else:
            if name not in ("lab_sweep", "lab_sweep_gram"):  # those two were called by compile_times
                fn(problem, learning_rates)
            subsets[name] = np.arange(len(learning_rates))
    warm_ceiling(problem, len(learning_rates))
    return subsets


def agreement(losses, learning_rates, dtype):
    """Max relative difference of final losses f(a_T) against (e), on runs with step < 1 = 2/L."""
    reference = losses[REFERENCE][1][:, -1]
    out = {}
    for name, (idx, curve) in losses.items():
        stable = learning_rates[idx] < 1.0
        final = curve[stable, -1].astype(np.float64)
        expected = reference[idx][stable]
        out[name] = float(np.max(np.abs(final / expected - 1))) if stable.any() else None
    tolerance = AGREEMENT_RTOL[dtype]
    required = [name for name in AGREEMENT_REQUIRED if name in out]
    return dict(reference=REFERENCE, compared="final loss f(a_T), runs with step < 1.0 (= 2/L)",
                tolerance=tolerance, max_relative_difference=out,
                ok=all(out[name] is not None and out[name] <= tolerance for name in required),
                ok_all=all(v is not None and v <= tolerance for v in out.values()))


def summarise_block(work, dtype, names, samples, runs_measured, ceiling_samples,
                    fixed_samples, compiled, losses, learning_rates):
    """Medians (and bests) and ratios for one workload and dtype."""
    n, d, T, R = work["n"], work["d"], work["num_steps"], work["num_runs"]
    variants = {}
    for name in names:
        letter, label, library, form = MEASURED[name]
        seconds, best = float(np.median(samples[name])), float(np.min(samples[name]))
        k = int(runs_measured[name])
        variants[name] = dict(
            letter=letter, label=label, library=library, flop_form=form, diagnostic=name in DIAGNOSTICS,
            seconds=seconds, seconds_min=best, seconds_all=[float(x) for x in samples[name]],
            runs_measured=k, extrapolated=k < R,
            extrapolation=(f"timed on {k} of {R} runs (evenly spread over the step range), seconds scaled by {R}/{k}"
                           if k < R else None),
            run_steps_per_s=R * T / seconds, run_steps_per_s_best=R * T / best,
            gflops=R * T * flops_per_run_step(form, n, d) / seconds / 1e9,
        )
    lab, lab_best = variants[REFERENCE]["run_steps_per_s"], variants[REFERENCE]["run_steps_per_s_best"]
    for entry in variants.values():
        entry["throughput_ratio_to_lab"] = entry["run_steps_per_s"] / lab  # > 1: faster than the lab
        entry["lab_speedup_over_this"] = lab / entry["run_steps_per_s"]  # > 1: the lab is faster
        entry["lab_speedup_over_this_best"] = lab_best / entry["run_steps_per_s_best"]  # the same on best times
    step_s = {key: float(np.median([c[key] for c in ceiling_samples])) for key in ceiling_samples[0]}
    fastest = min(step_s["chained_step_s"], step_s["per_call_step_s"])
    ceiling = dict(
        what="one step's matmuls for all R runs, JAX jit: X @ A, A (P, R), and X^T @ Rmat, Rmat (N, R); "
             "per call (with dispatch) and chained in one jitted scan (without); the faster counts",
        **step_s, measure="chained" if step_s["chained_step_s"] <= step_s["per_call_step_s"] else "per call",
        run_steps_per_s=R / fastest, gflops=R * flops_per_run_step("data", n, d) / fastest / 1e9,
        per_call_run_steps_per_s=R / step_s["per_call_step_s"], chained_run_steps_per_s=R / step_s["chained_step_s"],
    )
    for entry in variants.values():
        entry["fraction_of_matmul_ceiling"] = entry["run_steps_per_s"] / ceiling["run_steps_per_s"]
    fixed = float(np.median(fixed_samples)) if fixed_samples else None
    diagnostics = dict(
        lab_sweep_one_step_s=fixed,
        lab_fixed_cost_share=fixed / variants[REFERENCE]["seconds"] if fixed is not None else None,
        note="lab_sweep_one_step_s: median over the repeats of the lab's sweep with num_steps=1, same N, D, R "
             "(data, QR optimum, spectrum, transfers): the per-call cost that the steps do not amortise",
    )
    if "lab_sweep_learning_rate_axis" in variants:
        diagnostics["kappa_axis_cost"] = dict(
            lab_sweep_over_learning_rate_axis_only=variants[REFERENCE]["seconds"]
                / variants["lab_sweep_learning_rate_axis"]["seconds"],
            note="time of (e), swept over step and a kappa axis of one value, over the time of (i), the same runs "
                 "swept over step alone with kappa bound to the run: about 1 when an axis of one value costs nothing",
        )
    return dict(variants=variants, matmul_ceiling=ceiling, compile=compiled, diagnostics=diagnostics,
                agreement=agreement(losses, learning_rates, dtype))


def measure_workloads(workloads, dtypes, repeats, pause, quick, log):
    """Compile times, warm-up, then `repeats` rounds over every (workload, dtype), variants in rotating order.

    Quick mode skips the AOT compile timing, the fixed-cost diagnostic and QUICK_SKIP: each is a compilation.
    """
    names, skipped = available_variants(quick)
    aot = fixed_cost = not quick
    blocks = [(wname, work, dtype) for wname, work in workloads.items() for dtype in dtypes]
    state = {}
    for wname, work, dtype in blocks:
        log(f"[{wname} {dtype}] compile times")
        problem = make_problem(work["n"], work["d"], work["num_steps"], dtype)
        learning_rates = learning_rate_grid(work["num_runs"])
        compiled = {name: compile_times(problem, learning_rates, name == "lab_sweep_gram", aot)
                    for name in ("lab_sweep", "lab_sweep_gram")}
        state[wname, dtype] = dict(problem=problem, learning_rates=learning_rates, compiled=compiled)
    for wname, work, dtype in blocks:
        log(f"[{wname} {dtype}] warm-up")
        s = state[wname, dtype]
        s["subsets"] = warm_up(s["problem"], s["learning_rates"], names)
        if fixed_cost:
            lab_sweep_short(s["problem"], s["learning_rates"])  # compiles
        s.update(samples={name: [] for name in names}, ceiling=[], fixed=[], losses={}, load=[])
    for rep in range(repeats):
        order = names[rep % len(names):] + names[:rep % len(names)]  # rotate, so no variant always goes first
        for wname, work, dtype in blocks:
            s = state[wname, dtype]
            log(f"[{wname} {dtype}] repeat {rep + 1}/{repeats}")
            s["load"].append(os.getloadavg()[0])
            last_library = None
            for name in order + ["ceiling"]:
                library = MEASURED[name][2] if name != "ceiling" else "jax"
                if library != last_library:
                    time.sleep(pause)
                    last_library = library
                if name == "ceiling":
                    s["ceiling"].append(matmul_ceiling(s["problem"], work["num_runs"]))
                    if fixed_cost:
                        s["fixed"].append(timed(lab_sweep_short, s["problem"], s["learning_rates"])[0])
                    continue
                idx = s["subsets"][name]
                seconds, curve = timed(FUNCTIONS[name], s["problem"], s["learning_rates"][idx])
                s["samples"][name].append(seconds * work["num_runs"] / len(idx))
                s["losses"][name] = (idx, np.asarray(curve))
    results = {}
    for wname, work, dtype in blocks:
        s = state[wname, dtype]
        runs_measured = {name: len(s["subsets"][name]) for name in names}
        block = summarise_block(work, dtype, names, s["samples"], runs_measured, s["ceiling"], s["fixed"],
                                s["compiled"], s["losses"], s["learning_rates"])
        block["skipped"] = skipped
        block["load_average_1min_per_repeat"] = s["load"]
        results.setdefault(wname, dict(**work, P=work["d"] + 1,
                                       flops_per_run_step={"data": flops_per_run_step("data", work["n"], work["d"]),
                                                           "gram": flops_per_run_step("gram", work["n"], work["d"])}))
        results[wname][dtype] = block
    return results


def lab_sweep_short(problem: Problem, learning_rates):
    """The lab's sweep with one step: its fixed cost per call."""
    return sweep.sweep(lab_run(problem, num_steps=1), lab_axes(learning_rates), progress=False)["gap"]


def measure_scaling(spec, repeats, dtype, log):
    """The lab's sweep (e), and (i) over the learning-rate axis alone, as R grows (base N) and as N grows (base R),
    with the chained-matmul ceiling beside them. Up to `repeats` interleaved warm calls per point, fewer
    once SCALING_BUDGET_S is spent."""
    base = spec["base"]
    table = {}
    for axis, values in (("R", spec["R"]), ("N", spec["N"])):
        rows = []
        for value in values:
            work = dict(base, **({"num_runs": value} if axis == "R" else {"n": value}))
            log(f"[scaling {axis}={value}]")
            problem = make_problem(work["n"], work["d"], work["num_steps"], dtype)
            learning_rates = learning_rate_grid(work["num_runs"])
            first, _ = timed(lab_sweep, problem, learning_rates)
            lab_sweep_learning_rate_axis(problem, learning_rates)
            warm_ceiling(problem, work["num_runs"], SCALING_CHAIN_NUM_STEPS)
            times = {"lab_sweep": [], "lab_sweep_learning_rate_axis": []}
            chained = []
            while len(chained) < repeats and (not chained or sum(map(sum, times.values())) < SCALING_BUDGET_S):
                for name in times:
                    times[name].append(timed(FUNCTIONS[name], problem, learning_rates)[0])
                chained.append(float(np.median([matmul_ceiling(problem, work["num_runs"], SCALING_CHAIN_NUM_STEPS)[
                    "chained_step_s"] for _ in range(3)])))
            R, T, flops = work["num_runs"], work["num_steps"], flops_per_run_step("data", work["n"], work["d"])
            step_s = float(np.median(chained))
            row = dict(N=work["n"], D=work["d"], T=T, R=R, first_call_s=first, ceiling_gflops=R * flops / step_s / 1e9)
            for name, prefix in (("lab_sweep", ""), ("lab_sweep_learning_rate_axis", "learning_rate_axis_")):
                seconds = float(np.median(times[name]))
                row.update({f"{prefix}seconds": seconds, f"{prefix}seconds_all": times[name],
                            f"{prefix}run_steps_per_s": R * T / seconds,
                            f"{prefix}gflops": R * T * flops / seconds / 1e9,
                            f"{prefix}gflops_range": [R * T * flops / x / 1e9
                                                      for x in (max(times[name]), min(times[name]))],
                            f"{prefix}fraction_of_ceiling": step_s / (seconds / T)})
            rows.append(row)
        table[axis] = rows
    return dict(dtype=dtype, base=base,
                variant="lab_sweep (e); learning_rate_axis_*: (i), the same runs swept over step alone",
                repeats=f"up to {repeats} interleaved warm calls, fewer once {SCALING_BUDGET_S} s are spent",
                ceiling=f"chained matmul pair X^T (X A), JAX jit, {SCALING_CHAIN_NUM_STEPS} steps, "
                        "median of 3 per repeat",
                **table)


# %% [markdown]
# ## The figure

# %%
COLOURS = {"numpy": "tab:blue", "jax": "tab:orange", "torch": "tab:green"}


def figure(numbers):
    """One panel per workload: runs x steps/s of every variant, float64 and float32 side by side, the matmul
    ceilings as lines. Readable at the README's width (12 in)."""
    workloads, dtypes = list(numbers["workloads"]), numbers["settings"]["dtypes"]
    fig, axes = plt.subplots(len(workloads), 1, figsize=(12, 6.2 * len(workloads) + 1.0), squeeze=False,
                             layout="constrained")
    for ax, wname in zip(axes[:, 0], workloads):
        bars(ax, wname, numbers["workloads"][wname], dtypes)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c, alpha=0.85) for c in COLOURS.values()]
    handles += [plt.Rectangle((0, 0), 1, 1, facecolor="white", edgecolor="black", lw=1.5),
                plt.Rectangle((0, 0), 1, 1, facecolor="white", edgecolor="grey", hatch="//"),
                plt.Rectangle((0, 0), 1, 1, facecolor="grey", alpha=0.35),
                plt.Line2D([], [], color="black", lw=1, marker="|", ms=8),
                plt.Line2D([], [], color="crimson", ls="--", lw=2)]
    labels = ["numpy", "JAX", "PyTorch", "the lab (e, f)", "diagnostic (h, i), not a variant", "float32 (light)",
              "range of the repeats",
              "matmul ceiling of the data form (X @ A, X^T @ R): float64 dashed, float32 dotted"]
    fig.legend(handles, labels, loc="outside lower center", ncol=4, fontsize=9, frameon=False)
    repeats = numbers["settings"]["repeats"]
    fig.suptitle(f"Gradient descent on least squares, R learning rates x T steps: throughput per variant\n"
                 f"(median of {repeats} interleaved repeats, {numbers['machine']['cpu_count']} CPU cores, "
                 "shared machine)", fontsize=12)
    return fig


def scaling_figure(numbers):
    """The lab's sweep as R and as N grow, beside the matmul ceiling: two panels."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained")
    for ax, axis in zip(axes, ("R", "N")):
        scaling_panel(ax, numbers["scaling"], axis)
    fig.suptitle("labels: the lab sweep (e)'s share of the ceiling and its runs x steps/s; bars: range of the repeats",
                 fontsize=10.5)
    return fig


def bars(ax, wname, w, dtypes):
    names = [n for n in MEASURED if n in w[dtypes[0]]["variants"]]
    height = 0.8 / len(dtypes)
    y = np.arange(len(names))[::-1].astype(float)
    high = 0.0
    for k, dtype in enumerate(dtypes):
        block = w[dtype]
        variants = block["variants"]
        light = dtype == "float32"
        offset = (len(dtypes) / 2 - k - 0.5) * height
        for yi, name in zip(y + offset, names):
            v = variants[name]
            value = v["run_steps_per_s"]
            lab = name in ("lab_sweep", "lab_sweep_gram")
            ax.barh(yi, value, height=height * 0.92, color=COLOURS[v["library"]], alpha=0.35 if light else 0.85,
                    hatch="//" if v["diagnostic"] else None, edgecolor="black" if lab else "grey",
                    lw=1.5 if lab else 0.5)
            rates = [w["num_runs"] * w["num_steps"] / sec for sec in v["seconds_all"]]
            ax.plot([min(rates), max(rates)], [yi, yi], color="black", lw=1, marker="|", ms=5)
            ratio = "= lab" if name == REFERENCE else f"{v['throughput_ratio_to_lab']:.2g}x lab"
            ax.text(max(max(rates), value) * 1.2, yi, f"{dtype[-2:]}: {value:.2g}/s, {ratio}", va="center",
                    fontsize=7.5, zorder=3, bbox=dict(facecolor="white", alpha=0.85, edgecolor="none", pad=0.5))
            high = max(high, value, max(rates))
        ceiling = block["matmul_ceiling"]["run_steps_per_s"]
        ax.axvline(ceiling, color="crimson", ls="--" if not light else ":", lw=2)
        ax.text(ceiling * 1.05, len(names) - 0.2 - 0.3 * k, f"ceiling {dtype}: {ceiling:.2g}/s", color="crimson",
                fontsize=8)  # above the first row's labels
        high = max(high, ceiling)
    first = w[dtypes[0]]["variants"]
    ax.set_yticks(y, [f"({first[n]['letter']}) {first[n]['label']}" for n in names], fontsize=9)
    ax.set_xscale("log")
    low = min(w["num_runs"] * w["num_steps"] / sec for dtype in dtypes for n in names
              for sec in w[dtype]["variants"][n]["seconds_all"])
    ax.set_xlim(low / 2, high * 60)
    ax.set_ylim(-0.6, len(names) + 0.2)
    ax.set_xlabel("runs x steps per second (log scale)")
    compile_s = w[dtypes[-1]]["compile"][REFERENCE]["first_minus_warm_s"]
    ax.set_title(f"{wname}: N = {w['n']}, D = {w['d']}, T = {w['num_steps']}, R = {w['num_runs']}; "
                 f"the lab's first call costs {compile_s:.1f} s more than a warm one ({dtypes[-1]})", fontsize=10.5)
    ax.grid(True, axis="x", which="major", alpha=0.3)


def scaling_panel(ax, scaling, axis):
    rows = scaling[axis]
    x = np.array([r[axis] for r in rows])
    for prefix, label, style, colour in (("", "lab sweep (e)", "o-", "tab:orange"),
                                         ("learning_rate_axis_", "lab sweep, learning-rate axis only (i)",
                                          "^:", "saddlebrown")):
        values = np.array([r[f"{prefix}gflops"] for r in rows])
        ranges = np.array([r[f"{prefix}gflops_range"] for r in rows]).T
        ax.errorbar(x, values, yerr=[values - ranges[0], ranges[1] - values], fmt=style, color=colour, lw=2, ms=7,
                    capsize=3, label=label)
    ax.plot(x, [r["ceiling_gflops"] for r in rows], "s--", color="crimson", lw=1.5, ms=6,
            label="matmul ceiling (JAX jit, X^T (X A) chained)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    for xi, r in zip(x, rows):
        ax.annotate(f"{r['fraction_of_ceiling']:.0%}\n{r['run_steps_per_s']:.2g}/s", (xi, r["gflops"]),
                    textcoords="offset points", xytext=(0, -34), ha="center", fontsize=8.5, color="tab:orange",
                    bbox=dict(facecolor="white", edgecolor="none", alpha=0.85, pad=1))  # readable over an error bar
    base = scaling["base"]
    fixed = (f"N={base['n']}" if axis == "R" else f"R={base['num_runs']}") + f", D={base['d']}, T={base['num_steps']}"
    ax.set_xticks(x, [str(v) for v in x])
    ax.minorticks_off()
    ax.set_xlabel("R, number of runs (learning rates)" if axis == "R" else "N, number of samples")
    ax.set_ylabel("GFLOP/s (4 N P flops per run-step)")
    ax.set_title(f"The lab's sweep as {axis} grows ({fixed}, {scaling['dtype']})", fontsize=10.5)
    values = [v for r in rows for v in (*r["gflops_range"], *r["learning_rate_axis_gflops_range"], r["ceiling_gflops"])]
    ax.set_ylim(min(values) / 5, max(values) * 2.5)
    ax.set_xlim(x[0] / 1.6, x[-1] * 1.6)
    ax.legend(fontsize=9, loc="upper left")
    ax.grid(True, which="major", alpha=0.3)


# %% [markdown]
# ## Running it

# %%
def headline(workloads, dtypes):
    """Per (workload, dtype): the lab's throughput, its speed-up over each peer, its share of the ceiling, its compile
    time."""
    out = {}
    for wname, w in workloads.items():
        for dtype in dtypes:
            block = w[dtype]
            lab = block["variants"][REFERENCE]
            out[f"{wname} {dtype}"] = dict(
                lab_run_steps_per_s=lab["run_steps_per_s"], lab_gflops=lab["gflops"],
                matmul_ceiling_gflops=block["matmul_ceiling"]["gflops"],
                lab_fraction_of_ceiling=lab["fraction_of_matmul_ceiling"],
                lab_compile_s=block["compile"][REFERENCE]["first_minus_warm_s"],
                lab_compile_aot_s=block["compile"][REFERENCE].get("lower_plus_compile_s"),
                lab_speedup_over={name: v["lab_speedup_over_this"] for name, v in block["variants"].items()
                                  if name != REFERENCE},
                lab_speedup_over_best_times={name: v["lab_speedup_over_this_best"]
                                             for name, v in block["variants"].items() if name != REFERENCE},
                agreement_ok=block["agreement"]["ok"],
            )
    return out


def summary(headline: dict, workloads: dict) -> dict:
    """The ranges the README quotes, [min, max] over dtypes (and workloads where it says "all")."""
    def extent(values):
        values = [v for v in values if v is not None]
        return [min(values), max(values)] if values else None  # quick mode has no large workload
    large = [h for key, h in headline.items() if key.startswith("large")]
    batched = ("numpy_batched", "torch_batched", "jax_batched_scan")
    return dict(
        large_speedup_over_batched=extent(h["lab_speedup_over"].get(name) for h in large for name in batched),
        all_speedup_over_hand_scan=extent(h["lab_speedup_over"]["jax_batched_scan"] for h in headline.values()),
        large_gram_speedup=extent(
            workloads["large"][key.split()[1]]["variants"]["lab_sweep_gram"]["throughput_ratio_to_lab"]
            for key in headline if key.startswith("large")),
        all_compile_s=extent(h["lab_compile_s"] for h in headline.values()),
    )


def machine():
    info = dict(cpu_count=os.cpu_count(), platform=platform.platform(), processor=platform.processor(),
                jax_devices=[str(d) for d in jax.devices()],
                versions={"jax": jax.__version__, "numpy": np.__version__, "optax": optax.__version__})
    try:
        import torch

        info["versions"]["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    return info


def benchmark(out="figures", quick=False, log=print):
    """Measure everything, write `throughput.json` and `throughput.png` in `out`, return the numbers."""
    jax.config.update("jax_enable_x64", True)  # float32 runs pass dtype="float32"
    out = files.writable_directory(out)
    started = time.perf_counter()
    load_before = os.getloadavg()
    workloads = QUICK_WORKLOADS if quick else WORKLOADS
    dtypes = QUICK_DTYPES if quick else DTYPES
    repeats = QUICK_REPEATS if quick else REPEATS
    pause = QUICK_PAUSE_S if quick else PAUSE_S
    measured = measure_workloads(workloads, dtypes, repeats, pause, quick, log)
    scaling = None if quick else measure_scaling(  # quick: every new shape costs the lab seconds of compilation
        dict(base=SCALING_BASE, R=SCALING_R, N=SCALING_N), SCALING_REPEATS, SCALING_DTYPE, log)
    summaries = headline(measured, dtypes)
    numbers = dict(
        description=__doc__.strip().splitlines()[0],
        quick=quick,
        settings=dict(dtypes=list(dtypes), kappa_hessian=KAPPA, kappa_X=KAPPA ** 0.5, seed=SEED,
                      learning_rates=f"geomspace({LEARNING_RATE_LOW}, {LEARNING_RATE_HIGH}, R)",
                      stability_threshold=1.0, repeats=repeats, pause_between_libraries_s=pause,
                      statistic="median over repeats (seconds_all has every sample)",
                      subset_rule=f"loop variants estimated above {SUBSET_ABOVE_S} s are timed on ~{SUBSET_TARGET_S} s "
                                  "of evenly spread runs and extrapolated linearly",
                      flops="4 N P per run-step (data form), 2 P^2 (Gram form), P = D + 1",
                      compile="first call minus a warm call; lower_s and compile_s from "
                              "sweep.lower(...).compile() after jax.clear_caches() (full mode only)"),
        machine=machine(),
        workloads=measured,
        scaling=scaling,
        headline=summaries,
        summary=summary(summaries, measured),
        load_average_before_after=[list(load_before), list(os.getloadavg())],
        wall_s=time.perf_counter() - started,
    )
    files.save_json(out / "throughput.json", numbers)
    draw(numbers, out)
    return numbers


def draw(numbers, out):
    """throughput.png (and throughput_scaling.png in full mode) from the numbers alone: `python -m
    benchmarks.throughput --draw` redraws them from figures/throughput.json without measuring again."""
    for name, make in (("throughput", figure), ("throughput_scaling", scaling_figure)):
        if name == "throughput_scaling" and not numbers.get("scaling"):
            continue
        fig = make(numbers)
        files.save_figure(Path(out) / f"{name}.png", fig)
        plt.close(fig)


# %%
if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--out", default="figures")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat: a smoke test in seconds")
    parser.add_argument("--draw", action="store_true", help="redraw the figures from OUT/throughput.json only")
    args = parser.parse_args()
    if args.draw:
        draw(json.loads((Path(args.out) / "throughput.json").read_text()), args.out)
        raise SystemExit(0)
    numbers = benchmark(args.out, args.quick)
    for key, h in numbers["headline"].items():
        peers = ", ".join(f"{name} x{ratio:.2g}" for name, ratio in h["lab_speedup_over"].items())
        print(f"{key}: lab {h['lab_run_steps_per_s']:.3g} run-steps/s, {h['lab_gflops']:.1f} GFLOP/s "
              f"({h['lab_fraction_of_ceiling']:.0%} of the matmul ceiling), compile {h['lab_compile_s']:.1f} s; "
              f"lab faster than: {peers}")
