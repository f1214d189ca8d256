"""Curvature along the path: the sharpness of logistic regression falls from a = 0 to the optimum, so a step unstable at the start can become stable later.

For a quadratic the Hessian is the same everywhere and 2/L decides
everything. Logistic regression's Hessian (1/N) X^T diag(s'(z)) X + 2 l2 I is
largest at a = 0 (s' peaks there at 1/4) and smaller at the optimum. The
sharpness, the top Hessian eigenvalue, is measured along each
gradient-descent path (power iteration on Hessian-vector products,
vectorised over runs) and drawn against 2/step: the run is locally stable
where sharpness < 2/step. Steps between 2/L_start and 2/L_optimum start
above the line and converge once the path has flattened; steps above
2/L_optimum never converge (the iterates settle into an oscillation).
"""

# %%
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from experiments import command_line, prepare, save, size  # noqa: E402
from lab import runs, sweep  # noqa: E402

N, D, L2, SEPARATION = 200, 3, 1e-3, 1.0
# Steps in units of 2/L_start: below 1 stable everywhere; between 1 and L_start/L_optimum stable only later.
STEPS = np.array([0.5, 1.1, 1.5, 3.0])
EVERY = 2  # sharpness at every EVERY-th iterate
SIZES = dict(num_steps=(400, 200))  # full, quick


# %%
def compute(quick, dtype, seed):
    run = runs.LogisticRun(N, D, size(SIZES, "num_steps", quick), dtype=dtype, sharpness_every=EVERY)
    grid = sweep.sweep(run, {"step_over_edge": STEPS, "l2": np.array([L2]), "seed": np.array([seed]),
                             "separation": np.array([SEPARATION])}, progress=False)
    return {name: np.asarray(value).reshape(len(STEPS), *value.shape[4:]) for name, value in grid.outputs.items()}


def figure(out, num_steps):
    fig, (left, right) = plt.subplots(1, 2, figsize=(12.5, 4.8))
    t = np.arange(out["sharpness"].shape[1]) * EVERY
    L_start, L_opt = out["L_start"][0], out["L"][0]
    for i, c in enumerate(STEPS):
        width = 4.5 - 0.8 * i  # wider first: the paths that end at the same L stay visible
        line, = left.plot(t, out["sharpness"][i], lw=width, alpha=0.85, label=f"step = {c:g}·2/L_start")
        left.axhline(2 / out["learning_rate"][i], color=line.get_color(), ls="--", lw=1)
        gap = out["gap"][i]
        right.semilogy(np.arange(len(gap)), np.where(gap > 0, gap, np.nan), color=line.get_color(), lw=width, alpha=0.85,
                       label=f"step = {c:g}·2/L_start")
    left.axhline(L_start, color="k", ls=":", lw=1)
    left.axhline(L_opt, color="grey", ls=":", lw=1)
    left.text(t[-1], L_start, "L at a = 0", ha="right", va="bottom", fontsize=8)
    left.text(t[-1] * 0.75, L_opt, "L at a*", ha="right", va="bottom", fontsize=8)
    left.plot([], [], "k--", lw=1, label="2/step (same colour): stable below it")
    left.set_ylim(0, 2.1 * L_start)
    left.set_xlabel("iteration t")
    left.set_ylabel("sharpness: top Hessian eigenvalue at a_t")
    left.set_title(f"Sharpness along GD (logistic, N = {N}, D = {D}, l2 = {L2:g})")
    left.legend(fontsize=8, loc="upper right", bbox_to_anchor=(1, 0.93))  # below the top dashed line
    left.grid(True, alpha=0.3)
    right.set_xlabel("iteration t")
    right.set_ylabel("f(a_t) − f*  (Newton reference)")
    right.set_title("Suboptimality: converges iff the path ends below 2/step")
    right.legend(fontsize=8)
    right.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    return fig


def run(out="figures", quick=False, dtype="float64", seed=0):
    """Write curvature.png and curvature.json in `out`; return the numbers."""
    out = prepare(out, dtype)
    num_steps = size(SIZES, "num_steps", quick)
    result = compute(quick, dtype, seed)
    converged = result["iterations"] >= 0
    numbers = dict(
        L_start=float(result["L_start"][0]), L_optimum=float(result["L"][0]),
        L_start_over_L_optimum=float(result["L_start"][0] / result["L"][0]),
        steps_over_edge_at_start=STEPS.tolist(), steps=result["learning_rate"].tolist(),
        two_over_step=(2 / result["learning_rate"]).tolist(), converged=converged.tolist(),
        iterations=result["iterations"].tolist(), final_gap=result["final_gap"].tolist(),
        sharpness_start=result["sharpness"][:, 0].tolist(), sharpness_end=result["sharpness"][:, -1].tolist(),
        unstable_at_start_stable_later=[bool(c > 1 and ok) for c, ok in zip(STEPS, converged)],
    )
    return save(out, "curvature", numbers, {"": figure(result, num_steps)})


# %%
if __name__ == "__main__":
    result = command_line(run, __doc__)
    print({k: result[k] for k in ("L_start", "L_optimum", "converged", "unstable_at_start_stable_later")})
