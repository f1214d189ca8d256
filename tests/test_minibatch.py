"""Mini-batch SGD: the exact mean-square map against every batch, its edge against rho = 1 and 2/L, and the
ensemble of stochastic runs against its predicted contraction."""

import itertools
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import optax.contrib
import pytest

from lab import criteria, descent, minibatch, problems, runs, sweep

N, P = 5, 3


@pytest.fixture(scope="module")
def X():
    rng = np.random.default_rng(0)
    return jnp.asarray(rng.normal(size=(N, P)) * np.array([1.0, 2.0, 0.5]))


def top_eigenvalue(X):
    return float(np.linalg.eigvalsh(2 / X.shape[0] * np.asarray(X).T @ np.asarray(X))[-1])


@pytest.mark.parametrize("replacement", [True, False], ids=["with", "without"])
@pytest.mark.parametrize("batch_size", [1, 2, 4])
def test_the_map_is_the_mean_over_every_batch(X, replacement, batch_size):
    """T_B(M) = E[(I - eta H_B) M (I - eta H_B)], the mean taken exactly over every possible batch."""
    learning_rate, rng = 0.3, np.random.default_rng(1)
    M = rng.normal(size=(P, P))
    M = M @ M.T
    draws = (itertools.product(range(N), repeat=batch_size) if replacement
             else itertools.combinations(range(N), batch_size))
    maps = [np.eye(P) - learning_rate * np.mean([2 * np.outer(X[i], X[i]) for i in rows], axis=0) for rows in draws]
    expected = np.mean([Q @ M @ Q for Q in maps], axis=0)
    T, V = minibatch.second_moment_map(X, learning_rate, batch_size, replacement)
    mapped = V @ (T @ (V.T @ M @ V).ravel()).reshape(P, P) @ V.T
    np.testing.assert_allclose(mapped, expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max())


def test_one_feature_by_hand():
    """P = 1: T_B(m) = m (1 - 2 eta h + eta^2 ((1 - c) h^2 + c mean h_i^2)), edge 2 h / ((1 - c) h^2 + c mean h_i^2)."""
    x = jnp.asarray(np.random.default_rng(2).normal(size=(7, 1)))
    h_i = 2 * np.asarray(x[:, 0]) ** 2
    h = h_i.mean()
    for replacement, c in ((True, 1 / 3), (False, (7 - 3) / (3 * 6))):
        assert float(minibatch.noise_weight(3, 7, replacement)) == pytest.approx(c, rel=1e-15)
        edge = 2 * h / ((1 - c) * h**2 + c * np.mean(h_i**2))
        assert float(minibatch.mean_square_edge(x, 3, replacement)) == pytest.approx(edge, rel=1e-13)
        rho, _ = minibatch.mean_square_rate(x, 0.1, 3, replacement)
        assert float(rho) == pytest.approx(1 - 0.2 * h + 0.01 * ((1 - c) * h**2 + c * np.mean(h_i**2)), rel=1e-13)


def test_the_full_batch_without_replacement_is_gradient_descent(X):
    assert float(minibatch.mean_square_edge(X, N, replacement=False)) == pytest.approx(2 / top_eigenvalue(X), rel=1e-12)
    assert float(minibatch.mean_square_edge(X, N, replacement=True)) < 0.99 * 2 / top_eigenvalue(X)


def test_where_rho_ties_the_full_batch_rate_is_gradient_descents_and_its_covariance_a_covariance():
    """There T_B's eigenvalues rho and -rho tie (the top and bottom modes contract by -r and r): the largest |value|
    picked -rho's eigenvector, of trace ~0, and M came out with eigenvalues of +-8e15 (a probe's finding)."""
    for seed in range(8):
        X = np.random.default_rng(seed).normal(size=(6, 3)) * [1.0, 0.5, 0.2]
        curvature = np.linalg.eigvalsh(2 / 6 * X.T @ X)
        kappa = curvature[-1] / curvature[0]
        rho, M = minibatch.mean_square_rate(X, 2 / (curvature[-1] + curvature[0]), 6, replacement=False)
        assert float(rho) == pytest.approx(((kappa - 1) / (kappa + 1)) ** 2, rel=1e-12)
        assert np.linalg.eigvalsh(np.asarray(M)).min() > -1e-12 and float(np.trace(M)) == pytest.approx(1, rel=1e-12)
    # kappa = 1: rho is P(P + 1)/2-fold, and eigh's vector any in its eigenspace (eigenvalues of +-3.6e16 in M)
    X = np.linalg.qr(np.random.default_rng(0).normal(size=(6, 3)))[0] * np.sqrt(3.0)  # (2/N) X^T X = I
    rho, M = minibatch.mean_square_rate(X, 0.9, 6, replacement=False)
    assert float(rho) == pytest.approx(0.1**2, rel=1e-12)
    np.testing.assert_allclose(np.asarray(M), np.eye(3) / 3, atol=1e-12)  # isotropic: every direction alike


