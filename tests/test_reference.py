"""Reference optima: optimality (KKT), agreement with scikit-learn, ridge identities, accuracy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lab import criteria, datasets, problems, reference

from . import helpers


@pytest.fixture(scope="module")
def known_regression():
    return helpers.exact_kappa_regression(1e3, n=60, d=5)


@pytest.fixture(scope="module")
def regression(known_regression):
    return known_regression.features


@pytest.fixture(scope="module")
def known_wide():
    """Fewer samples than features: N = 8, D = 20."""
    return helpers.underdetermined(n=8, d=20, seed=1)


@pytest.fixture(scope="module")
def wide(known_wide):
    return known_wide.features


@pytest.fixture(scope="module")
def binary():
    return problems.classification(jax.random.key(2), 120, 3, separation=1.5)


def grad_norm(criterion, params, X, y, l2=0.0):
    return float(jnp.linalg.norm(jax.grad(criterion)(params, problems.make_data(X, y, l2=l2))))


def test_optimality_of_every_reference(regression, wide, binary):
    X, y = regression
    assert grad_norm(criteria.least_squares, reference.least_squares(X, y), X, y) <= 1e-10
    assert grad_norm(criteria.ridge, reference.ridge(X, y, 0.1), X, y, 0.1) <= 1e-10
    assert grad_norm(criteria.ridge, reference.ridge(*wide, 0.1), *wide, 0.1) <= 1e-10
    assert grad_norm(criteria.least_squares, reference.min_norm(*wide), *wide) <= 1e-10
    assert grad_norm(criteria.logistic, reference.logistic(*binary), *binary) <= 1e-10
    assert grad_norm(criteria.logistic, reference.logistic(*binary, l2=0.01), *binary, 0.01) <= 1e-10


def test_least_squares_matches_sklearn(regression):
    X, y = regression
    from sklearn.linear_model import LinearRegression  # here, not at collection: 1.5 s to import

    fit = LinearRegression().fit(np.asarray(X), np.asarray(y))
    # measured 1.4e-14
    np.testing.assert_allclose(reference.least_squares(X, y), np.r_[fit.intercept_, fit.coef_], rtol=1e-12)


@pytest.mark.parametrize("data", ["regression", "wide"])
def test_ridge_matches_sklearn_with_alpha_n_l2_on_the_design(data, request):
    # Our (1/N)||y - Aa||^2 + l2||a||^2 times N is sklearn's ||y - Aw||^2 + alpha||w||^2, alpha = N l2,
    # with the intercept a column of ones in A (penalised, like every coefficient).
    X, y = request.getfixturevalue(data)
    from sklearn.linear_model import Ridge

    l2 = 0.05
    A = np.asarray(problems.design(X))
    fit = Ridge(alpha=len(y) * l2, fit_intercept=False, solver="svd").fit(A, np.asarray(y))
    np.testing.assert_allclose(reference.ridge(X, y, l2), fit.coef_, rtol=1e-12)  # measured 6e-15


def test_logistic_matches_sklearn_with_c_one_over_2_n_l2(binary):
    # sklearn minimises 1/2||w||^2 + C sum_n loss_n; divided by C N it is ours with l2 = 1 / (2 C N).
    from sklearn.linear_model import LogisticRegression

    X, y = binary
    l2 = 0.01
    A = np.asarray(problems.design(X))
    fit = LogisticRegression(C=1 / (2 * len(y) * l2), fit_intercept=False, solver="newton-cholesky", tol=1e-12)
    fit.fit(A, np.asarray(y))
    np.testing.assert_allclose(reference.logistic(X, y, l2), fit.coef_.ravel(), rtol=1e-12)  # measured 1.8e-15


def test_ridge_at_l2_zero_is_least_squares(regression):
    np.testing.assert_allclose(reference.ridge(*regression, 0.0), reference.least_squares(*regression), rtol=1e-10)


def test_ridge_tends_to_min_norm_as_l2_vanishes(wide):
    target = reference.min_norm(*wide)
    errors = [float(jnp.linalg.norm(reference.ridge(*wide, l2) - target)) for l2 in (1e-2, 1e-4, 1e-6, 1e-8)]
    assert errors == sorted(errors, reverse=True)
    assert errors[-1] <= 1e-6 * float(jnp.linalg.norm(target))


def test_min_norm_interpolates_and_is_shortest(wide, known_wide):
    X, y = wide
    a = reference.min_norm(X, y)
    A = problems.design(X)
    np.testing.assert_allclose(A @ a, y, atol=1e-12)
    # Any other interpolant adds a null-space component, which only lengthens a.
    null_direction = jnp.linalg.svd(A)[2][-1]
    assert float(jnp.linalg.norm(a + 0.1 * null_direction)) > float(jnp.linalg.norm(a))
    np.testing.assert_allclose(a, known_wide.minimiser, rtol=1e-9)  # numpy's pinv(A) y


def test_duplicated_rows_leave_every_mean_scaled_optimum_unchanged(regression, binary):
    # The mean over samples does not see duplication; a sum-scaled penalty would have to double.
    X, y = regression
    X2, y2 = jnp.concatenate([X, X]), jnp.concatenate([y, y])
    np.testing.assert_allclose(reference.ridge(X2, y2, 0.1), reference.ridge(X, y, 0.1), rtol=1e-10)
    Xb, yb = binary
    np.testing.assert_allclose(
        reference.logistic(jnp.concatenate([Xb, Xb]), jnp.concatenate([yb, yb]), 0.01),
        reference.logistic(Xb, yb, 0.01),
        rtol=1e-9,
    )


def test_least_squares_accurate_on_degree_10_polynomial_features():
    x = jnp.linspace(1.0, 3.0, 50)
    X = problems.polynomial_features(x, 10)
    A = problems.design(X)
    assert np.linalg.cond(np.asarray(A)) >= 1e10
    a_true = jnp.linspace(1.0, -1.0, 11)
    a = reference.least_squares(X, A @ a_true)
    np.testing.assert_allclose(a, a_true, rtol=1e-4, atol=1e-4)
    # The normal equations square the condition number and lose every digit here.
    normal = np.linalg.solve(np.asarray(A.T @ A), np.asarray(A.T @ (A @ a_true)))
    assert np.max(np.abs(normal - a_true)) > 1e-2


def test_references_are_vmappable(regression):
    X, y = regression
    ys = y + jax.random.normal(jax.random.key(9), (3, len(y)))
    vmapped = jax.jit(jax.vmap(lambda y: reference.ridge(X, y, 0.1)))(ys)
    looped = np.stack([reference.ridge(X, yi, 0.1) for yi in ys])
    np.testing.assert_allclose(vmapped, looped, rtol=1e-12)
    vmapped = jax.vmap(lambda y: reference.least_squares(X, y))(ys)
    np.testing.assert_allclose(vmapped[0], reference.least_squares(X, ys[0]), rtol=1e-12)


def test_float32_references_are_close_to_float64(regression, binary):
    f32 = lambda *arrays: [jnp.asarray(a, jnp.float32) for a in arrays]  # noqa: E731
    a32 = reference.least_squares(*f32(*regression))
    assert a32.dtype == jnp.float32
    np.testing.assert_allclose(a32, reference.least_squares(*regression), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(
        reference.logistic(*f32(*binary), l2=0.01), reference.logistic(*binary, l2=0.01), rtol=1e-4, atol=1e-5
    )


def _with_column(X, kind):
    return np.column_stack([X, {"duplicated": X[:, 0], "constant": np.full(len(X), 3.0),
                                "zero": np.zeros(len(X))}[kind]])


@pytest.mark.parametrize("kind", ["duplicated", "constant", "zero"])
def test_rank_deficient_least_squares_is_the_minimum_norm_solution_with_a_warning(regression, kind):
    # The defect: +-8.7e12, or NaN and -inf, without a word. Now numpy.linalg.lstsq's answer and the rank.
    X = _with_column(np.asarray(regression[0]), kind)
    y = np.asarray(regression[1])
    with pytest.warns(UserWarning, match=f"numerical rank {X.shape[1]} < {X.shape[1] + 1} columns"):
        a = reference.least_squares(X, y)
    expected = np.linalg.lstsq(np.column_stack([np.ones(len(y)), X]), y, rcond=None)[0]
    np.testing.assert_allclose(a, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(reference.min_norm(X, y), expected, rtol=1e-12, atol=1e-12)
    assert reference.rank(problems.design(X)) == X.shape[1]


@pytest.mark.parametrize("scale", [1e200, 1e-200, 1e15])
@pytest.mark.parametrize("solver", ["least_squares", "ridge with l2 = 0", "min_norm"])
def test_features_on_any_finite_scale_are_solved(regression, known_regression, scale, solver):
    # The defects: least_squares(X * 1e200) all NaN, ridge(X * 1e200, y, 0) all zeros, min_norm(X * 1e15)
    # without its intercept. A change of units scales the coefficients by its inverse, nothing else.
    X, y = np.asarray(regression[0]), np.asarray(regression[1])
    solve = {"least_squares": reference.least_squares, "ridge with l2 = 0": lambda X, y: reference.ridge(X, y, 0.0),
             "min_norm": reference.min_norm}[solver]
    a = np.asarray(solve(X * scale, y))
    np.testing.assert_allclose(np.r_[a[0], a[1:] * scale], known_regression.minimiser, rtol=1e-12)  # numpy's lstsq


@pytest.mark.parametrize("dtype, units, l2", [("float32", 1e-10, 1e-30), ("float32", 1e6, 1e-14),
                                             ("float64", 1e13, 1e-6)])
def test_ridge_is_solved_whatever_the_features_units(dtype, units, l2):
    """From the raw design's SVD, ridge lost the intercept beside float32 features of 1e-10 (0.51 for 1.01) and was
    off in the 4th digit beside a column of 1e13: now compared with numpy's lstsq of [A; sqrt(N l2) I] a = [y; 0] on
    the same design with unit-norm columns, in float64."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 3)) * units
    y = X @ (np.array([1.0, 2.0, 3.0]) / units) + 1 + 0.5 * rng.normal(size=30)
    X, y = X.astype(dtype).astype(float), y.astype(dtype).astype(float)  # the data float32 holds, exactly
    A = np.column_stack([np.ones(30), X])
    norms = np.linalg.norm(A, axis=0)
    stacked = np.vstack([A / norms, np.sqrt(30 * l2) * np.diag(1 / norms)])
    expected = np.linalg.lstsq(stacked, np.r_[y, np.zeros(4)], rcond=None)[0] / norms
    found = np.asarray(reference.ridge(X.astype(dtype), y.astype(dtype), l2), float)
    np.testing.assert_allclose(found * np.r_[1, units, units, units], expected * np.r_[1, units, units, units],
                               rtol=1e-4 if dtype == "float32" else 1e-10)


