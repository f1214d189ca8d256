"""Forward and reverse mode by hand equal JAX's; their counted costs scale as the course says."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import autodiff as experiment
from lab import autodiff


@pytest.fixture(scope="module")
def chain():
    A = jax.random.normal(jax.random.key(0), (7, 5)) / 2
    return [autodiff.linear_tanh(A), autodiff.square(), autodiff.mean()], jax.random.normal(jax.random.key(1), (5,))


def test_hand_forward_mode_equals_jvp(chain):
    layers, x = chain
    for direction in jnp.eye(5):
        y, dy = autodiff.forward_mode(layers, x, direction)
        y_jax, dy_jax = jax.jvp(autodiff.compose(layers), (x,), (direction,))
        np.testing.assert_allclose(y, y_jax, rtol=1e-12)
        np.testing.assert_allclose(dy, dy_jax, rtol=1e-12, atol=1e-15)


def test_hand_reverse_mode_equals_vjp_and_grad(chain):
    layers, x = chain
    y, x_bar = autodiff.reverse_mode(layers, x, 1.0)
    _, pullback = jax.vjp(autodiff.compose(layers), x)
    np.testing.assert_allclose(x_bar, pullback(1.0)[0], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(x_bar, jax.grad(autodiff.compose(layers))(x), rtol=1e-12, atol=1e-15)
    # Every intermediate layer too: the Jacobian of h alone, column by column, both ways.
    h = layers[0]
    J = jax.jacfwd(h.apply)(x)
    np.testing.assert_allclose(jnp.stack([h.tangent(x, e) for e in jnp.eye(5)], axis=1), J, rtol=1e-12)
    np.testing.assert_allclose(jnp.stack([h.adjoint(x, e) for e in jnp.eye(7)]), J, rtol=1e-12)


@pytest.fixture(scope="module")
def counted():
    rows = {}
    for d in (1000, 10000):
        f, a = experiment.scalar_criterion(d, jnp.float64)
        g, t = experiment.many_outputs(d, jnp.float64)
        rows[d] = {name: autodiff.flops(fn, x) for name, fn, x in (
            ("f", f, a), ("grad", jax.grad(f), a), ("jacfwd", jax.jacfwd(f), a),
            ("g", g, t), ("g_jacrev", jax.jacrev(g), t), ("g_jacfwd", jax.jacfwd(g), t))}
    return rows


def test_reverse_mode_gradient_costs_a_small_multiple_of_the_function(counted):
    for d in (1000, 10000):
        assert counted[d]["grad"] <= 5 * counted[d]["f"]


def test_forward_mode_gradient_cost_grows_at_least_linearly(counted):
    assert counted[10000]["jacfwd"] >= 10 * counted[1000]["jacfwd"]
    assert counted[10000]["jacfwd"] >= 1000 * counted[10000]["f"]


def test_one_input_many_outputs_is_the_opposite(counted):
    for d in (1000, 10000):
        assert counted[d]["g_jacfwd"] <= 5 * counted[d]["g"]
    assert counted[10000]["g_jacrev"] >= 10 * counted[1000]["g_jacrev"]
    assert counted[10000]["g_jacrev"] >= 1000 * counted[10000]["g"]


def test_autodiff_experiment_writes_its_figure_and_numbers(tmp_path):
    numbers = experiment.reproduce(tmp_path, quick=True)
    timings = numbers.pop("timings")  # apart, so that a re-run leaves the results file as it was
    assert json.loads((tmp_path / "autodiff.json").read_text()) == numbers and "seconds" not in numbers
    assert json.loads((tmp_path / "autodiff_timings.json").read_text()) == timings
    assert set(timings["seconds"]) == {"f", "grad", "jacfwd"} and timings["samples"] == experiment.TIMED_SAMPLES
    assert all(len(timings["seconds"][name]) == len(timings["dimensions"][name]) >= 2 for name in timings["seconds"])
    assert (tmp_path / "autodiff.png").stat().st_size > 10_000
    assert max(numbers["chain"]["forward"], numbers["chain"]["reverse"]) <= 1e-12
    assert numbers["slopes"]["jacfwd"] > 1.8 and numbers["slopes"]["grad"] < 1.2


def test_integers_are_refused_not_differentiated_to_zero(chain):
    """mean()'s adjoint took x's dtype: an integer x had the gradient 0 (jax.grad refuses integers too)."""
    layers = [autodiff.square(), autodiff.mean()]
    for mode, seed in ((autodiff.reverse_mode, 1.0), (autodiff.forward_mode, jnp.ones(3))):
        with pytest.raises(ValueError, match="x must hold floats to differentiate, got int"):
            mode(layers, jnp.arange(1, 4), seed)
    np.testing.assert_allclose(autodiff.reverse_mode(layers, jnp.arange(1.0, 4.0), 1.0)[1], [2 / 3, 4 / 3, 2])
    with pytest.raises(ValueError, match="fn is lowered, not compiled"):  # 6 flops for the compiled program's 5
        autodiff.flops(jax.jit(jnp.sin).lower(1.0))


def test_flops_refuses_programs_whose_loops_and_library_calls_xla_does_not_count():
    """T = 10 and T = 1000 steps of a run counted alike (XLA counts a loop's body once), a 200 x 200 solve as 4e4
    flops for LU's 5e6 (a library call as almost nothing): a probe's finding."""
    def steps(v, count):
        return jax.lax.fori_loop(0, count, lambda i, x: jnp.sin(x) * 1.0001 + x, v)

    with pytest.raises(ValueError, match=r"holds a loop .* or a library call"):
        autodiff.flops(lambda v: steps(v, 100), jnp.ones(1000))
    with pytest.raises(ValueError, match=r"holds a loop .* or a library call"):
        autodiff.flops(lambda a: jnp.linalg.solve(a, jnp.ones(20)), jnp.eye(20))
    assert autodiff.flops(lambda a: a @ a, jnp.eye(20)) == pytest.approx(2 * 20**3, rel=0.01)  # no loop: counted
