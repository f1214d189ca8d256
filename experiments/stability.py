"""Stability of gradient descent: a map of learning rate/(2/L) against condition number, with the edge 2/L
and best learning rate 2/(L+μ) measured.

One sweep (`lab.sweep.sweep`, one compiled call) runs gradient descent from
a = 0 on least-squares problems with condition numbers SIZES["kappas"] (1 to
1e4) at every step size of SIZES["learning_rates_over_edge"], given as fractions c of each
problem's own 2/L, for SIZES["num_steps"] iterations. `lab.stability.edge_and_best` then measures, for every
kappa, the largest stable learning rate (bisection to 0.1 %) and the best learning rate (golden
section on the measured contraction), which are drawn on the map beside the
theory 2/L and 2/(L + mu).

Figures (in `out`):
  stability_map.png          log10 of the final gap over the initial one, diverged runs in black;
  stability_iterations.png   iterations to the tolerance against the learning rate, for a few kappas, with theory;
  stability_convergence.png  f(a_t) − f* at kappa = CURVE_KAPPA well below (slow), just below, at (no
                             progress) and just above the edge (exploding), with the exact predicted curves,
                             and the component of a_t − a* along the top eigenvector (oscillating).
Every kappa is drawn for SIZES["seeds"] seeds (seed, seed + 1, ...): the map shows the median over seeds,
the iterations figure the median and a 10-90 % band; the convergence curves are seed `seed`'s problem.
Numbers (`out/stability.json`): N, D, num_steps, tolerance, seed, seeds, dtype, steps, kappas;
  per_kappa: {kappa, edge_learning_rate, theory_edge_learning_rate, edge_relative_error, best_learning_rate,
  theory_best_learning_rate, best_relative_error, best_rate, theory_rate, diverged_runs,
  smallest_diverged_learning_rate} (one entry per kappa: steps absolute, medians over the seeds; the relative
  errors the largest over the seeds, with their sign; diverged_runs summed and smallest_diverged_learning_rate,
  in units of 2/L, the smallest over the seeds);
  max_edge_relative_error, max_best_relative_error, max_rate_relative_error (kappa > 1); runs, diverged_runs,
  diverged_below_edge, not_diverged_above_edge; curves (the convergence runs).
"""

# %%
import jax
import numpy as np

from experiments import command_line, max_relative_deviation, prepare, save, size
from experiments.figures.stability import convergence_figure
from lab import plots, problems, runs, spectrum, stability, sweep

N, D = 100, 10
SIZES = dict(  # full, quick
    num_steps=(1000, 500),
    # learning rates as fractions c of 2/L (exactly 1.0 is on both grids), condition numbers 1 to 1e4
    learning_rates_over_edge=(np.round(np.arange(1, 121) * 0.01, 10), np.round(np.arange(1, 25) * 0.05, 10)),
    kappas=(np.logspace(0, 4, 17), np.logspace(0, 4, 5)),
    seeds=(5, 2),  # data drawn anew per seed: the figures show the median (and a 10-90 % band)
)
ITERATION_KAPPAS = (1.0, 10.0, 100.0, 1000.0)  # the curves of the iterations figure
# the convergence curves: well below, just below, at, above
CURVE_KAPPA, CURVE_LEARNING_RATES_OVER_EDGE = 100.0, (0.5, 0.95, 1.0, 1.05)
TOP_NUM_STEPS = 20  # iterations of the top-eigenvector panel


# %%
def compute(seed: int = 0, quick: bool = False, dtype: str = "float64"):
    """The sweep, the measured edges and best learning rates, and the convergence runs' theory: arrays only."""
    num_steps = size(SIZES, "num_steps", quick)
    run = runs.LinearRegressionRun(n=N, d=D, num_steps=num_steps, dtype=dtype)
    kappas, seeds = size(SIZES, "kappas", quick), seed + np.arange(size(SIZES, "seeds", quick))
    grid = sweep.sweep(run, {"learning_rate_over_edge": size(SIZES, "learning_rates_over_edge", quick),
                             "kappa": kappas, "seed": seeds}, progress=False)
    edges = stability.edge_and_best(run, {"kappa": kappas, "seed": seeds})
    return dict(run=run, grid=grid, edges=edges, **curves_theory(run, seed, num_steps))


def curves_theory(run, seed, num_steps):
    """For the convergence runs (kappa = CURVE_KAPPA, CURVE_LEARNING_RATES_OVER_EDGE x 2/L): the exact predicted gaps,
    and the component of a_t − a* along the top eigenvector, measured on gradient descent itself."""
    problem = problems.regression_problem(jax.random.key(seed), N, D, CURVE_KAPPA, run.noise, dtype=run.dtype)
    spec, optimum = problem.spectrum, problem.reference  # the sweep's problem at kappa = CURVE_KAPPA
    learning_rates = [c * problem.edge_learning_rate for c in CURVE_LEARNING_RATES_OVER_EDGE]
    predicted = [spectrum.predicted_gap(spec, rate, problem.start, optimum.params, num_steps)
                 for rate in learning_rates]
    paths = [runs.optimize(problem, TOP_NUM_STEPS, rate, record_path=True)[1].path for rate in learning_rates]
    top_component = [(path - optimum.params) @ spec.eigenvectors[:, -1] for path in paths]
    return dict(predicted=np.array(predicted), top_component=np.array(top_component),
                optimal_value=float(optimum.value))


