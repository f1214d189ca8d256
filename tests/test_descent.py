"""One run: gradient descent against the closed form and the exact predicted curve."""

import functools
import warnings

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np
import optax
import pytest

from lab import criteria, descent, plots, problems, reference, runs, spectrum, stability, sweep

from . import helpers

KAPPA = 100.0
NUM_STEPS = 1000


@pytest.fixture(scope="module")
def problem():
    """Least squares with kappa = 100: data, optimum (numpy's lstsq), spectrum, start a_0 = 0."""
    known = helpers.exact_kappa_regression(KAPPA, n=80, d=5)
    data = known.problem.data
    optimum = descent.optimum(criteria.least_squares, jnp.asarray(known.minimiser), data)
    return data, optimum, known.problem.spectrum, jnp.zeros(data.X.shape[1])


def gd(problem, fraction, num_steps=NUM_STEPS):
    data, optimum, spec, start = problem
    learning_rate = fraction * spectrum.stability_threshold(spec.L)
    return descent.gradient_descent(criteria.least_squares, data, start, optimum, learning_rate, num_steps)


def test_below_the_edge_gradient_descent_reaches_the_closed_form(problem):
    # At 0.9 * 2/L the contraction is 1 - 1.8 / kappa = 0.982: theory needs ~650 steps for 1e-10.
    trace = gd(problem, 0.9)
    assert not trace.diverged and trace.diverged_at == -1
    assert float(trace.gap[-1]) <= 1e-10
    assert float(trace.distance[-1]) <= 1e-5
    np.testing.assert_allclose(trace.params, problem[1].params, atol=1e-5)


