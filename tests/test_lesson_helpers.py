"""What the lessons moved into the library and into `experiments`: each checked against a plain computation."""

from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import experiments
from lab import atoms, criteria, minibatch, model_selection, problems, reference, spectrum

PENALTIES = np.logspace(-8, 1, 19)


@pytest.fixture(scope="module")
def extensive():
    """Targets that are sums over parts (no intercept) of features in very different units."""
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (40, 3)) * np.array([1.0, 1e3, 1e-2])
    y = X @ np.array([2.0, 3e-3, 50.0]) + 0.01 * rng.normal(size=40)
    return X, y


def test_scaled_ridge_is_ridge_on_rms_scaled_columns_at_the_cross_validated_penalty(extensive):
    X, y = extensive
    predict, penalty = model_selection.scaled_ridge(X, y, PENALTIES, k=4)
    scale = np.sqrt(np.mean(X**2, axis=0))
    cv = model_selection.ridge_cv(X / scale, y, PENALTIES, k=4, intercept=False)
    assert penalty == float(cv.best_l2)
    weights = np.asarray(reference.ridge(X / scale, y, penalty, intercept=False))
    np.testing.assert_allclose(predict(X[:5]), X[:5] / scale @ weights, rtol=1e-12)
    assert np.all(predict(np.zeros((2, 3))) == 0)  # no intercept


def test_scaled_ridge_does_not_depend_on_a_columns_units(extensive):
    X, y = extensive
    units = np.array([1e4, 1.0, 1e-3])
    predict, penalty = model_selection.scaled_ridge(X, y, PENALTIES)
    in_other_units, same_penalty = model_selection.scaled_ridge(X * units, y, PENALTIES)
    assert same_penalty == penalty
    np.testing.assert_allclose(in_other_units(X * units), predict(X), rtol=1e-9)
    extreme = np.array([1e200, 1.0, 1e-170])  # squares overflow (refused before) and underflow (a column lost: 0.75)
    in_extreme_units, extreme_penalty = model_selection.scaled_ridge(X * extreme, y, PENALTIES)
    assert extreme_penalty == penalty
    np.testing.assert_allclose(in_extreme_units(X * extreme), predict(X), rtol=1e-9)


def test_scaled_ridge_keeps_a_zero_column():
    X = np.column_stack([np.arange(1.0, 11.0), np.zeros(10)])
    predict, _ = model_selection.scaled_ridge(X, 2 * X[:, 0], PENALTIES)
    assert np.all(np.isfinite(predict(X)))
    np.testing.assert_allclose(predict(X), 2 * X[:, 0], rtol=1e-3)


def test_bootstrap_errors_are_the_percentiles_of_the_refitted_test_errors(extensive):
    X, y = extensive
    found = model_selection.bootstrap_errors(X[:30], y[:30], X[30:], y[30:], PENALTIES, np.random.default_rng(5), 7)
    rng, errors = np.random.default_rng(5), []
    for _ in range(7):
        rows = np.sort(rng.integers(30, size=30))
        predict, _ = model_selection.scaled_ridge(X[rows], y[rows], PENALTIES)
        errors.append(np.mean(np.abs(predict(X[30:]) - y[30:])))
    assert found == {"median": float(np.median(errors)), "p10": float(np.percentile(errors, 10)),
                     "p90": float(np.percentile(errors, 90))}
    assert found["p10"] <= found["median"] <= found["p90"]


def test_mean_absolute_error():
    assert model_selection.mean_absolute_error(np.array([1.0, -2.0, 3.0]), np.array([0.0, 0.0, 0.0])) == 2.0


def test_atoms_table_stacks_a_field_of_every_defect():
    defects = [SimpleNamespace(entropy=1.5, descriptor=[1, 2]), SimpleNamespace(entropy=2, descriptor=[3, 4])]
    entropy = atoms.table(defects, "entropy")
    assert entropy.dtype == float and entropy.tolist() == [1.5, 2.0]
    np.testing.assert_array_equal(atoms.table(defects, "descriptor"), [[1.0, 2.0], [3.0, 4.0]])


