"""The ridge and conditioning experiments (on data and in 2-D) run in quick mode, and their numbers say what their
figures show."""

import json

import jax
import jax.numpy as jnp
import matplotlib.image
import numpy as np
import pytest

from experiments import conditioning, conditioning_quadratics, ridge
from lab import spectrum

FIGURES = {
    "ridge": ("ridge_interpolants.png", "ridge_path.png", "ridge_descent.png"),
    "conditioning": ("conditioning_features.png",),
    "conditioning_quadratics": ("conditioning_quadratics.png",),
}
KEYS = {
    "ridge": {"N", "D", "P", "rank", "null_space_dimension", "min_norm", "interpolants", "ridge_path", "descent"},
    "conditioning": {"tolerance", "num_steps", "synthetic", "diabetes_columns", "features"},
    "conditioning_quadratics": {"tolerance", "course_learning_rate", "start", "isotropic", "anisotropic", "runs"},
}
# Gradient descent's gap shrinks at least by ((kappa - 1)/(kappa + 1))^2 per step, so the measured count is at
# most the predicted one; from a = 0 on these problems it is never less than half of it.
ITERATION_FACTOR = 2.0


@pytest.fixture(scope="module")
def ridge_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("ridge")
    return out, ridge.reproduce(out, quick=True)


@pytest.fixture(scope="module")
def conditioning_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("conditioning")
    return out, conditioning.reproduce(out, quick=True)


@pytest.fixture(scope="module")
def conditioning_quadratics_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("conditioning_quadratics")
    return out, conditioning_quadratics.reproduce(out, quick=True)


@pytest.mark.parametrize("name", ["ridge", "conditioning", "conditioning_quadratics"])
def test_writes_valid_figures_and_its_numbers(name, request):
    out, summary = request.getfixturevalue(f"{name}_out")
    for figure in FIGURES[name]:
        path = out / figure
        assert path.stat().st_size > 10_000, figure
        image = matplotlib.image.imread(path)
        assert image.ndim == 3 and image.shape[0] > 300 and image.shape[1] > 600, (figure, image.shape)
        assert np.ptp(image[..., :3]) > 0.5, f"{figure} is blank"
    assert json.loads((out / f"{name}.json").read_text()) == summary
    assert KEYS[name] <= set(summary)
    assert sorted(p.name for p in out.iterdir()) == sorted(FIGURES[name] + (f"{name}.json",))


# --- ridge -------------------------------------------------------------------------------------------------


def test_ridge_has_many_exact_interpolants_and_min_norm_is_shortest(ridge_out):
    _, s = ridge_out
    assert s["P"] == ridge.D + 1 and s["rank"] == ridge.N and s["null_space_dimension"] == ridge.D + 1 - ridge.N
    plus, many = s["min_norm"], s["interpolants"]
    # Zero training error up to rounding, against a typical error of 1e1 for a = 0.
    assert plus["training_mse"] <= 1e-24 and many["max_training_mse"] <= 1e-24 < plus["mse_of_zero"] * 1e-20
    assert many["count"] >= 50
    assert many["min_norm_over_all"] >= plus["norm"] * (1 - 1e-12)
    # a+ lies in the row space: ||a+ + z||^2 = ||a+||^2 + ||z||^2 for every null-space z.
    assert many["max_pythagoras_error"] <= 1e-10
    expected = np.sqrt(plus["norm"] ** 2 + np.asarray(many["null_component_norms"]) ** 2)
    np.testing.assert_allclose(many["norms"], expected, rtol=1e-12)


def test_ridge_path_tends_to_min_norm_linearly_in_l2(ridge_out):
    _, s = ridge_out
    path = s["ridge_path"]
    l2, distance = np.asarray(path["l2"]), np.asarray(path["distance_to_min_norm"])
    assert l2[0] == pytest.approx(ridge.L2_RANGE[0]) and l2[-1] == pytest.approx(ridge.L2_RANGE[1])
    assert np.all(np.diff(distance) > 0), "the distance must shrink at every smaller l2"
    assert distance[0] < 1e-6
    assert distance[-1] > 0.5 * s["min_norm"]["norm"]  # large l2: a(l2) near 0, far from a+
    assert path["fitted_slope_small_l2"] == pytest.approx(1.0, abs=3e-5)
    assert path["measured_constant_at_smallest_l2"] == pytest.approx(path["predicted_constant"], rel=1e-5)
    assert path["max_relative_deviation_from_prediction"] <= 1e-7  # rounding of a 1e-8 distance: a few ulps of a+
    norms = np.asarray(path["norm"])
    assert np.all(np.diff(norms) < 0) and norms[0] == pytest.approx(s["min_norm"]["norm"], rel=1e-6)


