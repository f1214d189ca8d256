"""lab.linalg: jnp.linalg's answers, and no batched LAPACK call in the lab's vmapped programs (the CPU deadlock)."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lab import linalg, minibatch, model_selection, reference, runs

FACTORISATIONS = {
    "qr": (linalg.qr, jnp.linalg.qr),
    "qr_r": (lambda m: linalg.qr(m, mode="r"), lambda m: jnp.linalg.qr(m, mode="r")),
    "svd": (lambda m: linalg.svd(m, full_matrices=False), lambda m: jnp.linalg.svd(m, full_matrices=False)),
    "singular_values": (lambda m: linalg.svd(m, compute_uv=False), lambda m: jnp.linalg.svd(m, compute_uv=False)),
    "eigh": (lambda m: linalg.eigh(m @ m.T), lambda m: jnp.linalg.eigh(m @ m.T)),
    "eigvalsh": (lambda m: linalg.eigvalsh(m @ m.T), lambda m: jnp.linalg.eigvalsh(m @ m.T)),
    "solve": (lambda m: linalg.solve(m @ m.T + jnp.eye(5, dtype=m.dtype), m[:, 0]),
              lambda m: jnp.linalg.solve(m @ m.T + jnp.eye(5, dtype=m.dtype), m[:, 0])),
    "solve_triangular": (lambda m: linalg.solve_triangular(jnp.triu(m[:, :5]) + 5 * jnp.eye(5, dtype=m.dtype), m[:, 5]),
                         lambda m: jax.scipy.linalg.solve_triangular(jnp.triu(m[:, :5]) + 5 * jnp.eye(5, dtype=m.dtype),
                                                                     m[:, 5])),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", FACTORISATIONS)
def test_each_factorisation_is_jnp_linalgs_under_nested_vmap(name, dtype):
    looped, batched = FACTORISATIONS[name]
    matrices = jax.random.normal(jax.random.key(0), (3, 4, 5, 7), dtype)
    got = jax.jit(jax.vmap(jax.vmap(looped)))(matrices)
    want = jax.jit(jax.vmap(jax.vmap(batched)))(matrices)  # jnp.linalg under vmap: one batched LAPACK call
    eps = np.finfo(dtype).eps
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=0, atol=100 * eps * float(np.abs(w).max()))


def _lapack_batch_dims(function, *args):
    """The num_batch_dims of every LAPACK call in the compiled program (CPU)."""
    text = jax.jit(function).lower(*args).as_text()
    calls = re.findall(r"custom_call @lapack_\w+\(.*?num_batch_dims = \"(\d+)\"", text)
    assert calls, "no LAPACK call found: the check would pass vacuously"
    return {int(dims) for dims in calls}


def test_the_vmapped_runs_call_lapack_one_matrix_at_a_time():
    """A sweep vmaps problem generation, the reference optimum and the Hessian's spectrum: each LAPACK call must see
    one matrix. Two batched calls at once deadlocked XLA's CPU thread pool (lab.linalg's docstring)."""
    kappas, seeds = np.ones(4), np.arange(4)
    for run in (runs.LinearRegressionRun(n=20, d=3, num_steps=5), runs.LinearRegressionRun(n=20, d=3, num_steps=5,
                                                                                             gram=True),
                runs.LogisticRun(n=20, d=3, num_steps=5)):
        assert _lapack_batch_dims(jax.vmap(lambda k, s: run(learning_rate_over_edge=0.5, kappa=k, seed=s)), kappas,
                                  seeds) == {0}


def test_the_vmapped_theory_calls_lapack_one_matrix_at_a_time():
    X = jax.random.normal(jax.random.key(1), (4, 30, 3))
    assert _lapack_batch_dims(jax.vmap(lambda x: minibatch.mean_square_edge(x, 5)), X) == {0}
    cross_validation = lambda x: model_selection.ridge_cv(x, x[:, 0], jnp.logspace(-3, 0, 3)).mean_validation
    assert _lapack_batch_dims(jax.vmap(cross_validation), X) == {0}


@pytest.mark.parametrize("name", FACTORISATIONS)
def test_each_factorisation_differentiates_as_jnp_linalgs(name):
    looped, batched = FACTORISATIONS[name]
    matrix = jax.random.normal(jax.random.key(2), (5, 7))
    loss = lambda f: lambda m: sum(jnp.sum(jnp.abs(x)) for x in jax.tree.leaves(f(m)))  # signs of vectors cancel
    np.testing.assert_allclose(jax.grad(loss(looped))(matrix), jax.grad(loss(batched))(matrix), rtol=1e-10, atol=1e-12)


def test_the_ridge_solution_differentiates_in_its_penalty():
    X, y = jax.random.normal(jax.random.key(3), (30, 5)), jax.random.normal(jax.random.key(4), (30,))
    norm = lambda l2: jnp.sum(reference.ridge(X, y, l2) ** 2)
    h = 1e-6
    assert float(jax.grad(norm)(0.1)) == pytest.approx(float((norm(0.1 + h) - norm(0.1 - h)) / (2 * h)), rel=1e-7)
