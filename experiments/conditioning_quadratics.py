"""Conditioning in 2-D: an isotropic against an anisotropic quadratic, gradient descent's paths and rates.

f(a) = 1/2 a^T H a with H = diag(ISOTROPIC) and diag(ANISOTROPIC), written as
least squares (1/N)||y - A a||^2 on A = diag(sqrt(h)), y = 0, N = 2. Gradient
descent from the same start at the course's step 0.1 and at each quadratic's
best step 2/(L + mu), every iterate recorded (`descent.run(record_path=True)`)
and drawn on the contour lines. At step 0.1 both descend at the rate
1 - 0.1 mu = 0.9 set by the flat direction (mu = 1 in both); what anisotropy
costs is the step: the isotropic bowl is stable up to 2/L = 2 and its best step
reaches the minimum in one iteration, the anisotropic one is stable only below
2/L = 0.2 and converges at best at the rate (kappa - 1)/(kappa + 1) = 9/11,
zigzagging. Features of different scales, the same lesson on data, are
`conditioning`.
"""

# %%
import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from experiments import command_line, first_below, plural, prepare, save, stack  # noqa: E402
from lab import criteria, descent, problems, spectrum  # noqa: E402

ISOTROPIC, ANISOTROPIC = (1.0, 1.0), (1.0, 10.0)   # Hessian eigenvalues
COURSE_STEP = 0.1
START = (-4.0, 2.0)
PATH_NUM_STEPS = 100
TOLERANCE = 1e-8                                    # on (f(a_t) - f*) / (f(a_0) - f*)


# %%
def quadratic(curvatures, dtype):
    """`Data` whose least-squares criterion is 1/2 a^T diag(curvatures) a: A = diag(sqrt(h)), y = 0, N = 2."""
    h = jnp.asarray(curvatures, dtype)
    return problems.make_data(jnp.diag(jnp.sqrt(h)), jnp.zeros(2, dtype), intercept=False)


# The four 2-D runs: (0 isotropic or 1 anisotropic, whether at the best step 2/(L + mu) rather than COURSE_STEP).
RUNS_2D = ((0, False), (0, True), (1, False), (1, True))


def compute(dtype=jnp.float64):
    """Four runs: each quadratic at the course's step and at its best step; iterates, gaps and their theory."""
    problems_2d = [quadratic(h, dtype) for h in (ISOTROPIC, ANISOTROPIC)]
    origin, start = jnp.zeros(2, dtype), jnp.asarray(START, dtype)
    specs = [spectrum.spectrum(criteria.least_squares, origin, data) for data in problems_2d]
    steps = jnp.stack([spectrum.best_step(specs[k].L, specs[k].mu) if best else jnp.asarray(COURSE_STEP, dtype)
                       for k, best in RUNS_2D])
    data = stack([problems_2d[k] for k, _ in RUNS_2D])
    minimum = descent.Optimum(origin, jnp.zeros((), dtype))  # a* = 0, f* = 0
    traces = jax.vmap(lambda d, step: descent.gradient_descent(criteria.least_squares, d, start, minimum, step,
                                                               PATH_NUM_STEPS, record_path=True))(data, steps)
    predicted = jax.vmap(lambda sp, step: spectrum.predicted_gap(sp, step, start, origin, PATH_NUM_STEPS))(
        stack([specs[k] for k, _ in RUNS_2D]), steps)
    contractions = jnp.stack([spectrum.contraction(steps[i], specs[k].L, specs[k].mu) for i, (k, _) in enumerate(RUNS_2D)])
    return dict(specs=specs, kappas=[sp.kappa for sp in specs], steps=steps, contractions=contractions,
                paths=traces.path, gaps=traces.gap, predicted=predicted)


# %%
def run_label(step, best):
    return f"step {step:.3g}" + (" = 2/(L+μ), the best" if best else " (the course's)")