def test_ridge_gradient_descent_implicit_bias(ridge_out):
    _, s = ridge_out
    gd = s["descent"]
    assert gd["learning_rate"] == pytest.approx(2 / (gd["L"] + gd["mu_plus"]), rel=1e-12)
    assert not gd["diverged"]
    assert gd["from_zero_final_distance_to_min_norm"] <= 1e-8
    # From a random start: off by exactly its null-space component, which is large.
    assert gd["from_random_null_component_norm"] > 1.0
    assert abs(gd["from_random_final_distance_to_min_norm"] - gd["from_random_null_component_norm"]) <= 1e-8
    assert gd["from_random_final_distance_to_its_limit"] <= 1e-8
    assert gd["max_relative_deviation_from_prediction"] <= 1e-4


def test_ridge_claims_hold_on_every_data_set(ridge_out):
    draws = ridge_out[1]["draws"]
    assert draws["count"] == ridge.SIZES["draws"][1]
    assert draws["max_interpolant_training_mse"] <= 1e-20
    assert draws["path_max_relative_deviation_from_prediction"] <= 1e-7  # README: 1.2e-8 over 20 draws (rounding)
    assert all(abs(slope - 1) <= 3e-5 for slope in draws["path_slopes_small_l2"])  # README: 1.1e-5
    assert draws["from_zero_max_final_distance_to_min_norm"] <= 1e-8
    assert draws["from_random_max_final_distance_to_its_limit"] <= 1e-8
    assert draws["descent_max_relative_deviation_from_prediction"] <= 1e-4


# --- conditioning --------------------------------------------------------------------------------------------


def test_standardising_removes_the_ill_conditioning_on_every_synthetic_draw(conditioning_out):
    draws = conditioning_out[1]["synthetic_draws"]
    extreme, mild = draws["synthetic, extreme"], draws["synthetic, mild"]
    assert extreme["count"] == mild["count"] == conditioning.SIZES["draws"][1]
    assert extreme["raw"]["low"] > 1e9 and mild["raw"]["low"] > 1e3
    # The same features once centred and scaled: equal condition numbers, near 1, on every draw.
    assert extreme["standardized"] == pytest.approx(mild["standardized"], rel=1e-9)
    assert 1 <= extreme["standardized"]["low"] and extreme["standardized"]["high"] < 2


def test_a_condition_number_float32_cannot_resolve_is_null_not_infinity_or_a_rounding_value():
    """The extreme set's raw kappa (1e10 in float64) is beyond float32's 8.4e4: its mu came out <= 0 (kappa = inf,
    drawn as such) or anything; NaN now, a null in the JSON, "beyond float32" in the figure, and a warning."""
    assert spectrum.largest_resolved_kappa(jnp.float32) == pytest.approx(1 / (100 * 2.0**-23))
    assert spectrum.largest_resolved_kappa(jnp.float64) == pytest.approx(1 / (100 * 2.0**-52))
    draws = conditioning.condition_numbers_over_draws(np.arange(3), jnp.float32)["synthetic, extreme"]
    assert np.all(np.isnan(draws["raw"]))
    assert all(1 <= kappa < 1.2 for kappa in draws["standardized"])


