"""Ridge with fewer samples than features: many exact fits, the ridge path tends to the minimum-norm one, and so does GD from 0.

N samples, D > N features (`problems.random_regression`), intercept column
prepended: P = D + 1 parameters and a design A of rank N, so the
least-squares error (1/N)||y - A a||^2 is zero on a whole affine subspace
a+ + null(A), of dimension P - N. Three measured facts:

(a) the minimum-norm solution a+ = pinv(A) y (`reference.min_norm`) and a+ + z,
    for z in null(A), all have zero training error; a+ lies in the row space,
    so ||a+ + z||^2 = ||a+||^2 + ||z||^2 and a+ is the shortest of them;
(b) the ridge minimiser a(l2) = (A^T A + N l2 I)^-1 A^T y (`reference.ridge`,
    penalty l2 ||a||^2 on the mean loss, intercept included) tends to a+ as
    l2 -> 0. In the eigenbasis of the Hessian H = (2/N) A^T A (eigenvalues h_i)
    each component of a+ is shrunk by h_i / (h_i + 2 l2), so
    ||a(l2) - a+|| = sqrt(sum_{h_i > 0} (c_i 2 l2 / (h_i + 2 l2))^2), c = V^T a+,
    which is l2 ||(H/2)^+ a+|| + O(l2^2): slope 1 on log-log axes;
(c) gradient descent from a = 0 at step 2/(L + mu+), mu+ the smallest
    non-zero eigenvalue of H, never leaves the row space and converges to a+
    at the rate (L - mu+)/(L + mu+); from a random start a_0 it keeps the
    null-space part z_0 of a_0 and converges to the other interpolant a+ + z_0.
"""

# %%
import functools

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from experiments import command_line, loglog_slope, max_relative_deviation, prepare, save, size  # noqa: E402
from lab import criteria, descent, problems, reference, spectrum  # noqa: E402

N, D = 20, 50                           # fewer samples than features
L2_RANGE = (1e-8, 1e2)
SMALL_L2 = 1e-4                        # the slope of the path is fitted on l2 <= SMALL_L2
SIZES = dict(  # full, quick
    l2_points=(41, 21),
    num_steps=(300, 250),              # gradient-descent steps from each start
    interpolants=(200, 50),            # random zero-error solutions a+ + z drawn in (a)
    draws=(20, 3),                     # data sets the claims are checked on (the figures draw the first)
)
NULL_NORMS = (3.0, 6.0, 12.0)           # ||z|| of the interpolants whose coefficients are drawn
MAX_NULL_NORM = 15.0                    # the random interpolants have ||z|| uniform in [0, MAX_NULL_NORM]