@pytest.mark.parametrize("replacement", [True, False], ids=["with", "without"])
def test_the_edge_is_where_the_spectral_radius_crosses_one(X, replacement):
    edges = [float(minibatch.mean_square_edge(X, b, replacement)) for b in range(1, N + 1)]
    assert np.all(np.diff(edges) > 0) and edges[-1] <= 2 / top_eigenvalue(X) * (1 + 1e-12)
    for b, edge in zip(range(1, N + 1), edges):
        below, _ = minibatch.mean_square_rate(X, edge * (1 - 1e-6), b, replacement)
        above, _ = minibatch.mean_square_rate(X, edge * (1 + 1e-6), b, replacement)
        assert float(below) < 1 < float(above)
        for fraction in (0.1, 0.5, 0.9):  # stable all the way below the edge
            assert float(minibatch.mean_square_rate(X, fraction * edge, b, replacement)[0]) < 1


@pytest.mark.parametrize("replacement", [True, False], ids=["with", "without"])
def test_the_ensemble_mean_square_contracts_by_rho(replacement):
    """2048 runs of mini-batch SGD started with covariance M, T_B's top eigenvector: E||a_t - a*||^2 falls by rho
    per step, within 1e-3 relative (the experiment uses 4096 and finds 3e-5)."""
    rng = np.random.default_rng(0)
    n, p, batch_size, num_steps = 20, 3, 4, 60
    X = jnp.asarray(rng.normal(size=(n, p)) * np.array([1.0, 2.0, 0.5]))
    optimum = jnp.asarray(rng.normal(size=p))
    data = criteria.Data(X, X @ optimum)  # interpolating: y = X a*
    reference = descent.optimum(criteria.least_squares, optimum, data)
    learning_rate = 0.5 * minibatch.mean_square_edge(X, batch_size, replacement)
    rho, M = minibatch.mean_square_rate(X, learning_rate, batch_size, replacement)
    values, vectors = np.linalg.eigh(np.asarray(M))
    root = jnp.asarray(vectors * np.sqrt(np.maximum(values, 0)))

    def one(seed):
        key = jax.random.key(seed)
        start = optimum + root @ jax.random.normal(key, (p,))
        batches = descent.Minibatches(batch_size, jax.random.fold_in(key, 1), n, replacement)
        trace = descent.run(criteria.least_squares, data, start, reference, num_steps, learning_rate=learning_rate,
                            batches=batches)
        return trace.distance**2

    mean = jax.vmap(one)(jnp.arange(2048)).mean(axis=0)
    slope = np.polyfit(np.arange(num_steps + 1), np.log(np.asarray(mean)), 1)[0]
    assert np.exp(slope) == pytest.approx(float(rho), rel=1e-3)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_all_rows_without_replacement_is_the_full_gradient(X, dtype):
    X = X.astype(dtype)
    data = criteria.Data(X, X @ jnp.ones(P, dtype))
    reference = descent.optimum(criteria.least_squares, jnp.ones(P, dtype), data)
    full = descent.run(criteria.least_squares, data, jnp.zeros(P, dtype), reference, 50, learning_rate=0.05)
    batches = descent.Minibatches(N, jax.random.key(3), N, replacement=False)
    batched = descent.run(criteria.least_squares, data, jnp.zeros(P, dtype), reference, 50, learning_rate=0.05,
                          batches=batches)
    np.testing.assert_allclose(batched.distance, full.distance, rtol=100 * float(jnp.finfo(dtype).eps))


def test_a_smaller_batch_is_masked_not_resized(X):
    """B = 2 of `largest` = 4 rows drawn: the gradient is the criterion's on exactly the first 2 rows of the
    step's draw (the other 2 weigh 0), compared with the gradient on those rows taken directly."""
    data = criteria.Data(X, X @ jnp.ones(P))
    a = jnp.zeros(P)
    batches = descent.Minibatches(2, jax.random.key(0), 4, replacement=False)
    rows = jax.random.permutation(jax.random.fold_in(jax.random.key(0), 7), N)[:2]
    expected = jax.grad(criteria.least_squares)(a, criteria.Data(X[rows], data.y[rows]))
    got = descent.minibatch_gradient(criteria.least_squares, a, data, batches, 7)
    np.testing.assert_allclose(got, expected, rtol=1e-13)


