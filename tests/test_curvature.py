"""Logistic runs in a sweep, and the sharpness along their paths (the curvature experiment, quick mode)."""

import json

import jax
import numpy as np
import pytest

from experiments import curvature
from lab import problems, runs, stability


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("curvature")
    return out, curvature.reproduce(out, quick=True)


def test_writes_its_figure_and_numbers(quick):
    out, numbers = quick
    assert json.loads((out / "curvature.json").read_text()) == numbers
    assert (out / "curvature.png").stat().st_size > 10_000


def test_sharpness_falls_from_its_start_value_to_the_optimums(quick):
    _, n = quick
    assert n["L_optimum"] < n["L_start"]
    np.testing.assert_allclose(n["sharpness_start"], n["L_start"], rtol=1e-6)
    for converged, end in zip(n["converged"], n["sharpness_end"]):
        if converged:
            np.testing.assert_allclose(end, n["L_optimum"], rtol=1e-6)


def test_stability_is_decided_by_the_curvature_where_the_path_ends(quick):
    _, n = quick
    for c, learning_rate, converged in zip(n["learning_rates_over_edge_at_start"], n["learning_rates"], n["converged"]):
        assert converged == (learning_rate < 2 / n["L_optimum"]), c
    # 1.1 * 2/L_start is above the edge at a = 0 yet converges: unstable at the start, stable later.
    assert n["unstable_at_start_stable_later"] == [False, True, False, False]
    # The same on every data set, for every run further than 1 % from its local edge (the figure's claim).
    sets = n["data_sets"]
    assert (sets["count"] == curvature.SIZES["seeds"][1]
            and sets["others_converged_iff_learning_rate_below_two_over_L_optimum"])
    assert sets["L_start_over_L_optimum"]["low"] > 1 and sets["converged_fraction"][:2] == [1.0, 1.0]
    near = sets["near_edge"]["learning_rate_over_local_edge"]
    assert len(near) == len(sets["near_edge"]["converged"]) == sets["runs_within_1_percent_of_the_local_edge"]
    assert all(abs(c - 1) < 0.01 for c in near)


def test_a_learning_rate_past_the_local_edge_oscillates_without_growing_and_is_not_stable():
    run = runs.LogisticRun(60, 3, 400)
    edge = 2 / float(run(learning_rate=1.0, l2=1e-3, kappa=10.0)["L"])  # 2/L of the Hessian at the optimum
    below, past = run(learning_rate=0.9 * edge, l2=1e-3, kappa=10.0), run(learning_rate=1.05 * edge, l2=1e-3,
                                                                          kappa=10.0)
    gap = np.asarray(past["gap"])
    np.testing.assert_allclose(gap[-4:-2], gap[-2:], rtol=1e-9)  # a period-two oscillation that stays
    assert not past["diverged"] and past["final_gap"] < past["initial_gap"] and gap[-1] != gap[-2]
    assert stability.bounded(past) and not stability.converging(past)  # the quadratic rule is fooled
    assert stability.converging(below) and below["iterations"] >= 0


def test_kappa_scales_the_features_and_one_leaves_them_alone():
    key = jax.random.key(5)
    X, y = problems.classification(key, 20_000, 3, 1.0, kappa=100.0)
    within = np.asarray(X)[np.asarray(y) == 0]
    np.testing.assert_allclose(np.var(within, axis=0), [1.0, 0.1, 0.01], rtol=0.05)
    X1, y1 = problems.classification(key, 50, 3, 1.0, kappa=1.0)
    X0, y0 = problems.classification(key, 50, 3, 1.0)
    assert np.array_equal(X1, X0) and np.array_equal(y1, y0)
    with pytest.raises(ValueError, match="kappa"):
        problems.classification(key, 50, 3, 1.0, kappa=0.5)
