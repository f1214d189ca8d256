"""The figure of `experiments.model_selection`: errors against degree, fits of the first draw, ridge's
cross-validation."""

import matplotlib.pyplot as plt
import numpy as np


def figure(train, curve, fitted, cv, reference_cv, numbers, truth, shown, noise, n_test):
    """Left: training and test error (draws, degrees, 2) against degree; middle: the `shown` degrees' fits of the first
    draw beside `truth` (x, sin(pi x)); right: the lab's cross-validation `cv` beside scikit-learn's `reference_cv`."""
    degrees, folds = numbers["degrees"], numbers["folds"]
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(13, 4.6))
    for k, (marker, label) in enumerate((("o-", "training error"), ("s-", f"test error ({n_test} fresh samples)"))):
        low, middle_, high = np.percentile(curve[:, :, k], (10, 50, 90), axis=0)
        line, = left.semilogy(degrees, middle_, marker, label=f"{label}: median of {len(curve)} draws")
        left.fill_between(degrees, low, high, color=line.get_color(), alpha=0.2)
    left.fill_between([], [], color="grey", alpha=0.3, label="bands: 10–90 % of the draws")
    left.axhline(noise**2, color="grey", ls=":", label=f"noise variance {noise**2:g} (best possible)")
    left.set_xlabel("polynomial degree")
    left.set_ylabel("mean squared error")
    left.set_title(f"Under- and over-fitting (N = {len(train[0])})", fontsize=10)
    left.legend(fontsize=8)
    left.grid(True, alpha=0.3)

    middle.plot(train[0], train[1], "k.", label="training data")
    middle.plot(*truth, color="grey", lw=3, alpha=0.4, label="sin(πx), the truth")
    for degree in shown:
        middle.plot(truth[0], fitted[0, degrees.index(degree)], label=f"degree {degree}")
    middle.set_ylim(-2, 2)
    middle.set_xlabel("x")
    middle.set_ylabel("y")
    middle.set_title("Fits to the first draw: too rigid, right, too flexible", fontsize=10)
    middle.legend(fontsize=8)

    l2 = np.asarray(cv.l2)
    right.loglog(l2, np.asarray(cv.validation_mse), color="C0", alpha=0.25, lw=1)
    right.loglog(l2, np.asarray(cv.mean_validation), "C0", lw=2.5, label=f"{folds}-fold validation error (lab)")
    right.loglog(l2, np.asarray(cv.train_mse).mean(axis=1), "C1", lw=2, label="training error")
    right.axvline(float(cv.best_l2), color="C0", ls="--", label=f"chosen l2 = {float(cv.best_l2):.2g}")
    title = f"Ridge on degree {numbers['cv_degree']}, first draw: l2 by {folds}-fold CV"
    if reference_cv:
        right.loglog(l2, reference_cv["mean_validation"], "k:", lw=1.5, label="scikit-learn GridSearchCV")
    right.plot([], [], color="C0", alpha=0.25, label="each fold")
    right.set_xlabel("ridge penalty l2 in (1/N)‖y − Xa‖² + l2‖a‖²")
    right.set_ylabel("mean squared error")
    right.set_title(title, fontsize=10)
    right.legend(fontsize=8)
    right.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    return fig
