"""Your criterion, your data: four criteria the lab does not ship, written here as a user would, through the lab's
one path (problems.problem -> runs.CriterionRun -> sweep and edge_and_best), in float64 unless said otherwise."""

import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lab import datasets, descent, problems, reference, runs, stability



def huber(a, data, delta=10.0):
    r = data.y - data.X @ a
    return jnp.mean(jnp.where(jnp.abs(r) <= delta, 0.5 * r**2, delta * (jnp.abs(r) - 0.5 * delta)))


def poisson(a, data):
    z = data.X @ a
    return jnp.mean(jnp.exp(z) - data.y * z)


def log_cosh(a, data):
    r = data.X @ a - data.y
    return jnp.mean(jnp.logaddexp(r, -r) - jnp.log(2.0))


class Points(NamedTuple):
    X: jax.Array
    y: jax.Array


HIDDEN = 3
NET_SIZE = 2 * HIDDEN + HIDDEN + HIDDEN + 1  # W1 (2, H), b1 (H,), w2 (H,), b2


def tanh_net(a, data):
    """Mean squared error / 2 of a two-layer tanh network with 2 inputs and HIDDEN units."""
    W1, b1 = a[: 2 * HIDDEN].reshape(2, HIDDEN), a[2 * HIDDEN: 3 * HIDDEN]
    w2, b2 = a[3 * HIDDEN: 4 * HIDDEN], a[-1]
    return 0.5 * jnp.mean((jnp.tanh(data.X @ W1 + b1) @ w2 + b2 - data.y) ** 2)


def huber_data(dtype=jnp.float64):
    X, y, _ = datasets.diabetes(standardize=True)
    return problems.make_data(X.astype(dtype), y.astype(dtype))


def poisson_data():
    X = 0.5 * jax.random.normal(jax.random.key(0), (200, 3))
    rate = jnp.exp(0.3 + X @ jnp.array([0.5, -0.4, 0.2]))
    return problems.make_data(X, jax.random.poisson(jax.random.key(1), rate).astype(X.dtype))


def log_cosh_data(dtype=jnp.float64):
    X = jax.random.normal(jax.random.key(2), (200, 4))
    y = 1 + X @ jnp.array([1.0, -2.0, 0.5, 0.0]) + jax.random.t(jax.random.key(3), 3.0, (200,))  # heavy tails
    return problems.make_data(X.astype(dtype), y.astype(dtype))


def net_data():
    """A teacher network of the same shape plus noise: the student has an isolated minimum near it."""
    X = jax.random.uniform(jax.random.key(4), (100, 2), minval=-2, maxval=2)
    teacher = jax.random.normal(jax.random.key(7), (NET_SIZE,))
    clean = jnp.tanh(X @ teacher[: 2 * HIDDEN].reshape(2, HIDDEN) + teacher[2 * HIDDEN: 3 * HIDDEN]) @ \
        teacher[3 * HIDDEN: 4 * HIDDEN] + teacher[-1]
    return Points(X, clean + 0.05 * jax.random.normal(jax.random.key(8), (100,)))


# name: criterion, data, the stability rule that fits it, how its reference is found
CONVEX = {
    "huber": (huber, huber_data, "converging", "lbfgs"),  # bounded gradient; Newton from 0 sees a zero Hessian
    "poisson": (poisson, poisson_data, "bounded", "newton"),  # exp: past the edge the loss blows up
    "log_cosh": (log_cosh, log_cosh_data, "converging", "newton"),  # gradient tanh(r): bounded
}


@pytest.mark.parametrize("name", CONVEX)
def test_convex_reference_is_exact_and_gradient_descent_from_zero_reaches_it(name):
    criterion, make, _, method = CONVEX[name]
    problem = problems.problem(criterion, make(), method=method)
    assert int(problem.reference.status) == reference.CONVERGED
    assert float(problem.reference.gradient_norm) <= 1e-10
    gradient = jax.grad(criterion)(problem.reference.params, problem.data)
    assert float(jnp.linalg.norm(gradient)) == pytest.approx(float(problem.reference.gradient_norm), abs=1e-14)
    outcome, _ = runs.optimize(problem, 3000, 0.9 * problem.edge_learning_rate)
    scale = float(jnp.linalg.norm(problem.reference.params))
    assert not outcome.diverged and float(outcome.final_distance) <= 1e-4 * scale
    assert abs(float(outcome.final_gap)) <= 1e-12 * (1 + abs(float(problem.reference.value)))
    # the contraction measured on the run is the one the Hessian at a* predicts
    assert float(outcome.measured_rate) == pytest.approx(float(outcome.predicted_rate), rel=1e-3)