# %%
@functools.partial(jax.jit, static_argnames=("quick", "dtype"))  # one compilation instead of dozens of small ones
def compute(seed: int = 0, quick: bool = False, dtype=jnp.float64):
    """The problem, its interpolants, its ridge path and two gradient-descent runs: arrays only."""
    key_data, key_null, key_start = jax.random.split(jax.random.key(seed), 3)
    X, y = problems.random_regression(key_data, N, D, dtype=dtype)
    data = problems.make_data(X, y)
    A, P = data.X, D + 1
    a_plus = reference.min_norm(X, y)
    optimum = descent.optimum(criteria.least_squares, a_plus, data)
    spec = spectrum.spectrum(criteria.least_squares, a_plus, data)
    # Eigenvalues below the pseudo-inverse's cut-off are zeros up to rounding: their eigenvectors span null(A).
    cutoff = P * jnp.finfo(dtype).eps * spec.L
    nonzero = spec.eigenvalues > cutoff
    mu_plus = jnp.min(jnp.where(nonzero, spec.eigenvalues, jnp.inf))

    def null_part(v):
        """v minus its projection on the row space of A, which is the min-norm solution of A a = A v."""
        return v - reference.min_norm(X, A @ v)

    # (a) interpolants a+ + z: z a random null-space direction scaled to a chosen norm.
    count = size(SIZES, "interpolants", quick)
    directions = jax.vmap(null_part)(jax.random.normal(key_null, (count, P), dtype))
    directions = directions / jnp.linalg.norm(directions, axis=1, keepdims=True)
    null_norms = jnp.concatenate([jnp.asarray(NULL_NORMS, dtype),
                                  jnp.linspace(0.0, MAX_NULL_NORM, count - len(NULL_NORMS), dtype=dtype)])
    interpolants = a_plus + null_norms[:, None] * directions
    interpolant_mse = jax.vmap(criteria.least_squares, (0, None))(interpolants, data)

    # (b) the ridge path, measured by the SVD closed form, beside its exact value from the spectrum.
    l2 = jnp.logspace(*np.log10(L2_RANGE), size(SIZES, "l2_points", quick), dtype=dtype)
    path = jax.vmap(lambda e: reference.ridge(X, y, e))(l2)
    c = spec.eigenvectors.T @ a_plus
    shrink = jnp.where(nonzero, 2 * l2[:, None] / (spec.eigenvalues + 2 * l2[:, None]), 0.0)
    predicted_path_distance = jnp.linalg.norm(shrink * c, axis=1)
    slope_constant = jnp.linalg.norm(jnp.where(nonzero, 2 * c / jnp.where(nonzero, spec.eigenvalues, 1.0), 0.0))

    # (c) gradient descent from 0 towards a+, and from a random a_0 measured against a+ and against its own
    # limit a+ + z_0 (z_0 the null-space part of a_0): three runs in one vmap, theory from the spectrum.
    step = spectrum.best_step(spec.L, mu_plus)
    num_steps = size(SIZES, "num_steps", quick)
    random_start = jax.random.normal(key_start, (P,), dtype)
    start_null = null_part(random_start)
    limit = a_plus + start_null
    starts = jnp.stack([jnp.zeros(P, dtype), random_start, random_start])
    targets = jnp.stack([a_plus, a_plus, limit])
    optima = jax.vmap(descent.optimum, (None, 0, None))(criteria.least_squares, targets, data)
    traces = jax.vmap(lambda a0, opt: descent.gradient_descent(criteria.least_squares, data, a0, opt, step, num_steps))(
        starts, optima)
    predicted = jax.vmap(lambda a0, target: spectrum.predicted_distance(spec, step, a0, target, num_steps))(starts, targets)
    return dict(X=X, y=y, data=data, a_plus=a_plus, optimum=optimum, spec=spec, nonzero=nonzero, mu_plus=mu_plus,
                null_norms=null_norms, interpolants=interpolants, interpolant_mse=interpolant_mse,
                l2=l2, path=path, predicted_path_distance=predicted_path_distance, slope_constant=slope_constant,
                step=step, starts=starts, traces=traces, predicted=predicted, start_null=start_null, limit=limit)


# %%
def figure_interpolants(result):
    """(a) A few zero-error solutions coefficient by coefficient; the norms and training errors of many."""
    a_plus, mse = np.asarray(result["a_plus"]), np.asarray(result["interpolant_mse"])
    interpolants, null_norms = np.asarray(result["interpolants"]), np.asarray(result["null_norms"])
    norms = np.linalg.norm(interpolants, axis=1)
    plus_norm, plus_mse = np.linalg.norm(a_plus), float(criteria.least_squares(result["a_plus"], result["data"]))
    zero_mse = float(np.mean(np.asarray(result["y"]) ** 2))
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(13, 4.6), gridspec_kw=dict(width_ratios=(1.6, 1)))
    index = np.arange(len(a_plus))
    for k in range(len(NULL_NORMS)):
        ax.plot(index, interpolants[k], ".-", lw=0.8, ms=4, alpha=0.8,
                label=f"a⁺ + z, ‖z‖ = {null_norms[k]:g}: ‖a‖ = {norms[k]:.2f}, training MSE = {mse[k]:.0e}")
    ax.plot(index, a_plus, "o-", color="k", lw=1.8, ms=5,
            label=f"minimum-norm a⁺: ‖a⁺‖ = {plus_norm:.2f}, training MSE = {plus_mse:.0e}")
    ax.axhline(0, color="grey", lw=0.6)
    ax.set_xlabel("coefficient index (0 is the intercept b)")
    ax.set_ylabel("coefficient value")
    ax.set_title(f"N = {N} samples, P = {len(a_plus)} parameters: every a⁺ + z, z ∈ null(A), fits exactly")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)
    ax.grid(True, alpha=0.3)

    bx.semilogy(norms, mse, ".", color="tab:blue", ms=5, label=f"{len(norms)} interpolants a⁺ + z (random z)")
    bx.semilogy([plus_norm], [max(plus_mse, 1e-300)], "*", color="k", ms=14, label="minimum-norm a⁺")
    bx.axvline(plus_norm, color="k", ls=":", lw=1, label=f"‖a⁺‖ = {plus_norm:.2f}: no interpolant is shorter")
    bx.axhline(zero_mse, color="tab:red", ls="--", lw=1, label=f"MSE of a = 0, mean(y²) = {zero_mse:.1f}")
    bx.set_xlim(0, norms.max() * 1.05)
    bx.set_ylim(1e-33, 1e4)
    bx.set_xlabel("‖a‖ = √(‖a⁺‖² + ‖z‖²)")
    bx.set_ylabel("training MSE (1/N)‖y − Aa‖², log scale")
    bx.set_title("Zero error up to rounding, at any norm ≥ ‖a⁺‖")
    bx.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=1)
    bx.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    return fig