def test_a_plain_optimum_that_is_not_the_minimum_is_warned_about(problem):
    """An `Optimum` of any point is accepted (only `descent.optimum` checks): a run that falls below its value,
    here 9e-3 below, measured gaps of -9e-3 and distances from the wrong point, silently."""
    data, optimum, spec, start = problem
    off = optimum.params + 0.1 / np.sqrt(optimum.params.size)
    wrong = descent.Optimum(off, criteria.least_squares(off, data))
    learning_rate = 0.9 * spectrum.stability_threshold(spec.L)
    with pytest.warns(UserWarning, match=r"fell 0.0\d+ below optimum.value .*it is not the minimum"):
        trace = descent.gradient_descent(criteria.least_squares, data, start, wrong, learning_rate, NUM_STEPS)
    assert float(trace.gap[-1]) == pytest.approx(-float(wrong.value - optimum.value), rel=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the true minimum, reached to rounding: no warning
        descent.gradient_descent(criteria.least_squares, data, start, optimum, learning_rate, NUM_STEPS)


def test_above_the_edge_gradient_descent_diverges_and_is_frozen(problem):
    trace = gd(problem, 1.1)
    assert trace.diverged
    assert 0 < int(trace.diverged_at) < NUM_STEPS
    assert np.all(np.isfinite(trace.gap)) and np.all(np.isfinite(trace.params))
    # Frozen: the recorded gap stops moving at the divergence step.
    t = int(trace.diverged_at)
    assert np.all(trace.gap[t:] == trace.gap[t - 1])
    assert trace.gap[t - 1] <= descent.DEFAULT_GROWTH * trace.gap[0]


def test_an_absurd_learning_rate_never_records_nan_or_inf(problem):
    trace = gd(problem, 1e12, num_steps=20)
    assert trace.diverged and int(trace.diverged_at) == 1
    assert np.all(np.isfinite(trace.gap)) and np.all(np.isfinite(trace.distance))
    np.testing.assert_array_equal(trace.params, problem[3])


@pytest.mark.parametrize("fraction", [0.3, 0.9, 1.05])
def test_predicted_curve_matches_the_measured_one(problem, fraction):
    data, optimum, spec, start = problem
    learning_rate = fraction * spectrum.stability_threshold(spec.L)
    num_steps = 200
    trace = gd(problem, fraction, num_steps)
    predicted = spectrum.predicted_gap(spec, learning_rate, start, optimum.params, num_steps)
    # Compare where the measured gap is far above the rounding of f(a) - f* (f* ~ 1e-2 here).
    trusted = (predicted > 1e-6) & (np.arange(num_steps + 1)
                                    < (int(trace.diverged_at) if trace.diverged else num_steps + 1))
    assert trusted.sum() >= 30
    np.testing.assert_allclose(trace.gap[trusted], predicted[trusted], rtol=1e-8)
    distance = spectrum.predicted_distance(spec, learning_rate, start, optimum.params, num_steps)
    np.testing.assert_allclose(trace.distance[trusted], distance[trusted], rtol=1e-8)


def test_a_new_learning_rate_does_not_recompile(problem):
    gd(problem, 0.5, 50)
    with helpers.lowerings() as lowered:
        gd(problem, 0.7, 50)
        gd(problem, 0.123, 50)
    assert not lowered


def test_gradient_descent_from_zero_finds_the_minimum_norm_solution():
    # N < D: infinitely many interpolants; GD from 0 stays in the row space and picks the shortest.
    known = helpers.underdetermined(n=10, d=30)
    data, target = known.problem.data, jnp.asarray(known.minimiser)  # pinv(A) y, by numpy
    optimum = descent.optimum(criteria.least_squares, target, data)
    spec = known.problem.spectrum  # least squares: the Hessian is the same everywhere
    positive = spec.eigenvalues[spec.eigenvalues > 1e-9]
    learning_rate = spectrum.best_learning_rate(positive[-1], positive[0])
    trace = descent.gradient_descent(criteria.least_squares, data, jnp.zeros(31), optimum, learning_rate, 3000)
    np.testing.assert_allclose(trace.params, target, atol=1e-9)
    # Started elsewhere, GD interpolates too but keeps its null-space component: not the minimum norm.
    start = jax.random.normal(jax.random.key(2), (31,))
    other = descent.gradient_descent(criteria.least_squares, data, start, optimum, learning_rate, 3000)
    assert float(other.gap[-1]) <= 1e-12
    assert float(jnp.linalg.norm(other.params)) > float(jnp.linalg.norm(target)) + 0.1


def test_float32_gradient_descent_converges_to_float32_accuracy(problem):
    data, optimum, spec, start = problem
    to32 = lambda tree: jax.tree_util.tree_map(lambda x: jnp.asarray(x, jnp.float32), tree)  # noqa: E731
    trace = descent.gradient_descent(
        criteria.least_squares, to32(data), to32(start), to32(optimum), 0.9 * 2 / float(spec.L), NUM_STEPS
    )
    assert trace.gap.dtype == jnp.float32
    assert float(trace.distance[-1]) <= 1e-3
    assert float(trace.gap[-1]) <= 1e-5 * float(trace.gap[0])


def test_optax_adam_reaches_the_ridge_optimum():
    X, y = problems.regression(jax.random.key(3), 80, 4, 10.0)
    data = problems.make_data(X, y, l2=0.1)
    optimum = descent.optimum(criteria.ridge, reference.ridge(X, y, 0.1), data)
    trace = descent.run(
        criteria.ridge, data, jnp.zeros(5), optimum, 3000, optax.adam, learning_rate=0.01, b1=0.9, b2=0.999
    )
    assert not trace.diverged
    assert float(trace.distance[-1]) <= 1e-6


def test_gradient_descent_reaches_the_logistic_newton_reference():
    known = helpers.two_classes(n=100, d=2, separation=1.0, l2=0.01)
    data = known.problem.data
    optimum = descent.optimum(criteria.logistic, jnp.asarray(known.minimiser), data)  # Newton in numpy
    L = spectrum.spectrum(criteria.logistic, jnp.zeros(3), data).L  # logistic curvature is largest at a = 0
    trace = descent.gradient_descent(criteria.logistic, data, jnp.zeros(3), optimum, 1.0 / L, 2000)
    assert float(jnp.linalg.norm(jax.grad(criteria.logistic)(trace.params, data))) <= 1e-8


def test_a_schedule_function_is_refused_with_the_way_to_sweep_schedules(problem):
    data, optimum, _, start = problem
    with pytest.raises(ValueError, match="runs.Scheduled"):
        descent.run(criteria.least_squares, data, start, optimum, 5, optax.sgd,
                    learning_rate=optax.exponential_decay(0.5, 5, 0.1))


def test_a_value_the_optimizer_binds_and_the_run_sets_is_refused_not_replaced_in_silence(problem):
    """partial(optax.sgd, learning_rate=schedule) ran at the run's constant rate, bit for bit, while the optimizer's
    name still showed the schedule; a bound momentum beside a momentum axis ran the axis's values."""
    data, optimum, _, start = problem
    schedule = optax.cosine_decay_schedule(0.1, 20)
    for bound in (functools.partial(optax.sgd, learning_rate=schedule),
                  functools.partial(optax.sgd, learning_rate=1e-3),
                  functools.partial(functools.partial(optax.adam, learning_rate=1e-3), b1=0.5)):
        with pytest.raises(ValueError, match=r"optimizer binds learning_rate=.*runs.Scheduled"):
            descent.run(criteria.least_squares, data, start, optimum, 20, bound, learning_rate=0.1)
        with pytest.raises(ValueError, match="optimizer binds learning_rate="):
            runs.LinearRegressionRun(n=30, d=2, num_steps=20, optimizer=bound)
    heavy = functools.partial(optax.sgd, momentum=0.9)
    with pytest.raises(ValueError, match=r"optimizer binds momentum=0.9, .* not both"):
        descent.run(criteria.least_squares, data, start, optimum, 20, heavy, learning_rate=0.1, momentum=0.5)
    with pytest.raises(ValueError, match=r"optimizer binds momentum=0.9, .* not both"):  # inside a schedule too
        descent.run(criteria.least_squares, data, start, optimum, 20, runs.Scheduled(heavy, 20), learning_rate=0.1,
                    momentum=0.5)
    run = runs.LinearRegressionRun(n=30, d=2, num_steps=20, optimizer=heavy)
    assert "momentum" not in run.axis_names  # bound: not a sweep's to vary
    with pytest.raises(ValueError, match="momentum"):
        sweep.sweep(run, {"learning_rate_over_edge": np.array([0.5]), "momentum": np.array([0.0, 0.5])},
                    progress=False)
    # bound alone, or set alone, it runs as before
    alone = descent.run(criteria.least_squares, data, start, optimum, 20, heavy, learning_rate=0.1)
    given = descent.run(criteria.least_squares, data, start, optimum, 20, optax.sgd, learning_rate=0.1, momentum=0.9)
    np.testing.assert_array_equal(alone.gap, given.gap)


def test_a_run_continued_from_its_optimizer_state_is_the_same_run():
    """Adam for 30 steps = 12 steps, then 18 more from Trace.params and Trace.opt_state (moments and count)."""
    known = helpers.chosen_spectrum()
    problem = known.problem
    args = (problem.criterion, problem.data)
    whole = descent.run(*args, problem.start, problem.reference, 30, optax.adam, learning_rate=0.05)
    first = descent.run(*args, problem.start, problem.reference, 12, optax.adam, learning_rate=0.05, return_state=True)
    assert whole.opt_state is None  # kept only when asked: a Trace stays arrays, sweepable
    second = descent.run(*args, first.params, problem.reference, 18, optax.adam, learning_rate=0.05,
                         opt_state=first.opt_state)
    np.testing.assert_allclose(second.params, whole.params, rtol=1e-13)
    np.testing.assert_allclose(np.concatenate([first.gap[:-1], second.gap]), whole.gap, rtol=1e-13)
    restarted = descent.run(*args, first.params, problem.reference, 18, optax.adam, learning_rate=0.05)
    assert not np.allclose(restarted.params, whole.params, rtol=1e-6)  # a fresh state is another run


def test_a_run_on_constants_composes_under_jit_vmap_and_eval_shape():
    """Closed-over concrete data and start inside a trace: the eager checks step aside instead of failing."""
    known = helpers.chosen_spectrum()
    problem = known.problem

    def final_gap(learning_rate):
        return descent.run(problem.criterion, problem.data, problem.start, problem.reference, 20,
                           learning_rate=learning_rate).gap[-1]

    eager = [float(final_gap(rate)) for rate in (0.001, 0.01)]
    np.testing.assert_allclose(jax.vmap(final_gap)(jnp.array([0.001, 0.01])), eager, rtol=1e-12)
    np.testing.assert_allclose(jax.jit(final_gap)(0.01), eager[1], rtol=1e-12)
    assert jax.eval_shape(final_gap, 0.01).shape == ()


def _uncentred(seed, offset, scale=1.0):
    """Least squares written by hand on data whose target is not centred: ||a*|| about the offset."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(100 if seed == 7 else 200, 4))
    X[:, 1] *= 3
    y = scale * rng.normal(size=X.shape[0]) + X @ rng.normal(size=4) + offset
    return problems.problem(lambda a, data: jnp.mean((data.y - data.X @ a) ** 2), problems.make_data(X, y))


def _noisy_float32_and_float64():
    """Least squares with f* = 1510 and f(0) - f* = 172: float32's eps |f*| is 1.0e-6 of the initial gap."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(200, 5)) * np.array([1, 1, 2, 0.2, 3])
    y = X @ rng.normal(size=5) + 40 * rng.normal(size=200)
    return [problems.problem(criteria.least_squares, problems.make_data(X.astype(d), y.astype(d), intercept=False))
            for d in (np.float32, np.float64)]


def test_iterations_to_a_tolerance_within_f_rounding_are_flagged_warned_and_drawn_as_such():
    """At tolerance 1e-6 the float32 target gap is 1 eps |f*|: rounding crossed it at 786 iterations where float64
    takes 842, silently. Now flagged and warned (optimize, sweep, the figure's title); at 100 eps |f*| the
    flag is set and float32 counts float64's iterations."""
    single, double = _noisy_float32_and_float64()
    learning_rate = 0.9 * float(double.edge_learning_rate)
    with pytest.warns(UserWarning, match="not told apart from rounding"):
        early, _ = runs.optimize(single, 1200, learning_rate, tolerance=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exact, _ = runs.optimize(double, 1200, learning_rate, tolerance=1e-6)
        loose = 100 * np.finfo(np.float32).eps * abs(float(double.reference.value)) / float(exact.initial_gap)
        resolved, _ = runs.optimize(single, 1200, learning_rate, tolerance=loose)
        counted, _ = runs.optimize(double, 1200, learning_rate, tolerance=loose)
    assert not bool(early.iterations_resolved) and int(early.iterations) < 0.95 * int(exact.iterations)
    assert bool(exact.iterations_resolved) and bool(resolved.iterations_resolved)
    assert abs(int(resolved.iterations) - int(counted.iterations)) <= 1
    run = runs.CriterionRun(criteria.least_squares, single.data, 1200, resample=False)
    with pytest.warns(UserWarning, match=r"10 eps \|f\*\| of 0 for 2 of 2 runs \(float32\)"):
        grid = sweep.sweep(run, {"learning_rate_over_edge": np.array([0.5, 0.9]), "seed": np.array([0])},
                           progress=False)
    figure = plots.iterations_vs_learning_rate(grid)
    assert "2 of 2 runs: tolerance within float32's rounding of f" in figure.axes[0].get_title()
    plt.close(figure)


def test_rounding_near_a_star_is_neither_a_divergence_nor_a_rate():
    """A start at a* whose gap rounds to -2e-13 (f* = 1e4) counted as diverged at t = 0; a run started 1e-3 from an
    a* of norm 1e3 sat on a floor of 3e-13 that measured_rate read as the rate 1 (0.83 predicted), and the edge
    search's best learning rate on such data was 0.044 for 2/(L + mu) = 0.130, reported as measured."""
    at_optimum = _uncentred(18, 0.0, scale=100.0)
    with pytest.warns(UserWarning, match="initial_gap = 0 lies within"):  # no gap to count iterations on
        outcome, _ = runs.optimize(at_optimum, 100, 0.5 * at_optimum.edge_learning_rate,
                                   start=at_optimum.reference.params)
    assert not bool(outcome.diverged) and int(outcome.diverged_at) == -1
    problem = _uncentred(7, 1000.0)
    L, mu = float(problem.spectrum.L), float(problem.spectrum.mu)
    outcome, _ = runs.optimize(problem, 300, 2 / (L + mu), start=problem.reference.params + 1e-3)
    assert float(outcome.measured_rate) == pytest.approx((L - mu) / (L + mu), rel=1e-3)
    edges = stability.edge_and_best(runs.CriterionRun(problem.criterion, problem.data, 400, resample=False),
                                    {"seed": np.array([0])})
    assert float(edges["best_learning_rate"][0]) == pytest.approx(2 / (L + mu), rel=5e-3)  # the README's 0.4 %


def test_a_start_below_the_rounding_floor_has_no_rate_not_a_perfect_one():
    """With the floor at 1e3 eps ||a*||, a float32 start 0.02 from an a* of norm 200 lay below it: the rate read 0.0,
    a perfect contraction the best-rate search would have chosen; now NaN. 0 stays the one-step reach of the floor."""
    curve = jnp.asarray(0.0224 * 0.818 ** np.arange(50), jnp.float32)
    assert float(runs.measured_rate(curve, -1, jnp.float32(2.0))) == pytest.approx(0.818, rel=1e-4)
    assert np.isnan(runs.measured_rate(curve, -1, jnp.float32(200.0)))
    assert np.isnan(runs.measured_rate(curve, -1, jnp.float32(20.0)))  # the floor within a decade: next test
    one_step = jnp.asarray([1.0, 1e-30, 1e-30], jnp.float64)
    assert float(runs.measured_rate(one_step, -1, 1.0)) == 0.0
    # a run that diverged at its first step, or whose next distance is NaN, read the rate 0 too: no rate
    assert np.isnan(runs.measured_rate(jnp.asarray([1.0, 0.5, 0.25]), 1, 1.0))
    assert np.isnan(runs.measured_rate(jnp.asarray([1.0, np.nan, np.nan]), -1, 1.0))


def test_a_clean_part_that_meets_the_floor_before_falling_a_decade_is_a_transient_not_a_rate():
    """float32 next to an a* of norm 150 (a floor of 0.018) from a probe start 0.033 away: the fast modes fell below the
    floor in a few steps, and their rate (0.71) stood for a run contracting by 0.996, chosen as the best learning
    rate without a warning. With the floor far below, the same curve's slow mode is measured."""
    t = np.arange(400)
    curve = jnp.asarray(np.sqrt((0.03 * 0.3**t) ** 2 + (0.01 * 0.996**t) ** 2), jnp.float32)
    assert np.isnan(runs.measured_rate(curve, -1, jnp.float32(150.0)))
    assert float(runs.measured_rate(curve, -1, jnp.float32(0.01))) == pytest.approx(0.996, rel=1e-4)


def test_momentum_passing_through_a_star_has_no_rate_not_the_rate_of_its_zero():
    """At kappa = 1 heavy ball can hit a* exactly and leave it: the distance 2.24, 1e-15, 1.12, 0.56, ... read the
    rate 0.0 (beta 0.5) or 0.60 (beta 0.9, a zero at step 2) where the run contracts by sqrt(beta) (a probe's
    finding); now NaN. A curve that stays at the floor keeps its rate."""
    problem = problems.regression_problem(jax.random.key(0), 50, 4, 1.0)
    start = runs.probe_start(problem)
    for learning_rate, beta in ((0.5, 0.5), (0.2, 0.9)):
        outcome, _ = runs.optimize(problem, 200, learning_rate, optax.sgd, momentum=beta, start=start)
        assert float(jnp.min(outcome.distance[1:4])) < 1e-12 < float(outcome.distance[4])  # through a*, and back
        assert np.isnan(outcome.measured_rate) and np.isnan(outcome.rate_resolution)
    plain, _ = runs.optimize(problem, 200, 0.3, optax.sgd, start=start)  # 1 - 0.3 L = 0.4, L = 2
    assert float(plain.measured_rate) == pytest.approx(0.4, rel=1e-4)


def test_heavy_ball_oscillating_on_the_rounding_floor_keeps_its_rate():
    """Converged heavy ball oscillates on the floor (peaks 2.4 times it at beta 0.9), which read as a run that left
    a*: measured_rate NaN for every converged run of a sweep at beta 0.9 (4 of 14 at 0.5) once long enough."""
    problem = problems.regression_problem(jax.random.key(0), 100, 5, 30.0)
    learning_rate = 0.5 * float(problem.edge_learning_rate)
    for beta in (0.5, 0.9):
        outcome, _ = runs.optimize(problem, 1500, learning_rate, optax.sgd, momentum=beta)
        assert float(outcome.final_distance) < 1e-12  # on the floor
        assert float(outcome.measured_rate) == pytest.approx(float(outcome.predicted_rate), rel=2e-3)
    # crossing the floor at a trough of peaks 7 to 21 times it, 38 steps: a two-point rate 6 % off (0.750 for 0.707)
    # is no rate
    identity = problems.regression_problem(jax.random.key(0), 50, 4, 1.0)
    outcome, _ = runs.optimize(identity, 1500, 0.35, optax.sgd, momentum=0.5, start=runs.probe_start(identity))
    assert np.isnan(outcome.measured_rate) and float(outcome.predicted_rate) == pytest.approx(np.sqrt(0.5))


def test_the_rate_resolution_of_a_float64_curve_at_the_floor_in_60_steps_is_3e_5():
    """The example in `runs.rate_resolution`'s docstring and the README's Outcome fields."""
    rate = (descent.ROUNDING * np.finfo(np.float64).eps) ** (1 / 60)  # the clean tail's floor after 60 steps
    curve = jnp.maximum(jnp.asarray(rate ** np.arange(200.0)), 1e-17)
    assert f"{float(runs.rate_resolution(curve, -1, 0.0)):.0e}" == "3e-05"
    assert float(runs.measured_rate(curve, -1, 0.0)) == pytest.approx(rate, rel=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_rate_resolution_bounds_what_rounding_does_to_the_measured_rate(dtype):
    """Gradient descent on (a - a*)^T H (a - a*) / 2 computed in the dtype (a* of norm 10; H = I, and kappa = 100,
    whose slow rate 0.994 lets the roundings of many steps add up): rounding moves the rate measured on the run's
    window by at most its `rate_resolution`, against the same window of the exact curve (the closed form
    (I - eta H)^t (a_0 - a*) in float64). The best learning rate's search takes it as the rates' noise: with 1e3 eps
    instead, a rate still falling at the bracket's top end (kappa = 1) read 1e-5 low there once, and the search
    reported a measured best inside the bracket."""
    ratios, eps = [], float(np.finfo(dtype).eps)
    # (the Hessian's eigenvalues, the learning rate): rates 0.2, 0.5 and 0.9 on H = I, 0.994 at kappa = 100
    cases = [(np.ones(5), 0.8), (np.ones(5), 0.5), (np.ones(5), 0.1), (np.geomspace(0.01, 1, 5), 0.6)]
    for curvatures, learning_rate in cases:
        for seed in range(12):
            rng = np.random.default_rng(seed)
            basis = np.linalg.qr(rng.normal(size=(5, 5)))[0]
            hessian = (basis * curvatures) @ basis.T
            star = 10 * (v := rng.normal(size=5)) / np.linalg.norm(v)
            a, distances = (star + 0.5 * rng.normal(size=5)).astype(dtype), []
            start = a.astype(np.float64) - star
            for _ in range(2000):
                distances.append(np.linalg.norm(a.astype(np.float64) - star))
                a = (a - np.asarray(learning_rate, dtype) * (hessian.astype(dtype) @ (a - star.astype(dtype))))
            contraction = (1 - learning_rate * curvatures)[:, None] ** np.arange(2000)
            exact = np.linalg.norm(basis @ (contraction * (basis.T @ start)[:, None]), axis=0)
            curve = jnp.asarray(distances, dtype)
            floor = 1e3 * eps * max(distances[0], 10.0)  # the window measured_rate reads: its clean part's half
            t1 = int(np.argmax(np.asarray(curve) <= floor)) - 1 if (np.asarray(curve) <= floor).any() else 1999
            t0 = t1 // 2
            error = abs(float(runs.measured_rate(curve, -1, 10.0)) / (exact[t1] / exact[t0]) ** (1 / (t1 - t0)) - 1)
            resolution = float(runs.rate_resolution(curve, -1, 10.0))
            assert 10 * eps < resolution <= 1e-2  # far above the rate's own rounding
            ratios.append(error / resolution)
    assert max(ratios) <= 1 and max(ratios) > 0.1  # a bound, and not a loose one
    assert float(runs.rate_resolution(jnp.asarray([1.0, 1e-30, 1e-30]), -1, 1.0)) == 0.0  # the rate 0: exact
    assert np.isnan(runs.rate_resolution(jnp.asarray([1e-20, 1e-21]), -1, 1.0))  # no rate: no resolution


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_an_optimum_must_be_a_minimiser_to_rounding_in_distance_not_only_in_gradient(dtype):
    kappa = 1e6 if dtype == "float64" else 1e4
    X, y = problems.regression(jax.random.key(0), 200, 10, kappa, dtype=dtype)
    data = problems.make_data(X, y)
    exact = reference.least_squares(X, y)
    assert descent.optimum(criteria.least_squares, exact, data).params is exact  # a closed form: accepted
    spec = spectrum.spectrum(criteria.least_squares, exact, data)
    softest = spec.eigenvectors[:, 0]
    # Along the softest direction the gradient is mu ||a - a*||: below the gradient bound, yet far from a*.
    eps = float(jnp.finfo(dtype).eps)
    off = 0.5 * np.sqrt(eps) * (1 + float(jnp.abs(criteria.least_squares(exact, data)))) / float(spec.mu)
    away = exact + jnp.asarray(off, dtype) * softest
    assert float(jnp.linalg.norm(jax.grad(criteria.least_squares)(away, data))) < np.sqrt(eps)  # the old check passed
    assert off > 1e-4 * (1 + float(jnp.linalg.norm(exact)))  # 5e-4 relative in float64
    with pytest.raises(ValueError, match=r"not a minimiser of least_squares.*quadratic model lies .* away.*problem"):
        descent.optimum(criteria.least_squares, away, data)


def test_an_optimum_at_a_saddle_point_is_refused():
    data = criteria.Data(jnp.zeros((1, 2)), jnp.zeros(1))

    def saddle(a, data):
        return a[0] ** 2 - a[1] ** 2 + jnp.sum(data.y)

    with pytest.raises(ValueError, match=r"not a minimiser of saddle.*eigenvalue -2.*saddle point or a maximum"):
        descent.optimum(saddle, jnp.zeros(2), data)


def test_the_labs_own_references_pass_the_optimum_check_and_a_non_finite_hessian_is_named():
    """The Newton correction refused the README network's L-BFGS reference (f* = 1.6e-16, ||grad f|| <= 1e-10 as
    `problem` asks): its flat directions' rounding components, divided by eigenvalues of 1e-13 L, read as 2e-5 away.
    Below the solvers' tolerance only a saddle is refused; and a Hessian of inf and NaN was numpy's LinAlgError."""
    from lab import networks

    widths = (2, 4, 1)
    X = jax.random.uniform(jax.random.key(0), (48, 2), jnp.float64, -2, 2)
    teacher = networks.init(jax.random.key(10), widths, jnp.float64, 1.0)
    data = problems.make_data(X, networks.mlp(teacher, X, widths)[:, 0], intercept=False)

    def network(a, data):
        return 0.5 * jnp.mean((networks.mlp(a, data.X, widths)[:, 0] - data.y) ** 2)

    start = networks.init(jax.random.key(1), widths, jnp.float64, 1.0)
    with warnings.catch_warnings():  # its Hessian changes along the correction: a degenerate minimum, warned
        warnings.simplefilter("ignore")
        found = problems.problem(network, data, start, method="lbfgs", max_iter=20000).reference
    assert descent.optimum(network, found.params, data).params is found.params

    def kink(a, data):
        return jnp.sum(a**2) + jnp.sum(jnp.abs(a) ** 1.5) + jnp.sum(data.y)

    with pytest.raises(ValueError, match="its Hessian there is not finite"):
        descent.optimum(kink, jnp.zeros(3), criteria.Data(jnp.zeros((1, 3)), jnp.zeros(1)))
