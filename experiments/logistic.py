"""Logistic regression: least squares fails on 0/1 labels; no closed form, so Newton gives the reference that gradient descent reaches, on synthetic and real data.

1. One feature, labels 0/1, a few easy points far to the right: the
   least-squares line is dragged by them and misclassifies, the logistic
   curve is not; misclassification and log-likelihood of both.
2. Two features: the logistic decision boundary, gradient descent at several
   steps converging to the Newton reference (suboptimality on a log scale),
   Newton's own iterates beside them, and the convexity of the criterion
   along lines through the optimum.
3. The Wisconsin breast-cancer data (shipped in experiments/data/),
   standardised, with an L2 term: the lab's Newton reference and its
   gradient-descent solution, against scikit-learn's LogisticRegression
   when installed.
The stability edge on these problems, measured next to a* and from a = 0, is `logistic_edges`.
"""

# %%
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.ticker  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from experiments import SKLEARN_MISSING, command_line, first_below, prepare, quantiles, save, size  # noqa: E402
from lab import criteria, problems, reference, runs, spectrum, sweep  # noqa: E402

DATA = Path(__file__).parent / "data" / "breast_cancer.csv"
L2_SYNTHETIC, L2_REAL = 1e-3, 1e-3
N2, SEPARATION = 200, 2.0
STEPS_OVER_EDGE = np.array([0.25, 0.5, 1.0, 1.5])  # in units of 2/L at a = 0, the largest curvature
NEWTON_ITERATIONS = 12
SIZES = dict(num_steps=(600, 300), real_num_steps=(20000, 10000), seeds=(20, 4))  # full, quick