@pytest.mark.parametrize("batches, data, match", [
    (descent.Minibatches(0, jax.random.key(0), 4), None, r"batches.size must hold integers in \[1, largest = 4\]"),
    (descent.Minibatches(5, jax.random.key(0), 4), None, r"batches.size must hold integers in \[1, largest = 4\]"),
    (descent.Minibatches(2.5, jax.random.key(0), 4), None, r"batches.size must hold integers"),
    (descent.Minibatches(2, jax.random.key(0), N + 1, replacement=False), None, "distinct rows per step"),
    (descent.Minibatches(2, jax.random.key(0), 0), None, "batches.largest must be"),
    (descent.Minibatches(2, jax.random.key(0), 4), "gram", "pass data as lab.criteria.Data"),
    ((2, 4), None, "batches must be a lab.descent.Minibatches"),
])
def test_bad_batches_are_refused_by_name(X, batches, data, match):
    data_ = criteria.Data(X, X @ jnp.ones(P))
    reference = descent.optimum(criteria.least_squares, jnp.ones(P), data_)
    if data == "gram":
        data_ = criteria.Gram(X.T @ X / N, X.T @ data_.y / N, data_.y @ data_.y / N)
        criterion = criteria.least_squares_gram
    else:
        criterion = criteria.least_squares
    with pytest.raises(ValueError, match=match):
        descent.run(criterion, data_, jnp.zeros(P), reference, 5, learning_rate=0.1, batches=batches)


def interpolating_run(X, **options):
    data = criteria.Data(X, X @ jnp.ones(X.shape[1]))
    return runs.CriterionRun(criteria.least_squares, data, 60, resample=False, largest_batch=X.shape[0], **options)


def test_batch_size_learning_rate_and_seed_are_one_sweep_equal_to_plain_calls(X):
    run = interpolating_run(X, replacement=False)
    axes = {"batch_size": np.array([1, 3, N]), "learning_rate_over_edge": np.array([0.3, 0.8]), "seed": np.arange(3)}
    grid = sweep.sweep(run, axes, progress=False)
    assert grid["gap"].shape == (3, 2, 3, 61)
    for i, b in enumerate(axes["batch_size"]):
        for k, seed in enumerate(axes["seed"]):
            alone = run(learning_rate_over_edge=0.8, batch_size=b, seed=seed)
            np.testing.assert_allclose(grid["gap"][i, 1, k], alone.gap, rtol=1e-10, atol=1e-300)
    full = runs.CriterionRun(criteria.least_squares, run.data, 60, resample=False)(learning_rate_over_edge=0.8)
    np.testing.assert_allclose(grid["gap"][2, 1, 0], full.gap, rtol=1e-10)  # B = N distinct rows: the full gradient
    assert np.all(grid["gap"][0, :, 0, 1:] != grid["gap"][0, :, 1, 1:])  # seeds draw different batches
    # no 2/L theory for stochastic runs: lab.minibatch has it
    assert np.all(np.isnan(grid["theory_edge_learning_rate"]))


@pytest.mark.parametrize("options, axes, match", [
    ({}, {"batch_size": [0]}, r"axis 'batch_size' must hold integers in \[1, largest_batch"),
    ({}, {"batch_size": [N + 1]}, r"axis 'batch_size' must hold integers in \[1, largest_batch"),
    ({"largest_batch": 0}, {"batch_size": [2]}, "needs mini-batches"),
])
def test_bad_batch_axes_are_refused_by_name(X, options, axes, match):
    data = criteria.Data(X, X @ jnp.ones(P))
    run = runs.CriterionRun(criteria.least_squares, data, 10, resample=False, **({"largest_batch": N} | options))
    with pytest.raises(ValueError, match=match):
        sweep.sweep(run, {"learning_rate_over_edge": [0.5], **axes}, progress=False)


def test_a_run_refuses_more_distinct_rows_than_the_data_hold(X):
    with pytest.raises(ValueError, match="distinct rows per step"):
        runs.CriterionRun(criteria.least_squares, criteria.Data(X, X @ jnp.ones(P)), 10, resample=False,
                          largest_batch=N + 1, replacement=False)