def test_newtons_path_vmapped_over_its_iteration_limit_equals_plain_calls_and_converges_quadratically(binary):
    X, y = binary
    data = problems.make_data(X, y, l2=1e-2)
    start = jnp.zeros(X.shape[1] + 1)
    path = jax.vmap(lambda k: reference.newton(criteria.logistic, data, start, 0.0, k).params)(jnp.arange(8))
    for k in (0, 1, 3, 7):  # one compiled call: the iterates of plain calls (batched solves: last-bit differences)
        np.testing.assert_allclose(path[k], reference.newton(criteria.logistic, data, start, 0.0, k).params, rtol=1e-12)
    norms = np.array([float(jnp.linalg.norm(jax.grad(criteria.logistic)(a, data))) for a in path])
    assert norms[0] > 0.1 and norms[6] < 1e-15
    quadratic = [k for k in range(1, 5) if norms[k] < 1e-3]  # once close: ||g_k+1|| <= C ||g_k||^2 with C ~ 1
    assert quadratic and all(norms[k + 1] <= 10 * norms[k] ** 2 for k in quadratic)


def test_interpolating_data_are_fitted_exactly_by_their_least_squares_solution():
    X, y = problems.random_regression(jax.random.key(3), 40, 5)
    data, fit = problems.interpolating(problems.make_data(X, y))
    np.testing.assert_allclose(fit, reference.least_squares(X, y), rtol=1e-12)
    np.testing.assert_allclose(data.y, data.X @ fit, rtol=0, atol=0)
    assert float(criteria.least_squares(fit, data)) <= 1e-28
    with pytest.raises(ValueError, match="least_squares ignores data.l2"):
        problems.interpolating(problems.make_data(X, y, l2=0.1))


