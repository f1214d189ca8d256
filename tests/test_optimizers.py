"""Heavy-ball momentum and friends, measured against Polyak's theory (the optimizers experiment, quick mode)."""

import json

import numpy as np
import pytest

from experiments import optimizers, optimizers_schedules
from lab import runs, sweep


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("optimizers")
    return out, optimizers.reproduce(out, quick=True)


def test_writes_its_figures_and_numbers(quick):
    out, numbers = quick
    assert json.loads((out / "optimizers.json").read_text()) == numbers
    for name in ("momentum_map", "iterations"):
        assert (out / f"optimizers_{name}.png").stat().st_size > 10_000


def test_heavy_ball_edge_is_2_1_plus_beta_over_L(quick):
    _, numbers = quick
    assert len(numbers["edge_betas"]) >= 3 and max(numbers["edge_betas"]) >= 0.9
    # quick 0.0083 %, full 0.008 %
    np.testing.assert_allclose(numbers["measured_edge"], numbers["theory_edge"], rtol=1.5e-4)


def test_nesterov_edge_is_2_1_plus_beta_over_1_plus_2_beta_L(quick):
    _, numbers = quick
    betas = np.array(numbers["edge_betas"])
    # units of 2/L
    np.testing.assert_allclose(numbers["nesterov_theory_edge"], (1 + betas) / (1 + 2 * betas), rtol=1e-12)
    np.testing.assert_allclose(numbers["nesterov_measured_edge"], numbers["nesterov_theory_edge"], rtol=1e-4)  # 0.005 %


def test_heavy_ball_rate_at_the_optimum_is_polyaks(quick):
    _, numbers = quick
    np.testing.assert_allclose(numbers["optimum_measured_rate"], numbers["optimum_theory_rate"], rtol=1.2e-2)  # 0.81 %


def test_momentum_needs_fewer_iterations_than_gradient_descent(quick):
    _, numbers = quick
    gd, hb = (np.array(numbers["fewest_iterations"][k]) for k in ("gradient descent", "heavy ball"))
    assert (gd > 0).all() and (hb > 0).all()
    assert hb[-1] * 2 < gd[-1]  # at kappa = 100: sqrt(kappa) against kappa


@pytest.mark.parametrize("axis", ["momentum", "b1", "b2"])
def test_momentum_and_betas_outside_0_1_are_refused(axis):
    import optax

    run = runs.LinearRegressionRun(n=20, d=2, num_steps=10, optimizer=optax.sgd if axis == "momentum" else optax.adam)
    with pytest.raises(ValueError, match=f"{axis} must be in \\[0, 1\\)"):
        sweep.sweep(run, {"learning_rate_over_edge": [0.5], axis: [0.5, 1.0]}, progress=False)


def test_schedules_are_a_sweep_axis(tmp_path):
    numbers = optimizers_schedules.reproduce(tmp_path, quick=True)
    assert json.loads((tmp_path / "optimizers_schedules.json").read_text()) == numbers
    assert (tmp_path / "optimizers_schedules.png").stat().st_size > 10_000
    assert numbers["schedules"] == ["constant", "exponential", "cosine", "warmup_cosine"]
    constant, exponential, cosine, warmup = numbers["last_stable_learning_rate"]
    assert constant < 1.0 < warmup  # a warm-up survives an initial step above 2/L; a constant step cannot
    assert exponential > 1.0


def test_an_unknown_schedule_index_is_refused():
    import optax

    run = runs.LinearRegressionRun(n=20, d=2, num_steps=10, optimizer=runs.Scheduled(optax.sgd, 10))
    with pytest.raises(ValueError, match="axis 'schedule' must hold indices 0..3"):
        sweep.sweep(run, {"learning_rate_over_edge": [0.5], "schedule": [0, 4]}, progress=False)


def test_iterations_are_the_median_over_drawn_problems_and_momentum_methods_do_not_depend_on_the_draw(quick):
    _, numbers = quick
    by_seed = {name: np.array(v) for name, v in numbers["fewest_iterations_by_seed"].items()}
    assert all(v.shape == (len(numbers["kappas"]), numbers["seeds"])
               for v in by_seed.values()) and numbers["seeds"] >= 2
    for name in ("gradient descent", "heavy ball", "Nesterov"):  # a start on every eigenvector: rotation-invariant
        assert (by_seed[name] == by_seed[name][:, :1]).all(), name
    np.testing.assert_array_equal(numbers["fewest_iterations"]["Adam"], np.median(by_seed["Adam"], axis=1))
