"""Where the lab's time goes: its sweep against hand-written JAX doing the same gradient descent.

Least squares from a = 0, R learning rates x T steps, f(a_t) recorded at every step, in two forms:
the data form (X (N, P)) and the Gram form (G = X^T X / N, b = X^T y / N, P^2 per step). Variants,
each one jitted call with its results brought to the host, timed interleaved (median of REPEATS):

* hand, batched: A (P, R) iterated as matrices, A <- A - lr (grad), the hand-written best;
* hand, runs as rows: the same with A (R, P), the layout in which `jax.vmap` batches runs (see below);
* hand, vmap: the same one run of a (P,) written once and vmapped over the learning rates;
* plain descent vmapped: a <- a - lr grad f(a) with the criterion's `jax.value_and_grad`, f - f* recorded,
  vmapped: the lab's run without its bookkeeping (divergence rule, frozen iterate, masks, ||a - a*||);
* descent.run, gaps only: the lab's run (divergence rule, ||a - a*||, two curves) vmapped, gaps to the host;
* descent.run, whole trace: the same with every recorded array to the host;
* sweep: `lab.sweep.sweep` of `LinearRegressionRun` (problem built per setting, summaries, chunking);
* Gram only, before: `descent.run` with a^T G a differentiated by plain autodiff (G a and G^T a per step),
  what `criteria.least_squares_gram` did before it reused G a.

Ratios are to "hand, batched". A vmapped run holds its R iterates as the rows of an (R, P) array, so each
step's matrix product and each reduction over P (f, ||a - a*||) runs along the short minor axis; "hand,
runs as rows" measures what that layout alone costs, and "descent.run / plain descent vmapped" what the
lab's bookkeeping costs on top. Run: python -m benchmarks.bookkeeping [--out figures] [--quick], or `lab bench`.
Writes OUT/bookkeeping.json.
"""

import argparse
import os
import platform
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lab import descent, files, problems, runs, sweep

WORKLOADS = {"small": dict(n=200, d=10, num_steps=1000, num_runs=1024),
             "large": dict(n=2000, d=50, num_steps=500, num_runs=256)}
QUICK = {"small": dict(n=50, d=4, num_steps=50, num_runs=16)}
KAPPA = 100.0
REPEATS = 7


def plain_gram(a, moments):
    """a^T G a - 2 a^T b + c differentiated by plain autodiff: two matrix-vector products per gradient."""
    return a @ (moments.G @ a) - 2 * (a @ moments.b) + moments.c


def variants(n, d, num_steps, num_runs, dtype, gram):
    """{name: function returning host arrays} for one workload, form and dtype."""
    problem = problems.regression_problem(jax.random.key(0), n, d, KAPPA, gram=gram, dtype=jnp.dtype(dtype))
    learning_rates = jnp.asarray(np.geomspace(1e-3, 1.0, num_runs) * float(problem.edge_learning_rate), dtype)
    data = problem.data

    def gradient(A):  # (P, R) iterates: the gradient and f of every run at once
        if gram:
            GA = data.G @ A
            return 2 * (GA - data.b[:, None]), jnp.sum(A * GA, 0) - 2 * (data.b @ A) + data.c
        residual = data.X @ A - data.y[:, None]
        return (2 / n) * (data.X.T @ residual), jnp.mean(residual**2, 0)

    @jax.jit
    def hand_batched(learning_rates):
        def step(A, _):
            grad, f = gradient(A)
            return A - learning_rates * grad, f
        return jax.lax.scan(step, jnp.zeros((d + 1, num_runs), dtype), None, length=num_steps)[1]

    @jax.jit
    def hand_rows(learning_rates):
        def step(A, _):  # (R, P) iterates, G symmetric
            if gram:
                AG = A @ data.G
                grad, f = 2 * (AG - data.b), jnp.sum(A * AG, 1) - 2 * (A @ data.b) + data.c
            else:
                residual = A @ data.X.T - data.y
                grad, f = (2 / n) * (residual @ data.X), jnp.mean(residual**2, 1)
            return A - learning_rates[:, None] * grad, f
        return jax.lax.scan(step, jnp.zeros((num_runs, d + 1), dtype), None, length=num_steps)[1]

    @jax.jit
    def plain_descent(learning_rates):
        value_and_grad = jax.value_and_grad(problem.criterion)

        def one(learning_rate):
            def step(a, _):
                value, grad = value_and_grad(a, data)
                return a - learning_rate * grad, value - problem.reference.value
            return jax.lax.scan(step, problem.start, None, length=num_steps)[1]
        return jax.vmap(one)(learning_rates)

    @jax.jit
    def hand_vmap(learning_rates):
        def one(learning_rate):
            def step(a, _):
                grad, f = gradient(a[:, None])
                return a - learning_rate * grad[:, 0], f[0]
            return jax.lax.scan(step, jnp.zeros(d + 1, dtype), None, length=num_steps)[1]
        return jax.vmap(one)(learning_rates)

    def lab_runs(criterion):
        return jax.jit(jax.vmap(lambda lr: descent.run(criterion, data, problem.start, problem.reference, num_steps,
                                                       optax.sgd, learning_rate=lr)))

    whole = lab_runs(problem.criterion)
    gaps = jax.jit(lambda lrs: whole(lrs).gap)
    run = runs.LinearRegressionRun(n=n, d=d, num_steps=num_steps, gram=gram, dtype=dtype)
    axes = {"learning_rate": np.asarray(learning_rates), "kappa": np.array([KAPPA])}
    found = {
        "hand, batched": lambda: np.asarray(hand_batched(learning_rates)),
        "hand, runs as rows": lambda: np.asarray(hand_rows(learning_rates)),
        "hand, vmap": lambda: np.asarray(hand_vmap(learning_rates)),
        "plain descent vmapped": lambda: np.asarray(plain_descent(learning_rates)),
        "descent.run, gaps only": lambda: np.asarray(gaps(learning_rates)),
        "descent.run, whole trace": lambda: jax.device_get(whole(learning_rates)),
        "sweep": lambda: sweep.sweep(run, axes, progress=False)["gap"],
    }
    if gram:
        before = jax.jit(lambda lrs: lab_runs(plain_gram)(lrs).gap)
        found["descent.run, gaps only, before (plain autodiff of a^T G a)"] = lambda: np.asarray(before(learning_rates))
    return found


