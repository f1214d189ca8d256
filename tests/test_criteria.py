"""Criteria: gradients against the course's formulas, numerical stability, dtypes."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from lab import criteria, problems


@pytest.fixture(scope="module")
def regression_data():
    X, y = problems.regression(jax.random.key(0), 40, 4, 50.0)
    return problems.make_data(X, y, l2=0.3)


@pytest.fixture(scope="module")
def binary_data():
    X, y = problems.classification(jax.random.key(1), 60, 3, separation=1.0)
    return problems.make_data(X, y, l2=0.05)


def test_least_squares_gradient_is_the_course_formula(regression_data):
    X, y, _ = regression_data
    a = jax.random.normal(jax.random.key(2), (X.shape[1],))
    expected = 2 / len(y) * (X.T @ X @ a - X.T @ y)
    np.testing.assert_allclose(jax.grad(criteria.least_squares)(a, regression_data), expected, rtol=1e-12)


def test_ridge_gradient_adds_the_whole_vector_penalty(regression_data):
    X, y, l2 = regression_data
    a = jax.random.normal(jax.random.key(3), (X.shape[1],))
    expected = 2 / len(y) * (X.T @ X @ a - X.T @ y) + 2 * l2 * a
    np.testing.assert_allclose(jax.grad(criteria.ridge)(a, regression_data), expected, rtol=1e-12)
    np.testing.assert_allclose(
        criteria.ridge(a, regression_data), criteria.least_squares(a, regression_data) + l2 * jnp.sum(a**2), rtol=1e-14
    )


def test_logistic_gradient_is_x_transpose_residual(binary_data):
    X, y, l2 = binary_data
    a = jax.random.normal(jax.random.key(4), (X.shape[1],))
    expected = X.T @ (jax.nn.sigmoid(X @ a) - y) / len(y) + 2 * l2 * a
    np.testing.assert_allclose(jax.grad(criteria.logistic)(a, binary_data), expected, rtol=1e-12)


def test_logistic_is_the_mean_negative_log_likelihood(binary_data):
    X, y, _ = binary_data
    a = jax.random.normal(jax.random.key(5), (X.shape[1],))
    p = 1 / (1 + np.exp(-np.asarray(X @ a)))
    nll = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    np.testing.assert_allclose(criteria.logistic(a, binary_data._replace(l2=0.0)), nll, rtol=1e-12)


@pytest.mark.parametrize("criterion", [criteria.least_squares, criteria.ridge, criteria.logistic])
def test_check_grads_forward_and_reverse(criterion, regression_data, binary_data):
    data = binary_data if criterion is criteria.logistic else regression_data
    a = jax.random.normal(jax.random.key(6), (data.X.shape[1],))
    check_grads(lambda a: criterion(a, data), (a,), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_logistic_is_stable_for_huge_margins(dtype):
    # z = +-1000: the naive log(1 + exp(z)) overflows; softplus does not.
    X = jnp.array([[1000.0], [-1000.0], [1000.0], [-1000.0]], dtype)
    y = jnp.array([0.0, 1.0, 1.0, 0.0], dtype)
    data = criteria.Data(X, y)
    a = jnp.ones(1, dtype)
    value, grad = jax.value_and_grad(criteria.logistic)(a, data)
    assert value.dtype == dtype
    np.testing.assert_allclose(value, (1000 + 1000 + 0 + 0) / 4, rtol=1e-6)
    # Gradient (1/N) sum x_n (s(z_n) - y_n) = (1000 * 1 + (-1000) * (-1) + 0 + 0) / 4.
    np.testing.assert_allclose(grad, [500.0], rtol=1e-6)


@pytest.mark.parametrize("criterion", [criteria.least_squares, criteria.ridge, criteria.logistic])
def test_float32_in_float32_out_and_close_to_float64(criterion, regression_data, binary_data):
    data = binary_data if criterion is criteria.logistic else regression_data
    a = jax.random.normal(jax.random.key(7), (data.X.shape[1],))
    data32 = jax.tree_util.tree_map(lambda x: jnp.asarray(x, jnp.float32), data)
    value32, grad32 = jax.value_and_grad(criterion)(a.astype(jnp.float32), data32)
    value64, grad64 = jax.value_and_grad(criterion)(a, data)
    assert value32.dtype == grad32.dtype == jnp.float32
    np.testing.assert_allclose(value32, value64, rtol=1e-5)
    np.testing.assert_allclose(grad32, grad64, rtol=1e-4, atol=1e-5)


def test_vmap_over_params_and_jit_equal_a_python_loop(regression_data):
    batch = jax.random.normal(jax.random.key(8), (5, regression_data.X.shape[1]))
    vmapped = jax.jit(jax.vmap(jax.grad(criteria.ridge), in_axes=(0, None)))(batch, regression_data)
    looped = np.stack([jax.grad(criteria.ridge)(a, regression_data) for a in batch])
    np.testing.assert_allclose(vmapped, looped, rtol=1e-12)


def test_column_targets_are_refused_not_broadcast(regression_data):
    X, y, _ = regression_data
    column = criteria.Data(X, y[:, None])
    with pytest.raises(ValueError, match=r"data\.y must have shape"):
        criteria.least_squares(jnp.zeros(X.shape[1]), column)


def test_the_gram_gradient_takes_one_matrix_vector_product():
    """Issue 14: autodiff of a^T G a computed G a and G^T a; with G symmetric the gradient 2 (G a - b) reuses
    the value's G a. XLA's count of the compiled value and gradient: 2 P^2 flops, not 4 P^2; equal values."""
    p = 50
    X = jax.random.normal(jax.random.key(0), (200, p))
    moments = criteria.gram(criteria.Data(X, X @ jnp.ones(p), jnp.asarray(0.0)))
    a = jax.random.normal(jax.random.key(2), (p,))
    cost = jax.jit(jax.value_and_grad(criteria.least_squares_gram)).lower(a, moments).compile().cost_analysis()
    assert 2 * p**2 <= cost["flops"] < 2.5 * p**2
    plain = lambda a, m: a @ (m.G @ a) - 2 * (a @ m.b) + m.c  # noqa: E731
    for ours, theirs in zip(jax.value_and_grad(criteria.least_squares_gram)(a, moments),
                            jax.value_and_grad(plain)(a, moments)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    np.testing.assert_allclose(jax.hessian(criteria.least_squares_gram)(a, moments), 2 * moments.G, rtol=1e-12)