@pytest.fixture(scope="module")
def wide():
    """Fewer samples than features: a design [1, X] of rank 8 with 15 columns."""
    return problems.random_regression(jax.random.key(3), 8, 14)


def test_null_part_changes_no_prediction_and_is_orthogonal_to_the_row_space(wide):
    X, y = wide
    A = criteria.design(X)
    v = jax.random.normal(jax.random.key(1), (15,))
    z = reference.null_part(X, v)
    np.testing.assert_allclose(A @ z, 0, atol=1e-12)
    assert abs(float(jnp.dot(z, v - z))) < 1e-12  # v - z = pinv(A) A v lies in the row space
    assert float(jnp.linalg.norm(z)) > 0.5 * float(jnp.linalg.norm(v))  # 7 of 15 dimensions: a large part
    np.testing.assert_allclose(reference.null_part(X, z), z, atol=1e-12)  # a projection
    without = reference.null_part(X, v[1:], intercept=False)
    np.testing.assert_allclose(X @ without, 0, atol=1e-12)


def test_null_directions_are_unit_vectors_of_the_null_space(wide):
    X, y = wide
    directions = reference.null_directions(jax.random.key(2), X, 6)
    assert directions.shape == (6, 15)
    np.testing.assert_allclose(jnp.linalg.norm(directions, axis=1), 1, rtol=1e-12)
    np.testing.assert_allclose(criteria.design(X) @ directions.T, 0, atol=1e-12)
    a_plus = reference.min_norm(X, y)
    data = problems.make_data(X, y)
    for z in 3.0 * directions:  # each is another exact fit, further from 0 than a+
        assert float(criteria.least_squares(a_plus + z, data)) < 1e-20
        np.testing.assert_allclose(jnp.sum((a_plus + z) ** 2), jnp.sum(a_plus**2) + 9.0, rtol=1e-10)


def test_draw_with_second_moment_has_that_second_moment():
    vectors = jnp.linalg.qr(jax.random.normal(jax.random.key(0), (3, 3)))[0]
    M = (vectors * jnp.array([0.0, 1.0, 4.0])) @ vectors.T  # singular, positive semi-definite
    center = jnp.array([1.0, -2.0, 0.5])
    draws = jax.vmap(lambda key: minibatch.draw_with_second_moment(key, center, M))(
        jax.random.split(jax.random.key(1), 200_000))
    deviation = draws - center
    np.testing.assert_allclose(deviation.T @ deviation / len(draws), M, atol=0.05)
    np.testing.assert_allclose(vectors[:, 0] @ deviation.T, 0, atol=1e-12)  # nothing along the zero eigenvalue


def test_first_above():
    assert experiments.first_above([0.5, 1.0, 2.0, 0.1], 1.0) == 1
    assert experiments.first_above(np.array([0.5, 0.9]), 1.0) is None


def test_the_rounding_floor_is_that_of_the_gaps_own_dtype():
    """A float32 gap was converted to float first and had float64's eps: the logistic lesson in float32 counted
    Newton's iterations to the first exact 0 (5 and 8) instead of to its floor (4 and 7; a probe's finding)."""
    for dtype in (np.float32, np.float64):
        assert experiments.rounding_floor(np.array([3.0, 1e-3], dtype)) == pytest.approx(40 * np.finfo(dtype).eps)


def test_interpolating_diabetes_fits_exactly():
    data, optimum = experiments.interpolating_diabetes(jnp.float64)
    assert data.X.shape == (442, 11) and data.X.dtype == jnp.float64
    np.testing.assert_allclose(data.X @ optimum, data.y, rtol=0, atol=1e-12 * float(jnp.max(jnp.abs(data.y))))


