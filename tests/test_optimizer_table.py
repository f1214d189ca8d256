"""Every optimizer on every problem with a known minimum, in float32 and float64 (as optax's alias_test):
each reaches the minimiser within what its dtype allows, and new hyper-parameter values never recompile."""

import functools

import numpy as np
import optax
import pytest

from lab import runs, spectrum

from . import helpers

PROBLEMS = {
    "chosen_spectrum": helpers.chosen_spectrum,
    "exact_kappa_regression": helpers.exact_kappa_regression,
    "underdetermined": helpers.underdetermined,
    "two_classes": helpers.two_classes,
    "separable": helpers.separable,
}


def curvature(known):
    """L and the smallest non-zero eigenvalue of the Hessian at a* (the underdetermined problem's are singular)."""
    eigenvalues = np.asarray(known.problem.spectrum.eigenvalues, float)
    return eigenvalues.max(), eigenvalues[eigenvalues > 1e-6 * eigenvalues.max()].min()


def gradient_descent(L, mu):
    return optax.sgd, {"learning_rate": float(spectrum.best_learning_rate(L, mu))}, 3000


def heavy_ball(L, mu):
    learning_rate, beta, _ = spectrum.heavy_ball_optimal(L, mu)
    return optax.sgd, {"learning_rate": float(learning_rate), "momentum": float(beta)}, 600


def nesterov(L, mu):
    root_kappa = np.sqrt(L / mu)
    return (functools.partial(optax.sgd, nesterov=True),
            {"learning_rate": 1 / L, "momentum": float((root_kappa - 1) / (root_kappa + 1))}, 600)


def adam(L, mu):  # decaying to 1 % of 0.02 at the end: Adam's steps are ~ learning_rate per coordinate
    return runs.Scheduled(optax.adam, 3000), {"learning_rate": 0.02, "schedule": 1}, 3000


ADAM_FINAL_LEARNING_RATE = 0.02 * 0.01


def lbfgs(L, mu):
    return optax.lbfgs, {"learning_rate": 1.0}, 60


OPTIMIZERS = {"gd": gradient_descent, "heavy_ball": heavy_ball, "nesterov": nesterov, "adam": adam, "lbfgs": lbfgs}


@functools.cache
def known(name, dtype):
    return PROBLEMS[name](dtype=dtype)


@pytest.mark.parametrize("dtype", helpers.DTYPES)
@pytest.mark.parametrize("problem_name", PROBLEMS)
@pytest.mark.parametrize("optimizer_name", OPTIMIZERS)
def test_reaches_the_known_minimiser_and_new_hyper_parameters_do_not_recompile(optimizer_name, problem_name, dtype):
    case = known(problem_name, dtype)
    L, mu = curvature(known(problem_name, "float64"))
    optimizer, hyper, num_steps = OPTIMIZERS[optimizer_name](L, mu)
    # a tolerance float32's rounding resolves on every problem (iterations are not what this test reads)
    outcome, trace = runs.optimize(case.problem, num_steps, optimizer=optimizer, tolerance=1e-3, **hyper)
    error = np.linalg.norm(np.asarray(trace.params, float) - case.minimiser)
    allowed = helpers.tolerance(dtype, L / mu, 1 + np.linalg.norm(case.minimiser))
    assert not outcome.diverged and trace.params.dtype == dtype
    if optimizer_name == "adam":  # sign-like steps: it stops within ~ its final learning rate per coordinate
        allowed = max(allowed, 5 * ADAM_FINAL_LEARNING_RATE * np.sqrt(case.minimiser.size))
        if problem_name == "underdetermined":  # per-coordinate scaling leaves the row space: another minimiser
            assert float(trace.gap[-1]) <= 1e-6 and error > 1e-2
            allowed = np.inf
    assert error <= allowed, f"||a_T - a*|| = {error:.2e} > {allowed:.2e}"

    changed = {key: value * 0.9 if key in ("learning_rate", "momentum") else value for key, value in hyper.items()}
    with helpers.lowerings() as lowered:
        _, again = runs.optimize(case.problem, num_steps, optimizer=optimizer, tolerance=1e-3, **changed)
    assert not lowered
    assert not np.array_equal(np.asarray(again.gap), np.asarray(trace.gap))  # the new values were used
