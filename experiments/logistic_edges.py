"""Logistic regression's stability edge: measured next to a* and from a = 0, against 2/L at each.

On two-feature problems of growing class separation (`runs.LogisticRun`, l2 = L2), gradient descent's
largest stable learning rate is measured by bisection twice: next to a* (`run.near_optimum()`, the rule
`converging`), where the Hessian at a* sets the local edge 2/L, and from a = 0 (the run a user
makes; stable when it ends within EDGE_TOLERANCE of f*). Both are drawn beside 2/L at a* and 2/L
at a = 0, where the curvature is largest (s'(z) <= 1/4 peaks at z = 0): a bound below which every
step is stable from anywhere, up to ten times too cautious here. The run from a = 0 ends at a*, so
its edge is a*'s too.
"""

# %%
import jax
import jax.numpy as jnp
import numpy as np

from experiments import command_line, max_relative_deviation, prepare, save, size
from experiments.figures.logistic_edges import edges_figure
from lab import criteria, problems, runs, spectrum, stability

N2, L2_SYNTHETIC = 200, 1e-3
# from a = 0, a learning rate is stable when the run ends this close to f* (relative to f(0) - f*)
EDGE_TOLERANCE = 1e-6
SIZES = dict(separations=(np.array([0.5, 1.0, 1.5, 2.0, 2.5, 3.0]), np.array([1.0, 2.0])),  # full, quick
             edge_num_steps=(2000, 600))


# %%
def converged(outcome):
    """Stable from a = 0: the run ends converged, f(a_T) - f* <= EDGE_TOLERANCE (f(0) - f*). (The rule 'converging'
    also accepts a run still on its way back from a far excursion, its gap shrinking; and a run can pass through
    the tolerance just above the local edge before its top mode, unstable there, grows back.)"""
    return ~outcome["diverged"] & (outcome["final_gap"] <= EDGE_TOLERANCE * outcome["initial_gap"])


def edges(quick, dtype):
    """Gradient descent's edge on two-feature problems over the separation, measured by bisection next to a* (the
    run's own rule) and from a = 0 (`converged`), beside 2/L at a* and at a = 0 (absolute steps)."""
    run = runs.LogisticRun(N2, 2, size(SIZES, "edge_num_steps", quick), dtype=dtype)
    separation = size(SIZES, "separations", quick)
    axes = {"separation": separation, "l2": np.array([L2_SYNTHETIC])}
    # 2/L(a*) units
    at_optimum = stability.edge_and_best(run, axes, edge_bracket=(0.5, 2.0), find_best=False, rtol=1e-5)
    from_zero = stability.edge_and_best(lambda **point: run(**point), axes, rule=converged,  # as it is: a = 0
                                        edge_bracket=(0.5, 16.0), find_best=False, rtol=1e-5)  # 2/L(0) units

    def top_curvature_at_zero(s):  # the top Hessian eigenvalue at a = 0 of the run's problem (seed 0)
        problem = problems.classification_problem(jax.random.key(0), N2, 2, s, 1.0, L2_SYNTHETIC, dtype=dtype)
        return spectrum.spectrum(criteria.logistic, problem.start, problem.data).L

    L_start = jax.vmap(top_curvature_at_zero)(jnp.asarray(separation, dtype))
    return dict(separation=separation, at_optimum=at_optimum["edge_learning_rate"][:, 0],
                from_zero=from_zero["edge_learning_rate"][:, 0],
                edge_start=np.asarray(spectrum.stability_threshold(L_start)),
                edge_optimum=np.asarray(spectrum.stability_threshold(at_optimum["L"][:, 0])),
                bracketed=at_optimum["bracketed"][:, 0] & from_zero["bracketed"][:, 0])


# %%


def reproduce(out="figures", quick=False, dtype="float64", seed=0):
    """Write logistic_edges.png and logistic_edges.json in `out`; return the numbers (the problems are the runs'
    seed 0: `seed` changes nothing)."""
    out = prepare(out, dtype)
    found = edges(quick, dtype)
    numbers = dict(separation=found["separation"].tolist(), l2=L2_SYNTHETIC, at_optimum=found["at_optimum"].tolist(),
                   from_zero=found["from_zero"].tolist(), two_over_L_optimum=found["edge_optimum"].tolist(),
                   two_over_L_start=found["edge_start"].tolist(), bracketed=found["bracketed"].tolist(),
                   at_optimum_max_relative_error=max_relative_deviation(found["at_optimum"], found["edge_optimum"]),
                   from_zero_max_relative_error=max_relative_deviation(found["from_zero"], found["edge_optimum"]),
                   largest_edge_over_bound=float(np.max(found["from_zero"] / found["edge_start"])))
    return save(out, "logistic_edges", numbers, {"": edges_figure(found, L2_SYNTHETIC)})


# %%
if __name__ == "__main__":
    result = command_line(reproduce, __doc__)
    print("separation, edge next to a*, from a = 0, 2/L at a*, 2/L at a = 0:")
    for row in zip(result["separation"], result["at_optimum"], result["from_zero"], result["two_over_L_optimum"],
                   result["two_over_L_start"]):
        print("  " + "  ".join(f"{x:.4g}" for x in row))