# %%
def numbers(result, seed, dtype):
    """The key numbers, as plain JSON-ready values."""
    grid, edges, run = result["grid"], result["edges"], result["run"]
    c, kappas = grid["learning_rate_over_edge"], grid.axes["kappa"]  # (learning rate, kappa, seed)
    diverged = grid["diverged"]
    at = lambda name: np.asarray(edges[name], float)  # noqa: E731 (kappa, seed)
    edge_error = at("edge_learning_rate") / at("theory_edge_learning_rate") - 1
    best_error = at("best_learning_rate") / at("theory_best_learning_rate") - 1
    median = lambda values, j: float(np.median(values[j]))  # noqa: E731 (over the seeds)
    worst = lambda errors, j: float(errors[j][np.argmax(np.abs(errors[j]))])  # noqa: E731 (signed, over the seeds)
    smallest = [float(c[:, j][diverged[:, j]].min()) if diverged[:, j].any() else None for j in range(len(kappas))]
    per_kappa = [dict(kappa=float(k), edge_learning_rate=median(at("edge_learning_rate"), j),
                      theory_edge_learning_rate=median(at("theory_edge_learning_rate"), j),
                      edge_relative_error=worst(edge_error, j), best_learning_rate=median(at("best_learning_rate"), j),
                      theory_best_learning_rate=median(at("theory_best_learning_rate"), j),
                      best_relative_error=worst(best_error, j),
                      best_rate=median(at("best_rate"), j), theory_rate=median(at("theory_rate"), j),
                      bracketed=bool(np.all(edges["bracketed"][j])), diverged_runs=int(diverged[:, j].sum()),
                      smallest_diverged_learning_rate=smallest[j])
                 for j, k in enumerate(kappas)]
    curves = []
    for n, drawn in enumerate(CURVE_LEARNING_RATES_OVER_EDGE):
        index = (np.argmin(np.abs(grid.axes["learning_rate_over_edge"] - drawn)),
                 np.argmin(np.abs(kappas - CURVE_KAPPA)), 0)
        gap, predicted = grid["gap"][index], result["predicted"][n]
        stop = int(grid["diverged_at"][index]) if grid["diverged"][index] else len(gap)
        deviation = max_relative_deviation(gap[:stop], predicted[:stop],
                                           predicted[:stop] > 1e-6 * predicted[0])  # above rounding
        curves.append(dict(learning_rate_over_edge=float(grid["learning_rate_over_edge"][index]),
                           kappa=float(grid["condition_number"][index]),
                           final_gap=float(grid["final_gap"][index]), diverged=bool(grid["diverged"][index]),
                           diverged_at=int(grid["diverged_at"][index]), iterations=int(grid["iterations"][index]),
                           max_relative_deviation_from_prediction=deviation))
    return dict(N=N, D=D, num_steps=run.num_steps, tolerance=run.tolerance, seed=seed,
                seeds=grid.axes["seed"].astype(int).tolist(), dtype=dtype,
                learning_rates_over_edge=grid.axes["learning_rate_over_edge"].tolist(), kappas=kappas.tolist(),
                per_kappa=per_kappa, max_edge_relative_error=float(np.max(np.abs(edge_error))),
                max_best_relative_error=float(np.max(np.abs(best_error))),
                # kappa = 1 contracts to a* in one step at its best learning rate:
                # its measured rate is the rounding floor
                max_rate_relative_error=max(abs(k["best_rate"] / k["theory_rate"] - 1)
                                            for k in per_kappa if k["kappa"] > 1),
                runs=int(diverged.size), diverged_runs=int(diverged.sum()),
                diverged_below_edge=int((diverged & (c < 1)).sum()),
                not_diverged_above_edge=int((~diverged & (c > 1)).sum()), curves=curves)


def reproduce(out="figures", quick=False, dtype="float64", seed=0):
    """Compute, draw and save `stability_*.png` and `stability.json` in `out`; return the numbers."""
    out = prepare(out, dtype)
    result = compute(seed, quick, dtype)
    summary = numbers(result, seed, dtype)
    figures = {"map": plots.stability_map(result["grid"], edges=result["edges"], colour="rate"),
               "iterations": plots.iterations_vs_learning_rate(result["grid"], kappas=ITERATION_KAPPAS),
               "convergence": convergence_figure(result, CURVE_KAPPA, CURVE_LEARNING_RATES_OVER_EDGE)}
    figures["map"].set_size_inches(9.5, 6.5)
    return save(out, "stability", summary, figures)


# %%
if __name__ == "__main__":
    summary = command_line(reproduce, __doc__)
    print(f"{'kappa':>8} {'edge / (2/L) - 1':>17} {'best / (2/(L+mu)) - 1':>22} {'diverged runs':>14}")
    for k in summary["per_kappa"]:
        print(f"{k['kappa']:8.3g} {k['edge_relative_error']:17.2e} {k['best_relative_error']:22.2e} "
              f"{k['diverged_runs']:14d}")
    print(f"{summary['diverged_runs']} of {summary['runs']} runs diverged, "
          f"{summary['diverged_below_edge']} below the edge")