def test_the_moved_functions_refuse_what_would_give_a_quiet_wrong_answer(wide):
    X, _ = wide
    tall = jax.random.normal(jax.random.key(3), (30, 4))
    # rounding scaled to unit norm before
    with pytest.raises(ValueError, match="full column rank: its null space is empty"):
        reference.null_directions(jax.random.key(0), tall, 2)
    assert np.isnan(jax.jit(lambda A: reference.null_directions(jax.random.key(0), A, 2))(tall)).all()  # traced: NaN
    with pytest.raises(ValueError, match=r"v must have shape \(15,\)"):
        reference.null_part(X, jnp.ones(14))
    with pytest.raises(ValueError, match="key must be a JAX PRNG key"):
        reference.null_directions(0, X, 2)
    center = jnp.zeros(2)
    with pytest.raises(ValueError, match="eigenvalue -1 < 0"):  # its direction silently dropped before
        minibatch.draw_with_second_moment(jax.random.key(0), center, jnp.diag(jnp.array([-1.0, 1.0])))
    with pytest.raises(ValueError, match="M is not symmetric"):  # eigh reads one triangle
        minibatch.draw_with_second_moment(jax.random.key(0), center, jnp.array([[1.0, 0.5], [0.0, 1.0]]))
    with pytest.raises(ValueError, match=r"M must be \(2, 2\)"):
        minibatch.draw_with_second_moment(jax.random.key(0), center, jnp.eye(3))


def test_the_research_cases_model_refuses_what_would_broadcast_or_fail_deep_inside(extensive):
    X, y = extensive
    exact = np.arange(3.0)
    with pytest.raises(ValueError, match="two non-empty 1-D arrays of one length"):  # (3,) - (3, 1): 0.889, not 0
        model_selection.mean_absolute_error(exact, exact[:, None])
    with pytest.raises(ValueError, match="two non-empty 1-D arrays of one length"):
        model_selection.mean_absolute_error(exact, exact[:2])
    l2, rng = np.logspace(-6, 0, 4), np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"y_test must be 1-D of shape \(N,\)"):  # a median of 1.82 for 0.073
        model_selection.bootstrap_errors(X, y, X, y[:, None], l2, rng, 2)
    with pytest.raises(ValueError, match="X_test and y_test disagree on the number of samples"):  # "predicted and"
        model_selection.bootstrap_errors(X, y, X, y[:-1], l2, rng, 2)
    with pytest.raises(ValueError, match="y_test contains 1 NaN"):  # after the first resample's fit before
        model_selection.bootstrap_errors(X, y, X, np.where(np.arange(len(y)) == 3, np.nan, y), l2, rng, 2)
    with pytest.raises(ValueError, match="exact must hold real numbers, got dtype complex128"):  # 0.0 for |5i|
        model_selection.mean_absolute_error(np.array([1.0]), np.array([1 + 5j]))
    with pytest.raises(ValueError, match="resamples must be an integer >= 1"):
        model_selection.bootstrap_errors(X, y, X, y, l2, rng, 0)
    with pytest.raises(ValueError, match="rng must be a numpy Generator"):
        model_selection.bootstrap_errors(X, y, X, y, l2, 0, 2)
    predict, _ = model_selection.scaled_ridge(X.tolist(), y.tolist(), l2)  # lists are arrays
    with pytest.raises(ValueError, match=rf"predict takes \(M, {X.shape[1]}\) features"):
        predict(X[:, :-1])


def test_the_null_space_functions_name_their_bad_arguments(wide):
    X, _ = wide
    with pytest.raises(ValueError, match="v contains NaN"):  # blamed a y it does not take
        reference.null_part(X, jnp.full(15, jnp.nan))
    with pytest.raises(ValueError, match="intercept must be True or False"):
        reference.null_directions(jax.random.key(0), X, 2, intercept="no")
    M = -jnp.eye(2)  # traced: the draw is NaN, not one that dropped both directions
    assert np.isnan(jax.jit(minibatch.draw_with_second_moment)(jax.random.key(0), jnp.zeros(2), M)).all()
    np.testing.assert_allclose(spectrum.sharpness_threshold([0.5, 2.0]), [4.0, 1.0])