@pytest.mark.parametrize("criterion, message", [
    (lambda a, data: jnp.sum(a),
     r"\(max_iter\).*f keeps falling as \|\|a\|\| grows \(f = -\d.*e\+\d+ at .*no finite minimum"),
    (lambda a, data: jnp.sum(jnp.abs(a - 1.0)), r"\(stalled\).*a kink of a non-smooth criterion"),
], ids=["unbounded below", "a kink"])
def test_a_failed_lbfgs_names_the_likely_cause_with_f_and_the_norm_of_a(regression, criterion, message):
    # An unbounded criterion was told to raise max_iter or standardize; a kink, that rounding stalled the search.
    data = problems.make_data(*regression)
    found = reference.solve(criterion, data, jnp.full(data.X.shape[1], 0.3), method="lbfgs")
    with pytest.raises(ValueError, match=message):
        reference.check(found)


def test_newton_on_a_linear_criterion_does_not_call_it_non_convex(regression):
    # Its Hessian is zero (singular, not negative): the advice said "a non-convex criterion" only.
    data = problems.make_data(*regression)
    found = reference.solve(lambda a, d: jnp.sum(a), data, jnp.zeros(data.X.shape[1]), method="newton")
    with pytest.raises(ValueError,
                       match=r"not_a_descent_direction.*singular: a linear or piecewise-linear one.*penalty"):
        reference.check(found)