def measure(repeats, workloads, log=print):
    out = {}
    for wname, sizes in workloads.items():
        for dtype in ("float32", "float64"):
            for gram in (False, True):
                found = variants(**sizes, dtype=dtype, gram=gram)
                for function in found.values():
                    function()  # compile
                seconds = {name: [] for name in found}
                for _ in range(repeats):
                    for name, function in found.items():
                        started = time.perf_counter()
                        function()
                        seconds[name].append(time.perf_counter() - started)
                median = {name: statistics.median(v) for name, v in seconds.items()}
                hand = median["hand, batched"]
                key = f"{wname} {dtype} {'Gram' if gram else 'data'} form"
                out[key] = dict(sizes, median_s=median, over_hand={name: m / hand for name, m in median.items()},
                                bookkeeping=median["descent.run, gaps only"] / median["plain descent vmapped"])
                log(f"{key}: {({name: round(r, 2) for name, r in out[key]['over_hand'].items()})}")
    return out


def summary(cells: dict) -> dict:
    """The ranges the README quotes: {name: [min, max]} over the cells of one form or of all."""
    def extent(values):
        values = list(values)
        return [min(values), max(values)]
    data = [c for k, c in cells.items() if k.endswith("data form")]
    gram = [c for k, c in cells.items() if k.endswith("Gram form")]
    return {
        "rows_over_hand_data": extent(c["over_hand"]["hand, runs as rows"] for c in data),
        "rows_over_hand_gram": extent(c["over_hand"]["hand, runs as rows"] for c in gram),
        "bookkeeping": extent(c["bookkeeping"] for c in cells.values()),
        "distance_cost_gram": extent(c["over_hand"]["descent.run, whole trace"]
                                     / c["over_hand"]["descent.run, gaps only"]
                                     for c in gram),
    }


def benchmark(out="figures", quick=False, repeats=REPEATS, log=print) -> dict:
    """Measure every cell, write OUT/bookkeeping.json, return the numbers (ratios in cells/*/over_hand)."""
    jax.config.update("jax_enable_x64", True)  # float32 variants ask for it
    repeats = 2 if quick else repeats
    numbers = dict(machine=dict(platform=platform.platform(), cpu_count=os.cpu_count(),
                                devices=[str(d) for d in jax.devices()]),
                   repeats=repeats, cells=measure(repeats, QUICK if quick else WORKLOADS, log))
    numbers["summary"] = summary(numbers["cells"])
    files.save_json(files.writable_directory(out) / "bookkeeping.json", numbers)
    return numbers


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="figures")
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, 2 repeats (a smoke test)")
    args = parser.parse_args(argv)
    return benchmark(args.out, args.quick, args.repeats)


if __name__ == "__main__":
    main()