def figure_path(result):
    """(b) The ridge coefficients against l2, and their distance to a+ measured beside the exact value."""
    l2, path = np.asarray(result["l2"]), np.asarray(result["path"])
    a_plus = np.asarray(result["a_plus"])
    distance = np.linalg.norm(path - a_plus, axis=1)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(13, 5.4), layout="constrained")
    colours = plt.cm.viridis(np.linspace(0, 0.9, path.shape[1]))
    for j in range(1, path.shape[1]):
        ax.semilogx(l2, path[:, j], color=colours[j], lw=0.8)
    ax.semilogx(l2, path[:, 0], color="tab:red", lw=2.2, label="intercept b (penalised too)")
    ax.semilogx(np.full_like(a_plus, l2[0]), a_plus, "o", ms=5, mfc="none", mec="k",
                label="minimum-norm a⁺ (SVD pseudo-inverse)")
    ax.plot([], [], color=colours[len(colours) // 2], lw=0.8, label=f"a_1 … a_{D}")
    ax.axhline(0, color="grey", lw=0.6)
    ax.set_xlabel("ridge penalty l2 in (1/N)‖y − Aa‖² + l2‖a‖², log scale")
    ax.set_ylabel("coefficient value")
    ax.set_title("Ridge path: a(l2) → a⁺ as l2 → 0, a(l2) → 0 as l2 → ∞")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)  # within its panel's width
    ax.grid(True, which="major", alpha=0.3)

    constant = float(result["slope_constant"])
    small = l2 <= SMALL_L2
    slope = np.polyfit(np.log(l2[small]), np.log(distance[small]), 1)[0]
    bx.loglog(l2, distance, "o", ms=6, mfc="none", mew=1.5, label="measured ‖a(l2) − a⁺‖ (reference.ridge)")
    bx.loglog(l2, np.asarray(result["predicted_path_distance"]), "-", color="k", lw=1,
              label="exact: ‖2·l2·c_i / (h_i + 2·l2)‖, h_i the Hessian's eigenvalues, c = Vᵀa⁺")
    bx.loglog(l2, constant * l2, "--", color="tab:red", lw=1,
              label=f"small-l2 theory l2·‖(H/2)⁺a⁺‖ = {constant:.2f}·l2 (slope 1)")
    bx.axhline(np.linalg.norm(a_plus), color="grey", ls=":", lw=1, label=f"‖a⁺‖ = {np.linalg.norm(a_plus):.2f} (limit l2 → ∞)")
    bx.set_ylim(distance.min() / 10, np.linalg.norm(a_plus) * 10)
    bx.set_xlabel("ridge penalty l2, log scale")
    bx.set_ylabel("distance ‖a(l2) − a⁺‖, log scale")
    bx.set_title(f"Distance to the minimum-norm solution:\nfitted slope {slope:.4f} for l2 ≤ {SMALL_L2:g}")
    bx.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1)  # within its panel's width
    bx.grid(True, which="major", alpha=0.3)
    return fig


