"""Stochastic and network sweeps against a Python loop over the same runs, each one jitted call.

Two workloads of the sgd and edge_of_stability experiments, written here on the library:

* mini-batch SGD on the diabetes data (interpolating least squares), batch size x
  learning rate x seed, each run T steps of `descent.Minibatches`;
* the tanh network of edge_of_stability trained by full-batch gradient descent at
  several learning rates.

"sweep" is `lab.sweep.sweep` over the grid (one compiled call); "loop" calls the same
run function, jitted once, for every point of the grid from Python. Both are timed after
a first call that compiles, median of REPEATS; the ratio loop / sweep is the speed-up.
The two compute the same runs with different operation orders (batched against single
matrix products): convex runs agree to rounding; the network's runs at the edge of
stability are chaotic and amplify that rounding, which the recorded differences show.

Run: python -m benchmarks.sweeps [--out figures] [--repeats 3] [--quick]
Writes OUT/sweeps.json.
"""

import argparse
import platform
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

from lab import criteria, datasets, descent, files, networks, problems, sweep

WIDTHS = (32, 32, 10)  # edge_of_stability's network on the pixels that vary: two tanh layers of 32, ten outputs
INIT_SCALE = 0.5  # its initial weights: half the usual 1/sqrt(fan-in)


def minibatch_run(num_steps, largest=None):
    """Mini-batch SGD on the interpolating diabetes data; every step draws `largest` rows (default N) and
    weighs the first batch_size of them."""
    X, y, _ = datasets.diabetes(standardize=True)
    data, optimum = problems.interpolating(problems.make_data(X, y))
    reference = descent.optimum(criteria.least_squares, optimum, data)
    largest = largest or data.X.shape[0]

    def run(batch_size, learning_rate, seed):
        key = jax.random.key(jnp.asarray(seed).astype(jnp.int32))
        batches = descent.Minibatches(batch_size, key, largest, True)
        trace = descent.run(criteria.least_squares, data, jnp.zeros_like(optimum), reference, num_steps,
                            learning_rate=learning_rate, batches=batches)
        return {"final_gap": trace.gap[-1]}

    return run


def network_run(num_steps):
    """Full-batch gradient descent on the digits (pixels standardised, digits one-hot): the loss
    0.5 mean ||network(x) - one_hot(digit)||^2 from one start."""
    X, digits, _ = datasets.digits()
    X = problems.standardize(X[:, np.asarray(jnp.std(X, axis=0)) > 0])[0]  # pixels blank in every image dropped
    data = {"X": X, "Y": jnp.asarray(np.eye(10)[np.asarray(digits, int)], X.dtype)}
    widths = (X.shape[1], *WIDTHS)

    def loss(a, data):
        return 0.5 * jnp.mean(jnp.sum((networks.mlp(a, data["X"], widths) - data["Y"]) ** 2, axis=1))

    init = networks.init(jax.random.key(0), widths, X.dtype, scale=INIT_SCALE)
    zero = descent.Optimum(jnp.zeros_like(init), jnp.zeros((), init.dtype))

    def run(learning_rate):
        trace = descent.run(loss, data, init, zero, num_steps,
                            learning_rate=learning_rate, growth=jnp.finfo(init.dtype).max)
        return {"final_loss": trace.gap[-1]}

    return run


def median_seconds(call, repeats):
    call()  # compiles
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def compare(run, axes, repeats):
    """(sweep seconds, loop seconds, relative difference between the two's outputs at each point)."""
    names = list(axes)
    points = [dict(zip(names, values)) for values in np.stack(np.meshgrid(*axes.values(), indexing="ij"), -1)
              .reshape(-1, len(names))]
    jitted = jax.jit(run)

    def swept():
        return sweep.sweep(run, axes, progress=False)

    def looped():
        return [jax.block_until_ready(jitted(**point)) for point in points]

    sweep_s, loop_s = median_seconds(swept, repeats), median_seconds(looped, repeats)
    grid, loop = swept(), looped()
    name = next(iter(grid.outputs))
    swept_values, looped_values = grid[name].ravel(), np.array([float(out[name]) for out in loop])
    return sweep_s, loop_s, np.abs(swept_values - looped_values) / np.maximum(np.abs(swept_values), 1e-300)


def masking_cost(num_steps, seeds, repeats):
    """Seconds of a sweep of B = 1 runs drawing 1 row per step, and of the same runs masked to B = N rows
    (as when B = 1 shares a sweep with B = N): what one shape for every batch size costs the smallest."""
    axes = {"batch_size": np.array([1.0]), "learning_rate": np.array([0.05]), "seed": np.arange(seeds)}
    own, masked = (minibatch_run(num_steps, largest) for largest in (1, None))
    return {name: median_seconds(lambda run=run: sweep.sweep(run, axes, progress=False), repeats)
            for name, run in (("largest_1", own), ("largest_N", masked))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--out", default="figures")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="small grids (seconds)")
    args = parser.parse_args(argv)
    out = files.writable_directory(args.out)
    jax.config.update("jax_enable_x64", True)
    quick = args.quick
    workloads = {
        "minibatch_sgd": (minibatch_run(50 if quick else 200),
                          {"batch_size": np.array([1.0, 16.0]) if quick else np.array([1.0, 4.0, 16.0, 64.0]),
                           "learning_rate": np.linspace(0.05, 0.2, 2 if quick else 8),
                           "seed": np.arange(4 if quick else 32)}),
        "network_gradient_descent": (network_run(100 if quick else 1000),
                                     {"learning_rate": np.array([0.05, 0.3, 0.4, 0.5, 0.7])}),
    }
    results = {}
    for name, (run, axes) in workloads.items():
        sweep_s, loop_s, difference = compare(run, axes, args.repeats)
        runs = int(np.prod([len(v) for v in axes.values()]))
        results[name] = dict(runs=runs, axes={k: v.tolist() for k, v in axes.items()}, sweep_s=sweep_s,
                             loop_s=loop_s, loop_over_sweep=loop_s / sweep_s,
                             max_relative_difference=float(difference.max()),
                             median_relative_difference=float(np.median(difference)))
        if runs <= 8:
            results[name]["relative_differences"] = difference.tolist()
        print(f"{name}: {runs} runs, sweep {sweep_s:.2f} s, loop of jitted runs {loop_s:.2f} s: "
              f"{loop_s / sweep_s:.1f}x, outputs differ by at most {difference.max():.1e} relative")
    masking = masking_cost(50 if quick else 200, 64 if quick else 1024, args.repeats)
    masking["ratio"] = masking["largest_N"] / masking["largest_1"]
    print(f"B = 1 runs masked to N rows per step: {masking['ratio']:.1f}x the time of drawing one row")
    numbers = dict(workloads=results, masking=masking, repeats=args.repeats, quick=quick,
                   machine=platform.processor() or platform.machine(),
                   devices=[str(d) for d in jax.devices()], jax=jax.__version__)
    files.save_json(out / "sweeps.json", numbers)
    return numbers


if __name__ == "__main__":
    main()
