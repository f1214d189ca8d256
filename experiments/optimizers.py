"""Optimizers: heavy-ball and Nesterov momentum's stability maps (learning rate x beta) against their edges,
and iterations against condition number for gradient descent, momentum, Nesterov and Adam.

Every method is run through the same sweep on the same least-squares
problems. The stability maps sweep heavy-ball momentum (optax.sgd with
momentum=beta) and Nesterov's (nesterov=True) over learning rate and beta at one
condition number; the measured edge for each beta is found by bisection and
drawn beside 2(1+beta)/L and 2(1+beta)/((1+2 beta)L). Then each
method's fewest iterations to reach the tolerance, over a grid of its
hyper-parameters, is plotted against the condition number with fitted slopes:
about kappa for gradient descent, sqrt(kappa) for momentum (Polyak, 1964).
optax's learning-rate schedules, one more sweep axis, are `optimizers_schedules`.
"""

# %%
import dataclasses
import functools

import jax
import numpy as np
import optax

from experiments import command_line, loglog_slope, max_relative_deviation, prepare, save, size
from experiments.figures.optimizers import iterations_figure, map_figure
from lab import runs, spectrum, stability, sweep

N, D, TOLERANCE = 50, 5, 1e-6
MAP_KAPPA, MAP_NUM_STEPS = 100.0, 300
SIZES = dict(  # full, quick
    map_learning_rates_over_edge=(np.geomspace(0.02, 2.2, 60), np.geomspace(0.05, 2.2, 12)),
    map_betas=(np.linspace(0.0, 0.95, 40), np.linspace(0.0, 0.9, 6)),
    edge_betas=(np.array([0.0, 0.3, 0.6, 0.9]), np.array([0.0, 0.5, 0.9])),
    kappas=(np.logspace(0, 3, 7), np.logspace(0, 2, 3)),
    learning_rates_over_edge=(np.geomspace(0.02, 2.0, 40), np.geomspace(0.05, 2.0, 12)),
    betas=(np.linspace(0.0, 0.95, 20), np.linspace(0.0, 0.9, 6)),
    adam_rates=(np.geomspace(1e-3, 1.0, 40), np.geomspace(1e-3, 1.0, 10)),
    horizon=(4000, 1200),
    seeds=(5, 2),  # problems drawn per condition number in the iterations figure
)
NESTEROV = functools.partial(optax.sgd, nesterov=True)
# At Polyak's optimum the extreme modes have a double eigenvalue: the error decays like t * rate^t,
# so a rate measured over a short run (small kappa converges in a few steps) reads a few % high.
OPTIMUM_KAPPAS = np.array([100.0, 300.0, 1000.0])


# %%
def momentum_map(quick, dtype, optimizer=optax.sgd):
    """`optimizer` (heavy ball or NESTEROV) over learning rate (units of 2/L) x beta at kappa = MAP_KAPPA, and the
    measured edge per beta."""
    run = runs.LinearRegressionRun(N, D, MAP_NUM_STEPS, dtype=dtype, start="eigen", optimizer=optimizer)
    grid = sweep.sweep(run, {"learning_rate_over_edge": size(SIZES, "map_learning_rates_over_edge", quick),
                             "momentum": size(SIZES, "map_betas", quick),
                             "kappa": np.array([MAP_KAPPA])}, progress=False)
    edges = stability.edge_and_best(dataclasses.replace(run, num_steps=2000),
                                    {"momentum": size(SIZES, "edge_betas", quick), "kappa": np.array([MAP_KAPPA])},
                                    edge_bracket=(0.4, 2.5), find_best=False, rtol=1e-5)
    return grid, edges


def rate_at_optimum(quick, dtype):
    """Heavy-ball at Polyak's optimal (learning rate, beta) for each kappa: measured contraction beside theory."""
    run = runs.LinearRegressionRun(N, D, size(SIZES, "horizon", quick), dtype=dtype, start="eigen")

    def at_optimum(kappa):
        learning_rate, beta, _ = spectrum.heavy_ball_optimal(1.0, 1.0 / kappa)  # scale-free: steps in units of 1/L
        outcome = run(learning_rate_over_edge=learning_rate / 2, kappa=kappa, momentum=beta)
        return dict(measured=outcome.measured_rate, theory=spectrum.heavy_ball_optimal(outcome.L, outcome.mu)[2])

    rates = sweep.sweep(at_optimum, {"kappa": OPTIMUM_KAPPAS}, progress=False)
    return OPTIMUM_KAPPAS, rates["measured"], rates["theory"]


