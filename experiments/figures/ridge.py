"""The figures of `experiments.ridge`: (a) interpolants, (b) the ridge path, (c) gradient descent from 0 and from a
random start."""

import matplotlib.pyplot as plt
import numpy as np

from lab import criteria


def interpolants_figure(result, shown):
    """(a) A few zero-error solutions coefficient by coefficient; the norms and training errors of many."""
    a_plus, mse = np.asarray(result["a_plus"]), np.asarray(result["interpolant_mse"])
    interpolants, null_norms = np.asarray(result["interpolants"]), np.asarray(result["null_norms"])
    norms = np.linalg.norm(interpolants, axis=1)
    plus_norm, plus_mse = np.linalg.norm(a_plus), float(criteria.least_squares(result["a_plus"], result["data"]))
    zero_mse = float(np.mean(np.asarray(result["y"]) ** 2))
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(13, 4.6), gridspec_kw=dict(width_ratios=(1.6, 1)))
    index = np.arange(len(a_plus))
    for k in range(shown):
        ax.plot(index, interpolants[k], ".-", lw=0.8, ms=4, alpha=0.8,
                label=f"a⁺ + z, ‖z‖ = {null_norms[k]:g}: ‖a‖ = {norms[k]:.2f}, training MSE = {mse[k]:.0e}")
    ax.plot(index, a_plus, "o-", color="k", lw=1.8, ms=5,
            label=f"minimum-norm a⁺: ‖a⁺‖ = {plus_norm:.2f}, training MSE = {plus_mse:.0e}")
    ax.axhline(0, color="grey", lw=0.6)
    ax.set_xlabel("coefficient index (0 is the intercept b)")
    ax.set_ylabel("coefficient value")
    ax.set_title(f"N = {len(result['y'])} samples, P = {len(a_plus)} parameters: "
                 "every a⁺ + z, z ∈ null(A), fits exactly")
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


def path_figure(result, small_l2, slope):
    """(b) The ridge coefficients against l2, and their distance to a+ measured beside the exact value; `slope`: the
    log-log slope fitted on l2 <= small_l2."""
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
    ax.plot([], [], color=colours[len(colours) // 2], lw=0.8, label=f"a_1 … a_{path.shape[1] - 1}")
    ax.axhline(0, color="grey", lw=0.6)
    ax.set_xlabel("ridge penalty l2 in (1/N)‖y − Aa‖² + l2‖a‖², log scale")
    ax.set_ylabel("coefficient value")
    ax.set_title("Ridge path: a(l2) → a⁺ as l2 → 0, a(l2) → 0 as l2 → ∞")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)  # within its panel's width
    ax.grid(True, which="major", alpha=0.3)

    constant = float(result["slope_constant"])
    bx.loglog(l2, distance, "o", ms=6, mfc="none", mew=1.5, label="measured ‖a(l2) − a⁺‖ (reference.ridge)")
    bx.loglog(l2, np.asarray(result["predicted_path_distance"]), "-", color="k", lw=1,
              label="exact: ‖2·l2·c_i / (h_i + 2·l2)‖, h_i the Hessian's eigenvalues, c = Vᵀa⁺")
    bx.loglog(l2, constant * l2, "--", color="tab:red", lw=1,
              label=f"small-l2 theory l2·‖(H/2)⁺a⁺‖ = {constant:.2f}·l2 (slope 1)")
    bx.axhline(np.linalg.norm(a_plus), color="grey", ls=":", lw=1,
               label=f"‖a⁺‖ = {np.linalg.norm(a_plus):.2f} (limit l2 → ∞)")
    bx.set_ylim(distance.min() / 10, np.linalg.norm(a_plus) * 10)
    bx.set_xlabel("ridge penalty l2, log scale")
    bx.set_ylabel("distance ‖a(l2) − a⁺‖, log scale")
    bx.set_title(f"Distance to the minimum-norm solution:\nfitted slope {slope:.4f} for l2 ≤ {small_l2:g}")
    bx.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1)  # within its panel's width
    bx.grid(True, which="major", alpha=0.3)
    return fig


def descent_figure(result):
    """(c) Gradient descent from 0 reaches a+; from a random start it reaches a+ + z_0, off by ||z_0||."""
    traces, predicted = result["traces"], np.asarray(result["predicted"])
    spec, mu_plus, learning_rate = result["spec"], float(result["mu_plus"]), float(result["learning_rate"])
    null_norm = float(np.linalg.norm(result["start_null"]))
    rate = (float(spec.L) - mu_plus) / (float(spec.L) + mu_plus)
    t = np.arange(traces.distance.shape[1])
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(13, 4.6), gridspec_kw=dict(width_ratios=(1.4, 1)))
    floor = float(np.finfo(traces.distance.dtype).eps) * 10
    labels = ("from a₀ = 0: ‖a_t − a⁺‖", "from a random a₀: ‖a_t − a⁺‖",
              "from the random a₀: ‖a_t − (a⁺ + z₀)‖, z₀ its null-space part")
    for distance, label in zip(traces.distance, labels):
        ax.semilogy(t, np.maximum(distance, floor), lw=2.5, alpha=0.75, label=label)
    for curve in predicted:
        ax.semilogy(t, np.maximum(curve, floor), "--", color="k", lw=0.9)
    ax.plot([], [], "--", color="k", lw=0.9, label="predicted from the Hessian's spectrum")
    ax.axhline(null_norm, color="tab:red", ls=":", lw=1.2,
               label=f"‖z₀‖ = {null_norm:.3f} (projection of a₀ on null(A))")
    ax.semilogy(t, float(traces.distance[0, 0]) * rate**t, ":", color="grey", lw=1,
                label=f"‖a₀ − a⁺‖·((L − μ₊)/(L + μ₊))^t = ‖a₀ − a⁺‖·{rate:.3f}^t")
    ax.set_ylim(floor / 3, 100)
    ax.set_xlabel("iteration t")
    ax.set_ylabel("distance (log scale)")
    ax.set_title(f"Gradient descent at learning rate 2/(L + μ₊) = {learning_rate:.3f} "
                 f"(L = {float(spec.L):.2f}, μ₊ = {mu_plus:.3f})")
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
