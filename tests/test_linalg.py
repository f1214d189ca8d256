"""lab.linalg: jnp.linalg's answers, and no batched LAPACK call in the lab's vmapped programs (the CPU deadlock)."""

import re
import warnings

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


@pytest.mark.parametrize("dtype, units", [("float32", 1e4), ("float64", 1e8)])
def test_a_duplicated_column_in_other_units_than_the_rest_still_gets_a_least_squares_fit(dtype, units):
    """Columns n1, n1 in units of 1e4 beside n2 in 1e-4 (rank 3 of 4 with the intercept): the raw SVD's third
    singular value is below its rounding, and the fit kept a rounding direction: training error 1.06 where least
    squares reaches 8.9e-5 (float32), cross-validation errors 1.5 against 1e-4. Now an exact least-squares fit
    (minimum norm in unit-norm columns, said in the warning), the fold errors those of a loop over the folds."""
    rng = np.random.default_rng(0)
    n1, n2 = rng.normal(size=(2, 50))
    y = 1 + n1 + n2 + 0.01 * rng.normal(size=50)
    X = np.column_stack([units * n1, units * n1, n2 / units]).astype(dtype)
    A = np.column_stack([np.ones(50), X.astype(float)])
    fit = lambda A, y: np.linalg.lstsq(A / np.linalg.norm(A, axis=0), y, rcond=None)[0] / np.linalg.norm(A, axis=0)
    best = np.mean((y - A @ fit(A, y)) ** 2)  # numpy in float64, on unit-norm columns (raw, lstsq fails too)
    assert not bool(linalg.resolves_minimum_norm(jnp.asarray(A, dtype)))
    with pytest.warns(UserWarning, match="minimum norm in unit-norm columns .* standardize the features"):
        a = np.asarray(reference.min_norm(X, y.astype(dtype)), float)
    with pytest.warns(UserWarning, match="rank 3 < 4 columns .* minimum norm in unit-norm columns"):
        assert np.mean((y - A @ np.asarray(reference.least_squares(X, y.astype(dtype)), float)) ** 2) == pytest.approx(
            best, rel=1e-3 if dtype == "float32" else 1e-9)
    assert np.mean((y - A @ a) ** 2) == pytest.approx(best, rel=1e-3 if dtype == "float32" else 1e-9)
    # a tiny penalty: the penalised QR divides rounding by its root along the null space (14 % above least squares)
    tiny = np.asarray(reference.ridge(X, y.astype(dtype), 1e-14 if dtype == "float32" else 1e-30), float)
    assert np.mean((y - A @ tiny) ** 2) == pytest.approx(best, rel=1e-3 if dtype == "float32" else 1e-9)
    folds = model_selection.ridge_cv(X, y.astype(dtype), np.array([0.0], dtype), k=5)
    errors = [np.mean((y[v] - A[v] @ fit(A[~v], y[~v])) ** 2)
              for v in (np.arange(50) // 10 == f for f in range(5))]
    assert float(folds.mean_validation[0]) == pytest.approx(np.mean(errors), rel=1e-3 if dtype == "float32" else 1e-7)
    # in like units the minimum-norm fit is computed in A's units, as before (numpy's pinv)
    alike = np.column_stack([n1, n1, n2])
    assert bool(linalg.resolves_minimum_norm(jnp.asarray(np.column_stack([np.ones(50), alike]), dtype)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # resolved: no warning
        np.testing.assert_allclose(reference.min_norm(alike.astype(dtype), y.astype(dtype)),
                                   np.linalg.pinv(np.column_stack([np.ones(50), alike])) @ y,
                                   rtol=1e-4 if dtype == "float32" else 1e-10)


def test_the_solvers_refuse_a_column_of_targets_and_a_penalty_they_cannot_use_and_nan_has_no_norm():
    """y (N, 1) broadcast to a (P, P) answer; penalty -1 gave NaN coefficients and 0 (penalised) 2e16; a column with
    NaN had norm 1, as if it were zero."""
    A, y = jax.random.normal(jax.random.key(5), (8, 4)), jax.random.normal(jax.random.key(6), (8,))
    for solve in (linalg.penalised_least_squares, linalg.solve_least_squares):
        with pytest.raises(ValueError, match=r"y must have shape \(8,\), .* got \(8, 1\): flatten it"):
            solve(A, y[:, None], 1.0)
        with pytest.raises(ValueError, match="penalty must be one number"):
            solve(A, y, -1.0)
    with pytest.raises(ValueError, match="penalty must be one number > 0, got 0.0: for penalty 0 use solve_least"):
        linalg.penalised_least_squares(A, y, 0.0)
    with pytest.raises(ValueError, match=r"A must be a matrix \(N, P\), got shape \(8,\)"):
        linalg.column_norms(y)
    norms = linalg.column_norms(jnp.array([[jnp.nan, 1.0, 0.0], [1.0, 1.0, 0.0]]))
    assert np.isnan(norms[0]) and float(norms[1]) == pytest.approx(np.sqrt(2)) and float(norms[2]) == 1.0
    np.testing.assert_allclose(jax.jit(linalg.solve_least_squares)(A, y, 0.0), np.linalg.lstsq(A, y, rcond=None)[0],
                               rtol=1e-12)  # traced penalty: no check to make, the same solve


def test_the_ridge_solution_differentiates_in_its_penalty():
    X, y = jax.random.normal(jax.random.key(3), (30, 5)), jax.random.normal(jax.random.key(4), (30,))
    norm = lambda l2: jnp.sum(reference.ridge(X, y, l2) ** 2)
    h = 1e-6
    assert float(jax.grad(norm)(0.1)) == pytest.approx(float((norm(0.1 + h) - norm(0.1 - h)) / (2 * h)), rel=1e-7)
