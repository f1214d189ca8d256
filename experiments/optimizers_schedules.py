"""Learning-rate schedules: optax's schedules as one more sweep axis, and which initial steps each survives.

Gradient descent on a least-squares problem with kappa = MAP_KAPPA, started at a* plus every unit
eigenvector of the Hessian (every mode excited), for MAP_NUM_STEPS steps, with the learning rate
learning_rate * u_k(t), u_k one of `runs.SCHEDULES` (constant, exponential decay, cosine decay,
warm-up then cosine), picked by a traced index (`runs.Scheduled(optax.sgd, T)` and the axis
"schedule"), over initial steps from 0.05 to 1.6 times 2/L: decaying and warm-up schedules survive
initial steps above 2/L that a constant step cannot, at the price of slower progress.
"""

# %%
import numpy as np
import optax

from experiments import command_line, prepare, save, size
from experiments.figures.optimizers_schedules import schedules_figure
from lab import runs, sweep

N, D = 50, 5
MAP_KAPPA, MAP_NUM_STEPS = 100.0, 300
SIZES = dict(learning_rates_over_edge=(np.geomspace(0.05, 1.6, 40), np.geomspace(0.05, 1.6, 10)))  # full, quick


# %%
def schedules(quick, dtype):
    """Gradient descent with each optax schedule (a sweep axis) over the learning rate, at kappa = MAP_KAPPA."""
    run = runs.LinearRegressionRun(N, D, MAP_NUM_STEPS, optimizer=runs.Scheduled(optax.sgd, MAP_NUM_STEPS), dtype=dtype,
                                   start="eigen")
    return sweep.sweep(run, {"schedule": np.arange(len(runs.SCHEDULES)),
                             "learning_rate_over_edge": size(SIZES, "learning_rates_over_edge", quick),
                             "kappa": np.array([MAP_KAPPA])}, progress=False)


# %%


def reproduce(out="figures", quick=False, dtype="float64", seed=0):
    """Write optimizers_schedules.png and optimizers_schedules.json in `out`; return the numbers (the problem is
    the run's seed 0: `seed` changes nothing)."""
    out = prepare(out, dtype)
    grid = schedules(quick, dtype)
    learning_rates_over_edge, diverged = grid.axes["learning_rate_over_edge"], grid["diverged"][:, :, 0]
    numbers = dict(kappa=MAP_KAPPA, num_steps=MAP_NUM_STEPS, schedules=list(runs.SCHEDULES),
                   learning_rates_over_edge=learning_rates_over_edge.tolist(),
                   final_gap=grid["final_gap"][:, :, 0].tolist(), diverged=diverged.tolist(),
                   last_stable_learning_rate=[float(learning_rates_over_edge[~d].max()) for d in diverged])
    return save(out, "optimizers_schedules", numbers, {"": schedules_figure(grid, MAP_KAPPA, MAP_NUM_STEPS)})


# %%
if __name__ == "__main__":
    result = command_line(reproduce, __doc__)
    print("last stable initial learning rate / (2/L):",
          dict(zip(result["schedules"], result["last_stable_learning_rate"])))
