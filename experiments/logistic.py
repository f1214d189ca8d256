"""Logistic regression: least squares fails on 0/1 labels; no closed form, so Newton gives the reference that gradient descent reaches, on synthetic and real data.

1. One feature, labels 0/1, a few easy points far to the right: the
   least-squares line is dragged by them and misclassifies, the logistic
   curve is not; misclassification and log-likelihood of both.
2. Two features: the logistic decision boundary, gradient descent at several
   steps converging to the Newton reference (suboptimality on a log scale),
   and the convexity of the criterion along lines through the optimum.
3. The Wisconsin breast-cancer data (shipped in experiments/data/),
   standardised, with an L2 term: the lab's Newton reference and its
   gradient-descent solution, against scikit-learn's LogisticRegression
   when installed.
"""

# %%
import functools
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from experiments import command_line, prepare, save  # noqa: E402
from lab import criteria, descent, problems, reference, runs, spectrum, sweep  # noqa: E402

DATA = Path(__file__).parent / "data" / "breast_cancer.csv"
L2_SYNTHETIC, L2_REAL = 1e-3, 1e-3
N2, SEPARATION = 200, 2.0
STEPS = np.array([0.25, 0.5, 1.0, 1.5])  # in units of 2/L at a = 0, the largest curvature
NUM_STEPS, QUICK_NUM_STEPS = 600, 300
REAL_NUM_STEPS, QUICK_REAL_NUM_STEPS = 20000, 10000


# %%
def one_feature(dtype):
    """Two overlapping classes on a line, plus easy positives far to the right."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(-1, 0.8, 30), rng.normal(1, 0.8, 30), rng.uniform(6, 9, 10)])
    y = np.concatenate([np.zeros(30), np.ones(40)])
    line, newton, (ls_scores, logit_scores) = jax.device_get(_one_feature(jnp.asarray(x[:, None], dtype),
                                                                          jnp.asarray(y, dtype)))
    logit = reference.newton_params(newton, L2_SYNTHETIC)
    return dict(x=x, y=y.astype(dtype), line=line, logit=logit,
                least_squares=_scores(*ls_scores), logistic=_scores(*logit_scores))


@jax.jit
def _one_feature(X, y):
    """The least-squares line, Newton's logistic fit, and (errors, log-likelihood) of each."""
    A = problems.design(X)
    line = reference.least_squares(X, y)
    newton = reference.logistic_newton(A, y, jnp.asarray(L2_SYNTHETIC, X.dtype))

    def scores(probability):
        p = jnp.clip(probability, 1e-12, 1 - 1e-12)  # a line leaves [0, 1]: clip to score it at all
        return jnp.sum((probability > 0.5) != (y > 0.5)), jnp.sum(y * jnp.log(p) + (1 - y) * jnp.log(1 - p))

    return line, newton, (scores(A @ line), scores(jax.nn.sigmoid(A @ newton.params)))


def _scores(errors, log_likelihood):
    return dict(errors=int(errors), log_likelihood=float(log_likelihood))


def two_features(num_steps, dtype):
    """Gradient descent at several steps against Newton, in one sweep of `runs.LogisticRun`."""
    run = runs.LogisticRun(N2, 2, num_steps, dtype=dtype)
    grid = sweep.sweep(run, {"step": STEPS, "l2": np.array([L2_SYNTHETIC]), "separation": np.array([SEPARATION])},
                       progress=False)
    X, y, newton, s, along, curvature = jax.device_get(_two_features(jnp.dtype(dtype)))
    return dict(grid=grid, X=X, y=y, a=reference.newton_params(newton, L2_SYNTHETIC), s=s, along=along,
                curvature=curvature)


@functools.partial(jax.jit, static_argnums=0)
def _two_features(dtype):
    """The sweep's data, its Newton optimum, and the criterion along three random lines through it."""
    X, y = problems.classification(jax.random.key(0), N2, 2, SEPARATION, dtype=dtype)  # the run's data
    data = problems.make_data(X, y, l2=L2_SYNTHETIC)
    newton = reference.logistic_newton(data.X, y, data.l2)
    a = newton.params
    directions = jax.random.normal(jax.random.key(1), (3, 3), a.dtype)
    s = jnp.linspace(-3, 3, 121)
    along = jax.vmap(lambda v: jax.vmap(lambda t: criteria.logistic(a + t * v / jnp.linalg.norm(v), data))(s))(directions)
    curvature = jax.vmap(lambda v: v @ spectrum.hessian(criteria.logistic, a, data) @ v / (v @ v))(directions)
    return X, y, newton, s, along, curvature