def test_the_lab_s_huber_and_poisson_are_the_users():
    from lab import criteria

    data, a = huber_data(), jnp.linspace(-1.0, 1.0, 11) * 20
    assert float(criteria.huber(a, data, delta=10.0)) == pytest.approx(float(huber(a, data)), rel=1e-14)
    data, a = poisson_data(), jnp.array([0.1, -0.2, 0.3, 0.05])
    assert float(criteria.poisson(a, data)) == pytest.approx(float(poisson(a, data)), rel=1e-14)
    penalised = data._replace(l2=0.5)
    assert float(criteria.poisson(a, penalised)) == pytest.approx(float(poisson(a, data)) + 0.5 * float(a @ a),
                                                                  rel=1e-14)


def test_poisson_gradient_and_hessian_are_the_formulas():
    data = poisson_data()
    a = jnp.array([0.1, -0.2, 0.3, 0.05])
    mean = jnp.exp(data.X @ a)
    np.testing.assert_allclose(jax.grad(poisson)(a, data), data.X.T @ (mean - data.y) / 200, rtol=1e-12)
    np.testing.assert_allclose(jax.jit(jax.hessian(poisson))(a, data), (data.X.T * mean) @ data.X / 200, rtol=1e-12)


@pytest.mark.parametrize("name", CONVEX)
def test_convex_local_edge_is_two_over_L_with_the_right_rule(name):
    criterion, make, rule, method = CONVEX[name]
    run = runs.CriterionRun(criterion, make(), 1000, stability_rule=rule, method=method, resample=False)
    edges = stability.edge_and_best(run, {"seed": np.array([0])}, find_best=False)
    assert bool(edges["bracketed"][0]) and edges.config["stability_rule"] == rule
    assert float(edges["edge_learning_rate"][0]) == pytest.approx(float(edges["gd_edge_learning_rate"][0]), rel=1e-2)


def test_float32_log_cosh_edge():
    run = runs.CriterionRun(log_cosh, log_cosh_data(jnp.float32), 1000, stability_rule="converging",
                            method="newton", resample=False)
    edges = stability.edge_and_best(run, {"seed": np.array([0])}, find_best=False)
    assert edges["L"].dtype == np.float32 and int(edges["reference_status"][0]) == reference.CONVERGED  # ||g|| <= 1e-5
    assert float(edges["edge_learning_rate"][0]) == pytest.approx(float(edges["gd_edge_learning_rate"][0]), rel=1e-2)


def test_a_gap_that_reached_the_tolerance_by_rounding_and_then_grew_is_not_converging():
    """Huber in float32 near a* (f - f* = 6e-5, two ulps of f* = 383): at 1.03 x 2/L the gap rounded to 0 at step 1,
    then grew to 1.1e-2, and 'converging' took the rounding for the tolerance: edges 1.02-1.04 x 2/L (a probe's
    finding). Reaching the tolerance counts where the run also ends at most where it started."""
    gap = jnp.array([6e-5, 0.0, 1e-3, 4e-3, 1.1e-2])
    outcome = dict(gap=gap, diverged=jnp.array(False), iterations=jnp.array(1), initial_gap=gap[0], final_gap=gap[-1])
    assert not bool(stability.converging(outcome))
    settled = dict(outcome, gap=gap.at[2:].set(3e-5), final_gap=jnp.array(3e-5))  # at rounding below its start
    assert bool(stability.converging(settled))


def test_network_reaches_a_minimum_and_its_local_edge_is_two_over_L():
    run = runs.CriterionRun(tanh_net, net_data(), 500, init_scale=0.5, size=NET_SIZE, resample=False)
    edges = stability.edge_and_best(run, {"seed": np.array([0])}, find_best=False)
    # seed 0: the search from its random initialisation reaches ||grad f|| <= 1e-10 at a strict minimum
    assert int(edges["reference_status"][0]) == reference.CONVERGED and float(edges["mu"][0]) > 0
    assert bool(edges["bracketed"][0])
    assert float(edges["edge_learning_rate"][0]) == pytest.approx(float(edges["gd_edge_learning_rate"][0]), rel=2e-2)


