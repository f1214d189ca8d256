"""Adam with a frozen preconditioner: heavy ball on P^-1 H, its edge (2 + 2 b1) / ((1 - b1) lambda_max(P^-1 H))."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lab import adam, descent, runs, spectrum, stability

from . import helpers

PRECONDITIONER = jnp.array([0.5, 1.0, 2.0, 4.0, 8.0])


def frozen_run(debias, num_steps=3000):
    known = helpers.chosen_spectrum()
    optimizer = functools.partial(adam.frozen_adam, preconditioner=PRECONDITIONER, debias=debias)
    run = runs.CriterionRun(helpers.quadratic, known.problem.data, num_steps, resample=False, size=5,
                            optimizer=optimizer)
    sharpness = float(adam.preconditioned_sharpness(known.problem.data.hessian, PRECONDITIONER))
    return run, sharpness


def test_the_update_is_heavy_ball_on_the_preconditioned_gradient():
    """a_{t+1} - a_t = b1 (a_t - a_{t-1}) - lr (1 - b1) g_t / P, step by step."""
    known = helpers.chosen_spectrum()
    problem, lr, b1 = known.problem, 0.01, 0.9
    optimizer = functools.partial(adam.frozen_adam, preconditioner=PRECONDITIONER)
    trace = descent.run(problem.criterion, problem.data, problem.start, problem.reference, 20, optimizer,
                        record_path=True, learning_rate=lr, b1=b1)
    path = np.asarray(trace.path)
    H, a_star = np.asarray(problem.data.hessian), np.asarray(problem.data.minimiser)
    for t in range(1, 20):
        gradient = H @ (path[t] - a_star)
        expected = path[t] + b1 * (path[t] - path[t - 1]) - lr * (1 - b1) * gradient / np.asarray(PRECONDITIONER)
        np.testing.assert_allclose(path[t + 1], expected, rtol=1e-12, atol=1e-14)


BETAS = np.array([0.0, 0.5, 0.9])


@pytest.fixture(scope="module")
def measured_edges():
    """The measured edges with and without bias correction at BETAS, and lambda_max(P^-1 H)."""
    edges = {}
    for debias in (False, True):
        run, sharpness = frozen_run(debias)
        edges[debias] = stability.edge_and_best(run, {"b1": BETAS}, edge_bracket=(0.05, 64.0), rtol=2e-4,
                                                find_best=False)["edge_learning_rate"]
    return edges, sharpness


def test_the_frozen_preconditioner_edge_is_measured_on_its_formula_within_0_1_percent(measured_edges):
    edges, sharpness = measured_edges
    np.testing.assert_allclose(edges[False].ravel(), adam.threshold(sharpness, BETAS), rtol=1e-3)
    assert adam.threshold(sharpness, 0.9) * sharpness == pytest.approx(38.0)


def test_bias_correction_lowers_the_edge_that_a_growth_rule_sees(measured_edges):
    """The first steps divided by 1 - b1^t are larger: near the edge a transient grows past the divergence rule;
    without momentum there is nothing to correct."""
    edges, _ = measured_edges
    frozen, corrected = edges[False].ravel(), edges[True].ravel()
    assert corrected[0] == pytest.approx(frozen[0], rel=1e-3) and corrected[2] < 0.95 * frozen[2]


def test_bias_correction_is_adams_first_moment_written_out():
    """Adam's update with nu frozen (P = sqrt(nu) + eps): m_hat = m / (1 - b1^t), a <- a - lr m_hat / P."""
    known = helpers.chosen_spectrum()
    problem = known.problem
    frozen = functools.partial(adam.frozen_adam, preconditioner=PRECONDITIONER, debias=True)
    ours = descent.run(problem.criterion, problem.data, problem.start, problem.reference, 30, frozen,
                       record_path=True, learning_rate=0.01, b1=0.9)
    H, a_star, P = (np.asarray(x) for x in (problem.data.hessian, problem.data.minimiser, PRECONDITIONER))
    a, m = np.asarray(problem.start, float), np.zeros(5)
    for t in range(1, 31):
        m = 0.9 * m + 0.1 * (H @ (a - a_star))
        a = a - 0.01 * m / (1 - 0.9**t) / P
        np.testing.assert_allclose(ours.path[t], a, rtol=1e-12, atol=1e-14)