def real_data(num_steps, dtype):
    """Breast cancer, standardised: Newton, gradient descent from 0, and scikit-learn if installed."""
    X, y, _ = problems.load_csv(DATA, "malignant", standardize=True, labels=True, dtype=dtype)
    data = problems.make_data(X, y, l2=L2_REAL)
    newton, fit = jax.device_get(_real_data(data, num_steps))
    newton = reference.newton_params(newton, L2_REAL)
    numbers = dict(n=int(X.shape[0]), d=int(X.shape[1]), l2=L2_REAL, L_start=float(fit["L_start"]),
                   L_optimum=float(fit["L_optimum"]), mu_optimum=float(fit["mu_optimum"]), step=float(fit["step"]),
                   num_steps=num_steps, gd_gradient_norm=float(fit["gd_gradient_norm"]),
                   gd_relative_distance=float(fit["gd_relative_distance"]),
                   newton_gradient_norm=float(fit["newton_gradient_norm"]),
                   training_errors=int(fit["training_errors"]))
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        numbers["sklearn"] = None
    else:
        y = np.asarray(data.y)
        sk = LogisticRegression(C=1 / (2 * len(y) * L2_REAL), fit_intercept=False, solver="newton-cholesky",
                                tol=1e-12, max_iter=200).fit(np.asarray(data.X), y)
        theirs = sk.coef_.ravel()
        numbers["sklearn"] = dict(relative_difference=float(np.linalg.norm(theirs - newton) / np.linalg.norm(theirs)))
    return numbers, fit["gap"]


@functools.partial(jax.jit, static_argnums=1)
def _real_data(data, num_steps):
    """Newton's optimum, curvatures at 0 and at the optimum, and gradient descent at 2/(L(0) + mu*)."""
    newton = reference.logistic_newton(data.X, data.y, data.l2)
    optimum = descent.optimum(criteria.logistic, newton.params, data)
    start = jnp.zeros_like(newton.params)
    L_start = spectrum.spectrum(criteria.logistic, start, data).L
    at_optimum = spectrum.spectrum(criteria.logistic, newton.params, data)
    step = spectrum.best_step(L_start, at_optimum.mu)
    trace = descent.gradient_descent(criteria.logistic, data, start, optimum, step, num_steps)
    gradient_norm = jnp.linalg.norm(jax.grad(criteria.logistic)(trace.params, data))
    return newton, dict(L_start=L_start, L_optimum=at_optimum.L, mu_optimum=at_optimum.mu, step=step,
                        gd_gradient_norm=gradient_norm,
                        gd_relative_distance=jnp.linalg.norm(trace.params - newton.params) / jnp.linalg.norm(newton.params),
                        newton_gradient_norm=jnp.linalg.norm(jax.grad(criteria.logistic)(newton.params, data)),
                        training_errors=jnp.sum((data.X @ newton.params > 0) != (data.y > 0.5)), gap=trace.gap)


