"""Your own criterion: Huber regression on the diabetes data, a criterion the lab does not ship, studied like
the lessons: edge per bootstrap resample against its own 2/L.

The criterion is written here as a user would, a pure JAX function; the
lab finds its reference optimum (Newton fails from a = 0, where every
residual is beyond delta and the Hessian is zero, so L-BFGS takes over and
Newton polishes), the Hessian's spectrum there, sweeps gradient descent
over learning rate x seed in one compiled call (seed 0 the data, seeds 1.. bootstrap
resamples of its rows, each with its own optimum and Hessian), and measures
the edge with the 'converging' rule: Huber's gradient is bounded, so past
the edge the iterates oscillate without blowing up.
"""

# %%
import jax.numpy as jnp
import numpy as np

from experiments import command_line, max_relative_deviation, prepare, save, size
from experiments.figures.your_criterion import figure
from lab import datasets, problems, runs, stability, sweep

DELTA = 10.0  # where the loss turns linear, in units of the target (disease progression, standard deviation 77)
SIZES = dict(  # full, quick
    num_steps=(1000, 400),
    learning_rates_over_edge=(np.linspace(0.1, 1.5, 29), np.linspace(0.2, 1.4, 7)),
    seeds=(np.arange(16), np.arange(3)),
)


def huber(a, data, delta=DELTA):
    r = data.y - data.X @ a
    return jnp.mean(jnp.where(jnp.abs(r) <= delta, 0.5 * r**2, delta * (jnp.abs(r) - delta / 2)))


# %%
def compute(quick, dtype, seed):
    X, y, _ = datasets.diabetes(standardize=True)
    data = problems.make_data(X.astype(dtype), y.astype(dtype))
    run = runs.CriterionRun(huber, data, size(SIZES, "num_steps", quick), stability_rule="converging")
    seeds = seed + size(SIZES, "seeds", quick)
    grid = sweep.sweep(run, {"learning_rate_over_edge": size(SIZES, "learning_rates_over_edge", quick), "seed": seeds},
                       progress=False)
    edges = stability.edge_and_best(run, {"seed": seeds})
    return grid, edges


def reproduce(out="figures", quick=False, dtype="float64", seed=0):
    """Write your_criterion.png and your_criterion.json in `out`; return the numbers."""
    out = prepare(out, dtype)
    grid, edges = compute(quick, jnp.dtype(dtype), seed)
    ratio = np.asarray(edges["edge_learning_rate"]) / np.asarray(edges["gd_edge_learning_rate"])
    numbers = dict(
        delta=DELTA, num_steps=size(SIZES, "num_steps", quick), seeds=edges.axes["seed"].tolist(),
        edge_learning_rate=edges["edge_learning_rate"].tolist(), two_over_L=edges["gd_edge_learning_rate"].tolist(),
        edge_over_two_over_L=ratio.tolist(),
        max_relative_deviation=max_relative_deviation(edges["edge_learning_rate"], edges["gd_edge_learning_rate"]),
        best_learning_rate=edges["best_learning_rate"].tolist(),
        theory_best_learning_rate=edges["theory_best_learning_rate"].tolist(),
        condition_number=edges["condition_number"].tolist(), bracketed=edges["bracketed"].tolist(),
        reference_gradient_norm=grid["reference_gradient_norm"][0].tolist(),
        two_over_L_range=[float(np.min(edges["gd_edge_learning_rate"])), float(np.max(edges["gd_edge_learning_rate"]))],
    )
    return save(out, "your_criterion", numbers, {"": figure(grid, edges)})


# %%
if __name__ == "__main__":
    result = command_line(reproduce, __doc__)
    print({k: result[k] for k in ("max_relative_deviation", "two_over_L_range")})