# %%
def one_feature(dtype):
    """Two overlapping classes on a line, plus easy positives far to the right."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(-1, 0.8, 30), rng.normal(1, 0.8, 30), rng.uniform(6, 9, 10)])
    y = np.concatenate([np.zeros(30), np.ones(40)])
    X = jnp.asarray(x[:, None], dtype)
    line = np.asarray(reference.least_squares(X, jnp.asarray(y, dtype)))
    logit = newton_optimum(problems.make_data(X, jnp.asarray(y, dtype), l2=L2_SYNTHETIC))
    return dict(x=x, y=y.astype(dtype), line=line, logit=logit,
                least_squares=scores(line[0] + line[1] * x, y), logistic=scores(1 / (1 + np.exp(-(logit[0] + logit[1] * x))), y))


def newton_optimum(data):
    """The logistic criterion's minimiser, by Newton's method (`problems.problem` checks that it converged)."""
    return np.asarray(problems.problem(criteria.logistic, data, method="newton").reference.params)


def newton_path(problem, iterations=NEWTON_ITERATIONS):
    """f(a_k) - f* for Newton's iterates k = 0..iterations from the problem's start: `reference.newton` vmapped over
    its iteration limit, one compiled call."""
    path = jax.vmap(lambda k: reference.newton(problem.criterion, problem.data, problem.start, 0.0, k).params)(
        jnp.arange(iterations + 1))
    return np.asarray(jax.vmap(lambda a: problem.criterion(a, problem.data))(path) - problem.reference.value)


def scores(probability, y):
    """Errors at the threshold 1/2 and log-likelihood (a line leaves [0, 1]: clipped to score it at all)."""
    p = np.clip(probability, 1e-12, 1 - 1e-12)
    return dict(errors=int(np.sum((probability > 0.5) != (y > 0.5))),
                log_likelihood=float(np.sum(y * np.log(p) + (1 - y) * np.log(1 - p))))


def two_features(num_steps, seeds, dtype):
    """Gradient descent at several steps against Newton on `seeds` drawn data sets, in one sweep of
    `runs.LogisticRun`; on the first, the criterion along three random lines through the optimum, and its
    curvature there."""
    run = runs.LogisticRun(N2, 2, num_steps, dtype=dtype)
    grid = sweep.sweep(run, {"step_over_edge": STEPS_OVER_EDGE, "seed": np.arange(seeds), "l2": np.array([L2_SYNTHETIC]),
                             "separation": np.array([SEPARATION])}, progress=False)
    X, y = problems.classification(jax.random.key(0), N2, 2, SEPARATION, dtype=dtype)  # seed 0's data
    problem = problems.problem(criteria.logistic, problems.make_data(X, y, l2=L2_SYNTHETIC), method="newton")
    a, hessian = problem.reference.params, spectrum.hessian(criteria.logistic, problem.reference.params, problem.data)
    directions = jax.random.normal(jax.random.key(1), (3, 3), a.dtype)
    directions = directions / jnp.linalg.norm(directions, axis=1, keepdims=True)
    s = jnp.linspace(-3, 3, 121)
    along = jax.vmap(lambda v: jax.vmap(lambda t: criteria.logistic(a + t * v, problem.data))(s))(directions)
    curvature = jnp.einsum("ki,ij,kj->k", directions, hessian, directions)
    return jax.device_get(dict(grid=grid, X=X, y=y, a=a, s=s, along=along, curvature=curvature,
                               newton=newton_path(problem)))


def real_data(num_steps, dtype):
    """Breast cancer, standardised: Newton, gradient descent from 0 at 2/(L(0) + mu*), and scikit-learn if installed."""
    X, y, _ = problems.load_csv(DATA, "malignant", standardize=True, labels=True, dtype=dtype)
    problem = problems.problem(criteria.logistic, problems.make_data(X, y, l2=L2_REAL), method="newton")
    data, newton, at_optimum = problem.data, problem.reference, problem.spectrum
    L_start = spectrum.spectrum(criteria.logistic, problem.start, data).L  # the largest curvature, at a = 0
    step = spectrum.best_step(L_start, at_optimum.mu)
    _, trace = runs.optimize(problem, num_steps, step)
    gradient = jax.grad(criteria.logistic)
    numbers = dict(n=int(X.shape[0]), d=int(X.shape[1]), l2=L2_REAL, L_start=float(L_start),
                   L_optimum=float(at_optimum.L), mu_optimum=float(at_optimum.mu), step=float(step),
                   num_steps=num_steps, gd_gradient_norm=float(jnp.linalg.norm(gradient(trace.params, data))),
                   gd_relative_distance=float(jnp.linalg.norm(trace.params - newton.params) / jnp.linalg.norm(newton.params)),
                   newton_gradient_norm=float(newton.gradient_norm),
                   training_errors=int(jnp.sum((data.X @ newton.params > 0) != (data.y > 0.5))))
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        warnings.warn(SKLEARN_MISSING.format(what="the comparison with LogisticRegression"), stacklevel=2)
        numbers["sklearn"] = None
    else:
        sk = LogisticRegression(C=1 / (2 * len(y) * L2_REAL), fit_intercept=False, solver="newton-cholesky",
                                tol=1e-12, max_iter=200).fit(np.asarray(data.X), np.asarray(data.y))
        theirs = sk.coef_.ravel()
        numbers["sklearn"] = dict(relative_difference=float(np.linalg.norm(theirs - newton.params) / np.linalg.norm(theirs)))
    return numbers, np.asarray(trace.gap), newton_path(problem)


# %%
def rounding_floor(gap):
    """10 eps (1 + f(a_0) - f*): below it f - f* is rounding noise (f* <= f(0) = log 2 here)."""
    gap = np.asarray(gap, float)
    return 10 * np.finfo(gap.dtype).eps * (1 + abs(gap[0]))


def above_rounding(gap):
    """f(a_t) − f* until it first falls to the rounding floor, NaN from there (scattered marks on a log axis)."""
    gap = np.asarray(gap, float)
    below = first_below(gap, rounding_floor(gap))
    return np.where((np.arange(len(gap)) <= (len(gap) if below is None else below)) & (gap > 0), gap, np.nan)


def figure(one, two, real_gap, real_newton):
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
    for i, c in enumerate(g.axes["step_over_edge"]):
        gaps = np.array([above_rounding(gap) for gap in g["gap"][i].reshape(-1, g["gap"].shape[-1])])
        t = 1 + np.arange(gaps.shape[1])
        low, middle, high = quantiles(gaps, (10, 50, 90))
        above = np.sum(~np.isnan(gaps), axis=0)  # once half the data sets are at the floor, so is the median
        line, = ax3.loglog(t, np.where(2 * above > len(gaps), middle, np.nan), lw=2,
                           label=f"2 features, step {c:g}·2/L(a=0): median {np.median(g['iterations'][i]):.0f} it. to 1e-6")
        ax3.fill_between(t, low, high, color=line.get_color(), alpha=0.2)
    ax3.fill_between([], [], color="grey", alpha=0.3, label=f"2 features: median of {g.shape[1]} data sets, band 10–90 %")
    ax3.loglog(1 + np.arange(len(real_gap)), above_rounding(real_gap), "k", lw=1.5,
               label="breast cancer (30 features), step 2/(L(0)+μ*)")
    for newton, colour, name in ((two["newton"], "C4", "2 features"), (real_newton, "k", "breast cancer")):
        ax3.loglog(1 + np.arange(len(newton)), above_rounding(newton), "o--", color=colour, ms=4, lw=1,
                   label=f"Newton's iterates, {name}: quadratic convergence")
    ax3.plot([], [], " ", label="each curve drawn until f − f* first meets rounding, 10ε(1 + f(a₀) − f*)")
    ax3.set_xlabel("iteration t + 1 (log scale)")
    ax3.set_ylabel("f(a_t) − f*  (f* by Newton)")
    ax3.set_title("Gradient descent converges to the Newton reference;\nNewton takes a handful of steps")
    ax3.set_ylim(1e-26, 5)  # room below the curves' ends for the legend
    ax3.legend(fontsize=8, loc="lower left")
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


def reproduce(out="figures", quick=False, dtype="float64", seed=0):
    """Write logistic.png and logistic.json in `out`; return the numbers."""
    out = prepare(out, dtype)
    one = one_feature(dtype)
    two = two_features(size(SIZES, "num_steps", quick), size(SIZES, "seeds", quick), dtype)
    real, real_gap, real_newton = real_data(size(SIZES, "real_num_steps", quick), dtype)
    g = two["grid"]
    per_step = lambda name: g[name].reshape(len(STEPS_OVER_EDGE), -1)  # noqa: E731 (every run at each step)
    numbers = dict(
        one_feature=dict(least_squares=one["least_squares"], logistic=one["logistic"]),
        two_features=dict(steps_over_edge_at_start=STEPS_OVER_EDGE.tolist(), data_sets=int(g.shape[1]),
                          diverged=g["diverged"].any(axis=(1, 2, 3)).tolist(),
                          iterations=np.median(per_step("iterations"), axis=1).tolist(),
                          iterations_10_90=np.percentile(per_step("iterations"), (10, 90), axis=1).tolist(),
                          final_gap=np.median(per_step("final_gap"), axis=1).tolist(),
                          directional_curvature=two["curvature"].tolist()),
        breast_cancer=real,
        newton_gap=dict(two_features=two["newton"].tolist(), breast_cancer=real_newton.tolist()),
        newton_iterations_to_rounding={name: first_below(gap, rounding_floor(gap)) for name, gap in
                                       (("two_features", two["newton"]), ("breast_cancer", real_newton))},
    )
    return save(out, "logistic", numbers, {"": figure(one, two, real_gap, real_newton)})


# %%
if __name__ == "__main__":
    result = command_line(reproduce, __doc__)
    print(result["one_feature"], result["breast_cancer"])