def test_the_wrong_reference_trap_raises():
    """The README's old pattern with another criterion's minimiser: refused, with the way out."""
    data = huber_data()
    X, y, _ = datasets.diabetes(standardize=True)
    with pytest.raises(ValueError, match=r"not a minimiser of huber.*lab.problems.problem"):
        descent.optimum(huber, reference.least_squares(X, y), data)


def test_a_reference_that_did_not_converge_is_refused_and_is_a_status_under_jit():
    data = huber_data()
    words = r"not found in \d+ iterations .*: newton ended with .*\(not_a_descent_direction\).*method='lbfgs'"
    with pytest.raises(ValueError, match=words):
        problems.problem(huber, data, method="newton")
    traced = jax.jit(lambda d: problems.problem(huber, d, method="newton").reference.status)(data)
    assert int(traced) == reference.NOT_DESCENT


def test_an_unbracketed_edge_is_never_reported_as_measured():
    run = runs.CriterionRun(log_cosh, log_cosh_data(), 1000, stability_rule="converging", method="newton",
                            resample=False)
    with pytest.warns(UserWarning, match=r"not bracketed at 1 of 1 point\(s\) \(1 stable at the top"):
        edges = stability.edge_and_best(run, {"seed": np.array([0])}, edge_bracket=(0.2, 0.6), find_best=False)
    # the end it lies beyond
    assert not edges["bracketed"][0] and edges["edge_above"][0] and edges["edge_bound"][0] == 0.6
    assert np.isnan(edges["edge"][0]) and np.isnan(edges["edge_learning_rate"][0])


def test_bootstrap_seeds_build_their_own_problems_inside_one_compiled_sweep():
    from lab import sweep

    run = runs.CriterionRun(log_cosh, log_cosh_data(), 200, method="newton")
    grid = sweep.sweep(run, {"learning_rate_over_edge": np.array([0.5, 0.9]), "seed": np.arange(3)}, progress=False)
    L = grid["L"][0]
    assert len(set(np.round(L, 12))) == 3  # three samples, three Hessians
    for seed in range(3):  # each the problem of its own resample, as a plain call builds it
        alone = run(learning_rate_over_edge=0.9, seed=seed)
        assert float(alone.L) == pytest.approx(float(grid["L"][1, seed]), rel=1e-12)
        np.testing.assert_allclose(grid["gap"][1, seed], alone.gap, rtol=1e-9, atol=1e-15)


def test_lbfgs_runs_and_each_optimizer_has_its_own_theory():
    problem = problems.problem(log_cosh, log_cosh_data(), method="newton")
    lbfgs, _ = runs.optimize(problem, 30, 1.0, optax.lbfgs)
    assert not lbfgs.diverged and float(lbfgs.final_gap) <= 1e-12
    assert np.isnan(float(lbfgs.theory_edge_learning_rate))  # no theory for L-BFGS: none is drawn
    assert int(lbfgs.predicted_iterations) == -1 and np.isnan(float(lbfgs.predicted_rate))
    heavy, _ = runs.optimize(problem, 200, 0.5 * problem.edge_learning_rate, optax.sgd, momentum=0.5)
    assert float(heavy.theory_edge_learning_rate) == pytest.approx(1.5 * float(problem.edge_learning_rate), rel=1e-12)


def test_a_criterion_that_fails_or_returns_a_vector_is_refused_before_any_run():
    data = log_cosh_data()
    with pytest.raises(ValueError, match="must return a real scalar"):
        problems.problem(lambda a, d: d.X @ a, data)
    with pytest.raises(ValueError, match="raised ZeroDivisionError"):
        problems.problem(lambda a, d: 1 / 0, data)
    with pytest.raises(ValueError, match=r"size \(the number of parameters\) is needed"):
        runs.CriterionRun(tanh_net, net_data(), 10, resample=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match="resample=True draws bootstrap samples of Data rows"):
            runs.CriterionRun(tanh_net, net_data(), 10, size=NET_SIZE)