def figure_descent(result):
    """(c) Gradient descent from 0 reaches a+; from a random start it reaches a+ + z_0, off by ||z_0||."""
    traces, predicted = result["traces"], np.asarray(result["predicted"])
    spec, mu_plus, step = result["spec"], float(result["mu_plus"]), float(result["step"])
    null_norm = float(np.linalg.norm(result["start_null"]))
    rate = (float(spec.L) - mu_plus) / (float(spec.L) + mu_plus)
    t = np.arange(traces.distance.shape[1])
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(13, 4.6), gridspec_kw=dict(width_ratios=(1.4, 1)))
    floor = float(np.finfo(traces.distance.dtype).eps) * 10
    ax.semilogy(t, np.maximum(traces.distance[0], floor), lw=2.5, alpha=0.75, label="from a₀ = 0: ‖a_t − a⁺‖")
    ax.semilogy(t, np.maximum(traces.distance[1], floor), lw=2.5, alpha=0.75, label="from a random a₀: ‖a_t − a⁺‖")
    ax.semilogy(t, np.maximum(traces.distance[2], floor), lw=2.5, alpha=0.75,
                label="from the random a₀: ‖a_t − (a⁺ + z₀)‖, z₀ its null-space part")
    for curve in predicted:
        ax.semilogy(t, np.maximum(curve, floor), "--", color="k", lw=0.9)
    ax.plot([], [], "--", color="k", lw=0.9, label="predicted from the Hessian's spectrum")
    ax.axhline(null_norm, color="tab:red", ls=":", lw=1.2, label=f"‖z₀‖ = {null_norm:.3f} (projection of a₀ on null(A))")
    ax.semilogy(t, float(traces.distance[0, 0]) * rate**t, ":", color="grey", lw=1,
                label=f"‖a₀ − a⁺‖·((L − μ₊)/(L + μ₊))^t = ‖a₀ − a⁺‖·{rate:.3f}^t")
    ax.set_ylim(floor / 3, 100)
    ax.set_xlabel("iteration t")
    ax.set_ylabel("distance (log scale)")
    ax.set_title(f"Gradient descent at step 2/(L + μ₊) = {step:.3f} (L = {float(spec.L):.2f}, μ₊ = {mu_plus:.3f})")
    ax.legend(fontsize=8, loc="center right", bbox_to_anchor=(1.0, 0.63))
    ax.grid(True, which="major", alpha=0.3)

    a_plus, limit = np.asarray(result["a_plus"]), np.asarray(result["limit"])
    from_zero, from_random = np.asarray(traces.params[0]), np.asarray(traces.params[1])
    index = np.arange(len(a_plus))
    bx.plot(index, a_plus, "o", ms=7, mfc="none", mew=1.3, color="tab:blue", label="a⁺ (pseudo-inverse)")
    bx.plot(index, from_zero, "+", ms=7, mew=1.3, color="tab:blue",
            label=f"GD from 0: max |a_T − a⁺| = {np.max(np.abs(from_zero - a_plus)):.0e}")
    bx.plot(index, limit, "s", ms=7, mfc="none", mew=1.1, color="tab:green", label="a⁺ + z₀")
    bx.plot(index, from_random, "x", ms=6, mew=1.3, color="tab:green",
            label=f"GD from random a₀: max |a_T − (a⁺ + z₀)| = {np.max(np.abs(from_random - limit)):.0e}")
    bx.axhline(0, color="grey", lw=0.6)
    bx.set_xlabel("coefficient index (0 is the intercept b)")
    bx.set_ylabel("coefficient value")
    bx.set_title(f"Final iterates, t = {len(t) - 1}: two different interpolants")
    bx.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)
    bx.grid(True, alpha=0.3)
    fig.tight_layout()
    return fig