@pytest.mark.parametrize("batch_size, replacement, match", [
    (0, True, "integers >= 1"), (2.5, True, "integers >= 1"), (N + 1, False, f"from 1 to N = {N}"),
    (True, True, "must hold integers, got True"), ("2", True, "must hold integers, got '2'"),  # 1; a ufunc error
])
def test_the_theory_refuses_batch_sizes_no_sampler_has(X, batch_size, replacement, match):
    for call in (lambda: minibatch.mean_square_edge(X, batch_size, replacement),
                 lambda: minibatch.mean_square_rate(X, 0.1, batch_size, replacement)):
        with pytest.raises(ValueError, match=match):
            call()


def test_a_direct_call_with_a_batch_size_needs_mini_batches(X):
    run = runs.CriterionRun(criteria.least_squares, criteria.Data(X, X @ jnp.ones(P)), 10, resample=False)
    with pytest.raises(ValueError, match="batch_size needs mini-batches"):
        run(learning_rate_over_edge=0.5, batch_size=2)


def test_the_edge_search_warns_where_the_rows_gradients_at_the_optimum_set_a_noise_floor():
    """Diabetes with 0.13 % noise added to an exact fit: at B = 16 the measured edges read 0.33-0.82 x 2/L where
    SGD is stable to 0.9 x 2/L (its noise floor crossing the probe's start gap), with no word (a probe's finding)."""
    from lab import datasets, problems

    X, y, _ = problems.load_csv(datasets.DIABETES, "target", standardize=True)
    exact, _ = problems.interpolating(problems.make_data(X, y))
    noisy = exact._replace(y=exact.y + 0.1 * jax.random.normal(jax.random.key(5), exact.y.shape))
    n = exact.X.shape[0]  # the batches up to all rows without replacement (B = N is gradient descent: no noise)
    axes = {"learning_rate_over_edge": np.array([0.5]), "batch_size": np.array([16, n])}
    options = dict(resample=False, largest_batch=n, replacement=False)
    with pytest.warns(UserWarning, match=r"rows' gradients at a\* spread by .* over batches of 16, .* SGD's noise floor"):
        sweep.checked_axes(runs.CriterionRun(criteria.least_squares, noisy, 100, **options).near_optimum(), axes)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sweep.checked_axes(runs.CriterionRun(criteria.least_squares, exact, 100, **options).near_optimum(), axes)
        sweep.checked_axes(runs.CriterionRun(criteria.least_squares, noisy, 100, **options), axes)  # from a = 0


def test_an_optimizer_that_evaluates_f_gets_the_mini_batchs_f_beside_its_gradient():
    """A line search (optax.lbfgs) got the whole data's f and value_fn beside a mini-batch's gradient, a slope of
    another function; sophia read its objective as obj_fn, which no run passed (optax's error from the trace). This
    optimizer steps only where value, value_fn, obj_fn and grad describe one function: else NaN, a divergence."""
    def consistent(learning_rate):
        def update(updates, state, params, *, value, grad, value_fn, obj_fn, **extra):
            same = (jnp.allclose(jax.grad(value_fn)(params), grad, rtol=1e-12) & (value_fn(params) == value)
                    & (obj_fn(params) == value))
            return jnp.where(same, -learning_rate * updates, jnp.nan), state
        return optax.GradientTransformationExtraArgs(lambda params: optax.EmptyState(), update)

    X = jax.random.normal(jax.random.key(0), (40, 3))
    data = problems.make_data(X, X @ jnp.array([1.0, -2.0, 0.5]))
    problem = problems.problem(criteria.least_squares, data)
    batches = descent.Minibatches(4, jax.random.key(1), 4)
    outcome, _ = runs.optimize(problem, 50, 0.2 * problem.edge_learning_rate, consistent, batches=batches)
    assert not bool(outcome.diverged) and float(outcome.final_gap) < 0.5 * float(outcome.initial_gap)
    sophia, _ = runs.optimize(problem, 50, 0.05, optax.contrib.sophia)
    assert not bool(sophia.diverged) and float(sophia.final_gap) < float(sophia.initial_gap)
    # L-BFGS's line search calls value_fn with the extra arguments it names: obj_fn too, which it takes and ignores
    lbfgs, _ = runs.optimize(problem, 20, 1.0, optax.lbfgs, batches=descent.Minibatches(40, jax.random.key(1), 40))
    assert float(lbfgs.final_gap) < 1e-6 * float(lbfgs.initial_gap)  # the full batch: L-BFGS itself
