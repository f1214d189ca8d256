"""Logistic regression: the Newton reference against scikit-learn on real data, gradient descent reaching it."""

import json

import numpy as np
import pytest

from experiments import logistic, logistic_edges


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("logistic")
    return out, logistic.reproduce(out, quick=True)


def test_writes_its_figure_and_numbers(quick):
    out, numbers = quick
    assert json.loads((out / "logistic.json").read_text()) == numbers
    assert (out / "logistic.png").stat().st_size > 10_000


def test_least_squares_is_inadequate_for_binary_labels(quick):
    _, n = quick
    one = n["one_feature"]
    assert one["least_squares"]["errors"] > one["logistic"]["errors"]
    assert one["least_squares"]["log_likelihood"] < one["logistic"]["log_likelihood"]


def test_real_data_reference_matches_sklearn_and_gradient_descent_reaches_it(quick):
    _, n = quick
    real = n["breast_cancer"]
    assert real["n"] == 569 and real["d"] == 30
    assert real["newton_gradient_norm"] <= 1e-10
    assert real["sklearn"]["relative_difference"] <= 2e-11  # README: 4e-12 (rounding: a few ulps of margin)
    # Gradient descent at 2/(L(0) + mu*) from zero: gradient norm 1e-8 within 10,000 steps.
    assert real["num_steps"] == 10_000 and real["gd_gradient_norm"] <= 1e-8


def test_two_features_gradient_descent_converges_and_the_criterion_is_convex(quick):
    _, n = quick
    two = n["two_features"]
    assert not any(two["diverged"]) and all(i > 0 for i in two["iterations"])
    assert two["iterations"][0] > two["iterations"][-1]  # larger steps, fewer iterations
    assert min(two["directional_curvature"]) > 0
    np.testing.assert_array_less(two["final_gap"], 1e-12)


def test_newton_reaches_rounding_in_a_handful_of_iterations(quick):
    _, n = quick
    assert n["newton_iterations_to_rounding"] == {"two_features": 5, "breast_cancer": 9}
    for name, gap in n["newton_gap"].items():
        gap = np.array(gap)
        assert gap[0] > 0.1 and np.all(np.abs(gap[10:]) <= 1e-15), name


@pytest.fixture(scope="module")
def edges_quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("logistic_edges")
    return out, logistic_edges.reproduce(out, quick=True)


def test_the_edge_is_two_over_L_at_the_optimum_from_a_zero_start_too(edges_quick):
    out, edges = edges_quick
    assert json.loads((out / "logistic_edges.json").read_text()) == edges
    assert (out / "logistic_edges.png").stat().st_size > 10_000
    assert edges["separation"] == [1.0, 2.0] and all(edges["bracketed"])
    local = np.array(edges["two_over_L_optimum"])
    np.testing.assert_allclose(edges["at_optimum"], local, rtol=1e-3)
    np.testing.assert_allclose(edges["from_zero"], local, rtol=5e-3)  # the run from 0 ends at a*: its edge is a*'s
    assert edges["two_over_L_start"][1] < 0.4 * local[1]  # 2/L at a = 0 is only a bound, far below