def test_load_csv_refuses_what_it_cannot_read_naming_line_and_column(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("u,v,label\n1,2,0\n3,,1\n5,6,1\n")
    with pytest.raises(ValueError, match=r"line 3, column 'v': is empty \(a missing value"):
        problems.load_csv(path, "label")
    path.write_text("u,v,label\n1,2,0\n3,nan,1\n5,6,2\n")
    with pytest.raises(ValueError, match=r"NaN or infinite cells on line\(s\) \[3\]"):
        problems.load_csv(path, "label")
    path.write_text("u,v,label\n1,2,0\n3,4,1\n5,6,2\n")
    with pytest.raises(ValueError, match="binary labels 0 and 1"):
        problems.load_csv(path, "label", labels=True)
    with pytest.raises(ValueError, match="no column 'y'; its columns are u, v, label"):
        problems.load_csv(path, "y")
    X, y, names = problems.load_csv(path, "label", standardize=True)
    assert names == ["u", "v"] and y.tolist() == [0, 1, 2]
    np.testing.assert_allclose(X.mean(axis=0), 0, atol=1e-15)
    np.testing.assert_allclose(X.std(axis=0), 1, rtol=1e-12)


def test_results_convert_to_a_long_dataframe_like_the_csv(tmp_path):
    from lab import results, sweep

    grid = sweep.sweep(runs.LinearRegressionRun(n=20, d=2, num_steps=20),
                       {"learning_rate_over_edge": [0.5, 0.9], "seed": [0, 1, 2]}, progress=False)
    frame = results.to_dataframe(grid)
    assert len(frame) == 6 and list(frame.columns[:2]) == ["learning_rate_over_edge", "seed"]
    np.testing.assert_allclose(frame["final_gap"], grid["final_gap"].ravel())
    import pandas

    np.testing.assert_allclose(pandas.read_csv(results.to_csv(grid, tmp_path / "g.csv"))["final_gap"],
                               frame["final_gap"])


def test_newton_by_conjugate_gradients_equals_the_dense_solve(monkeypatch):
    data, start = poisson_data(), jnp.zeros(4)

    def traced():  # a new function each time: JAX caches traces by function
        return str(jax.make_jaxpr(lambda d, a: reference.newton.__wrapped__(poisson, d, a))(data, start))

    dense_program, dense = traced(), reference.newton.__wrapped__(poisson, data, start)
    monkeypatch.setattr(reference, "DENSE_LIMIT", 2)  # read while tracing: above 2 parameters, conjugate gradients
    sparse_program, sparse = traced(), reference.newton.__wrapped__(poisson, data, start)
    assert sparse_program.count("while") > dense_program.count("while")  # the conjugate-gradient loop is there
    assert int(sparse.status) == int(dense.status) == reference.CONVERGED
    np.testing.assert_allclose(sparse.params, dense.params, rtol=1e-10)



def test_the_reference_tolerance_and_iterations_reach_the_solver():
    """reference_tol and reference_max_iter are problems.problem's tol and max_iter, for each seed's reference."""
    with pytest.raises(ValueError, match=r"not found in 3 iterations \(.*\): lbfgs ended with"):
        runs.CriterionRun(log_cosh, log_cosh_data(), 20, method="lbfgs", reference_max_iter=3)
    run = runs.CriterionRun(log_cosh, log_cosh_data(), 20, method="lbfgs", reference_tol=1e-3, resample=False)
    norm = float(run(learning_rate_over_edge=0.5).reference_gradient_norm)
    assert 1e-10 < norm <= 1e-3  # stopped at the looser tolerance, not the default 1e-10
    for name, value in (("reference_tol", 0.0), ("reference_tol", -1e-6), ("reference_max_iter", 0),
                        ("reference_max_iter", 2.5)):
        with pytest.raises(ValueError, match=name):
            runs.CriterionRun(log_cosh, log_cosh_data(), 20, **{name: value})


def test_a_criterion_runs_title_names_its_rows_and_parameters():
    """Figure titles and tables said 'log cosh' alone: the data's N and the P the criterion fits come with it."""
    assert runs.CriterionRun(log_cosh, log_cosh_data(), 10).problem_name == "log cosh, N = 200, P = 5"
    points = Points(jnp.ones((7, 2)), jnp.zeros(7))  # not Data: no rows to name, its size given
    assert runs.CriterionRun(lambda a, d: jnp.sum(a**2), points, 10, size=3,
                             resample=False).problem_name.endswith(", P = 3")
