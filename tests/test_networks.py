"""The tanh network on flat parameters: outputs against the formula written out, sizes, the initial draw."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lab import networks


def test_outputs_are_the_formula_written_out_layer_by_layer():
    widths = (3, 4, 5, 2)
    a = jax.random.normal(jax.random.key(0), (networks.size(widths),))
    X = jax.random.normal(jax.random.key(1), (7, 3))
    W1, b1 = a[:12].reshape(3, 4), a[12:16]
    W2, b2 = a[16:36].reshape(4, 5), a[36:41]
    W3, b3 = a[41:51].reshape(5, 2), a[51:]
    expected = jnp.tanh(jnp.tanh(X @ W1 + b1) @ W2 + b2) @ W3 + b3
    np.testing.assert_allclose(networks.mlp(a, X, widths), expected, rtol=1e-14, atol=1e-14)
    assert networks.size(widths) == 53 and networks.layer_shapes(widths) == [(3, 4), (4, 5), (5, 2)]
    many = jax.vmap(networks.mlp, (0, None, None))(jnp.stack([a, 2 * a]), X, widths)  # composes under vmap
    np.testing.assert_allclose(many[0], expected, rtol=1e-14, atol=1e-14)


def test_the_initial_weights_have_variance_scale_squared_over_fan_in_and_zero_biases():
    widths = (400, 300, 2)
    a = np.asarray(networks.init(jax.random.key(3), widths, jnp.float64, scale=0.5))
    W1, b1, W2, b2 = np.split(a, np.cumsum([400 * 300, 300, 300 * 2]))
    assert W1.std() == pytest.approx(0.5 / np.sqrt(400), rel=0.02) and W2.std() == pytest.approx(
        0.5 / np.sqrt(300), rel=0.1)
    assert not b1.any() and not b2.any() and a.dtype == np.float64
    np.testing.assert_array_equal(networks.init(jax.random.key(3), widths, jnp.float64, scale=0.5), a)


@pytest.mark.parametrize("widths, a, X, match", [
    ((3,), np.zeros(3), np.zeros((2, 3)), "at least two positive integers"),
    ((3, 0, 1), np.zeros(3), np.zeros((2, 3)), "at least two positive integers"),
    ((3.5, 2), np.zeros(8), np.zeros((2, 3)), "at least two positive integers"),  # not truncated to 3
    ((True, True), np.zeros(2), np.zeros((2, 1)), "at least two positive integers"),
    ("32", np.zeros(8), np.zeros((2, 3)), "at least two positive integers"),
    ((3, 2), np.zeros(8), np.zeros(()), "X 3 columns"),
    ((3, 2), np.zeros(7), np.zeros((2, 3)), r"a must have shape \(8,\)"),
    ((3, 2), np.zeros(8), np.zeros((2, 4)), "X 3 columns"),
])
def test_bad_widths_or_shapes_are_refused(widths, a, X, match):
    with pytest.raises(ValueError, match=match):
        networks.mlp(jnp.asarray(a), jnp.asarray(X), widths)


def test_traced_widths_are_refused_and_float32_stays_float32_with_float64_on():
    with pytest.raises(ValueError, match="widths must be static"):
        jax.jit(networks.mlp)(jnp.zeros(8), jnp.zeros((2, 3)), jnp.array([3, 2]))
    assert jax.config.jax_enable_x64  # the suite's default: a float64 scale or divisor would promote
    assert networks.init(jax.random.key(0), (3, 4, 2), jnp.float32, scale=np.float64(0.5)).dtype == jnp.float32


def test_the_readmes_network_runs_with_mini_batches_on_data_rows():
    """On `Data` a network's P is its own, not X's columns: the README's example as printed. B = N rows without
    replacement is full-batch gradient descent, up to the order of the sum; B = 8 is not."""
    import re
    from pathlib import Path

    from lab import runs, sweep

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    code = re.search(r"\*\*A network of your own, with mini-batches\.\*\*.*?```python\n(.*?)```", readme, re.S).group(1)
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    run, batched = namespace["run"], namespace["grid"]
    full = sweep.sweep(runs.CriterionRun(run.criterion, run.data, 50, size=run.size, init_scale=0.5, start="random",
                                         resample=False, method="lbfgs"),
                       {"learning_rate_over_edge": np.array([0.5]), "seed": np.array([0])}, progress=False)
    assert run.size == 17 and full["reference_gradient_norm"].max() <= 1e-10
    # rtol 1e-6: each sweep's L-BFGS reference stops at its own gradient norm below 1e-10 (their 2/L differ by 1e-7)
    np.testing.assert_allclose(batched["gap"][0, 0, 1], full["gap"][0, 0], rtol=1e-6, atol=1e-14)
    assert np.max(np.abs(batched["gap"][0, 0, 0] / full["gap"][0, 0] - 1)) > 1e-3  # B = 8: stochastic steps
    assert not batched["diverged"].any() and batched["final_gap"][0, 0, 0] < batched["initial_gap"][0, 0, 0]


@pytest.mark.parametrize("call, match", [
    (lambda: networks.init(0, (2, 1)), "key must be a JAX PRNG key"),
    (lambda: networks.init(jax.random.key(0), (2, 1), jnp.int32), "dtype must be float32 or float64"),
    (lambda: networks.init(jax.random.key(0), (2, 1), scale=-0.5), "scale must be >= 0"),
    (lambda: networks.init(jax.random.key(0), (2, 1), scale=float("nan")), "scale"),
    # a batch of keys failed in jax.random.split's words, nested widths in NumPy's ("inhomogeneous shape")
    (lambda: networks.init(jax.random.split(jax.random.key(0), 3), (2, 1)),
     r"key must be one JAX PRNG key, got a batch of shape \(3,\): jax.vmap over the keys"),
    (lambda: networks.init(jax.random.split(jax.random.PRNGKey(0), 3), (2, 1)), r"a batch of shape \(3,\)"),
    (lambda: networks.init(jax.random.key(0), ((2, 3), 1)), r"widths must be \(inputs, ..., outputs\)"),
])
def test_bad_initialisation_arguments_are_refused(call, match):
    with pytest.raises(ValueError, match=match):
        call()
