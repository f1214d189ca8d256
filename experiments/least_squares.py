"""Least squares: the closed form (QR) against gradient descent below, at and above 2/L, with predicted curves.

One regression problem with a Hessian of condition number KAPPA. Its exact
optimum comes from a QR factorisation; gradient descent starts at a = 0 with
steps below, at and above the stability threshold 2/L. Each measured curve
f(a_t) - f* is drawn with the curve the spectrum predicts, without simulation.
"""

# %%
import jax
import numpy as np

from experiments import command_line, max_relative_deviation, prepare, save, size
from experiments.figures.least_squares import figure
from lab import problems, runs, spectrum

N, D, KAPPA = 200, 10, 30.0
SIZES = dict(num_steps=(400, 300), draws=(20, 3))  # full, quick; draws: data sets the claims are checked on
# Steps as fractions of 2/L; None stands for the best learning rate 2/(L + mu).
FRACTIONS = (0.2, None, 1.0, 1.03)


# %%
def compute(seed: int = 0, num_steps: int = SIZES["num_steps"][0], dtype="float64"):
    """The problem (closed form and spectrum), and gradient descent at each step beside its predicted curve."""
    problem = problems.regression_problem(jax.random.key(seed), N, D, KAPPA, dtype=dtype)
    spec, optimum = problem.spectrum, problem.reference
    learning_rates = [spectrum.best_learning_rate(spec.L, spec.mu) if f is None else f * problem.edge_learning_rate
                      for f in FRACTIONS]
    traces = [runs.optimize(problem, num_steps, rate)[1] for rate in learning_rates]  # one compilation: it is traced
    predicted = [spectrum.predicted_gap(spec, rate, problem.start, optimum.params, num_steps)
                 for rate in learning_rates]
    traces = jax.tree.map(lambda *leaves: np.stack(leaves), *jax.device_get(traces))
    return jax.device_get(dict(spec=spec, kappa=spec.kappa, optimum=optimum, learning_rates=np.array(learning_rates),
                               traces=traces, predicted=np.array(predicted), gradient_at_optimum=optimum.gradient_norm))


def label(fraction, learning_rate, edge):
    if fraction is None:
        return f"η = 2/(L+μ) = {learning_rate / edge:.3f}·2/L (best)"
    word = "below" if fraction < 1 else ("at" if fraction == 1 else "above")
    return f"η = {fraction:g}·2/L ({word} the edge)"


def over_draws(seeds, num_steps, dtype):
    """The figure's claims on other data sets: the largest deviation from the prediction over all their runs,
    and whether every run above the edge diverged and none below did."""
    runs_of_each = [numbers(compute(seed, num_steps, dtype))["runs"] for seed in seeds]
    every = [r for runs_of_one in runs_of_each for r in runs_of_one]
    return dict(count=len(seeds),
                max_relative_deviation_from_prediction=max(r["max_relative_deviation_from_prediction"] for r in every),
                diverged_iff_above_the_edge=all(r["diverged"] == (r["learning_rate_over_edge"] > 1) for r in every))


def numbers(result):
    """The key numbers, as plain JSON-ready values."""
    spec, traces, predicted = result["spec"], result["traces"], result["predicted"]
    edge = float(spectrum.stability_threshold(spec.L))
    runs = []
    for i, (fraction, learning_rate) in enumerate(zip(FRACTIONS, result["learning_rates"])):
        gap, diverged = np.asarray(traces.gap[i]), bool(traces.diverged[i])
        stop = int(traces.diverged_at[i]) if diverged else len(gap)
        deviation = max_relative_deviation(gap[:stop], predicted[i][:stop], np.asarray(predicted[i][:stop]) > 1e-6)
        runs.append(dict(learning_rate=float(learning_rate), learning_rate_over_edge=float(learning_rate) / edge,
                         label=label(fraction, float(learning_rate), edge),
                         final_gap=float(gap[-1]), diverged=diverged, diverged_at=int(traces.diverged_at[i]),
                         max_relative_deviation_from_prediction=deviation))
    return dict(N=N, D=D, kappa=float(result["kappa"]), L=float(spec.L), mu=float(spec.mu),
                stability_threshold=edge, best_learning_rate=float(spectrum.best_learning_rate(spec.L, spec.mu)),
                optimal_rate=float(spectrum.optimal_rate(result["kappa"])),
                gradient_norm_at_closed_form=float(result["gradient_at_optimum"]),
                closed_form=np.asarray(result["optimum"].params).tolist(), runs=runs)


def reproduce(out="figures", quick=False, dtype="float64", seed=0):
    """Compute, draw and save `least_squares_convergence.png` and `least_squares.json` in `out`; return the numbers."""
    out = prepare(out, dtype)
    num_steps = size(SIZES, "num_steps", quick)
    result = compute(seed, num_steps, dtype)
    summary = numbers(result)
    summary["draws"] = over_draws(seed + np.arange(size(SIZES, "draws", quick)), num_steps, dtype)
    return save(out, "least_squares", summary, {"convergence": figure(result, summary, best=FRACTIONS.index(None))})


# %%
if __name__ == "__main__":
    summary = command_line(reproduce, __doc__)
    for r in summary["runs"]:
        print(f"{r['label']:<40} final gap {r['final_gap']:.2e}  diverged={r['diverged']}")
