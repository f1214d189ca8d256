"""10^5 runs of the small workload in one sweep: chunked to a memory bound, runs per second, every run checked.

Gradient descent on least squares, N = 200, D = 10 (P = 11 with the intercept),
T = 1000 steps, float32, curves recorded every 10th step, over 100 seeds x 10
condition numbers x 100 learning rates (0.02 to 1.2 times 2/L): 100,000 runs,
each setting (kappa, seed) generating its own data, exact optimum and
spectrum inside the compiled call. `max_bytes` bounds a chunk (its results,
curves and data), so the grid runs as several calls of one compiled program.

Reported: runs/s (and GFLOP/s, 4 N P per step) of a first call (with its compilation) and of a second,
the peak resident memory of the process beside the results' size, and
theory on all runs: every run at least 2 % below 2/L converges (to its
tolerance within T steps, or stays bounded where it is too slow for that)
and every run at least 2 % above it diverges.

Run: python -m benchmarks.scale [--out figures] [--quick]
Writes OUT/scale.json.
"""

import argparse
import platform
import resource
import time

import jax
import numpy as np

from lab import files, runs, sweep

SIZES = dict(n=200, d=10, num_steps=1000, record_every=10, seeds=100, kappas=10,
             learning_rates_over_edge=100, max_mib=256)
QUICK_SIZES = dict(n=40, d=3, num_steps=100, record_every=10, seeds=4, kappas=3,
                   learning_rates_over_edge=8, max_mib=0.08)
MARGIN = 0.02  # runs this close to the edge (relative) are left out of the check: T steps may not tell them apart


def grid(sizes):
    run = runs.LinearRegressionRun(n=sizes["n"], d=sizes["d"], num_steps=sizes["num_steps"], dtype="float32",
                                   record_every=sizes["record_every"])
    axes = dict(seed=np.arange(sizes["seeds"]), kappa=np.logspace(0, 4, sizes["kappas"]),
                learning_rate_over_edge=np.linspace(0.02, 1.2, sizes["learning_rates_over_edge"]))
    return run, axes


def flops_per_run(sizes) -> int:
    """4 N P per step (the residual A a - y and the gradient A^T r, a multiply and an add each), P = D + 1."""
    return 4 * sizes["n"] * (sizes["d"] + 1) * sizes["num_steps"]


def theory_check(results) -> dict:
    """Runs on each side of 2/L (beyond MARGIN) that behave as the theory says, and those that do not."""
    c = np.broadcast_to(results.axes["learning_rate_over_edge"], results["diverged"].shape)
    below, above = c < 1 - MARGIN, c > 1 + MARGIN
    diverged = results["diverged"].astype(bool)
    return dict(below_edge=int(below.sum()), below_edge_diverged=int((below & diverged).sum()),
                below_edge_converged=int((below & (results["iterations"] >= 0)).sum()),
                above_edge=int(above.sum()), above_edge_not_diverged=int((above & ~diverged).sum()))


def benchmark(out="figures", quick=False, log=print) -> dict:
    sizes = QUICK_SIZES if quick else SIZES
    model, axes = grid(sizes)
    max_bytes = int(sizes["max_mib"] * 2**20)
    calls = []
    for call in ("first (compiles)", "second"):
        started = time.perf_counter()
        results = sweep.sweep(model, axes, max_bytes=max_bytes, progress=False)
        seconds = time.perf_counter() - started
        runs_per_second = results["final_gap"].size / seconds
        calls.append(dict(call=call, seconds=seconds, runs_per_second=runs_per_second,
                          gflop_per_second=runs_per_second * flops_per_run(sizes) / 1e9))
        log(f"scale: {call}: {results['final_gap'].size} runs in {seconds:.1f} s, "
            f"{calls[-1]['runs_per_second']:.0f} runs/s")
    numbers = dict(
        description=__doc__.strip().splitlines()[0],
        quick=quick, sizes=sizes, runs=int(results["final_gap"].size), max_bytes=max_bytes,
        results_mib=sum(np.asarray(x).nbytes for x in results.outputs.values()) / 2**20,
        peak_resident_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10,  # Linux: ru_maxrss in KiB
        calls=calls, theory=theory_check(results),
        machine=dict(platform=platform.platform(), devices=[str(d) for d in jax.devices()], jax=jax.__version__),
    )
    files.save_json(files.writable_directory(out) / "scale.json", numbers)
    return numbers


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="figures")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    benchmark(args.out, args.quick)


if __name__ == "__main__":
    main()
