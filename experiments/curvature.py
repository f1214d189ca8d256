"""Curvature along the path: the sharpness of logistic regression falls from a = 0 to the optimum, so a
learning rate unstable at the start can become stable later.

For a quadratic the Hessian is the same everywhere and 2/L decides
everything. Logistic regression's Hessian (1/N) X^T diag(s'(z)) X + 2 l2 I is
largest at a = 0 (s' peaks there at 1/4) and smaller at the optimum. The
sharpness, the top Hessian eigenvalue, is measured along each
gradient-descent path (power iteration on Hessian-vector products,
vectorised over runs) and drawn against 2/learning rate: the run is locally stable
where sharpness < 2/learning rate. Learning rates between 2/L_start and 2/L_optimum start
above the line and converge once the path has flattened; steps above
2/L_optimum never converge (the iterates settle into an oscillation).
"""

# %%
import numpy as np

from experiments import command_line, prepare, save, size
from experiments.figures.curvature import figure
from lab import runs, spectrum, sweep

N, D, L2, SEPARATION = 200, 3, 1e-3, 1.0
# Steps in units of 2/L_start: below 1 stable everywhere; between 1 and L_start/L_optimum stable only later.
LEARNING_RATES_OVER_EDGE = np.array([0.5, 1.1, 1.5, 3.0])
EVERY = 2  # sharpness at every EVERY-th iterate
SIZES = dict(num_steps=(400, 200), seeds=(20, 5))  # full, quick; data drawn anew per seed


# %%
def compute(quick, dtype, seed):
    """Arrays (learning rates, seeds, ...) of every output: one sweep over the learning rates and the data sets."""
    run = runs.LogisticRun(N, D, size(SIZES, "num_steps", quick), dtype=dtype, sharpness_every=EVERY)
    seeds = seed + np.arange(size(SIZES, "seeds", quick))
    grid = sweep.sweep(run, {"learning_rate_over_edge": LEARNING_RATES_OVER_EDGE, "l2": np.array([L2]), "seed": seeds,
                             "separation": np.array([SEPARATION])}, progress=False)
    return {name: np.asarray(value).reshape(len(LEARNING_RATES_OVER_EDGE), len(seeds), *value.shape[4:])
            for name, value in grid.outputs.items()}


def reproduce(out="figures", quick=False, dtype="float64", seed=0):
    """Write curvature.png and curvature.json in `out`; return the numbers (the first data set's, and over all)."""
    out = prepare(out, dtype)
    result = compute(quick, dtype, seed)
    first = {name: value[:, 0] for name, value in result.items()}  # the first data set
    converged = first["iterations"] >= 0
    every_converged = result["iterations"] >= 0
    ratios = result["L_start"][0] / result["L"][0]
    over_edge = result["learning_rate"] / spectrum.stability_threshold(result["L"])  # in units of a*'s 2/L
    near = np.abs(over_edge - 1) < 0.01  # near a*'s edge
    numbers = dict(
        num_steps=size(SIZES, "num_steps", quick),
        L_start=float(first["L_start"][0]), L_optimum=float(first["L"][0]),
        L_start_over_L_optimum=float(first["L_start"][0] / first["L"][0]),
        learning_rates_over_edge_at_start=LEARNING_RATES_OVER_EDGE.tolist(),
        learning_rates=first["learning_rate"].tolist(),
        two_over_learning_rate=spectrum.sharpness_threshold(first["learning_rate"]).tolist(),
        converged=converged.tolist(),
        iterations=first["iterations"].tolist(), final_gap=first["final_gap"].tolist(),
        sharpness_start=first["sharpness"][:, 0].tolist(), sharpness_end=first["sharpness"][:, -1].tolist(),
        unstable_at_start_stable_later=[bool(c > 1 and ok) for c, ok in zip(LEARNING_RATES_OVER_EDGE, converged)],
        data_sets=dict(
            count=int(ratios.size),
            L_start_over_L_optimum=dict(median=float(np.median(ratios)), low=float(ratios.min()),
                                        high=float(ratios.max())),
            converged_fraction=every_converged.mean(axis=1).tolist(),
            # within 1 % of the local edge a run converges too slowly to reach the tolerance in T steps
            runs_within_1_percent_of_the_local_edge=int(near.sum()),
            near_edge=dict(learning_rate_over_local_edge=over_edge[near].tolist(),
                           converged=every_converged[near].tolist()),
            others_converged_iff_learning_rate_below_two_over_L_optimum=bool(np.all(
                (every_converged == (result["learning_rate"] < spectrum.stability_threshold(result["L"])))[~near])),
        ),
    )
    return save(out, "curvature", numbers, {"": figure(result, LEARNING_RATES_OVER_EDGE, EVERY,
                                                       f"Logistic regression, N = {N}, D = {D}, l2 = {L2:g}")})


# %%
if __name__ == "__main__":
    result = command_line(reproduce, __doc__)
    print({k: result[k] for k in ("L_start", "L_optimum", "converged", "unstable_at_start_stable_later")})