# %%
def figure(one, two, real_gap):
    fig, axes = plt.subplots(2, 2, figsize=(13, 9.5))
    (ax1, ax2), (ax3, ax4) = axes
    grid = np.linspace(-4, 10, 300)
    ax1.plot(one["x"], one["y"], "k|", ms=14, mew=1.5, label="data (label 0 or 1)")
    ls, lg = one["least_squares"], one["logistic"]
    ax1.plot(grid, one["line"][0] + one["line"][1] * grid, lw=2,
             label=f"least squares: {ls['errors']} errors, log-lik. {ls['log_likelihood']:.0f} (clipped)")
    ax1.plot(grid, 1 / (1 + np.exp(-(one["logit"][0] + one["logit"][1] * grid))), lw=2,
             label=f"logistic σ(b + ax): {lg['errors']} errors, log-lik. {lg['log_likelihood']:.1f}")
    ax1.axhline(0.5, color="grey", ls=":", lw=1, label="decision threshold 0.5")
    ax1.set_ylim(-0.4, 1.4)
    ax1.set_xlabel("feature x")
    ax1.set_ylabel("label y, or predicted P(y = 1)")
    ax1.set_title("One feature: easy points on the right drag the line")
    ax1.legend(fontsize=8, loc="upper left")

    X, y, a = two["X"], two["y"], two["a"]
    u, v = np.meshgrid(np.linspace(X[:, 0].min() - 1, X[:, 0].max() + 1, 200),
                       np.linspace(X[:, 1].min() - 1, X[:, 1].max() + 1, 200))
    p = 1 / (1 + np.exp(-(a[0] + a[1] * u + a[2] * v)))
    mesh = ax2.contourf(u, v, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.5)
    ax2.contour(u, v, p, levels=[0.5], colors="k", linewidths=2)
    ax2.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu_r", edgecolors="k", s=18)
    fig.colorbar(mesh, ax=ax2, label="predicted P(y = 1)")
    ax2.plot([], [], "k-", lw=2, label="decision boundary P = 0.5")
    ax2.set_xlabel("x₁")
    ax2.set_ylabel("x₂")
    ax2.set_title(f"Two features: logistic fit (Newton, l2 = {L2_SYNTHETIC:g})")
    ax2.legend(fontsize=8, loc="upper left")

    g = two["grid"]
    for i, c in enumerate(g.axes["step"]):
        gap = g["gap"][i].ravel()
        state = "diverged" if g["diverged"][i].ravel()[0] else f"{int(g['iterations'][i].ravel()[0])} it. to 1e-6"
        ax3.loglog(1 + np.arange(len(gap)), np.where(gap > 0, gap, np.nan), lw=2,
                   label=f"2 features, step = {c:g}·2/L(a=0): {state}")
    ax3.loglog(1 + np.arange(len(real_gap)), np.where(real_gap > 0, real_gap, np.nan), "k", lw=1.5,
               label="breast cancer (30 features), step 2/(L(0)+μ*)")
    ax3.set_xlabel("iteration t + 1 (log scale)")
    ax3.set_ylabel("f(a_t) − f*  (f* by Newton)")
    ax3.set_title("Gradient descent converges to the Newton reference")
    ax3.legend(fontsize=8)
    ax3.grid(True, which="major", alpha=0.3)

    for k, (curve, h) in enumerate(zip(two["along"], two["curvature"])):
        ax4.plot(two["s"], curve, lw=2, label=f"random direction {k + 1}: vᵀHv = {h:.3f} > 0")
    ax4.axvline(0, color="grey", ls=":", lw=1)
    ax4.set_xlabel("s  (a = a* + s·v, ‖v‖ = 1)")
    ax4.set_ylabel("mean negative log-likelihood + l2‖a‖²")
    ax4.set_title("Convex: along any line through a*, a bowl with its bottom at s = 0")
    ax4.legend(fontsize=8)
    ax4.grid(True, alpha=0.3)
    fig.tight_layout()
    return fig


def run(out="figures", quick=False, dtype="float64", seed=0):
    """Write logistic.png and logistic.json in `out`; return the numbers."""
    out = prepare(out, dtype)
    one = one_feature(jnp.dtype(dtype))
    two = two_features(QUICK_NUM_STEPS if quick else NUM_STEPS, dtype)
    real, real_gap = real_data(QUICK_REAL_NUM_STEPS if quick else REAL_NUM_STEPS, jnp.dtype(dtype))
    g = two["grid"]
    numbers = dict(
        one_feature=dict(least_squares=one["least_squares"], logistic=one["logistic"]),
        two_features=dict(steps_over_edge_at_start=STEPS.tolist(), diverged=g["diverged"].ravel().tolist(),
                          iterations=g["iterations"].ravel().tolist(), final_gap=g["final_gap"].ravel().tolist(),
                          directional_curvature=two["curvature"].tolist()),
        breast_cancer=real,
    )
    return save(out, "logistic", numbers, {"": figure(one, two, real_gap)})


# %%
if __name__ == "__main__":
    result = command_line(run, __doc__)
    print(result["one_feature"], result["breast_cancer"])