# %%
def numbers(result):
    """The key numbers, as plain JSON-ready values."""
    a_plus, spec, traces = np.asarray(result["a_plus"]), result["spec"], result["traces"]
    l2, path = np.asarray(result["l2"]), np.asarray(result["path"])
    distance = np.linalg.norm(path - a_plus, axis=1)
    predicted_distance = np.asarray(result["predicted_path_distance"])
    small = l2 <= SMALL_L2
    interpolants, null_norms = np.asarray(result["interpolants"]), np.asarray(result["null_norms"])
    norms = np.linalg.norm(interpolants, axis=1)
    plus_norm, L, mu_plus = float(np.linalg.norm(a_plus)), float(spec.L), float(result["mu_plus"])
    null_norm = float(np.linalg.norm(result["start_null"]))
    predicted = np.asarray(result["predicted"])
    measured = np.asarray(traces.distance)
    trusted = predicted > 1e-10  # above the rounding floor of ||a_t - a+||
    return dict(
        N=N, D=D, P=len(a_plus), rank=int(np.sum(result["nonzero"])),
        null_space_dimension=len(a_plus) - int(np.sum(result["nonzero"])),
        min_norm=dict(
            norm=plus_norm,
            training_mse=float(criteria.least_squares(result["a_plus"], result["data"])),
            mse_of_zero=float(np.mean(np.asarray(result["y"]) ** 2)),
        ),
        interpolants=dict(
            count=len(norms),
            null_component_norms=null_norms[: len(NULL_NORMS)].tolist(),
            norms=norms[: len(NULL_NORMS)].tolist(),
            training_mse=np.asarray(result["interpolant_mse"])[: len(NULL_NORMS)].tolist(),
            max_training_mse=float(np.max(result["interpolant_mse"])),
            min_norm_over_all=float(norms.min()),
            max_pythagoras_error=float(np.max(np.abs(norms**2 - (plus_norm**2 + null_norms**2)))),
        ),
        ridge_path=dict(
            l2=l2.tolist(),
            distance_to_min_norm=distance.tolist(),
            predicted_distance=predicted_distance.tolist(),
            max_relative_deviation_from_prediction=max_relative_deviation(distance, predicted_distance),
            distance_at_smallest_l2=float(distance[0]),
            fitted_slope_small_l2=loglog_slope(l2[small], distance[small]),
            predicted_constant=float(result["slope_constant"]),
            measured_constant_at_smallest_l2=float(distance[0] / l2[0]),
            norm=np.linalg.norm(path, axis=1).tolist(),
        ),
        descent=dict(
            L=L, mu_plus=mu_plus, condition_number_on_row_space=L / mu_plus,
            step=float(result["step"]), predicted_rate=float(spectrum.optimal_rate(L / mu_plus)), num_steps=measured.shape[1] - 1,
            from_zero_final_distance_to_min_norm=float(measured[0, -1]),
            from_random_final_distance_to_min_norm=float(measured[1, -1]),
            from_random_null_component_norm=null_norm,
            from_random_final_distance_to_its_limit=float(measured[2, -1]),
            max_relative_deviation_from_prediction=max_relative_deviation(measured, predicted, trusted),
            diverged=bool(np.any(traces.diverged)),
        ),
    )


def over_draws(seeds, quick, dtype):
    """The claims on other data sets: each one's worst value of what the figures show on the first."""
    each = [numbers(jax.device_get(compute(int(seed), quick, jnp.dtype(dtype)))) for seed in seeds]
    return dict(
        count=len(each),
        max_interpolant_training_mse=max(n["interpolants"]["max_training_mse"] for n in each),
        path_max_relative_deviation_from_prediction=max(n["ridge_path"]["max_relative_deviation_from_prediction"]
                                                        for n in each),
        path_slopes_small_l2=[min(n["ridge_path"]["fitted_slope_small_l2"] for n in each),
                              max(n["ridge_path"]["fitted_slope_small_l2"] for n in each)],
        descent_max_relative_deviation_from_prediction=max(n["descent"]["max_relative_deviation_from_prediction"]
                                                           for n in each),
        from_zero_max_final_distance_to_min_norm=max(n["descent"]["from_zero_final_distance_to_min_norm"] for n in each),
        from_random_max_final_distance_to_its_limit=max(n["descent"]["from_random_final_distance_to_its_limit"]
                                                        for n in each),
    )


def reproduce(out="figures", quick=False, dtype="float64", seed=0):
    """Compute, draw and save `ridge_interpolants.png`, `ridge_path.png`, `ridge_descent.png` and `ridge.json` in `out`."""
    out = prepare(out, dtype)
    result = jax.device_get(compute(seed, quick, jnp.dtype(dtype)))  # numpy from here on: no more compilations
    summary = numbers(result)
    summary["draws"] = over_draws(seed + np.arange(size(SIZES, "draws", quick)), quick, dtype)
    figures = {"interpolants": figure_interpolants(result), "path": figure_path(result),
               "descent": figure_descent(result)}
    return save(out, "ridge", summary, figures)


# %%
if __name__ == "__main__":
    summary = command_line(reproduce, __doc__)
    path, gd = summary["ridge_path"], summary["descent"]
    print(f"||a+|| = {summary['min_norm']['norm']:.4f}, rank {summary['rank']}, null space of dimension {summary['null_space_dimension']}")
    print(f"interpolants: max training MSE {summary['interpolants']['max_training_mse']:.1e}")
    print(f"ridge path: ||a(l2) - a+|| = {path['distance_at_smallest_l2']:.2e} at l2 = {path['l2'][0]:g}, "
          f"slope {path['fitted_slope_small_l2']:.4f}")
    print(f"GD from 0: {gd['from_zero_final_distance_to_min_norm']:.1e} from a+; from a random start: "
          f"{gd['from_random_final_distance_to_min_norm']:.6f} from a+, null-space part {gd['from_random_null_component_norm']:.6f}")