def test_quadratics_measured_iterations_equal_theory(conditioning_quadratics_out):
    _, s = conditioning_quadratics_out
    runs = s["runs"]
    iso_course, iso_best, aniso_course, aniso_best = runs
    for run in runs:
        assert run["measured_iterations"] == run["predicted_iterations"]
        assert run["max_abs_deviation_from_prediction"] <= 1e-12
    # the course's step (its slides), on both quadratics
    assert iso_course["learning_rate"] == aniso_course["learning_rate"] == 0.1
    assert iso_course["contraction"] == pytest.approx(0.9) and aniso_course["contraction"] == pytest.approx(0.9)
    assert iso_best["learning_rate"] == pytest.approx(1.0) and iso_best["measured_iterations"] == 1
    assert aniso_best["learning_rate"] == pytest.approx(2 / 11) and aniso_best["contraction"] == pytest.approx(9 / 11)
    assert (aniso_best["stability_threshold"] == pytest.approx(0.2)
            and iso_best["stability_threshold"] == pytest.approx(2.0))
    assert aniso_best["measured_iterations"] > 20 * iso_best["measured_iterations"]


@pytest.mark.parametrize("name", ["synthetic, mild", "synthetic, extreme", "diabetes"])
def test_standardizing_lowers_condition_number_and_iterations(conditioning_out, name):
    _, s = conditioning_out
    f = s["features"][name]
    raw, std = f["raw"], f["standardized"]
    assert f["condition_number_ratio"] >= 100
    assert raw["condition_number"] >= 100 * std["condition_number"]
    # The same model: the intercept absorbs the centring and the coefficients the scaling.
    assert f["f_star_relative_difference"] <= 1e-10
    assert std["measured_iterations"] is not None and not raw["diverged"] and not std["diverged"]
    before = raw["measured_iterations"] if raw["measured_iterations"] is not None else s["num_steps"] + 1
    assert std["measured_iterations"] < before
    for entry in (raw, std):
        measured, predicted = entry["measured_iterations"], entry["predicted_iterations"]
        if measured is None:  # not reached: the prediction says it needs more than was run
            assert predicted > s["num_steps"] and entry["relative_gap_at_end"] > s["tolerance"]
        else:
            assert predicted / ITERATION_FACTOR <= measured <= predicted
            assert abs(measured - entry["exact_theory_iterations"]) <= 1


def test_synthetic_condition_numbers(conditioning_out):
    _, s = conditioning_out
    mild, extreme = s["features"]["synthetic, mild"], s["features"]["synthetic, extreme"]
    assert mild["standardized"]["condition_number"] < 1.5 and extreme["standardized"]["condition_number"] < 1.5
    assert mild["raw"]["condition_number"] > 1e3 and extreme["raw"]["condition_number"] > 1e9
    assert mild["raw"]["measured_iterations"] is not None  # the mild case is run to tolerance before and after
    assert mild["standardized"]["measured_iterations"] <= 3


def test_diabetes_data_is_the_documented_one(conditioning_out):
    _, s = conditioning_out
    assert s["features"]["diabetes"]["shape"] == [442, 10]
    assert s["diabetes_columns"] == ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]


def test_ridge_in_float32_measures_its_path_and_descent_above_float32s_rounding():
    """Every path point was trusted and descent's above 1e-10 (float64's floor): float32 distances floor near
    eps ||a+||, and the path's fitted slope read 0.79 (0.99999 in float64; a probe's finding)."""
    summary = ridge.numbers(jax.device_get(ridge.compute(0, True, jnp.float32)))
    assert summary["ridge_path"]["fitted_slope_small_l2"] == pytest.approx(1.0, abs=0.01)
    assert summary["ridge_path"]["max_relative_deviation_from_prediction"] < 0.01
    assert summary["descent"]["max_relative_deviation_from_prediction"] < 0.05


def test_a_tolerance_below_the_rounding_of_f_has_no_measured_count():
    """Standardised diabetes in float32: the tolerance 1e-8 (f(a_0) - f*) = 2.6e-4 lies below f's rounding near
    f* = 2860 (10 eps f* = 3.4e-3), and the measured count (1,722, 1,725 or 1,856 by build) was rounding's."""
    from lab import datasets

    X, y, names = datasets.diabetes(dtype=jnp.float32)
    features = {"diabetes": jax.device_get(conditioning.compute_features(X, y, 50))}
    summary = conditioning.numbers(dict(features=features, shapes={"diabetes": X.shape}, diabetes_columns=names,
                                        draws={}))
    standardized = summary["features"]["diabetes"]["standardized"]
    assert standardized["tolerance_resolved"] is False and standardized["measured_iterations"] is None
    assert standardized["condition_number"] == pytest.approx(470, rel=1e-3)  # resolved: only the tolerance is not