def figure(q):
    """Contour lines with the four trajectories; f(a_t) - f* measured and predicted."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.8), gridspec_kw=dict(width_ratios=(1, 1, 1.15)))
    grid = np.meshgrid(np.linspace(-4.6, 1.6, 300), np.linspace(-2.6, 2.6, 300))
    levels = np.geomspace(0.02, 40, 12)
    for k, (h, ax) in enumerate(zip((ISOTROPIC, ANISOTROPIC), axes[:2])):
        f = 0.5 * (h[0] * grid[0] ** 2 + h[1] * grid[1] ** 2)
        ax.contour(*grid, f, levels=levels, colors="grey", linewidths=0.7)
        for i, (problem, best) in enumerate(RUNS_2D):
            if problem != k:
                continue
            path, iterations = np.asarray(q["paths"][i]), first_below(q["gaps"][i], TOLERANCE * float(q["gaps"][i][0]))
            style = dict(color="tab:orange", ls="-", lw=4, alpha=0.55, marker="o", ms=9, mfc="none", zorder=2) if best else \
                dict(color="tab:blue", ls="-", lw=1.2, marker=".", ms=6, zorder=3)
            ax.plot(path[:, 0], path[:, 1], **style,
                    label=f"{run_label(float(q['steps'][i]), best)}: {plural(iterations, 'iteration')} to tolerance {TOLERANCE:g}")
        if h[0] != h[1] and COURSE_STEP * max(h) == 1:
            ax.annotate(f"step {COURSE_STEP:g} = 1/L: the steep\ncomponent a₂ is 0 after one step", (START[0] * (1 - COURSE_STEP * h[0]), 0),
                        xytext=(-4.45, -2.45), fontsize=8, color="tab:blue", arrowprops=dict(arrowstyle="->", color="tab:blue"),
                        bbox=dict(facecolor="white", edgecolor="none", alpha=0.85))
        ax.plot(*START, "s", color="k", ms=7, label=f"start a₀ = {START}")
        ax.plot(0, 0, "*", color="tab:red", ms=14, label="minimum a* = 0")
        ax.set(aspect="equal", xlim=(-4.6, 1.6), ylim=(-2.6, 2.6), xlabel="a₁", ylabel="a₂")
        kind = "isotropic" if h[0] == h[1] else "anisotropic"
        ax.set_title(f"{kind}: H = diag({h[0]:g}, {h[1]:g}), κ = {float(q['kappas'][k]):g}, "
                     f"2/L = {float(spectrum.stability_threshold(q['specs'][k].L)):g}", fontsize=10)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=1)

    ax = axes[2]
    t = np.arange(PATH_NUM_STEPS + 1)
    styles = {(0, False): ("tab:blue", "-"), (0, True): ("tab:orange", "-"), (1, False): ("tab:blue", ":"), (1, True): ("tab:orange", ":")}
    for i, (problem, best) in enumerate(RUNS_2D):
        gap = np.asarray(q["gaps"][i]) / float(q["gaps"][i][0])
        colour, style = styles[(problem, best)]
        kind = "isotropic" if problem == 0 else "anisotropic"
        ax.semilogy(t, np.where(gap > 0, gap, np.nan), style, color=colour, lw=2.5, alpha=0.8, label=f"{kind}, {run_label(float(q['steps'][i]), best)}")
        if gap[1] == 0:  # exactly at the minimum after one step: nothing to draw on a log scale
            ax.annotate("", (1, 1e-20), xytext=(1, 1e-2), arrowprops=dict(arrowstyle="->", color=colour, lw=2))
            ax.text(3, 1e-17, f"{kind}, best step:\nf = f* exactly at t = 1", color=colour, fontsize=8)
        ax.semilogy(t, np.asarray(q["predicted"][i]) / float(q["predicted"][i][0]), "--", color="k", lw=0.8)
    ax.plot([], [], "--", color="k", lw=0.8, label="predicted from the Hessian's spectrum")
    ax.axhline(TOLERANCE, color="grey", ls=":", lw=1.2, label=f"tolerance {TOLERANCE:g}")
    ax.set(ylim=(1e-20, 3), xlim=(0, PATH_NUM_STEPS), xlabel="iteration t",
           ylabel="(f(a_t) − f*) / (f(a₀) − f*), log scale")
    ax.set_title("Measured (colour) and predicted (dashed)", fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=1)
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    return fig


# %%
def numbers(q):
    """The key numbers, as plain JSON-ready values."""
    runs_2d = []
    for i, (problem, best) in enumerate(RUNS_2D):
        spec, gap, predicted = q["specs"][problem], np.asarray(q["gaps"][i]), np.asarray(q["predicted"][i])
        runs_2d.append(dict(
            hessian_eigenvalues=np.asarray(spec.eigenvalues).tolist(), condition_number=float(q["kappas"][problem]),
            step=float(q["steps"][i]), best_step=best, stability_threshold=float(spectrum.stability_threshold(spec.L)),
            contraction=float(q["contractions"][i]),
            measured_iterations=first_below(gap, TOLERANCE * gap[0]),
            predicted_iterations=first_below(predicted, TOLERANCE * predicted[0]),
            max_abs_deviation_from_prediction=float(np.max(np.abs(gap - predicted) / gap[0])),
        ))
    return dict(tolerance=TOLERANCE, course_step=COURSE_STEP, start=list(START), isotropic=list(ISOTROPIC),
                anisotropic=list(ANISOTROPIC), runs=runs_2d)


def reproduce(out="figures", quick=False, dtype="float64", seed=0):
    """Write conditioning_quadratics.png and .json in `out` (deterministic: `quick` and `seed` change nothing)."""
    out = prepare(out, dtype)
    q = jax.device_get(compute(jnp.dtype(dtype)))
    return save(out, "conditioning_quadratics", numbers(q), {"": figure(q)})


# %%
if __name__ == "__main__":
    summary = command_line(reproduce, __doc__)
    for r in summary["runs"]:
        print(f"H = diag({', '.join(f'{h:g}' for h in r['hessian_eigenvalues'])}), step {r['step']:.3g}: "
              f"{plural(r['measured_iterations'], 'iteration')} (predicted {r['predicted_iterations']})")