def test_the_preconditioned_sharpness_by_power_steps_is_the_dense_one_with_adams_own_preconditioner():
    """adam.preconditioner reads optax.adam's nu_hat; power steps on P^-1/2 H P^-1/2 give lambda_max(P^-1 H)."""
    known = helpers.chosen_spectrum()
    problem = known.problem
    trace = descent.run(problem.criterion, problem.data, problem.start, problem.reference, 7, optax.adam,
                        learning_rate=0.01, b2=0.99, eps=1e-3, return_state=True)
    # Adam's second moment written out along the same path: nu_t = b2 nu + (1 - b2) g^2, nu_hat = nu / (1 - b2^t)
    again = descent.run(problem.criterion, problem.data, problem.start, problem.reference, 7, optax.adam,
                        learning_rate=0.01, b2=0.99, eps=1e-3, record_path=True)
    H, a_star = np.asarray(problem.data.hessian), np.asarray(problem.data.minimiser)
    nu = np.zeros(5)
    for t in range(7):
        nu = 0.99 * nu + 0.01 * (H @ (np.asarray(again.path[t]) - a_star)) ** 2
    expected = np.sqrt(nu / (1 - 0.99**7)) + 1e-3
    P = adam.preconditioner(trace.opt_state, 0.99, 1e-3)
    np.testing.assert_allclose(P, expected, rtol=1e-12)
    value, _ = spectrum.power_iteration(problem.criterion, trace.params, problem.data, jnp.ones(5), 500,
                                        scale=1 / jnp.sqrt(P))
    assert float(value) == pytest.approx(float(adam.preconditioned_sharpness(problem.data.hessian, P)), rel=1e-9)
    fresh = optax.adam(0.01, eps=1e-3).init(problem.start)
    np.testing.assert_allclose(adam.preconditioner(fresh, 0.999, 1e-3), 1e-3)  # before any step: P = eps


def test_the_preconditioner_reads_eps_root_and_the_sharpness_refuses_what_it_would_misread():
    """optax's P is sqrt(nu_hat + eps_root) + eps: with eps_root = 1, P was 0.101 where optax divides by 1.006."""
    params = jnp.zeros(3)
    optimizer = optax.adam(0.01, eps=1e-3, eps_root=1.0)
    with jax.numpy_dtype_promotion("standard"):  # optax's bias correction mixes its int32 count with floats
        updates, state = optimizer.update(0.1 * jnp.ones(3), optimizer.init(params), params)
    P = adam.preconditioner(state, 0.999, 1e-3, eps_root=1.0)
    np.testing.assert_allclose(updates, -0.01 * 0.1 / P, rtol=1e-12)  # optax's own step, m_hat = g after one step
    with pytest.raises(ValueError, match="eps_root must be >= 0"):
        adam.preconditioner(state, 0.999, 1e-3, eps_root=-1.0)
    traced = jax.jit(adam.preconditioned_sharpness)(jnp.array([[jnp.nan, 0.0], [0.0, 1.0]]), 1.0)
    assert np.isnan(traced)  # 1.0 before: eigvalsh read past the NaN
    with pytest.raises(ValueError, match=r"preconditioner has shape \(3,\), the Hessian \(4, 4\)"):
        adam.preconditioned_sharpness(jnp.eye(4), jnp.ones(3))
    with pytest.raises(ValueError, match="hessian must hold floats"):
        adam.preconditioned_sharpness(np.eye(3, dtype=int), 1.0)
    np.testing.assert_allclose(adam.threshold(1.0, [0.0, 0.9]), [2.0, 38.0], rtol=1e-12)  # lists: a TypeError
    np.testing.assert_allclose(adam.sharpness_threshold([0.1, 0.01], 0.9), [380.0, 3800.0], rtol=1e-12)