def test_a_zero_direction_never_falls_however_fs_batched_evaluation_rounds():
    # still_falls probes f(a + t d) under vmap; a flat direction it skips comes as a zero row. A batched f rounding
    # below the plain f(a) (as a cancelling X a does in another summation order) read as a fall there, and a
    # finite logistic optimum was refused as "separable classes" on one CPU (test_validation's collinear case).
    @jax.custom_batching.custom_vmap
    def rounded(a):
        return jnp.sum(a ** 2) + 1.0

    @rounded.def_vmap
    def _(axis_size, in_batched, a):
        return jnp.sum(a ** 2, axis=1) + 1.0 - 1e-3, True  # 1e-3 below the plain evaluation's value

    a = jnp.ones(3)
    assert float(jax.vmap(rounded)(a[None])[0]) < float(rounded(a)) - 1e-4  # the rounding this test stands for
    assert not reference.still_falls(lambda a, data: rounded(a), a, None, jnp.zeros((2, 3)))
    assert reference.still_falls(lambda a, data: jnp.exp(-jnp.sum(a)), a, None, jnp.stack([0 * a, a]))  # a real fall


def _poisson_counts():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(400, 5))
    return X, rng.poisson(np.exp(1 + X @ (0.3 * rng.normal(size=5)))).astype(float)


