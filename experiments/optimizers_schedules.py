"""Learning-rate schedules: optax's schedules as one more sweep axis, and which initial steps each survives.

Gradient descent on a least-squares problem with kappa = MAP_KAPPA, started at a* plus every unit
eigenvector of the Hessian (every mode excited), for MAP_NUM_STEPS steps, with the learning rate
learning_rate * u_k(t), u_k one of `runs.SCHEDULES` (constant, exponential decay, cosine decay,
warm-up then cosine), picked by a traced index (`runs.Scheduled(optax.sgd, T)` and the axis
"schedule"), over initial steps from 0.05 to 1.6 times 2/L: decaying and warm-up schedules survive
initial steps above 2/L that a constant step cannot, at the price of slower progress.
"""

# %%
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from experiments import command_line, prepare, save, size  # noqa: E402
from lab import runs, sweep  # noqa: E402

N, D = 50, 5
MAP_KAPPA, MAP_NUM_STEPS = 100.0, 300
SIZES = dict(schedule_steps=(np.geomspace(0.05, 1.6, 40), np.geomspace(0.05, 1.6, 10)))  # full, quick


# %%
def schedules(quick, dtype):
    """Gradient descent with each optax schedule (a sweep axis) over the step, at kappa = MAP_KAPPA."""
    run = runs.LinearRegressionRun(N, D, MAP_NUM_STEPS, optimizer=runs.Scheduled(optax.sgd, MAP_NUM_STEPS), dtype=dtype,
                                   start="eigen")
    return sweep.sweep(run, {"schedule": np.arange(len(runs.SCHEDULES)), "step_over_edge": size(SIZES, "schedule_steps", quick),
                             "kappa": np.array([MAP_KAPPA])}, progress=False)


# %%
def schedules_figure(grid):
    fig, ax = plt.subplots(figsize=(8, 5.5))
    c = grid.axes["step_over_edge"]
    for i, (name, style) in enumerate(zip(runs.SCHEDULES, ("o-", "s--", "^-.", "d:"))):
        ratio = (grid["final_gap"] / grid["initial_gap"])[i, :, 0]
        diverged = grid["diverged"][i, :, 0]
        line, = ax.semilogy(c[~diverged], np.maximum(ratio[~diverged], np.finfo(ratio.dtype).eps), style, ms=5,
                            label=f"{name} (last stable step {c[~diverged].max():.2f}·2/L)")
        ax.plot(c[diverged], np.full(diverged.sum(), 4.0**(i + 1)), "x", color=line.get_color(), ms=8, mew=2)
    ax.axvline(1.0, color="k", ls="--", lw=1, label="2/L: the edge for a constant step")
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.plot([], [], "kx", ms=8, mew=2, label="diverged: one row per schedule, above 1")
    ax.set_xlim(0, c[-1] * 1.03)  # linear: the steps near the edge, where the schedules differ, get the width
    ax.set_xlabel("initial step / (2/L)")
    ax.set_ylabel(f"final / initial suboptimality after {MAP_NUM_STEPS} steps (floored at ε)")
    ax.set_title(f"Gradient descent with optax learning-rate schedules, κ = {MAP_KAPPA:g}")
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    return fig


def reproduce(out="figures", quick=False, dtype="float64", seed=0):
    """Write optimizers_schedules.png and optimizers_schedules.json in `out`; return the numbers."""
    out = prepare(out, dtype)
    grid = schedules(quick, dtype)
    steps, diverged = grid.axes["step_over_edge"], grid["diverged"][:, :, 0]
    numbers = dict(kappa=MAP_KAPPA, num_steps=MAP_NUM_STEPS, schedules=list(runs.SCHEDULES), steps=steps.tolist(),
                   final_gap=grid["final_gap"][:, :, 0].tolist(), diverged=diverged.tolist(),
                   last_stable_step=[float(steps[~d].max()) for d in diverged])
    return save(out, "optimizers_schedules", numbers, {"": schedules_figure(grid)})


# %%
if __name__ == "__main__":
    result = command_line(reproduce, __doc__)
    print("last stable initial step / (2/L):", dict(zip(result["schedules"], result["last_stable_step"])))
