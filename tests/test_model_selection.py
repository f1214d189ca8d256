"""Cross-validation: the vectorised k-fold equals scikit-learn and a plain loop over folds."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lab import model_selection, problems, reference


@pytest.fixture(scope="module")
def data():
    X, y = problems.random_regression(jax.random.key(0), 60, 12, noise=1.0)
    return X, y


L2_GRID = np.geomspace(1e-6, 10, 15)


def test_folds_are_sklearns_kfold():
    from sklearn.model_selection import KFold  # here, not at collection: scikit-learn takes 1.5 s to import

    for n, k in ((60, 5), (23, 4)):
        masks = model_selection.fold_masks(n, k)
        for mask, (train, _) in zip(masks, KFold(k).split(np.zeros(n))):
            np.testing.assert_array_equal(np.flatnonzero(mask), train)


def test_ridge_cv_equals_gridsearchcv(data):
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import GridSearchCV, KFold

    X, y = data
    cv = model_selection.ridge_cv(X, y, L2_GRID, k=5)
    n_train = 48  # 60 samples, 5 folds: every fold trains on 48
    search = GridSearchCV(Ridge(fit_intercept=False, solver="svd"), {"alpha": n_train * L2_GRID}, cv=KFold(5),
                          scoring="neg_mean_squared_error").fit(np.asarray(problems.design(X)), np.asarray(y))
    np.testing.assert_allclose(cv.mean_validation, -search.cv_results_["mean_test_score"], rtol=1e-6)
    assert float(cv.best_l2) == pytest.approx(search.best_params_["alpha"] / n_train, rel=1e-12)
    assert 0 < int(cv.best) < len(L2_GRID) - 1  # an interior optimum: the comparison means something


def test_ridge_cv_equals_a_loop_over_folds_and_penalties(data):
    X, y = data
    cv = model_selection.ridge_cv(X, y, L2_GRID[::5], k=4)
    A = problems.design(X)
    for j, mask in enumerate(model_selection.fold_masks(len(y), 4)):
        for e, l2 in enumerate(L2_GRID[::5]):
            a = reference.ridge(X[mask], y[mask], l2)
            np.testing.assert_allclose(cv.validation_mse[e, j], np.mean((y[~mask] - A[~mask] @ a) ** 2), rtol=1e-10)
            np.testing.assert_allclose(cv.train_mse[e, j], np.mean((y[mask] - A[mask] @ a) ** 2), rtol=1e-10)


@pytest.mark.parametrize(
    "kwargs, match",
    [(dict(l2=[-1.0, 1.0]), "l2 must hold penalties >= 0"), (dict(l2=[np.nan]), "l2 contains"),
     (dict(l2=[1.0], k=100), "k must be at most"), (dict(l2=[1.0], k=1), "k must be an integer >= 2")],
)
def test_bad_cross_validation_input(data, kwargs, match):
    with pytest.raises(ValueError, match=match):
        model_selection.ridge_cv(*data, **kwargs)


def test_model_selection_experiment(tmp_path):
    from experiments import model_selection as experiment

    numbers = experiment.reproduce(tmp_path, quick=True)
    timings = numbers.pop("timings")  # apart, so that a re-run leaves the results file as it was
    assert json.loads((tmp_path / "model_selection.json").read_text()) == numbers and "seconds" not in str(numbers)
    assert json.loads((tmp_path / "model_selection_timings.json").read_text()) == timings
    assert set(timings) == {"lab_seconds", "sklearn_seconds"}
    assert (tmp_path / "model_selection.png").stat().st_size > 10_000
    test_mse = numbers["test_mse"]
    assert numbers["train_mse"] == sorted(numbers["train_mse"], reverse=True)  # more degrees never fit worse
    assert test_mse[-1] > 10 * min(test_mse) and test_mse[0] > 2 * min(test_mse)  # over- and under-fitting
    low, high = np.array(numbers["test_mse_10_90"])  # medians of 5 draws, inside their 10-90 % band
    assert numbers["draws"] == 5 and np.all(low <= test_mse) and np.all(test_mse <= high) and np.any(low < high)
    assert numbers["sklearn"]["best_l2"] == pytest.approx(numbers["best_l2"], rel=1e-12)
    assert numbers["max_relative_difference_to_sklearn"] <= 1.5e-11  # the README: 6.4e-12
    assert numbers["rank_deficient_draws"] == {}  # float64: every degree's design has full rank


def test_a_rank_deficient_degree_is_said_not_fitted_in_silence():
    """float32 at degree 15: the design's numerical rank is 14 or 15 of 16, and the fit under jit (no eager warning)
    dropped directions: a test error of 28 where float64's is 381 (a probe's finding)."""
    from experiments import model_selection as experiment

    draws = [experiment.draws(0, 2, n, jnp.float32) for n in (experiment.N_TRAIN, experiment.N_TEST)]
    _, _, deficient = experiment.degree_curve(*draws, (4, 15))
    assert deficient == {15: 2}


def test_without_scikit_learn_the_comparison_is_skipped_loudly(monkeypatch):
    # Issue 15: `pip install -e .` had no scikit-learn, and the comparisons vanished in silence.
    import sys

    from experiments import model_selection as experiment

    for name in ("sklearn", "sklearn.linear_model", "sklearn.model_selection"):
        monkeypatch.setitem(sys.modules, name, None)  # importing them raises ImportError
    with pytest.warns(UserWarning, match=r"scikit-learn is not installed: the comparison with GridSearchCV is skipped.*"
                                         r"pip install -e '\.\[compare\]'"):
        assert experiment.sklearn_cv(np.ones((10, 2)), np.ones(10), np.array([1e-3])) == (None, None)


@pytest.mark.parametrize("n, d, k", [(8, 5, 2), (6, 10, 3)])
def test_an_unpenalised_fold_with_fewer_rows_than_columns_is_the_min_norm_fit(n, d, k):
    """Held-out rows are zeroed, so their singular values are rounding: at l2 = 0 (and 1e-30) s / s^2 blew up, a
    validation error of 7.2 where the fold's pinv fit gives 6.4 (and 8e27 with N < D)."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(n, d)), rng.normal(size=n)
    found = model_selection.ridge_cv(X, y, [0.0, 1e-30], k=k, intercept=False).mean_validation
    errors = [np.mean((y[~m] - X[~m] @ (np.linalg.pinv(X[m]) @ y[m])) ** 2) for m in model_selection.fold_masks(n, k)]
    np.testing.assert_allclose(found, np.mean(errors), rtol=1e-10)


