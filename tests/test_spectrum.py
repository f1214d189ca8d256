"""Curvature: generated conditioning, Hessian-vector products, the quadratic theory."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lab import criteria, problems, spectrum
from tests import helpers


@pytest.mark.parametrize("kappa", [1.0, 10.0, 1e4, 1e8])
@pytest.mark.parametrize("intercept", [True, False])
def test_generated_problem_has_the_condition_number_asked(kappa, intercept):
    X, y = problems.regression(jax.random.key(0), 50, 6, kappa, intercept=intercept)
    data = problems.make_data(X, y, intercept=intercept)
    spec = spectrum.spectrum(criteria.least_squares, jnp.zeros(data.X.shape[1]), data)
    np.testing.assert_allclose(spec.kappa, kappa, rtol=1e-6)
    np.testing.assert_allclose(spec.L, 2.0, rtol=1e-10)


def test_condition_number_is_traced_under_vmap():
    kappas = jnp.array([1.0, 30.0, 1e3])
    make = jax.jit(jax.vmap(lambda k: problems.regression(jax.random.key(1), 40, 3, k)))
    Xs, ys = make(kappas)
    for X, y, kappa in zip(Xs, ys, kappas):
        spec = spectrum.spectrum(criteria.least_squares, jnp.zeros(4), problems.make_data(X, y))
        np.testing.assert_allclose(spec.kappa, kappa, rtol=1e-6)


def test_ridge_spectrum_shifts_by_twice_l2():
    X, y = problems.regression(jax.random.key(2), 40, 3, 100.0)
    plain = spectrum.spectrum(criteria.least_squares, jnp.zeros(4), problems.make_data(X, y))
    penalised = spectrum.spectrum(criteria.ridge, jnp.zeros(4), problems.make_data(X, y, l2=0.25))
    np.testing.assert_allclose(penalised.eigenvalues, plain.eigenvalues + 0.5, rtol=1e-12)


def test_hvp_and_power_iteration_agree_with_the_dense_hessian():
    known = helpers.two_classes(n=80, d=5, separation=1.0, l2=0.01, seed=3)
    data, a = known.problem.data, jnp.asarray(known.minimiser)  # a*, by Newton in numpy
    H = spectrum.hessian(criteria.logistic, a, data)
    v = jax.random.normal(jax.random.key(4), a.shape)
    np.testing.assert_allclose(spectrum.hvp(criteria.logistic, a, data, v), H @ v, rtol=1e-12)
    top = spectrum.largest_eigenvalue(criteria.logistic, a, data, jax.random.key(5), iterations=300)
    np.testing.assert_allclose(top, np.linalg.eigvalsh(np.asarray(H))[-1], rtol=1e-8)


def test_best_learning_rate_contraction_is_the_optimal_rate():
    L, mu = 2.0, 2.0 / 50.0
    learning_rate = spectrum.best_learning_rate(L, mu)
    np.testing.assert_allclose(spectrum.contraction(learning_rate, L, mu), spectrum.optimal_rate(L / mu), rtol=1e-14)
    # Any other learning rate contracts worse.
    assert spectrum.contraction(0.99 * learning_rate, L, mu) > spectrum.contraction(learning_rate, L, mu)
    assert spectrum.contraction(1.01 * learning_rate, L, mu) > spectrum.contraction(learning_rate, L, mu)
    assert spectrum.contraction(1.001 * spectrum.stability_threshold(L), L, mu) > 1


def test_predicted_iterations_follow_the_rate():
    assert spectrum.predicted_iterations(0.5, 1.0, 1e-6) == np.ceil(np.log(1e-6) / (2 * np.log(0.5)))
    assert spectrum.predicted_iterations(1.0, 1.0, 1e-6) == np.inf
    assert spectrum.predicted_iterations(0.5, 1e-9, 1e-6) == 0
    assert spectrum.predicted_iterations(0.0, 1.0, 1e-6) == 1


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-9), ("float32", 2e-4)])
def test_ridge_distance_is_the_ridge_path_s_distance_to_the_min_norm_fit(dtype, rtol):
    """N = 10 samples, P = 31 parameters: rank 10, and ||a(l2) - a+|| from the spectrum equals the closed form's
    (A^T A + N l2 I)^-1 A^T y solved in float64, from l2 = 1e-4 (distance ~1e-4) to 1e2 (a(l2) near 0)."""
    known = helpers.underdetermined(dtype=dtype)
    A, y = np.asarray(known.problem.data.X, float), np.asarray(known.problem.data.y, float)
    a_plus = np.linalg.pinv(A) @ y
    spec = spectrum.spectrum(criteria.least_squares, jnp.asarray(a_plus, dtype), known.problem.data)
    assert int(np.sum(spectrum.row_space(spec))) == np.linalg.matrix_rank(A) == 10
    l2 = np.logspace(-4, 2, 13)
    exact = [np.linalg.norm(np.linalg.solve(A.T @ A + len(y) * e * np.eye(A.shape[1]), A.T @ y) - a_plus) for e in l2]
    np.testing.assert_allclose(spectrum.ridge_distance(spec, jnp.asarray(a_plus, dtype), jnp.asarray(l2, dtype)), exact,
                               rtol=rtol)
    # Slope 1 at l2 -> 0, with the constant ||2 H^+ a+||: H = (2/N) A^T A, so 2 H^+ a+ = N pinv(A^T A) a+.
    constant = np.linalg.norm(len(y) * np.linalg.pinv(A.T @ A) @ a_plus)
    np.testing.assert_allclose(spectrum.ridge_distance_slope(spec, jnp.asarray(a_plus, dtype)), constant, rtol=rtol)
    assert spectrum.ridge_distance(spec, jnp.asarray(a_plus, dtype), 0.0) == 0.0
    # Under strict promotion a float64 penalty or a+ on a float32 spectrum computes in the spectrum's dtype.
    assert spectrum.ridge_distance(spec, np.asarray(a_plus), np.asarray(l2)).dtype == jnp.dtype(dtype)


def test_ridge_distance_is_nan_where_a_traced_input_is_out_of_range():
    """No check sees traced values: a negative l2 or curvature gives NaN (the module's convention), not a number."""
    valid = spectrum.Spectrum(jnp.array([0.5, 1.0, 2.0]), jnp.eye(3))
    values = jax.vmap(spectrum.ridge_distance, (None, None, 0))(valid, jnp.ones(3), jnp.array([0.1, -0.1, -0.25]))
    assert np.isfinite(values[0]) and np.isnan(values[1:]).all()
    concave = spectrum.Spectrum(jnp.array([-0.5, 1.0, 2.0]), jnp.eye(3))
    assert np.isnan(jax.jit(spectrum.ridge_distance)(concave, jnp.array([0.0, 1.0, 1.0]), 0.1))
    assert np.isnan(jax.jit(spectrum.ridge_distance_slope)(concave, jnp.array([0.0, 1.0, 1.0])))


def test_ridge_distance_composes_under_jit_and_vmap():
    known = helpers.underdetermined()
    a_plus = jnp.asarray(known.minimiser)
    spec = spectrum.spectrum(criteria.least_squares, a_plus, known.problem.data)
    l2 = jnp.logspace(-3, 1, 5)
    np.testing.assert_array_equal(jax.jit(jax.vmap(spectrum.ridge_distance, (None, None, 0)))(spec, a_plus, l2),
                                  jax.jit(spectrum.ridge_distance)(spec, a_plus, l2))
    np.testing.assert_allclose(jax.jit(spectrum.ridge_distance)(spec, a_plus, l2),
                               spectrum.ridge_distance(spec, a_plus, l2), rtol=1e-14)


MISUSES = [
    (lambda: spectrum.stability_threshold(0.0), "L must be > 0"),
    (lambda: spectrum.stability_threshold(-2.0), "L must be > 0"),
    (lambda: spectrum.stability_threshold("a"), "L must be a real number"),
    (lambda: spectrum.best_learning_rate(1.0, 2.0), "mu must be at most L"),
    (lambda: spectrum.best_learning_rate(-1.0, 1.0), "L must be > 0"),
    (lambda: spectrum.optimal_rate(0.5), "kappa must be >= 1"),
    (lambda: spectrum.heavy_ball_threshold(1.0, 1.0), r"beta must be in \[0, 1\)"),
    (lambda: spectrum.nesterov_threshold(1.0, -0.5), r"beta must be in \[0, 1\)"),
    (lambda: spectrum.heavy_ball_optimal(1.0, 0.0), "mu must be > 0"),
    (lambda: spectrum.heavy_ball_optimal(-1.0, 0.1), "L must be > 0"),
    (lambda: spectrum.momentum_rate(0.1, 0.5, 1.0), r"eigenvalues must hold .* \(\.\.\., P\)"),
    (lambda: spectrum.predicted_iterations(-0.5, 1.0, 1e-6), "rate must be >= 0"),
    (lambda: spectrum.predicted_iterations(0.5, 1.0, 0.0), "tolerance must be > 0"),
    (lambda: spectrum.predicted_gap(spectrum.Spectrum(jnp.array([1.0, 2.0]), jnp.ones((2, 3))), 0.1, jnp.ones(2),
                                    jnp.zeros(2), 3), r"eigenvectors \(P, P\)"),
    (lambda: spectrum.predicted_gap(spectrum.Spectrum(jnp.array([1.0, 2.0]), jnp.eye(2)), 0.1, jnp.ones(3),
                                    jnp.zeros(2), 3), r"start must have shape \(2,\)"),
    (lambda: spectrum.predicted_gap(spectrum.Spectrum(jnp.array([-1.0, 2.0]), jnp.eye(2)), 0.1, jnp.ones(2),
                                    jnp.zeros(2), 3), "convex quadratic"),
    (lambda: spectrum.predicted_gap(spectrum.Spectrum(jnp.array([1.0, 2.0]), jnp.eye(2)), 0.1, jnp.ones(2),
                                    jnp.zeros(2), -1), "num_steps"),
    (lambda: spectrum.predicted_distance(spectrum.Spectrum(jnp.array([1.0, 2.0]), jnp.eye(2)), 0.1, jnp.ones(2),
                                         jnp.zeros(2), 2.5), "num_steps"),
    (lambda: spectrum.ridge_distance(spectrum.Spectrum(jnp.array([1.0, 2.0]), jnp.eye(2)), jnp.ones(2), -0.1),
     r"l2 must be >= 0"),
    (lambda: spectrum.ridge_distance(spectrum.Spectrum(jnp.array([1.0, 2.0]), jnp.eye(2)), jnp.ones(3), 0.1),
     r"min_norm_params must have shape \(2,\)"),
    (lambda: spectrum.ridge_distance_slope(jnp.array([1.0, 2.0]), jnp.ones(2)), "spec must be a lab.spectrum.Spectrum"),
    (lambda: spectrum.row_space(spectrum.Spectrum(jnp.ones((2, 2)), jnp.eye(2))), r"eigenvalues \(P,\)"),
    (lambda: spectrum.ridge_distance(spectrum.Spectrum(jnp.array([-1.0, 1.0, 2.0]), jnp.eye(3)), jnp.ones(3), 0.1),
     "convex quadratic"),  # a negative curvature counted as null space: a plausible distance
    # Found by probing: each returned a number (2e17 for the unsorted one, twice the answer for 2 I) or failed deep.
    (lambda: spectrum.ridge_distance_slope(spectrum.Spectrum(jnp.array([2.0, 1.0, 1e-17]), jnp.eye(3)), jnp.ones(3)),
     "must be ascending"),
    (lambda: spectrum.ridge_distance(spectrum.Spectrum(jnp.array([1.0, 2.0, 3.0]), 2 * jnp.eye(3)), jnp.ones(3), 0.5),
     "must be orthonormal"),
    (lambda: spectrum.row_space(spectrum.Spectrum(jnp.array([0, 1, 2]), jnp.eye(3))),
     "spec.eigenvalues must be an array of floats"),
    (lambda: spectrum.row_space(spectrum.Spectrum([0.0, 1.0, 2.0], jnp.eye(3))),
     "spec.eigenvalues must be an array of floats"),
    (lambda: spectrum.row_space(spectrum.Spectrum(jnp.zeros(0), jnp.zeros((0, 0)))), "P >= 1 eigenvalues"),
    (lambda: spectrum.ridge_distance(spectrum.Spectrum(jnp.array([0.0, 1.0, 2.0]), jnp.eye(3)),
                                     jnp.array([5.0, 1.0, 1.0]), 0.1),
     "null-space part of norm 5"),  # a minimiser other than a+: it was taken for a+
    (lambda: spectrum.power_iteration(lambda a, d: jnp.sum(a**2), jnp.ones(2), None, jnp.zeros(2), 5), "non-zero"),
    (lambda: spectrum.largest_eigenvalue(lambda a, d: jnp.sum(a**2), jnp.ones(2), None, jax.random.key(0), -3),
     "iterations"),
]


@pytest.mark.parametrize("misuse, message", MISUSES, ids=[m for _, m in MISUSES])
def test_misused_spectrum_helpers_raise_a_clear_error(misuse, message):
    with pytest.raises(ValueError, match=message):
        misuse()


def test_spectrum_helpers_still_compose_under_jit_and_vmap():
    rates = jax.jit(jax.vmap(lambda L, mu: spectrum.contraction(spectrum.best_learning_rate(L, mu), L, mu)))(
        jnp.array([2.0, 4.0]), jnp.array([1.0, 1.0]))
    np.testing.assert_allclose(rates, [1 / 3, 3 / 5], rtol=1e-6)


def test_the_sharpness_threshold_is_the_edge_read_the_other_way():
    """GD at learning rate eta on a quadratic of top curvature L is stable iff L < 2/eta, iff eta < 2/L."""
    for L in (0.5, 3.0, 40.0):
        for eta in np.array([0.9, 1.0, 1.1]) * (2 / L):
            assert (L < spectrum.sharpness_threshold(eta)) == (eta < spectrum.stability_threshold(L))
    np.testing.assert_allclose(spectrum.sharpness_threshold(np.array([0.5, 2.0])), [4.0, 1.0], rtol=1e-15)
    with pytest.raises(ValueError, match="learning_rate must be > 0"):  # named as what it is, not as L
        spectrum.sharpness_threshold(-0.1)


def test_a_float64_learning_rate_on_a_float32_spectrum_predicts_in_float32():
    """Under strict promotion a float64 learning rate met float32 eigenvalues in a bare promotion error."""
    known = helpers.chosen_spectrum((1.0, 4.0), dtype="float32")
    spec, start = known.problem.spectrum, known.problem.start
    target = jnp.asarray(known.minimiser, jnp.float32)
    gap = spectrum.predicted_gap(spec, np.float64(0.3), start, target, 10)
    distance = spectrum.predicted_distance(spec, np.float64(0.3), start, target, 10)
    assert gap.dtype == distance.dtype == jnp.float32
    np.testing.assert_allclose(gap, spectrum.predicted_gap(spec, jnp.float32(0.3), start, target, 10), rtol=1e-6)


def test_momentum_rate_refuses_an_array_of_momenta_and_takes_them_under_vmap():
    """An array beta broadcast against the eigenvalue axis and returned one mixed maximum in its shape ([0.995, 0.995]
    where beta = 0.9 alone gives 0.9487); the thresholds, element-wise, take arrays of momenta as before."""
    h, betas = jnp.array([0.01, 1.0]), jnp.array([0.0, 0.9])
    for beta in (betas, [0.0, 0.9], jnp.array([0.9])):
        with pytest.raises(ValueError, match=r"beta must be one number, got shape .*jax\.vmap over the momenta"):
            spectrum.momentum_rate(0.5, beta, h)
    each = [float(spectrum.momentum_rate(0.5, b, h)) for b in (0.0, 0.9)]
    np.testing.assert_allclose(each, [0.995, np.sqrt(0.9)], rtol=1e-12)
    for nesterov in (False, True):
        np.testing.assert_allclose(jax.jit(jax.vmap(lambda b: spectrum.momentum_rate(0.5, b, h, nesterov)))(betas),
                                   [spectrum.momentum_rate(0.5, b, h, nesterov) for b in (0.0, 0.9)], rtol=1e-12)
    np.testing.assert_allclose(spectrum.heavy_ball_threshold(1.0, betas), [2.0, 3.8], rtol=1e-12)
    np.testing.assert_allclose(spectrum.nesterov_threshold(1.0, betas), [2.0, 3.8 / 2.8], rtol=1e-12)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_best_learning_rate_takes_a_singular_hessian_s_rounding_mu_as_zero(dtype):
    """The lab's own spectrum of least squares with N < P has mu = -2e-15 (rounding), which best_learning_rate
    refused as "mu must be >= 0"; it is 0, giving 2/L. A clearly negative mu is still refused."""
    spec = helpers.underdetermined(dtype=dtype).problem.spectrum
    assert spec.mu < 0
    np.testing.assert_allclose(spectrum.best_learning_rate(spec.L, spec.mu), 2 / spec.L, rtol=1e-15)
    np.testing.assert_allclose(jax.jit(jax.vmap(spectrum.best_learning_rate))(spec.L[None], spec.mu[None]),
                               [2 / spec.L], rtol=1e-15)
    with pytest.raises(ValueError, match=r"mu must be >= 0"):
        spectrum.best_learning_rate(spec.L, -1e-3 * spec.L)  # beyond sqrt(eps) L, float32's 3.5e-4 included
    with pytest.raises(ValueError, match=r"mu must be > 0 .*singular Hessian"):
        spectrum.heavy_ball_optimal(spec.L, spec.mu)  # no linear rate: Polyak's parameters need mu > 0
    # The tolerance is the dtype's: -1e-5 L is rounding in float32 (sqrt(eps) = 3.5e-4), not in float64 (1.5e-8).
    np.testing.assert_allclose(spectrum.best_learning_rate(jnp.float32(2.0), jnp.float32(-2e-5)), 1.0, rtol=1e-7)
    with pytest.raises(ValueError, match=r"mu must be >= 0"):
        spectrum.best_learning_rate(2.0, -2e-5)
    with jax.enable_x64(False):  # Python numbers stay float64 (the rounding check made them float32 arrays)
        assert float(spectrum.best_learning_rate(1.0, 1e-9)) == 2 / (1 + 1e-9)  # 2.0 in float32


def test_optimal_rate_of_an_infinite_kappa_is_refused_by_name_and_nan_when_traced():
    """kappa = inf (mu = 0, what Spectrum.kappa reports for a singular Hessian) was refused as "must be >= 1, got
    inf"; it is named now, with the row space's kappa as the fix (its limit 1 would read as a rate of runs that
    converge: least squares from 0 on N < P does)."""
    spec = helpers.underdetermined().problem.spectrum
    assert spec.kappa == np.inf
    for infinite in (spec.kappa, np.inf, [9.0, np.inf]):
        with pytest.raises(ValueError, match=r"kappa is infinite \(mu = 0: a singular Hessian\).*row space"):
            spectrum.optimal_rate(infinite)
    rates = jax.jit(spectrum.optimal_rate)(jnp.array([1.0, 9.0, jnp.inf]))
    np.testing.assert_allclose(rates[:2], [0.0, 0.8], rtol=1e-15)
    assert np.isnan(rates[2])
    for bad in (0.5, -np.inf, np.nan, [9.0, 0.5]):
        with pytest.raises(ValueError, match="kappa must be >= 1"):
            spectrum.optimal_rate(bad)


LISTED = [
    (lambda v: spectrum.stability_threshold(v([1.0, 2.0]))),
    (lambda v: spectrum.best_learning_rate(v([1.0, 2.0]), v([0.1, 0.2]))),
    (lambda v: spectrum.contraction(v([0.1, 0.2]), v([1.0, 2.0]), v([0.1, 0.2]))),
    (lambda v: spectrum.optimal_rate(v([1.0, 10.0]))),
    (lambda v: spectrum.heavy_ball_threshold(1.0, v([0.1, 0.5]))),
    (lambda v: spectrum.nesterov_threshold(v([1.0, 2.0]), 0.5)),
    (lambda v: spectrum.nesterov_threshold(v((1.0, 2.0)), v((0.1, 0.5)))),
    (lambda v: spectrum.momentum_rate(0.1, 0.5, v([0.1, 1.0]))),
    (lambda v: spectrum.heavy_ball_optimal(v([1.0, 2.0]), v([0.1, 0.2]))),
]


@pytest.mark.parametrize("formula", LISTED, ids=["stability_threshold", "best_learning_rate", "contraction",
                                                "optimal_rate", "heavy_ball_threshold", "nesterov_threshold",
                                                "nesterov_threshold_tuples", "momentum_rate",
                                                "heavy_ball_optimal"])
def test_the_formulas_take_lists_as_arrays(formula):
    """As lab.adam.threshold does; Python's + and * on lists raised bare TypeErrors (or, with an int, repeat them)."""
    np.testing.assert_allclose(formula(lambda x: x), formula(jnp.asarray), rtol=1e-15)


def test_the_formulas_refuse_lists_of_text_clearly():
    with pytest.raises(ValueError, match="L must be a real number"):
        spectrum.stability_threshold(["a", "b"])
    with pytest.raises(ValueError, match="kappa must be a real number"):
        spectrum.optimal_rate(["a"])


@pytest.mark.parametrize("nesterov", [False, True])
def test_a_flat_modes_momentum_rate_is_one_in_float32_with_beta_near_one(nesterov):
    """A zero eigenvalue does not contract (z = 1 is a root of z^2 - (1 + beta) z + beta): written out,
    (1 + beta)^2 - 4 beta cancelled in float32 and read it as sqrt(beta), 0.99995 at beta = 0.9999; the other roots
    as numpy's."""
    h = jnp.asarray([0.0, 0.5, 1.0], jnp.float32)
    for beta in (0.999, 0.9999, 0.99999):
        rate = spectrum.momentum_rate(jnp.float32(0.1), jnp.float32(beta), h, nesterov)
        assert rate.dtype == jnp.float32 and float(rate) == pytest.approx(1.0, abs=4 * float(np.finfo(np.float32).eps))
    rng = np.random.default_rng(0)
    for beta, eta in zip(rng.uniform(0, 0.999, 50), rng.uniform(0.01, 3, 50)):
        h = rng.uniform(0, 1, 4)
        x = 1 - eta * h
        trace, det = ((1 + beta) * x, beta * x) if nesterov else (1 + beta - eta * h, beta * np.ones(4))
        expected = max(np.abs(np.roots([1, -t, d])).max() for t, d in zip(trace, det))
        assert float(spectrum.momentum_rate(eta, beta, jnp.asarray(h), nesterov)) == pytest.approx(expected, rel=1e-12)