@pytest.mark.parametrize("criterion, method", [(criteria.poisson, "lbfgs"), (criteria.huber, "auto")])
def test_float32_lbfgs_goes_past_its_start_scaled_tolerance_to_the_minimum(criterion, method):
    # The default tol, 1e3 eps ||grad f(start)|| in float32, is rounding at the start's scale; L-BFGS stopped
    # there, where ||grad f|| can dip long before the minimum: Huber on raw diabetes (auto: Newton's Hessian is
    # singular there, L-BFGS takes over) ended 2.5 % above f*, Poisson 3.8e-5 above, both "converged".
    X, y = _poisson_counts() if criterion is criteria.poisson else problems.load_csv(datasets.DIABETES, "target")[:2]
    data64 = problems.make_data(jnp.asarray(X, jnp.float64), jnp.asarray(y, jnp.float64))
    data32 = problems.make_data(jnp.asarray(X, jnp.float32), jnp.asarray(y, jnp.float32))
    start = jnp.ones(data32.X.shape[1], jnp.float32)
    truth = reference.check(reference.solve(criterion, data64, start.astype(jnp.float64), method))
    found = reference.check(reference.solve(criterion, data32, start, method))
    gap = float(criterion(found.params.astype(jnp.float64), data64) - truth.value)
    assert 0 <= gap <= 1e-7 * abs(float(truth.value))  # float32's own rounding of f*, where the old stop left 3e-5
    loose = reference.default_tol(start.dtype, jnp.linalg.norm(jax.grad(criterion)(start, data32)))
    assert loose > 1e-4  # the tolerance that was met early ...
    stopped = reference.lbfgs(criterion, data32, start, loose)  # ... and is still where a given tol stops
    assert float(stopped.gradient_norm) <= loose and int(stopped.iterations) < int(found.iterations)


@pytest.mark.parametrize("dtype, scale", [("float32", 1.0), ("float64", 3.0)])
def test_newton_from_a_far_start_goes_on_past_its_start_scaled_tolerance_to_the_minimum(dtype, scale):
    # The default tol 1e3 eps ||grad f(start)|| grows with a start far out: Newton stopped there, "converged",
    # a* 26 % off (float32, start 1) or f* off 3000-fold (float64, start 3) under a warning blaming degeneracy.
    X, y, _ = datasets.diabetes(standardize=True, dtype=dtype)
    counts = jnp.round(y / 50)  # 0..7
    exact = problems.make_data(jnp.asarray(X, jnp.float64), jnp.asarray(counts, jnp.float64))
    truth = reference.check(reference.newton(criteria.poisson, exact, jnp.zeros(11, jnp.float64), 1e-13))
    data = problems.make_data(X, counts)
    start = jnp.full(11, scale, dtype)
    loose = reference.default_tol(start.dtype, jnp.linalg.norm(jax.grad(criteria.poisson)(start, data)))
    assert float(loose) > 1e-2  # met far from a*: where Newton stopped
    found = reference.check(reference.solve(criteria.poisson, data, start, "newton"))
    np.testing.assert_allclose(found.params, truth.params, rtol=0, atol=(1e-5 if dtype == "float32" else 1e-10))


def test_auto_reports_lbfgs_own_failure_where_the_newton_after_it_cannot_move():
    # Where L-BFGS ran out of iterations and the Newton after it found no descent direction from the same point,
    # the two tied on ||grad f|| and Newton's status was reported (a network: "no descent direction", not "raise
    # max_iter"). Here a bowl whose Hessian reads -I: Newton never moves, L-BFGS (gradients only) does.
    weights = jnp.array([1.0, 10.0, 100.0])

    @jax.custom_jvp
    def gradient(a):
        return weights * a

    gradient.defjvp(lambda primals, tangents: (gradient(primals[0]), -tangents[0]))

    @jax.custom_jvp
    def bowl(a):
        return 0.5 * jnp.sum(weights * a * a)

    bowl.defjvp(lambda primals, tangents: (bowl(primals[0]), jnp.dot(gradient(primals[0]), tangents[0])))
    found = reference.solve(lambda a, data: bowl(a), None, jnp.ones(3), max_iter=3)
    assert (reference.METHODS[int(found.method)], reference.STATUSES[int(found.status)]) == ("lbfgs", "max_iter")


def test_float32_lbfgs_goes_on_where_f_is_at_rounding_but_its_gradient_still_falls():
    # Past the start-scaled tol, f no longer resolves progress: L-BFGS stopped at ||grad f|| 2.6e-2 on standardized
    # least squares, where Newton reaches 1e-7.
    X, y, _ = datasets.diabetes(standardize=True, dtype=jnp.float32)
    found = reference.lbfgs(criteria.least_squares, problems.make_data(X, y), jnp.zeros(11, jnp.float32))
    assert int(found.status) == reference.CONVERGED and float(found.gradient_norm) <= 1e-5