def fewest_iterations(quick, dtype):
    """Each method's fewest iterations to the tolerance over its hyper-parameter grid: (kappas, {method:
    (kappa, seed)}), -1 where no setting reached it. Each seed draws another problem of the same condition number."""
    horizon, kappas, seeds = size(SIZES, "horizon", quick), size(SIZES, "kappas", quick), size(SIZES, "seeds", quick)
    record = dict(record_every=100, tolerance=TOLERANCE, dtype=dtype, start="eigen")
    never = np.iinfo(np.int32).max
    fewest = {}
    momentum_axes = {"learning_rate_over_edge": size(SIZES, "learning_rates_over_edge", quick),
                     "momentum": size(SIZES, "betas", quick)}
    for name, optimizer, axes in (("heavy ball", optax.sgd, momentum_axes), ("Nesterov", NESTEROV, momentum_axes),
                                  ("Adam", optax.adam, {"learning_rate": size(SIZES, "adam_rates", quick)})):
        run = runs.LinearRegressionRun(N, D, horizon, optimizer=optimizer, **record)
        grid = sweep.sweep(run, {"kappa": kappas, "seed": np.arange(seeds), **axes}, progress=False)
        iterations = np.where(grid["iterations"] >= 0, grid["iterations"], never)
        fewest[name] = iterations.reshape(len(kappas), seeds, -1).min(axis=2)
        if name == "heavy ball":  # beta = 0 is plain gradient descent
            fewest["gradient descent"] = iterations[..., 0].min(axis=2)
    return kappas, {name: np.where(v < never, v, -1) for name, v in fewest.items()}


def median(by_seed):
    """The median over seeds (last axis) of iteration counts, -1 (never reached) counting as the most."""
    middle = np.median(np.where(by_seed >= 0, by_seed, np.inf), axis=-1)
    return np.where(np.isfinite(middle), middle, -1)


def theory_iterations(kappas):
    """Gradient descent at 2/(L+mu) and heavy ball at its optimum: ln(tol) / (2 ln rate)."""
    gd = spectrum.predicted_iterations(spectrum.optimal_rate(kappas), 1.0, TOLERANCE)
    hb = spectrum.predicted_iterations(spectrum.heavy_ball_optimal(1.0, 1.0 / kappas)[2], 1.0, TOLERANCE)
    return gd, hb


def slope(kappas, iterations):
    """Fitted exponent of iterations ~ kappa^slope over kappa >= 10."""
    keep = (kappas >= 10) & (iterations > 0)
    return loglog_slope(kappas[keep], iterations[keep])


# %%
def reproduce(out="figures", quick=False, dtype="float64", seed=0):
    """Write optimizers_momentum_map.png, optimizers_iterations.png and optimizers.json (the problems drawn are
    seeds 0, 1, ...: `seed` changes nothing)."""
    out = prepare(out, dtype)
    maps = {"heavy ball": momentum_map(quick, dtype), "Nesterov": momentum_map(quick, dtype, NESTEROV)}
    (grid, edges), (_, nesterov) = maps["heavy ball"], maps["Nesterov"]
    kappas_rate, measured_rate, theory_rate = rate_at_optimum(quick, dtype)
    kappas, fewest = fewest_iterations(quick, dtype)
    theory = jax.device_get(theory_iterations(kappas))
    gd_edge = spectrum.stability_threshold(1.0)  # the edges in units of gradient descent's 2/L
    edge_theory = np.asarray(spectrum.heavy_ball_threshold(1.0, edges.axes["momentum"]) / gd_edge)
    nesterov_theory = np.asarray(spectrum.nesterov_threshold(1.0, nesterov.axes["momentum"]) / gd_edge)
    numbers = dict(
        map_kappa=MAP_KAPPA, edge_betas=edges.axes["momentum"].tolist(),
        measured_edge=edges["edge"][:, 0].tolist(), theory_edge=edge_theory.tolist(),
        edge_relative_error=(edges["edge"][:, 0] / edge_theory - 1).tolist(),
        edge_max_relative_error=max_relative_deviation(edges["edge"][:, 0], edge_theory),
        diverged_runs=int(grid["diverged"].sum()), map_runs=int(grid["diverged"].size),
        nesterov_measured_edge=nesterov["edge"][:, 0].tolist(), nesterov_theory_edge=nesterov_theory.tolist(),
        nesterov_edge_max_relative_error=max_relative_deviation(nesterov["edge"][:, 0], nesterov_theory),
        optimum_kappas=kappas_rate.tolist(), optimum_measured_rate=measured_rate.tolist(),
        optimum_theory_rate=theory_rate.tolist(),
        optimum_rate_max_relative_error=max_relative_deviation(measured_rate, theory_rate),
        kappas=kappas.tolist(), tolerance=TOLERANCE, seeds=size(SIZES, "seeds", quick),
        fewest_iterations={k: median(v).tolist() for k, v in fewest.items()},
        fewest_iterations_by_seed={k: v.tolist() for k, v in fewest.items()},
        theory_iterations={"gradient descent": theory[0].tolist(), "heavy ball": theory[1].tolist()},
        slopes={name: slope(kappas, median(v)) for name, v in fewest.items()},
    )
    figures = {"momentum_map": map_figure(maps, MAP_KAPPA, MAP_NUM_STEPS),
               "iterations": iterations_figure(kappas, fewest, theory, numbers)}
    return save(out, "optimizers", numbers, figures)


# %%
if __name__ == "__main__":
    result = command_line(reproduce, __doc__)
    print({key: result[key] for key in ("edge_max_relative_error", "optimum_rate_max_relative_error", "slopes")})
