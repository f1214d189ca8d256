"""Mini-batch SGD: the exact mean-square edge against batch size on the diabetes data, beside 2/L, the ensemble
of 4096 runs and the median run.

Least squares on the diabetes data (features standardised, intercept column), its target replaced by X a*
so that the data interpolate. The library computes the mean-square map T_B of SGD with batches of B rows,
with and without replacement, and its edge eta_c(B), the largest learning rate at which E||a_t - a*||^2
contracts (`lab.minibatch`). Measured: 4096 runs per batch size, started with covariance T_B's top
eigenvector: at half the edge their mean square falls by rho(T_B) per step, at 1.1 times the edge it
grows; and the edge of the median run, by bisection per seed (`lab.stability`), which lies above eta_c(B)
for small B: the mean-square divergence is carried by rare runs while the typical one converges.
"""

# %%
import jax
import jax.numpy as jnp
import numpy as np

from experiments import command_line, interpolating_diabetes, max_relative_deviation, prepare, save, size
from experiments.figures.sgd import figure
from lab import criteria, descent, minibatch, problems, runs, spectrum, stability, sweep

TABLE = (1, 2, 4, 8, 16, 32, 64, 128, 256)  # and N: the batch sizes of the JSON's exact edges
SYNTHETIC = dict(n=64, d=4, kappa=100.0)  # problems.regression: exactly this condition number, L = 2
FACTORS = (0.5, 1.1)  # ensembles at these multiples of eta_c(B)
DRAWN = (1, 4, 16, 64, 256, 442)  # the ensembles drawn (all are in the JSON)
SIZES = dict(  # full, quick
    ensemble_batches=((1, 2, 4, 8, 16, 32, 64, 128, 256, None), (1,)),  # None: B = N
    synthetic_batches=((1, 8, 64), (8,)),  # on SYNTHETIC's 64 rows
    synthetic_draws=(20, 3),  # problems drawn for the contraction check (the first is the one in the JSON's synthetic)
    seeds=(4096, 512),
    ensemble_num_steps=(100, 50),
    median_batches=((1, 2, 4, 8, 16, 32, 64, None), (1, 16)),
    median_seeds=(16, 4),
    median_num_steps=(200, 60),
)


def mean_square_run(data, optimum, reference, learning_rate, batch_size, seed, num_steps):
    """One mini-batch SGD run started at a* + a draw of covariance M, T_B's top eigenvector at this learning rate:
    its ||a_t - a*||^2 and rho(T_B)."""
    rho, M = minibatch.mean_square_rate(data.X, learning_rate, batch_size, True)
    key = jax.random.key(jnp.asarray(seed).astype(jnp.int32))
    batches = descent.Minibatches(batch_size, jax.random.fold_in(key, 1), batch_size, True)
    trace = descent.run(criteria.least_squares, data, minibatch.draw_with_second_moment(key, optimum, M), reference,
                        num_steps, learning_rate=learning_rate, growth=jnp.finfo(data.X.dtype).max, batches=batches)
    return {"square": trace.distance**2, "rho": rho}


def ensemble(data, optimum, batch_size, seeds, num_steps):
    """The mean and the median over `seeds` runs of ||a_t - a*||^2 / E||a_0 - a*||^2 at each of FACTORS x eta_c(B),
    started with covariance M, T_B's top eigenvector; and rho(T_B) there. One sweep per batch size (the
    batch's shape is static)."""
    reference = descent.optimum(criteria.least_squares, optimum, data)
    edge = minibatch.mean_square_edge(data.X, batch_size, True)

    def one(factor, seed):
        return mean_square_run(data, optimum, reference, factor * edge, batch_size, seed, num_steps)

    grid = sweep.sweep(one, {"factor": np.asarray(FACTORS), "seed": seeds}, progress=False)
    start = grid["square"][:, :, :1].mean(axis=1)
    return dict(mean=grid["square"].mean(axis=1) / start, median=np.median(grid["square"], axis=1) / start,
                rho=grid["rho"][:, 0])


def compute(quick, dtype, seed):
    data, optimum = interpolating_diabetes(dtype)
    n, num_steps = data.X.shape[0], size(SIZES, "ensemble_num_steps", quick)
    seeds = seed + np.arange(size(SIZES, "seeds", quick))  # the runs of every ensemble
    batch_sizes = lambda name: [b or n for b in size(SIZES, name, quick)]  # noqa: E731 (None: B = N)
    every = np.arange(1, n + 1)
    exact = {mode: np.asarray(jax.vmap(lambda b: minibatch.mean_square_edge(data.X, b, replace))(every))
             for mode, replace in (("with_replacement", True), ("without_replacement", False))}
    ensembles = {b: ensemble(data, optimum, b, seeds, num_steps) for b in batch_sizes("ensemble_batches")}
    batches = np.array(batch_sizes("median_batches"))
    run = runs.CriterionRun(criteria.least_squares, data, size(SIZES, "median_num_steps", quick), resample=False,
                            largest_batch=int(batches.max()))
    axes = {"batch_size": batches, "seed": seed + np.arange(size(SIZES, "median_seeds", quick))}
    per_seed = stability.edge_and_best(run, axes, edge_bracket=(0.05, 2.0), find_best=False)  # a noisy rate: edge only
    X, y = problems.regression(jax.random.key(seed), **SYNTHETIC, dtype=dtype)
    synthetic, fit = problems.interpolating(problems.make_data(X, y))
    checks = {b: ensemble(synthetic, fit, b, seeds, num_steps) for b in size(SIZES, "synthetic_batches", quick)}
    draws = seed + np.arange(size(SIZES, "synthetic_draws", quick))
    over_draws = {b: synthetic_rates_over_draws(b, draws, seeds, num_steps, dtype) for b in checks}
    return data, every, exact, ensembles, batches, per_seed, (synthetic, checks, over_draws)