@pytest.mark.parametrize("dtype, units", [("float32", 1e6), ("float32", 1e-10), ("float64", 1e13)])
def test_features_in_any_units_are_cross_validated_as_the_folds_references_fit_them(dtype, units):
    """The rounding cut was relative to the raw design's largest singular value: beside features in units of 1e6
    (float32) it dropped the intercept at every penalty (a validation error of 1.77 for 0.39), in units of 1e-10 the
    features (12.96), and a penalty of 1e-30 there lost the intercept in the SVD's rounding (0.52 for 0.24): every
    fit now comes from the design with unit-norm columns, as `reference.ridge`'s does (compared in float64)."""
    rng = np.random.default_rng(1)
    X = (rng.normal(size=(30, 3)) * units).astype(dtype)
    y = (X @ (np.array([1.0, 2.0, 3.0]) / units) + 1 + 0.5 * rng.normal(size=30)).astype(dtype)
    l2 = np.array([0.0, 1e-30, 1e-4 / units**2, 1e-2 / units**2])  # none, next to none, in the features' units
    cv = model_selection.ridge_cv(X, y, l2.astype(dtype), k=5)
    X64, y64 = X.astype(np.float64), y.astype(np.float64)  # the references in float64
    A = np.asarray(problems.design(X64))
    for e, penalty in enumerate(l2):
        errors = [np.mean((y64[~m] - A[~m] @ np.asarray(reference.ridge(X64[m], y64[m], penalty))) ** 2)
                  for m in model_selection.fold_masks(30, 5)]
        np.testing.assert_allclose(cv.mean_validation[e], np.mean(errors), rtol=1e-4 if dtype == "float32" else 1e-9)
    assert float(cv.mean_validation[0]) < 0.5  # the noise's 0.25 and the folds' error, not 1.77 or 12.96


def test_a_penalty_the_dtype_cannot_hold_or_a_traced_negative_one_is_no_score(data):
    X, y = (np.asarray(v, np.float32) for v in data)
    with pytest.raises(ValueError, match=r"l2 holds 1e-50, which is outside float32's normal numbers"):
        model_selection.ridge_cv(X, y, [1e-50, 1.0])  # read back as l2 = 0
    scores = jax.jit(lambda l2: model_selection.ridge_cv(X, y, l2).mean_validation)(np.array([-0.1, 0.1], np.float32))
    assert np.isnan(scores[0]) and np.isfinite(scores[1])  # a plausible 0.058 before


@pytest.mark.parametrize("X_rows, l2, match, wrong", [
    (1, [0.1], r"^X has 1 row: k-fold cross-validation .* needs at least 2 of them", "n must be"),
    (6, [[0.1, 1.0]], r"^l2 must be a 1-D grid of penalties .* got shape \(1, 2\): flatten it \(np\.ravel\(l2\)\)",
     "y.ravel"),
    (6, [1e-320, 1.0], r"^l2 holds 9\.99989e-321, which is outside float64's normal numbers .* in float64 it is "
     r"subnormal .* no penalty\. Use 0 for none or a penalty of at least 2\.2e-308\.$", "Use float64")],
    ids=["one row", "l2 a row", "l2 subnormal in float64"])
def test_ridge_cv_names_its_own_arguments_and_the_fix_that_applies(X_rows, l2, match, wrong):
    """A probe's finding: one row of X was "n must be an integer >= 2" (fold_masks' argument), a 2-D l2 "flatten it
    (y.ravel())", and a subnormal l2 on float64 data "Use float64"."""
    X, y = np.random.default_rng(0).normal(size=(6, 2)), np.arange(6.0)
    with pytest.raises(ValueError, match=match) as raised:
        model_selection.ridge_cv(X[:X_rows], y[:X_rows], l2, k=3 if X_rows > 1 else 2)
    assert wrong not in str(raised.value)


def test_a_penalty_float32_cannot_hold_is_refused_with_float64_off_too():
    """With JAX's float64 switch off, l2 = [1e-50, 1.0] became [0.0, 1.0] as it was read, in silence (the check saw
    the 0): the penalties are checked as given."""
    X, y = np.random.default_rng(0).normal(size=(6, 2)), np.arange(6.0)
    with jax.enable_x64(False):
        for l2 in ([1e-50, 1.0], np.array([1e-50, 1.0])):
            with pytest.raises(ValueError, match=r"l2 holds 1e-50, .* float32 .* or give float64 data"):
                model_selection.ridge_cv(X, y, l2, k=3)
        assert np.asarray(model_selection.ridge_cv(X, y, [0.0, 1.0], k=3).l2).tolist() == [0.0, 1.0]