def synthetic_rates_over_draws(batch_size, draws, seeds, num_steps, dtype):
    """On each draw of the synthetic problem: rho(T_B) and the measured per-step factor of the mean square over
    `seeds` runs at FACTORS[0] x eta_c(B), as `ensemble` measures them on one. One sweep: the draw is an axis."""
    def one(draw, seed):
        X, y = problems.regression(jax.random.key(jnp.asarray(draw).astype(jnp.int32)), **SYNTHETIC, dtype=dtype)
        data, fit = problems.interpolating(problems.make_data(X, y))
        reference = descent.optimum(criteria.least_squares, fit, data)
        learning_rate = FACTORS[0] * minibatch.mean_square_edge(data.X, batch_size, True)
        return mean_square_run(data, fit, reference, learning_rate, batch_size, seed, num_steps)

    grid = sweep.sweep(one, {"draw": np.asarray(draws), "seed": seeds}, progress=False)
    mean = grid["square"].mean(axis=1)
    return (mean[:, -1] / mean[:, 0]) ** (1 / (mean.shape[1] - 1)), grid["rho"][:, 0]


def measured_against_rho(ensembles):
    """{B: exact rho(T_B) and the measured per-step factor of the mean square} at the first factor (0.5), their
    largest deviation, and above the edge (1.1): the mean's and the median's growth over the run (and over 5 steps)
    beside rho(T_B)."""
    below = {str(b): dict(rho=float(found["rho"][0]),
                          measured=float(found["mean"][0, -1] ** (1 / (found["mean"].shape[1] - 1))))
             for b, found in ensembles.items()}
    above = lambda name, *step: {str(b): float(found[name][1, *step]) for b, found in ensembles.items()}  # noqa: E731
    return dict(below_edge=below, max_relative_deviation_below=max_relative_deviation(
                    [v["measured"] for v in below.values()], [v["rho"] for v in below.values()]),
                mean_growth_above=above("mean", -1), mean_growth_above_5_steps=above("mean", 5),
                median_growth_above=above("median", -1), rho_above=above("rho"))


def reproduce(out="figures", quick=False, dtype="float64", seed=0):
    """Write sgd.png and sgd.json in `out`; return the numbers."""
    out = prepare(out, dtype)
    data, every, exact, ensembles, batches, found, (synthetic, checks, draws) = compute(quick, jnp.dtype(dtype), seed)
    n, anywhere = data.X.shape[0], jnp.zeros(data.X.shape[1], data.X.dtype)  # least squares: one Hessian everywhere
    two_over_L = float(spectrum.stability_threshold(spectrum.spectrum(criteria.least_squares, anywhere, data).L))
    b90 = {mode: int(every[np.argmax(edges >= 0.9 * two_over_L)]) for mode, edges in exact.items()}
    edge_learning_rate = np.asarray(found["edge_learning_rate"])
    median, band = np.nanmedian(edge_learning_rate, axis=1), np.nanpercentile(edge_learning_rate, [10, 90], axis=1)
    numbers = dict(
        num_samples=n, num_params=int(data.X.shape[1]), two_over_L=two_over_L,
        exact_edge={mode: {str(b): float(edges[b - 1]) for b in (*TABLE, n)} for mode, edges in exact.items()},
        batch_size_at_90_percent=b90,
        ensemble=dict(seeds=size(SIZES, "seeds", quick), num_steps=size(SIZES, "ensemble_num_steps", quick),
                      factors=list(FACTORS), **measured_against_rho(ensembles)),
        median_run=dict(batch_sizes=batches.tolist(), seeds=size(SIZES, "median_seeds", quick),
                        num_steps=size(SIZES, "median_num_steps", quick), edge=median.tolist(),
                        edge_10_90=band.T.tolist(), bracketed=bool(np.all(found["bracketed"])),
                        exact_edge=[float(exact["with_replacement"][b - 1]) for b in batches],
                        over_exact=(median / exact["with_replacement"][batches - 1]).tolist()),
        synthetic=dict(**SYNTHETIC, num_params=int(synthetic.X.shape[1]),
                       exact_edge={str(b): float(minibatch.mean_square_edge(synthetic.X, b, True)) for b in checks},
                       **measured_against_rho(checks)),
        synthetic_draws=dict(count=size(SIZES, "synthetic_draws", quick), batch_sizes=list(draws),
                             max_relative_deviation_below=max_relative_deviation(
                                 np.concatenate([m for m, _ in draws.values()]),
                                 np.concatenate([r for _, r in draws.values()]))))
    return save(out, "sgd", numbers, {"": figure(every, exact, two_over_L, b90["with_replacement"], ensembles, DRAWN,
                                                 size(SIZES, "seeds", quick), batches, median, band)})


# %%
if __name__ == "__main__":
    result = command_line(reproduce, __doc__)
    print({k: result[k] for k in ("two_over_L", "batch_size_at_90_percent")}, result["median_run"]["over_exact"])
