"""Bad inputs raise a ValueError at the public API, eagerly, with a message naming the argument.

Robustness catalog, section A: shapes (X 1-D, y a column, lengths), NaN/inf,
empty data, complex data, integer parameters, negative or non-finite
penalties and steps, condition numbers below 1, non-binary labels, and
separable classes without a penalty. Integer X and y are accepted and become
floats. Sizes are tiny: the whole file runs in seconds.
"""

import dataclasses
import functools
import os
import re
import warnings

import jax
import jax.numpy as jnp
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
import pytest  # noqa: E402

from lab import (adam, atoms, cli, criteria, datasets, descent, files, minibatch, model_selection,  # noqa: E402
                 networks, plots, problems, reference, results, runs, spectrum, stability, sweep)

N, D = 20, 3
P = D + 1  # parameters with the intercept

NAN, INF = float("nan"), float("inf")


def _X():
    return np.random.default_rng(0).normal(size=(N, D))


def _y():
    """Binary 0/1 targets with both classes: valid for regression and for logistic regression."""
    return np.arange(N) % 2 * 1.0


# Every public function that takes raw (X, y), with valid values for its other arguments.
FITS = {
    "make_data": lambda X, y: problems.make_data(X, y),
    "reference.least_squares": lambda X, y: reference.least_squares(X, y),
    "reference.ridge": lambda X, y: reference.ridge(X, y, 0.1),
    "reference.min_norm": lambda X, y: reference.min_norm(X, y),
    "reference.logistic": lambda X, y: reference.logistic(X, y, l2=0.1),
}


def _with(array, index, value):
    array = array.copy()
    array[index] = value
    return array


def _ragged(X):
    rows = X.tolist()
    rows[1] = rows[1][:-1]
    return rows


# (id, bad (X, y) from valid (X, y), regex the message must match: it names the argument)
BAD_DATA = [
    ("X 1-D", lambda X, y: (X[:, 0], y), r"^X must be 2-D, got shape \(20,\)"),
    ("X 3-D", lambda X, y: (X[None], y), r"^X must be 2-D, got shape \(1, 20, 3\)"),
    ("X scalar", lambda X, y: (1.0, y), r"^X must be 2-D"),
    ("y column (N, 1)", lambda X, y: (X, y[:, None]), r"^y must be 1-D of shape \(N,\), got shape \(20, 1\)"),
    ("y row (1, N)", lambda X, y: (X, y[None, :]), r"^y must be 1-D"),
    ("y nested list column", lambda X, y: (X, y[:, None].tolist()), r"^y must be 1-D"),
    ("y scalar", lambda X, y: (X, 1.0), r"^y must be 1-D"),
    ("y shorter", lambda X, y: (X, y[:-1]), r"^X and y disagree on the number of samples: X has 20 rows, y has 19"),
    ("y longer", lambda X, y: (X, np.append(y, 1.0)),
     r"^X and y disagree on the number of samples: X has 20 rows, y has 21"),
    ("X nan", lambda X, y: (_with(X, (3, 1), NAN), y), r"^X contains 1 NaN or infinite"),
    ("X inf", lambda X, y: (_with(X, (0, 0), INF), y), r"^X contains 1 NaN or infinite"),
    ("X -inf", lambda X, y: (_with(X, (19, 2), -INF), y), r"^X contains 1 NaN or infinite"),
    ("X two nans", lambda X, y: (_with(X, (slice(0, 2), 0), NAN), y), r"^X contains 2 NaN or infinite"),
    ("y nan", lambda X, y: (X, _with(y, 5, NAN)), r"^y contains 1 NaN or infinite"),
    ("y inf", lambda X, y: (X, _with(y, 0, INF)), r"^y contains 1 NaN or infinite"),
    ("jax X nan", lambda X, y: (jnp.asarray(_with(X, (1, 1), NAN)), jnp.asarray(y)), r"^X contains 1 NaN"),
    ("0 samples", lambda X, y: (X[:0], y[:0]), r"^X is empty \(shape \(0, 3\)\)"),
    ("0 features", lambda X, y: (X[:, :0], y), r"^X is empty \(shape \(20, 0\)\)"),
    ("0 by 0", lambda X, y: (np.zeros((0, 0)), np.zeros(0)), r"^X is empty"),
    ("y empty", lambda X, y: (X, y[:0]), r"^y is empty"),
    ("X complex", lambda X, y: (X + 1j, y), r"^X is complex"),
    ("X complex jax", lambda X, y: (jnp.asarray(X, jnp.complex64), y), r"^X is complex"),
    ("X complex list", lambda X, y: ((X + 0j).tolist(), y), r"^X is complex"),
    ("y complex", lambda X, y: (X, y + 0j), r"^y is complex"),
    ("X strings", lambda X, y: (X.astype(str), y), r"^X has dtype <U\d+, not numbers"),
    ("X objects", lambda X, y: (X.astype(object), y), r"^X has dtype object, not numbers"),
    ("y strings", lambda X, y: (X, y.astype(str)), r"^y has dtype <U\d+, not numbers"),
    ("X ragged list", lambda X, y: (_ragged(X), y), r"^X is not a rectangular numeric array"),
    ("X None", lambda X, y: (None, y), r"^X is not a rectangular numeric array"),
]


@pytest.mark.parametrize("fit", FITS.values(), ids=FITS.keys())
@pytest.mark.parametrize("bad, match", [case[1:] for case in BAD_DATA], ids=[case[0] for case in BAD_DATA])
def test_bad_data_is_rejected_naming_the_argument(fit, bad, match):
    X, y = bad(_X(), _y())
    with pytest.raises(ValueError, match=match):
        fit(X, y)


@pytest.mark.parametrize("fit", FITS.values(), ids=FITS.keys())
def test_valid_data_is_accepted(fit):
    """The baseline the bad cases perturb: it must pass, or every rejection above proves nothing."""
    result = fit(_X(), _y())
    leaves = jax.tree_util.tree_leaves(result)
    assert all(bool(jnp.all(jnp.isfinite(leaf))) for leaf in leaves)


def test_make_data_converts_integers_to_float():
    X = np.arange(2 * N).reshape(N, 2) % 7
    y = np.arange(N) % 3
    data = problems.make_data(X, y)
    assert jnp.issubdtype(data.X.dtype, jnp.floating)
    assert jnp.issubdtype(data.y.dtype, jnp.floating)
    assert data.X.dtype == data.y.dtype == jnp.float64  # x64 is on in the tests
    np.testing.assert_array_equal(np.asarray(data.X[:, 1:]), X)
    np.testing.assert_array_equal(np.asarray(data.X[:, 0]), np.ones(N))
    np.testing.assert_array_equal(np.asarray(data.y), y)


@pytest.mark.parametrize(
    "X, y",
    [
        ([[1, 2], [3, 5], [4, 4], [0, 1]], [1, 0, 1, 0]),  # Python lists of ints
        (np.array([[1, 2], [3, 5], [4, 4], [0, 1]], np.int32), np.array([1, 0, 1, 0], np.int32)),
        (jnp.array([[1, 2], [3, 5], [4, 4], [0, 1]]), jnp.array([True, False, True, False])),  # bool labels
    ],
    ids=["lists", "int32", "jax int, bool y"],
)
def test_make_data_accepts_integer_and_bool_inputs(X, y):
    data = problems.make_data(X, y)
    assert jnp.issubdtype(data.X.dtype, jnp.floating) and jnp.issubdtype(data.y.dtype, jnp.floating)
    np.testing.assert_array_equal(np.asarray(data.y), [1.0, 0.0, 1.0, 0.0])


@pytest.mark.parametrize("name", [name for name in FITS if name != "make_data"])
def test_reference_accepts_integer_data_as_float(name):
    rng = np.random.default_rng(1)
    X = rng.integers(-5, 6, size=(N, D))  # the shape of _X(): Newton compiles once
    y = (X[:, 0] + rng.integers(-3, 4, size=N) > 0).astype(int)  # overlapping classes, both present
    fit = FITS[name]
    from_int = fit(X, y)
    from_float = fit(X.astype(float), y.astype(float))
    assert jnp.issubdtype(from_int.dtype, jnp.floating)
    np.testing.assert_allclose(np.asarray(from_int), np.asarray(from_float), rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------- parameters of the criteria


def _data():
    return problems.make_data(_X(), _y(), l2=0.1)


CRITERIA = {"least_squares": criteria.least_squares, "ridge": criteria.ridge, "logistic": criteria.logistic}


@pytest.mark.parametrize("criterion", CRITERIA.values(), ids=CRITERIA.keys())
@pytest.mark.parametrize(
    "a",
    [jnp.zeros(P - 1), jnp.zeros(P + 1), jnp.zeros(D), jnp.zeros((P, 1)), jnp.zeros((1, P)), jnp.zeros(())],
    ids=["P-1", "P+1", "D (no intercept)", "(P, 1)", "(1, P)", "scalar"],
)
def test_criteria_reject_params_of_wrong_shape(criterion, a):
    with pytest.raises(ValueError,
                       match=rf"^a must have shape \({P},\) to match data.X \({N}, {P}\), "
                             rf"got {re.escape(str(a.shape))}"):
        criterion(a, _data())


@pytest.mark.parametrize("criterion", CRITERIA.values(), ids=CRITERIA.keys())
def test_criteria_reject_a_column_y_instead_of_broadcasting(criterion):
    data = _data()
    column = data._replace(y=data.y[:, None])
    with pytest.raises(ValueError, match=rf"^data.y must have shape \({N},\)"):
        criterion(jnp.zeros(P), column)
    assert jnp.isfinite(criterion(jnp.zeros(P), data))  # the same call with y (N,) works


# ---------------------------------------------------------------- runs


def _run_setup():
    X, y = problems.regression(jax.random.key(0), N, D, 10.0)
    data = problems.make_data(X, y)
    return data, descent.optimum(criteria.least_squares, reference.least_squares(X, y), data)


RUNNERS = {
    "run": lambda data, init, opt: descent.run(criteria.least_squares, data, init, opt, 5, learning_rate=0.1),
    "gradient_descent": lambda data, init, opt: descent.gradient_descent(criteria.least_squares, data, init, opt,
                                                                         0.1, 5),
}


@pytest.mark.parametrize("runner", RUNNERS.values(), ids=RUNNERS.keys())
@pytest.mark.parametrize(
    "init",
    [jnp.zeros(P, int), jnp.zeros(P, jnp.int32), np.zeros(P, int), jnp.zeros(P, bool)],
    ids=["jnp int", "jnp int32", "numpy int", "bool"],
)
def test_runs_reject_non_float_init(runner, init):
    data, opt = _run_setup()
    with pytest.raises(ValueError, match=r"^init must be a floating-point array"):
        runner(data, init, opt)


@pytest.mark.parametrize("runner", RUNNERS.values(), ids=RUNNERS.keys())
@pytest.mark.parametrize("init", [jnp.zeros(P - 1), jnp.zeros(P + 1), jnp.zeros((P, 1))], ids=["P-1", "P+1", "(P, 1)"])
def test_runs_reject_init_of_wrong_shape(runner, init):
    data, opt = _run_setup()
    with pytest.raises(ValueError, match=rf"^init must have shape \({P},\)"):
        runner(data, init, opt)


@pytest.mark.parametrize("runner", RUNNERS.values(), ids=RUNNERS.keys())
def test_runs_reject_an_init_of_another_precision_than_the_data(runner):
    """A float32 init on float64 data stepped in float32 and returned float64 gaps (standard promotion)."""
    data, opt = _run_setup()
    with pytest.raises(ValueError,
                       match=r"^init is float32 but the data are float64: .* \(init.astype\(jnp.float64\)\)"):
        runner(data, jnp.zeros(P, jnp.float32), opt)


@pytest.mark.parametrize("criterion", problems.ON_COLUMNS, ids=lambda f: f.__name__)
def test_the_labs_linear_criteria_refuse_a_start_of_other_than_x_columns_eagerly_and_under_jit(criterion):
    """On Data a network's P is its own; the lab's linear criteria have one coefficient per column, and say so
    under jit too, where the closed form never calls the criterion."""
    data, _ = _run_setup()
    y = (data.y > 0).astype(data.y.dtype) if criterion is criteria.logistic else jnp.abs(data.y)
    data = problems.make_data(data.X[:, 1:], y, l2=0.1)
    for build in (lambda s: problems.problem(criterion, data, s).reference.params,
                  jax.jit(lambda s: problems.problem(criterion, data, s).reference.params)):
        with pytest.raises(ValueError,
                           match=rf"start must have shape \({P},\): {criterion.__name__} has one coefficient"):
            build(jnp.zeros(P - 1))


def test_a_criterion_that_takes_both_sizes_is_warned_about_and_a_run_names_its_size():
    """A criterion that broadcasts a against X fits another model in silence: warned. A criterion that does not
    take X's columns (a network) needs size; bad sizes are refused."""
    data, _ = _run_setup()
    broadcasting = lambda a, d: jnp.mean((d.y - jnp.sum(d.X * a, axis=1)) ** 2)  # noqa: E731
    with pytest.warns(UserWarning, match=rf"takes a start of 1 parameters and also one of data.X's {P} columns"):
        problems.problem(broadcasting, data, jnp.zeros(1))
    network = lambda a, d: jnp.mean((d.y - jnp.tanh(d.X @ a[:P * 2].reshape(P, 2)).sum(1)) ** 2)  # noqa: E731
    with pytest.raises(ValueError, match=rf"with a of {P} parameters, the default size \(data.X's columns\), raised "
                                         r"TypeError: .* If it has other parameters, pass size=P"):
        runs.CriterionRun(network, data, 10, resample=False)
    for size in (0, True, 2.5, "4"):
        with pytest.raises(ValueError, match="size must be an integer >= 1"):
            runs.CriterionRun(network, data, 10, resample=False, size=size)


def test_an_init_that_differs_from_the_optimum_names_both():
    data, optimum = _run_setup()
    with pytest.raises(ValueError, match=rf"init must have shape \({P},\) to match optimum.params, got \({P + 1},\)"):
        descent.gradient_descent(criteria.least_squares, data, jnp.zeros(P + 1), optimum, 0.1, 5)
    problem = problems.problem(criteria.least_squares, data)
    with pytest.raises(ValueError, match=rf"^start must have shape \({P},\) to match problem.reference.params"):
        runs.optimize(problem, 5, 0.1, start=jnp.zeros(P + 1))  # in the caller's words
    with pytest.raises(ValueError, match=r"optimum.params must be a vector a\* \(P,\), got shape"):
        descent.gradient_descent(criteria.least_squares, data, jnp.zeros((P, 1)),
                                 descent.Optimum(jnp.zeros((P, 1)), 0.0), 0.1, 5)


@pytest.mark.parametrize("runner", RUNNERS.values(), ids=RUNNERS.keys())
def test_runs_accept_float_init(runner):
    data, opt = _run_setup()
    trace = runner(data, jnp.zeros(P), opt)
    assert trace.gap.shape == (6,) and not bool(trace.diverged)
    assert trace.gap[-1] < trace.gap[0]


BAD_LEARNING_RATES = [0.0, -0.1, -1e-12, NAN, INF, -INF]


@pytest.mark.parametrize("learning_rate", BAD_LEARNING_RATES)
def test_gradient_descent_rejects_bad_learning_rate_by_name(learning_rate):
    data, opt = _run_setup()
    with pytest.raises(ValueError, match=r"^learning_rate must be > 0"):
        descent.gradient_descent(criteria.least_squares, data, jnp.zeros(P), opt, learning_rate, 5)


@pytest.mark.parametrize("init", [[0.0] * P, jnp.zeros(())], ids=["list", "0-d"])
def test_runs_reject_init_that_is_not_a_float_vector(init):
    data, opt = _run_setup()
    with pytest.raises(ValueError, match=r"^init must"):
        descent.run(criteria.least_squares, data, init, opt, 5, learning_rate=0.1)


@pytest.mark.parametrize("tol", [-1.0, 0.0, NAN])
def test_logistic_rejects_bad_tolerance(tol):
    with pytest.raises(ValueError, match=r"^tol must be > 0"):
        reference.logistic(_X(), (_y() > 0).astype(float), l2=0.1, tol=tol)


@pytest.mark.parametrize("learning_rate", BAD_LEARNING_RATES)
def test_run_rejects_bad_learning_rate(learning_rate):
    data, opt = _run_setup()
    with pytest.raises(ValueError, match=r"^learning_rate must be > 0"):
        descent.run(criteria.least_squares, data, jnp.zeros(P), opt, 5, learning_rate=learning_rate)


def test_run_rejects_non_finite_data():
    data, opt = _run_setup()
    bad = data._replace(X=data.X.at[2, 1].set(jnp.nan))
    with pytest.raises(ValueError, match=r"^data contains NaN or infinite"):
        descent.run(criteria.least_squares, bad, jnp.zeros(P), opt, 5, learning_rate=0.1)


# ---------------------------------------------------------------- scalar hyper-parameters

# (id, call with the bad value v, regex)
BAD_SCALARS = [
    ("ridge l2", lambda v: reference.ridge(_X(), _y(), v), r"^l2 must be"),
    ("logistic l2", lambda v: reference.logistic(_X(), _y(), l2=v), r"^l2 must be"),
    ("make_data l2", lambda v: problems.make_data(_X(), _y(), l2=v), r"^l2 must be"),
    ("regression kappa", lambda v: problems.regression(jax.random.key(0), N, D, v), r"^kappa must be"),
]
NEGATIVE = [-1.0, -1e-12, jnp.asarray(-0.5)]
NON_FINITE = [NAN, INF, -INF, jnp.asarray(jnp.nan)]
NOT_A_REAL_SCALAR = ["0.1", None, 1j, jnp.ones(2)]


def _scalar_cases(values, indices):
    return [
        pytest.param(BAD_SCALARS[i][1], BAD_SCALARS[i][2], v, id=f"{BAD_SCALARS[i][0]}={v!r}")
        for i in indices
        for v in values
    ]


@pytest.mark.parametrize(
    "call, match, value",
    _scalar_cases(NEGATIVE, [0, 1, 2]) + _scalar_cases([0.5, 0.0, -1.0, 1 - 1e-9], [3]),
)
def test_out_of_range_scalars_are_rejected(call, match, value):
    with pytest.raises(ValueError, match=match + r" (>= 0 \(0 means no penalty\)|>= 1)"):
        call(value)


@pytest.mark.parametrize("call, match, value", _scalar_cases(NON_FINITE, range(len(BAD_SCALARS))))
def test_non_finite_scalars_are_rejected(call, match, value):
    with pytest.raises(ValueError, match=match):
        call(value)


@pytest.mark.parametrize("call, match, value", _scalar_cases(NOT_A_REAL_SCALAR, range(len(BAD_SCALARS))))
def test_non_real_scalars_are_rejected(call, match, value):
    with pytest.raises(ValueError, match=match + r" a (real number|scalar)"):
        call(value)


@pytest.mark.parametrize(
    "call",
    [
        lambda: reference.ridge(_X(), _y(), 0.0),
        lambda: reference.ridge(_X(), _y(), 0),
        lambda: problems.make_data(_X(), _y(), l2=0.0),
        lambda: problems.regression(jax.random.key(0), N, D, 1.0),
        lambda: problems.regression(jax.random.key(0), N, D, 1),
    ],
    ids=["ridge l2=0.0", "ridge l2=0", "make_data l2=0", "regression kappa=1.0", "regression kappa=1"],
)
def test_boundary_scalars_are_accepted(call):
    leaves = jax.tree_util.tree_leaves(call())
    assert all(bool(jnp.all(jnp.isfinite(leaf))) for leaf in leaves)


def test_ridge_eps_zero_is_min_norm():
    np.testing.assert_allclose(reference.ridge(_X(), _y(), 0.0), reference.min_norm(_X(), _y()), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- logistic regression


def _labels(values):
    return np.resize(np.asarray(values, float), N)


@pytest.mark.parametrize(
    "y, match",
    [
        (_with(_y(), 4, 0.5), r"^y must hold binary labels 0 and 1, got values \[0\.\s+0\.5\s+1\.\s*\]"),
        (_labels([-1, 1]), r"^y must hold binary labels 0 and 1"),
        (_labels([0, 2]), r"^y must hold binary labels 0 and 1"),
        (_labels([0, 1, 2]), r"^y must hold binary labels 0 and 1"),
        (np.linspace(0, 1, N), r"^y must hold binary labels 0 and 1, got values .*\.\.\."),
        (np.ones(N), r"^y holds only the label 1: logistic regression needs both classes"),
        (np.zeros(N), r"^y holds only the label 0: logistic regression needs both classes"),
        (_labels([-1, -1]), r"^y must hold binary labels 0 and 1"),
    ],
    ids=["one 0.5", "{-1, 1}", "{0, 2}", "three classes", "continuous", "only ones", "only zeros", "only -1"],
)
@pytest.mark.parametrize("l2", [0.0, 0.1])
def test_logistic_rejects_non_binary_labels(y, match, l2):
    with pytest.raises(ValueError, match=match):
        reference.logistic(_X(), y, l2=l2)


def test_logistic_rejects_separable_data_without_l2_and_solves_it_with_l2():
    X, y = problems.classification(jax.random.key(0), 100, 2, separation=20.0)
    with pytest.raises(ValueError, match=r"separable.*l2=0.*Pass l2 > 0"):
        reference.logistic(X, y)
    with pytest.raises(ValueError, match=r"\bl2\b"):
        reference.logistic(X, y, l2=0.0)
    for l2 in (1e-3, 0.1):
        a = reference.logistic(X, y, l2=l2)
        assert a.shape == (3,) and bool(jnp.all(jnp.isfinite(a)))
        gradient = jax.grad(criteria.logistic)(a, problems.make_data(X, y, l2=l2))
        assert float(jnp.linalg.norm(gradient)) < 1e-8


def test_logistic_accepts_overlapping_data_without_l2():
    """The separability error is not raised on every l2 = 0 problem."""
    X, y = problems.classification(jax.random.key(0), 100, 2, separation=1.0)  # shape as above: no recompile
    a = reference.logistic(X, y)
    gradient = jax.grad(criteria.logistic)(a, problems.make_data(X, y))
    assert float(jnp.linalg.norm(gradient)) < 1e-8


@pytest.mark.parametrize("dtype, kappa", [("float64", 1e16), ("float64", 1e300), ("float32", 1e8)])
def test_kappa_beyond_what_the_dtype_resolves_is_refused(dtype, kappa):
    # The defect: kappa = 1e16 gave condition_number inf, 1e17 gave 9e15, 1e300 a negative gap.
    with pytest.raises(ValueError, match=re.escape(f"kappa = {kappa:g} is beyond what {dtype} resolves")):
        problems.regression(jax.random.key(0), 50, 3, kappa, dtype=dtype)
    with pytest.raises(ValueError, match="beyond what"):
        problems.classification(jax.random.key(0), 50, 3, kappa=kappa, dtype=dtype)
    run = runs.LinearRegressionRun(n=50, d=3, num_steps=10, dtype=dtype)
    with pytest.raises(ValueError, match="beyond what"):
        sweep.sweep(run, {"learning_rate_over_edge": [0.5], "kappa": [10.0, kappa]}, progress=False)


def test_float64_runs_are_refused_when_the_float64_switch_is_off():
    # The defect: with x64 off, runs computed in float32 while their configuration said float64.
    with jax.enable_x64(False):
        with pytest.raises(ValueError, match="jax_enable_x64"):
            runs.LinearRegressionRun(n=20, d=2, num_steps=10)
        with pytest.raises(ValueError, match="jax_enable_x64"):
            runs.LogisticRun(n=20, d=2, num_steps=10)
        assert runs.LinearRegressionRun(n=20, d=2, num_steps=10, dtype="float32").dtype == "float32"


@pytest.mark.parametrize("where", ["init", "optimum.params", "optimum.value"])
def test_a_nan_start_or_optimum_is_refused_instead_of_recording_nan(where):
    # The defect: descent.run recorded NaN gaps for a NaN start or a NaN optimum.
    X, y = problems.regression(jax.random.key(0), 30, 2, 10.0)
    data = problems.make_data(X, y)
    optimum = descent.optimum(criteria.least_squares, reference.least_squares(X, y), data)
    init = jnp.zeros(3)
    if where == "init":
        init = init.at[0].set(jnp.nan)
    elif where == "optimum.params":
        optimum = optimum._replace(params=optimum.params.at[1].set(jnp.inf))
    else:
        optimum = optimum._replace(value=jnp.asarray(jnp.nan))
    with pytest.raises(ValueError, match=re.escape(f"{where} contains NaN or infinite values")):
        descent.gradient_descent(criteria.least_squares, data, init, optimum, 0.1, 10)


def test_results_save_refuses_dtypes_an_npz_file_would_not_give_back(tmp_path):
    """bfloat16 was saved as raw bytes (loaded as |V2, written to CSV as b'\\xc0?'); objects as a pickle that load
    then called a damaged file."""
    axes = {"learning_rate": np.array([0.1, 0.2])}
    for values, match in ((jnp.array([1.5, 2.0], jnp.bfloat16), "dtype bfloat16, which an .npz file holds as raw"),
                          (np.array([1.0, None]), "dtype object, which an .npz file holds as pickled objects")):
        with pytest.raises(ValueError, match=f"output 'gap' has {match}"):
            results.save(results.Results(axes, {"gap": values}, {}), tmp_path / "r")
    assert list(tmp_path.iterdir()) == []
    results.save(results.Results(axes, {"gap": np.array([1.5, 2.0], np.float32)}, {}), tmp_path / "r")
    assert results.load(tmp_path / "r")["gap"].dtype == np.float32


def test_results_load_refuses_a_pair_from_two_saves_and_damaged_shapes(tmp_path):
    # The defect: load paired a new .npz with the .json an interrupted save left, and never checked shapes.
    from lab import results

    run = runs.LinearRegressionRun(n=20, d=2, num_steps=5)
    first = sweep.sweep(run, {"learning_rate_over_edge": [0.5, 0.9], "kappa": [10.0]}, progress=False)
    second = sweep.sweep(run, {"learning_rate_over_edge": [0.5, 0.7, 0.9], "kappa": [10.0]}, progress=False)
    results.save(first, tmp_path / "a")
    sidecar = (tmp_path / "a.json").read_text()
    results.save(second, tmp_path / "a")
    (tmp_path / "a.json").write_text(sidecar)  # the first save's sidecar beside the second's arrays
    with pytest.raises(ValueError, match="two different saves"):
        results.load(tmp_path / "a")
    results.save(first, tmp_path / "b")
    loaded = results.load(tmp_path / "b")
    np.testing.assert_array_equal(loaded["final_gap"], first["final_gap"])
    with np.load(tmp_path / "b.npz") as arrays:
        damaged = {name: arrays[name] for name in arrays.files}
    damaged["output/final_gap"] = damaged["output/final_gap"][:1]  # one run's summary lost
    np.savez(tmp_path / "b.npz", **damaged)
    with pytest.raises(ValueError, match="output 'final_gap' has shape"):
        results.load(tmp_path / "b")


def test_an_optimum_value_above_the_start_or_an_overflowing_start_is_refused():
    # The defects: an optimum value set too high showed a healthy run as diverged at t = 0; an
    # overflowing f(a_0) recorded inf gaps.
    X, y = problems.regression(jax.random.key(0), 30, 2, 10.0)
    data = problems.make_data(X, y)
    optimum = descent.optimum(criteria.least_squares, reference.least_squares(X, y), data)
    too_high = optimum._replace(value=criteria.least_squares(jnp.zeros(3), data) + 1.0)
    with pytest.raises(ValueError, match="is above f\\(init\\)"):
        descent.gradient_descent(criteria.least_squares, data, jnp.zeros(3), too_high, 0.1, 10)
    with pytest.raises(ValueError, match="f\\(init\\) is inf"):
        descent.gradient_descent(criteria.least_squares, data, jnp.full(3, 1e300), optimum, 0.1, 10)
    trace = descent.gradient_descent(criteria.least_squares, data, jnp.zeros(3), optimum, 0.1, 10)
    assert not trace.diverged


@pytest.mark.parametrize("damage, message", [
    (lambda a, s: a.write_bytes(a.read_bytes()[:100]), "truncated or damaged"),
    (lambda a, s: a.write_bytes(b""), "truncated or damaged"),
    (lambda a, s: a.write_bytes(np.random.default_rng(0).bytes(500)), "truncated or damaged|not an .npz"),
    (lambda a, s: s.write_text("{not json"), "is not JSON"),
    (lambda a, s: s.write_bytes(b"\xff\xfe\x00"), "is not JSON"),
    (lambda a, s: s.write_text("[1, 2]"), "not a lab results sidecar"),
    (lambda a, s: s.write_text(s.read_text().replace('"dims"', '"dimz"')), "lacks its axes, dims or config"),
    (lambda a, s: s.write_text(s.read_text().replace('"axes": [', '"axes": ["zzz", ')), "lacks axis/zzz"),
], ids=["truncated npz", "empty npz", "random npz", "non-JSON sidecar", "binary sidecar", "a list",
        "no dims", "an extra axis"])
def test_results_load_on_a_truncated_or_corrupt_file_says_so(tmp_path, damage, message):
    # The defect: BadZipFile, EOFError, JSONDecodeError, AttributeError or KeyError tracebacks.
    from lab import results

    run = runs.LinearRegressionRun(n=20, d=2, num_steps=5)
    results.save(sweep.sweep(run, {"learning_rate_over_edge": [0.5, 0.9], "kappa": [10.0]}, progress=False),
                 tmp_path / "a")
    damage(tmp_path / "a.npz", tmp_path / "a.json")
    with pytest.raises(ValueError, match=message):
        results.load(tmp_path / "a")


@pytest.mark.parametrize("dtype", [np.float16, jnp.bfloat16])
def test_half_precision_data_is_refused_naming_the_dtypes_that_work(dtype):
    # The defect: make_data accepted float16, then LAPACK raised NotImplementedError.
    with pytest.raises(ValueError, match="X has dtype .*16: the lab computes in float32 or float64"):
        problems.make_data(_X().astype(dtype), _y())


@pytest.mark.parametrize("noise", [NAN, INF, -1.0])
def test_a_nan_or_negative_noise_is_refused(noise):
    # The defect: a NaN noise gave all-NaN targets in silence.
    with pytest.raises(ValueError, match="noise must be >= 0"):
        problems.regression(jax.random.key(0), 20, 2, 10.0, noise=noise)
    with pytest.raises(ValueError, match="noise must be >= 0"):
        problems.random_regression(jax.random.key(0), 20, 2, noise=noise)
    with pytest.raises(ValueError, match="noise must be >= 0"):
        runs.LinearRegressionRun(n=20, d=2, num_steps=5, noise=noise)


def test_unchecked_optimizer_hyper_parameters_are_refused_in_every_way_they_are_given():
    # The defect: momentum -1 or 1.5, b1 = 2 and eps < 0 ran in silence outside the sweep's axes.
    import functools

    import optax

    data = problems.make_data(_X(), _y())
    optimum = descent.optimum(criteria.least_squares, reference.least_squares(_X(), _y()), data)
    for optimizer, hyper, message in [(optax.sgd, {"momentum": 1.5}, r"momentum must be in \[0, 1\)"),
                                      (optax.adam, {"b1": 2.0}, r"b1 must be in \[0, 1\)"),
                                      (optax.adam, {"eps": -1.0}, "eps must be >= 0")]:
        with pytest.raises(ValueError, match=message):
            descent.run(criteria.least_squares, data, jnp.zeros(P), optimum, 5, optimizer, learning_rate=0.1, **hyper)
        with pytest.raises(ValueError, match=message):
            runs.CriterionRun(criteria.least_squares, data, 5, optimizer=functools.partial(optimizer, **hyper))
        with pytest.raises(ValueError, match=message):
            runs.LinearRegressionRun(n=20, d=2, num_steps=5, optimizer=optimizer)(learning_rate=0.1, **hyper)


def test_a_direct_call_of_a_run_is_checked_as_a_sweep_axis_is():
    # The defect: seed 2**31, l2 = 0 for logistic and l2 on least squares ran when called directly.
    with pytest.raises(ValueError, match="magnitude below 2\\*\\*31"):
        runs.LinearRegressionRun(n=20, d=2, num_steps=5)(learning_rate=0.1, seed=2**31)
    with pytest.raises(ValueError, match="Use criterion='ridge'"):
        runs.LinearRegressionRun(n=20, d=2, num_steps=5)(learning_rate=0.1, l2=0.1)
    with pytest.raises(ValueError, match="must hold values > 0 for logistic"):
        runs.LogisticRun(n=20, d=2, num_steps=5)(learning_rate=0.1, l2=0.0)


def test_traced_seeds_beyond_int32_or_not_integral_draw_problems_of_their_own():
    # A traced seed passes no check: its int32 cast made seed 2**32 + 5 the problem of seed 5, in silence.
    run = runs.LinearRegressionRun(n=20, d=2, num_steps=5)
    gap = jax.jit(lambda seed: run(learning_rate=0.1, seed=seed).initial_gap)
    same = functools.partial(pytest.approx, rel=1e-12)  # two programs: equal to rounding (other seeds differ by far)
    assert float(gap(jnp.int64(5))) == same(float(run(learning_rate=0.1, seed=5).initial_gap))  # below 2**31: concrete
    assert float(gap(jnp.int64(-3))) == same(float(run(learning_rate=0.1, seed=-3).initial_gap))
    seeds = [jnp.int64(s) for s in (5, -3, 2**31 + 5, -(2**31 - 5), 2**32 - 3, 2**32 + 5, -(2**63), 0, 2**63 - 1, -1)]
    # and traced floats (7.5 was seed 7, NaN seed 0, 3e9 and 2**32 + 1 both 2**31 - 1) and a uint32 from 2**31
    # (2**31 + 5 was -2**31 + 5)
    seeds += [jnp.float64(7.5), jnp.float64(np.nan), jnp.float64(3e9), jnp.float64(2.0**32 + 1), jnp.uint32(2**31 + 5),
              jnp.float64(7.0)]
    gaps = [float(gap(seed)) for seed in seeds]
    assert len(set(gaps)) == len(seeds), dict(zip(map(repr, seeds), gaps))  # sixteen seeds, sixteen problems
    assert float(gap(jnp.float64(7.0))) == same(float(run(learning_rate=0.1, seed=7).initial_gap))
    assert gap(jnp.int32(-(2**31) + 5)) == gap(jnp.int64(-(2**31) + 5)) != gap(jnp.uint32(2**31 + 5))
    assert gap(jnp.float32(2.0**31)) != gap(jnp.int32(2**31 - 1))  # the float-to-int cast saturates
    with pytest.raises(ValueError, match=r"axis 'seed' must hold integers of magnitude below 2\*\*31"):
        run.at(seed=2**32 + 5)  # unchecked there: it drew seed 5's problem
    assert gap(jnp.uint32(5)) == gap(jnp.int64(5)) == gap(jnp.float32(5.0))  # integral seeds key alike in any dtype


def test_a_config_json_cannot_hold_is_refused_before_either_file_is_written(tmp_path):
    # The defect: a non-JSON config wrote the .npz and then failed, leaving half a pair.
    from lab import results

    grid = sweep.sweep(runs.LinearRegressionRun(n=20, d=2, num_steps=5), {"learning_rate_over_edge": [0.5]},
                       progress=False, config={"note": object()})
    with pytest.raises(ValueError, match="config must hold JSON values"):
        results.save(grid, tmp_path / "a")
    assert list(tmp_path.iterdir()) == []


def test_saved_json_is_standard_json_with_non_finite_numbers_as_null(tmp_path):
    """Python's json writes NaN and Infinity, which are not JSON: jq and JavaScript refuse such a file."""
    import json

    def strict(token):
        raise ValueError(f"{token} is not JSON")

    numbers = {"rate": np.nan, "curve": jnp.array([0.5, jnp.inf, -jnp.inf], jnp.float32), "edge": np.float64(1 / 3),
               "steps": np.int64(7), "kept": (True, None, "x"), "nested": {"b": [float("nan"), 2.0], "a": 1}}
    written = json.loads(files.save_json(tmp_path / "n.json", numbers).read_text(), parse_constant=strict)
    assert written == {"rate": None, "curve": [0.5, None, None], "edge": 1 / 3, "steps": 7, "kept": [True, None, "x"],
                       "nested": {"b": [None, 2.0], "a": 1}}
    assert list(written["nested"]) == ["b", "a"]  # the order given, not sorted


# Silent wrong answers found by probing the public API, each now refused (or warned about) where users call.

def test_a_saddle_point_or_a_maximum_is_not_accepted_as_the_reference_optimum():
    data = problems.make_data(_X(), _y())
    saddle = lambda a, data: a[0] ** 2 - a[1] ** 2 + 0.1 * a[1] ** 4 + jnp.sum(a[2:] ** 2)  # noqa: E731
    for criterion in (saddle, lambda a, data: -jnp.sum(a**2)):
        with pytest.raises(ValueError, match="gradient vanishes .* negative eigenvalue: a saddle point or a maximum"):
            problems.problem(criterion, data)
    traced = jax.jit(lambda data: problems.problem(saddle, data).reference.status)(data)  # under jit: a status
    assert int(traced) == reference.NOT_A_MINIMUM and reference.STATUSES[int(traced)] == "not_a_minimum"
    assert int(problems.problem(criteria.least_squares, data).reference.status) == reference.CONVERGED


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_vanishing_gradient_where_f_falls_further_is_not_a_minimum(dtype):
    """exp(-a) flattens out with no minimum and a^3 flattens at 0 with none: the gradient vanishes to tol in both, and
    both were accepted (the edge then read 2/L of a Hessian of 1e-11). A degenerate true minimum (a^4) still is, with
    a warning that its Hessian describes where the solver stopped (L = 2e-7 in float64, 8e-3 in float32)."""
    data = problems.make_data(_X().astype(dtype), _y().astype(dtype))
    start = jnp.ones(data.X.shape[1], dtype)
    flattening = lambda a, data: jnp.sum(jnp.exp(-a))  # noqa: E731
    cube = lambda a, data: jnp.sum(a**3)  # noqa: E731
    for criterion in (flattening, cube):
        with pytest.raises(ValueError, match=r"gradient vanishes .* but f falls further from it.*no finite minimum"):
            problems.problem(criterion, data, start)
    traced = jax.jit(lambda data: problems.problem(flattening, data, start).reference.status)(data)  # a status
    assert reference.STATUSES[int(traced)] == "falls_further"
    with pytest.warns(UserWarning, match="changes by 56% along the Newton step .* the minimum is degenerate"):
        quartic = problems.problem(lambda a, data: jnp.sum(a**4), data, start)
    assert (int(quartic.reference.status) == reference.CONVERGED
            and float(jnp.max(jnp.abs(quartic.reference.params))) < 0.05)
    # f* = 0 (fewer rows than parameters: an interpolating fit), flat along the null space: rounding is not a fall
    wide = problems.make_data(jax.random.normal(jax.random.key(3), (5, 8), dtype), jnp.arange(5, dtype=dtype))
    own = lambda a, data: jnp.mean((data.y - data.X @ a) ** 2)  # noqa: E731
    with pytest.warns(UserWarning, match="singular"):
        assert int(problems.problem(own, wide).reference.status) == reference.CONVERGED


def test_logistic_regression_refuses_labels_other_than_0_and_1_whatever_builds_the_problem():
    for labels in (2 * _y() - 1, 2 * _y(), np.full(N, 0.5)):
        with pytest.raises(ValueError, match="y must hold binary labels 0 and 1"):
            problems.problem(criteria.logistic, problems.make_data(_X(), labels, l2=0.1))
        with pytest.raises(ValueError, match="y must hold binary labels 0 and 1"):
            runs.CriterionRun(criteria.logistic, problems.make_data(_X(), labels, l2=0.1), 10)


def test_hand_built_data_with_a_column_of_targets_is_refused_not_broadcast_to_n_by_n():
    data = problems.make_data(_X(), _y())
    mean_square = lambda a, data: jnp.mean((data.y - data.X @ a) ** 2)  # noqa: E731 (your own: no shape check)
    with pytest.raises(ValueError, match=r"data.y must have shape \(20,\), one target per row .* got \(20, 1\)"):
        problems.problem(mean_square, criteria.Data(data.X, data.y[:, None], data.l2))


def test_a_singular_hessian_at_the_optimum_warns_that_the_minimiser_is_not_unique():
    X = _X()
    with pytest.warns(UserWarning, match="too badly conditioned for float64.* a\\* is unique"):  # not "not unique"
        problems.problem(criteria.least_squares, problems.make_data(X * np.array([1.0, 1e9, 1e-6]), _y()))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # units that float64 resolves: no warning
        problems.problem(criteria.least_squares, problems.make_data(X * np.array([1.0, 1e3, 1e-3]), _y()))
    with pytest.warns(UserWarning, match=r"singular \(numerical rank 4 < 5\).* not unique"):
        problems.problem(criteria.least_squares, problems.make_data(np.column_stack([X, X[:, 0]]), _y()))
    with pytest.warns(UserWarning, match="singular"):
        runs.CriterionRun(criteria.least_squares, problems.make_data(np.column_stack([X, X[:, 0]]), _y()), 10)


def test_a_sweep_of_rank_deficient_least_squares_measures_from_the_minimum_norm_minimiser():
    # CriterionRun settled 'auto' on Newton, which stopped at another minimiser 6.9 from the minimum-norm one that
    # gradient descent from 0 reaches: every run's final distance read 6.9 and its measured rate 1 (predicted 0.90),
    # under a warning that called the reference the minimum-norm one.
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 3))
    X = np.column_stack([X, X[:, 0] + 2 * X[:, 1]])
    data = problems.make_data(X, X @ np.array([1.0, 2.0, 3.0, 0.0]) + 0.1 * rng.normal(size=40))
    with pytest.warns(UserWarning, match="minimum-norm"):
        run = runs.CriterionRun(criteria.least_squares, data, 300, resample=False)
    grid = sweep.sweep(run, {"learning_rate_over_edge": np.array([0.3, 0.66])}, progress=False)
    minimum_norm = np.linalg.pinv(np.asarray(data.X)) @ np.asarray(data.y)
    np.testing.assert_allclose(grid["final_distance"], 0, atol=1e-12 * np.linalg.norm(minimum_norm))
    np.testing.assert_allclose(grid["measured_rate"], grid["predicted_rate"], rtol=1e-5)
    # and the edge search's theory: 2/(L + mu) at mu = 8e-16 (rounding) was 2/L, the rate 1, the best learning rate
    # warned "-14 % from 2/(L + mu): raise num_steps" (more steps cannot help): no theory where mu is not resolved
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        edges = stability.edge_and_best(run, {"seed": np.array([0])})
    assert not [w for w in caught if "from 2/(L + mu)" in str(w.message)]
    assert np.isnan(edges["theory_best_learning_rate"][0]) and np.isnan(edges["theory_rate"][0])
    assert edges["best_bracketed"][0] and edges["bracketed"][0]


def test_a_tol_below_the_rounding_of_the_gradient_is_named_when_newton_runs_out_of_iterations():
    # ||grad f|| ends at 5e-16 and never meets tol = 1e-20: "raise max_iter" alone sent the user the wrong way.
    quartic = lambda a, data: jnp.mean((data.y - data.X @ a) ** 4)
    with pytest.raises(ValueError, match=r"\(max_iter\): .*a tol below the rounding of \|\|grad f\|\| .* loosen it"):
        problems.problem(quartic, problems.make_data(_X(), _y()), tol=1e-20, method="newton")


def test_a_gram_form_too_badly_conditioned_for_its_dtype_says_its_optimum_is_rounding_too():
    # G squares the conditioning the data form's QR takes the root of: on raw diabetes in float32 the Gram form's
    # f* came out 5.9 % high under the warning "a* is unique" (the data form's a* is right to 1e-6 there).
    X, y, _ = datasets.diabetes(dtype=jnp.float32)
    with pytest.warns(UserWarning, match=r"Gram form's a\* and f\*, solved from G alone, are rounding"):
        problems.problem(criteria.least_squares_gram, criteria.gram(problems.make_data(X, y)))


def test_a_hessian_that_overflows_float32_is_not_finite_not_converged():
    X = _X().astype(np.float32) * np.float32(1e19)
    data = criteria.Data(jnp.asarray(X), jnp.asarray(_y(), jnp.float32), jnp.zeros((), jnp.float32))
    status = jax.jit(lambda data: problems.problem(criteria.least_squares, data).reference.status)(data)
    assert int(status) == reference.NOT_FINITE


def test_standardize_refuses_a_constant_column_whose_computed_std_is_rounding_not_zero():
    X = np.column_stack([_X(), np.full(N, 0.1)])
    assert float(np.std(X[:, 3])) > 0  # 0.1 is not a binary fraction: its mean is not exactly 0.1
    with pytest.raises(ValueError, match=r"constant column\(s\) \[3\]"):
        problems.standardize(X)


def test_a_csv_naming_two_columns_alike_is_refused_not_read_with_the_target_as_a_feature(tmp_path):
    path = tmp_path / "repeated.csv"
    path.write_text("x1,target,target\n1,2,2\n3,4,4\n5,7,7\n")
    with pytest.raises(ValueError, match="names more than one column 'target'"):
        problems.load_csv(path, "target")
    marked = tmp_path / "excel.csv"  # a spreadsheet's byte-order mark before the first name
    marked.write_text("\ufefftarget,x\n1,2\n3,4\n", encoding="utf-8")
    assert problems.load_csv(marked, "target")[2] == ["x"]


def test_a_csv_cell_with_an_underscore_is_text_not_a_python_literal(tmp_path):
    """float("2020_01") is 202001: a code read as a number (pandas keeps it text); a probe's finding."""
    path = tmp_path / "codes.csv"
    path.write_text("x,target\n2020_01,1\n2020_02,2\n2021_01,4\n")
    with pytest.raises(ValueError, match=r"line 2, column 'x': '2020_01' is not a number"):
        problems.load_csv(path, "target")


def test_a_csv_standardized_for_float32_is_centred_on_the_files_digits(tmp_path):
    """A column 1e6 + N(0, 1) was cast to float32 and then standardised: its mean came out -0.076, the rounding of a
    float32 sum (a probe's finding); standardised in float64 and then cast, it is 0 to float32's rounding."""
    rng = np.random.default_rng(0)
    rows = [f"{1e6 + u!r},{v!r}" for u, v in zip(rng.normal(size=1000).tolist(), rng.normal(size=1000).tolist())]
    path = tmp_path / "offset.csv"
    path.write_text("x,target\n" + "\n".join(rows) + "\n")
    X, _, _ = problems.load_csv(path, "target", standardize=True, dtype=jnp.float32)
    assert X.dtype == jnp.float32 and abs(float(np.mean(np.asarray(X, float)))) < 1e-6
    assert float(np.std(np.asarray(X, float))) == pytest.approx(1.0, abs=1e-6)


def test_standardize_in_float32_centres_an_offset_column_to_the_rounding_of_its_stored_mean():
    """float32 arrays 1e6 + N(0, 1): the column's float32 sum rounds at 1e6 eps per row, and its mean came out 0.11
    off (standard deviation 0.994); a second pass over the residuals leaves the mean's own float32 rounding."""
    rng = np.random.default_rng(0)
    X = np.stack([1e6 + rng.standard_normal(1000), rng.standard_normal(1000)], axis=1).astype(np.float32)
    Z, mean, scale = problems.standardize(X)
    exact, ulp = X.astype(np.float64)[:, 0], float(np.spacing(np.float32(1e6)))  # 0.0625
    assert abs(float(mean[0]) - exact.mean()) <= ulp / 2
    assert abs(float(np.mean(np.asarray(Z[:, 0], float)))) <= ulp / 2
    assert float(scale[0]) == pytest.approx(exact.std(), rel=1e-3)


def test_a_csv_with_pandas_unnamed_index_column_is_refused_not_fitted_as_a_feature(tmp_path):
    pandas = pytest.importorskip("pandas")
    path = tmp_path / "frame.csv"
    pandas.DataFrame({"x": [1.0, 3.0, 5.0, 2.0], "target": [2.0, 4.0, 7.0, 1.0]}).to_csv(path)  # index=True
    with pytest.raises(ValueError, match=r"no name for column\(s\) \[1\] .* row index .* index=False"):
        problems.load_csv(path, "target")  # the row numbers 0..3 were a feature named ''
    pandas.read_csv(path, index_col=0).to_csv(path, index=False)
    assert problems.load_csv(path, "target")[2] == ["x"]


def test_flags_are_refused_as_traced_hyper_parameters_and_are_not_sweep_axes():
    problem = problems.problem(criteria.least_squares, problems.make_data(_X(), _y()))
    with pytest.raises(ValueError,
                       match=r"nesterov: flags and dtypes change the optimizer's program.*functools.partial"):
        runs.optimize(problem, 10, 0.1, momentum=0.9, nesterov=True)
    assert "nesterov" not in runs.CriterionRun(criteria.least_squares, problem.data, 10).axis_names
    scheduled = runs.CriterionRun(criteria.least_squares, problem.data, 10, optimizer=runs.Scheduled(optax.sgd, 10))
    assert "momentum" in scheduled.axis_names and not {"nesterov", "accumulator_dtype"} & set(scheduled.axis_names)
    with pytest.raises(ValueError, match=r"tolerance must be in \(0, 1\)"):
        runs.optimize(problem, 10, 0.1, tolerance=2.0)


def test_search_settings_are_checked_where_they_are_given(tmp_path):
    data = problems.make_data(_X(), _y())
    with pytest.raises(ValueError, match="tol must be > 0"):
        problems.problem(criteria.least_squares, data, tol=-1.0)  # said "rank-deficient" before
    with pytest.raises(ValueError, match="max_iter must be an integer >= 1"):
        problems.problem(criteria.least_squares, data, max_iter=0)  # meant 100 before
    with pytest.raises(ValueError, match="init_scale must be >= 0"):
        runs.CriterionRun(criteria.least_squares, data, 10, init_scale=NAN)  # meant 0 before
    run = runs.CriterionRun(criteria.least_squares, data, 50)
    with pytest.raises(ValueError, match="best_iterations must be an integer"):
        stability.edge_and_best(run, {}, best_iterations=30.5)
    with pytest.raises(ValueError, match="increasing finite positive pairs"):
        stability.edge_and_best(run, {}, edge_bracket=(0.5, INF))
    for function in (spectrum.spectrum, spectrum.hessian):  # a batch of Hessians before
        with pytest.raises(ValueError, match=r"must return a scalar, got shape \(20,\)"):
            function(lambda a, data: data.X @ a, jnp.zeros(P), data)
    with pytest.raises(ValueError, match="must return a scalar, got shape"):
        descent.run(lambda a, data: data.X @ a, data, jnp.zeros(P), descent.Optimum(jnp.zeros(P), jnp.zeros(())), 10,
                    learning_rate=0.1)
    path = tmp_path / "large.csv"
    path.write_text("t,x\n1,1e39\n2,3\n")
    with pytest.raises(ValueError, match=r"line 2, column 'x': 1e\+39 is outside float32's normal numbers .* as inf"):
        problems.load_csv(path, "t", dtype=jnp.float32)  # inf before, then "X contains NaN or infinite values"
    path.write_text("t,x\n1,1e-50\n2,3e-39\n3,1\n")  # 1e-50 read as 0, 3e-39 as a subnormal XLA's CPU flushes to 0
    with pytest.raises(ValueError, match=r"line 2, column 'x': 1e-50 is outside float32's normal numbers .* as 0"):
        problems.load_csv(path, "t", dtype=jnp.float32)
    assert float(problems.load_csv(path, "t", dtype=jnp.float64)[0][0, 0]) == 1e-50
    for dtype in (int, jnp.float16, jnp.bfloat16, jnp.complex64):  # truncated; refused later; "integers would truncate"
        with pytest.raises(ValueError, match="dtype must be float32 or float64"):
            problems.load_csv(path, "t", dtype=dtype)


def test_the_rate_formulas_refuse_a_learning_rate_or_curvatures_they_would_turn_into_a_plausible_rate():
    with pytest.raises(ValueError, match="learning_rate must be > 0"):
        spectrum.contraction(-0.1, 1.0, 0.5)  # 1.1 before
    with pytest.raises(ValueError, match="mu must be at most L"):
        spectrum.contraction(0.1, 1.0, 2.0)  # 0.9 before
    with pytest.raises(ValueError, match="L must be > 0"):
        spectrum.contraction(0.1, -1.0, 0.0)
    with pytest.raises(ValueError, match="learning_rate must be > 0"):
        spectrum.momentum_rate(-0.1, 0.5, jnp.ones(3))  # 2.28 before
    assert float(spectrum.contraction(0.1, 1.0, -2.0)) == pytest.approx(1.2)  # negative curvature: 1 + step |mu|


def test_the_rank_of_a_vector_or_of_nan_is_refused_not_an_index_error_or_zero():
    with pytest.raises(ValueError, match="A must be 2-D"):
        reference.rank(np.ones(5))
    with pytest.raises(ValueError, match="A contains 6 NaN"):
        reference.rank(np.full((3, 2), NAN))  # 0 before
    assert reference.rank(np.column_stack([_X(), _X()[:, 0]])) == 3


def test_float_seeds_above_two_to_the_24_are_two_problems_in_float32_not_one():
    """With float64 off, a float seed axis used to reach the device as float32: 2**24 + 1 became 2**24."""
    run = runs.LinearRegressionRun(n=20, d=2, num_steps=10, dtype="float32")
    seeds = np.array([2**24, 2**24 + 1])
    with jax.enable_x64(False):  # the initial gap depends on the data drawn (L is 2 by construction, up to rounding)
        gap = [sweep.sweep(run, {"learning_rate_over_edge": np.array([0.5]), "seed": s},
                           progress=False)["initial_gap"].ravel()
               for s in (seeds, seeds.astype(float))]
    assert abs(gap[0][0] / gap[0][1] - 1) > 1e-3 and gap[1].tolist() == gap[0].tolist()


_H = np.diag([1.0, 4.0])
# (call, words of the message): each returned a number (or built an optimizer) before, most of them plausible.
FORMULA_INPUTS = [
    (lambda: adam.threshold(10.0, b1=1.5), "b1 must be in"),  # -1.0
    (lambda: adam.threshold(-10.0, 0.9), "preconditioned_sharpness must be > 0"),  # -3.8
    (lambda: adam.sharpness_threshold(-0.1, 0.9), "learning_rate must be > 0"),  # -380
    (lambda: adam.frozen_adam(0.1, b1=1.5), "b1 must be in"),
    (lambda: adam.frozen_adam(0.1, preconditioner=0.0), "preconditioner must be > 0"),  # updates of -inf
    (lambda: adam.preconditioned_sharpness(_H, np.array([0.0, 1.0])), "preconditioner must be > 0"),  # NaN
    (lambda: adam.preconditioned_sharpness(np.array([[1.0, 2.0], [0.0, 1.0]]), 1.0), "not symmetric"),  # 3.5, not 1
    (lambda: adam.preconditioned_sharpness(np.zeros((0, 0)), 1.0), "P >= 1, got shape (0, 0)"),  # an IndexError
    (lambda: adam.preconditioner(optax.sgd(0.1).init(jnp.zeros(2)), 0.999, 1e-8), "state of optax.adam"),
    (lambda: minibatch.mean_square_rate(_X(), -0.1, 2), "learning_rate must be > 0"),  # rho = 1.66
    (lambda: minibatch.mean_square_edge(_X(), 2, "no"), "replacement must be True or False"),  # "no" meant True
    (lambda: minibatch.mean_square_edge(_with(_X(), (0, 0), NAN), 2), "NaN"),
    (lambda: minibatch.mean_square_edge(_X(), np.array([1, 2])), "one integer"),
    (lambda: model_selection.ridge_cv(_X(), _y(), [0.1], intercept="no"), "intercept must be True or False"),
    (lambda: model_selection.ridge_cv(_X(), _y(), 0.1), "1-D grid of penalties"),  # said "flatten it (y.ravel())"
    (lambda: runs.CriterionRun(criteria.least_squares, _data(), 10, replacement="no"), "replacement must be True"),
    (lambda: problems.problem(criteria.ridge, criteria.Data(_data().X, _data().y, -0.05)), "data.l2 must be >= 0"),
    # A third probe:
    (lambda: reference.logistic(*_boundary_ties()), "linearly separable"),  # a "converged" a* with f(2a*) < f(a*)
    (lambda: problems.problem(criteria.logistic, problems.make_data(*_boundary_ties())), "no finite optimum"),
    (lambda: atoms.vacate(atoms.bcc(2), np.eye(16, dtype=bool)[0]), "integer indices"),  # emptied sites 0 and 1
    (lambda: atoms.measure(atoms.bcc(3), atoms.vacate(atoms.bcc(2), [0])), "defective copy of perfect"),
    (lambda: atoms.vacancy_cluster(atoms.bcc(2), 0, np.random.default_rng(0)), "size must be an integer"),  # 1 site
    (lambda: runs.optimize(_problem(), 200, 0.3, runs.Scheduled(optax.sgd, 10), schedule=2), "would end at step 10"),
    (lambda: runs.optimize(_problem(), 200, 0.3, runs.Scheduled(optax.sgd, 200), schedule=7), "index 0..3"),  # as 3
    (lambda: runs.optimize(_problem(), 200, 0.3, functools.partial(runs.Scheduled(optax.sgd, 10), schedule=2)),
     "would end at step 10"),  # the partial hid the Scheduled: the cosine reached 0 at step 10 of 200
    (lambda: model_selection.ridge_cv(_X().astype(np.float32), _y().astype(np.float32), [1e-3, 3e38]),
     "l2 = [3.e+38] give non-finite validation errors"),  # chosen before: argmin returns a NaN's index
    # a TracerArrayConversionError from inside the sweep before:
    (lambda: jax.jit(lambda v: sweep.sweep(runs.LinearRegressionRun(n=20, d=2, num_steps=10),
                                           {"learning_rate_over_edge": v}, progress=False))(jnp.ones(2)),
     "axis 'learning_rate_over_edge' holds traced values"),
    (lambda: jax.jit(lambda v: stability.edge_and_best(runs.LinearRegressionRun(n=20, d=2, num_steps=10),
                                                       {"kappa": v}))(jnp.ones(2)), "axis 'kappa' holds traced values"),
    (lambda: reference.solve(criteria.logistic, problems.make_data(_X(), _labels01()), jnp.zeros(P), max_iter=0),
     "max_iter must be an integer"),  # meant 100
    (lambda: spectrum.momentum_rate(0.1, 0.0, jnp.array([NAN])), "eigenvalues must be finite"),  # a rate of 0
    (lambda: spectrum.predicted_gap(_spectrum(), -0.1, jnp.ones(P), jnp.zeros(P), 5), "learning_rate must be > 0"),
    (lambda: atoms.bcc(2.7), "repeats must be a positive integer"),  # read as 2
    (lambda: atoms.bcc(2, strain=-1.0), "collapses or inverts the cell"),  # a cell of volume 0
    (lambda: atoms.harmonic_entropy([1.0, 2.0], temperature=0.0), "temperature must be positive"),  # -inf
    (lambda: atoms.harmonic_entropy([]), "must be a non-empty 1-D array of Hessian eigenvalues"),  # 0.0
    (lambda: atoms.relax(atoms.bcc(2), tolerance=0.0), "tolerance must be a positive force norm"),
    (lambda: atoms.relax(atoms.bcc(2), max_steps=0), "max_steps must be an integer >= 1"),
    (lambda: atoms.relax(atoms.bcc(2)._replace(positions=np.full((16, 3), NAN))), "NaN or infinite"),
    (lambda: atoms.bcc(2, lattice_constant=-2.87), "lattice_constant must be a positive length"),
    (lambda: atoms.harmonic_entropy([1.0], mass=0.0), "mass must be positive"),
    (lambda: atoms.interstitial_cluster(atoms.bcc(2), 0, np.random.default_rng(0)), "size must be an integer"),
    (lambda: spectrum.predicted_distance(_spectrum(), 0.1, jnp.full(P, NAN), jnp.zeros(P), 5), "start must be finite"),
    (lambda: reference.logistic(*problems.classification(jax.random.key(2), 200, 2, 3.0), max_iter=1),
     "raise max_iter"),  # an unfinished Newton run still falls along its iterate: not "separable"
    (lambda: runs.optimize(_problem(), 20, 0.1, optax.adam(0.1)), "not optax.adam(...)"),  # optax's TypeError
    (lambda: runs.optimize(_problem(), 20, 0.1, optax.scale_by_adam), "takes no learning_rate"),
    (lambda: runs.CriterionRun(criteria.least_squares, _data(), 10, optimizer=optax.sgd(0.1)), "optax factory"),
    (lambda: runs.optimize(_problem(), 20, 0.1, optax.rmsprop, decay=1.5), "decay must be in [0, 1)"),  # diverged
    (lambda: runs.optimize(_problem(), 20, 0.1, optax.adamw, weight_decay=-1.0), "weight_decay must be >= 0"),
    # Read as "diverged at step 1" before (NaN noise or a NaN square root at the first step):
    (lambda: runs.optimize(_problem(), 20, 0.1, optax.noisy_sgd, eta=-1.0), "eta must be >= 0"),
    (lambda: runs.optimize(_problem(), 20, 0.1, optax.adagrad, initial_accumulator_value=-1.0),
     "initial_accumulator_value must be >= 0"),
    (lambda: runs.optimize(_problem(), 20, 0.1, optax.rmsprop, initial_scale=-1.0), "initial_scale must be >= 0"),
    (lambda: runs.optimize(_problem(), 20, 0.1, optax.adan, b3=1.5), "b3 must be in [0, 1)"),
    (lambda: atoms.neighbours(_with_nan_site(), 3.0), "positions hold NaN"),  # the site had no neighbours
    (lambda: atoms.neighbours(atoms.bcc(2), NAN), "cutoff must be a positive distance"),  # no neighbours at all
    (lambda: atoms.neighbours(atoms.bcc(2)._replace(occupied=np.ones(16, int)), 3.0), "boolean mask"),
    (lambda: atoms.neighbours(atoms.bcc(2)._replace(cell=np.ones((3, 3))), 3.0), "linearly dependent"),
    (lambda: atoms.neighbours(atoms.bcc(2)._replace(occupied=np.ones(3, bool)), 3.0), "occupied (S,)"),
    # A fourth probe (criteria, problems, descent): each returned a run or a reference before.
    (lambda: problems.problem(criteria.poisson, problems.make_data(_X(), np.zeros(N))), "no finite optimum"),  # a0=-25
    (lambda: problems.problem(criteria.poisson, problems.make_data(*_zero_counts_on_an_indicator())),
     "no finite optimum"),  # its coefficient at -24 "converged", kappa 1e11
    (lambda: problems.problem(criteria.poisson, problems.make_data(_X(), _y() - 0.5, l2=0.01)), "must be >= 0"),
    (lambda: problems.problem(functools.partial(criteria.logistic), problems.make_data(_X(), 2 * _y() - 1, l2=0.01)),
     "binary labels 0 and 1"),  # labels -1/1 through a wrapper: a nonsense a*
    (lambda: problems.problem(criteria.least_squares, problems.make_data(_X(), _y(), l2=0.5)), "ignores data.l2"),
    (lambda: problems.problem(criteria.least_squares, criteria.Data(_data().X.astype(jnp.float32), _data().y, 0.0)),
     "mix float dtypes"),  # a float32 reference measured in float64: negative gaps
    (lambda: problems.problem(criteria.ridge_gram, criteria.gram(_data())._replace(l2=jnp.asarray(-0.2))),
     "moments.l2 must be >= 0"),
    (lambda: problems.problem(criteria.least_squares_gram, _asymmetric_gram()),
     "G is not symmetric"),  # a wrong gradient
    (lambda: problems.problem(criteria.least_squares_gram, criteria.Gram(-jnp.eye(P), jnp.ones(P), jnp.asarray(1.0))),
     "negative eigenvalue"),  # "rank-deficient or badly scaled"
    (lambda: problems.problem(criteria.least_squares_gram, criteria.gram(_data())), "ignores moments.l2"),
    (lambda: descent.run(criteria.least_squares, *_run_args(), growth=0.5, learning_rate=0.1), "growth must be >= 1"),
    (lambda: runs.optimize(_problem(), 20, 0.1, momentum=[0.0, 0.5, 0.9]), "one number each"),  # per coordinate
    (lambda: runs.optimize(_problem(), 20, 0.1, functools.partial(optax.sgd, nesterov="no"), momentum=0.5),
     "nesterov must be True or False"),  # Nesterov
    (lambda: runs.optimize(_problem(), 20, 0.1, record_path="no"), "record_path must be True or False"),
    (lambda: problems.regression(jax.random.key(0), 10, 2, 5.0, dtype=jnp.complex64), "float32 or float64"),
    (lambda: problems.regression(0, 10, 2, 5.0), "must be a JAX PRNG key"),
    (lambda: descent.run(criteria.least_squares, *_run_args(), batches=descent.Minibatches(4, 0, 4),
                         learning_rate=0.1), "batches.key must be a JAX PRNG key"),
    (lambda: descent.run(criteria.least_squares, *_run_args(), learning_rate=0.1,
                         batches=descent.Minibatches(np.array([2, 4]), jax.random.key(0), 4)), "one batch size"),
    (lambda: problems.problem(functools.partial(criteria.huber, delta=0.0), _data()), "delta must be finite and > 0"),
    (lambda: files.save_json(os.path.dirname(__file__), {}), "is a directory: name a file"),  # the temporary's name
    (lambda: problems.regression_problem(jax.random.key(0), 20, 2, 5.0, criterion=criteria.huber, gram=True),
     "no moment form"),  # a bare KeyError
    (lambda: problems.problem(criteria.least_squares, criteria.Data(jnp.ones((5, 2), int), jnp.arange(5.0), 0.0)),
     "not floating point"),  # "data type int64 not inexact" from inside the solve
    (lambda: descent.run(_sum_of_squares, *_run_args(_sum_of_squares), learning_rate=0.01,
                         batches=descent.Minibatches(N, jax.random.key(0), N, False)),
     "a mean over the rows"),  # N x slower
    (lambda: runs.CriterionRun(_sum_of_squares, problems.make_data(_X(), _y()), 10, largest_batch=4),
     "a mean over the rows"),
    (lambda: runs.CriterionRun(_penalty_of_the_sum, problems.make_data(_X(), _y()), 10, largest_batch=4),
     "a mean over the rows"),  # its penalty N times too heavy on each row vanishes at a = 0: checked there alone
    # descent.run checked the start alone, runs.optimize nothing (its jit traced the data): an eighteenth look
    (lambda: descent.run(_penalty_of_the_sum, *_run_args(_penalty_of_the_sum), learning_rate=0.01,
                         batches=descent.Minibatches(N, jax.random.key(0), N, False)),
     "a mean over the rows"),  # B = N ended at a gap of 0.07 where gradient descent reaches 1e-16
    (lambda: runs.optimize(problems.problem(_sum_of_squares, problems.make_data(_X(), _y())), 20, 1e-4,
                           batches=descent.Minibatches(4, jax.random.key(0), 4)), "a mean over the rows"),
    (lambda: runs.optimize(problems.problem(_penalty_of_the_sum, problems.make_data(_X(), _y())), 20, 1e-2,
                           batches=descent.Minibatches(4, jax.random.key(0), 4)), "at a random point"),
    # A sixth probe (lab.runs, stability, plots, results, networks):
    (lambda: runs.optimize(_problem(), 301, 0.1, record_every=2), "record_every = 2 must divide num_steps = 301"),
    (lambda: runs.LinearRegressionRun(n=20, d=2, num_steps=301, record_every=2), "must divide num_steps"),
    (lambda: runs.CriterionRun(criteria.least_squares, _data(), 301, record_every=2), "must divide num_steps"),
    (lambda: runs.Scheduled(functools.partial(optax.sgd, momentum=1.5), 50), "momentum must be in [0, 1)"),
    (lambda: runs.Scheduled(functools.partial(optax.sgd, nesterov="no"), 50), "nesterov must be True or False"),
    (lambda: runs.Scheduled(optax.adam(0.1), 50), "not optax.adam(...)"),  # a TypeError when called
    (lambda: runs.Scheduled("sgd", 50), "must be an optax factory"),
    (lambda: runs.Scheduled(optax.sgd, 1), "num_steps must be an integer >= 2"),  # optax's decay_steps error
    (lambda: runs.values_of(optax.adam(0.1)), "not optax.adam(...)"),
    (lambda: networks.size((2, True, 1)), "at least two positive integers"),  # 5: True read as 1
    # A seventh probe (criteria, files, the command):
    (lambda: problems.load_csv(datasets.DIABETES, "target", standardize="no"), "standardize must be True or False"),
    (lambda: problems.load_csv(datasets.DIABETES, "target", labels="no"), "labels must be True or False"),
    (lambda: criteria.huber(jnp.zeros(P), _data(), delta=np.inf), "delta must be finite and > 0"),  # NaN gradients
    (lambda: criteria.huber(jnp.zeros(P), _data(), delta=np.ones(N)), "delta must be one number"),  # a delta per row
    (lambda: problems.problem(criteria.least_squares_gram,
                              criteria.gram(_data())._replace(l2=0.0, c=jnp.asarray(-5.0))),
     "not the moments of one data set"),  # f* = -9.96, a negative mean square
    (lambda: problems.problem(criteria.least_squares_gram, _other_datas_b()), "not the moments of one data set"),
    (lambda: files.save_json(os.path.join(os.path.dirname(__file__), "no_such_directory", "x.json"), {}),
     "is not a directory (missing, or a file)"),  # a FileNotFoundError naming the temporary file
    (lambda: criteria.gram(criteria.Data(_data().X, _data().y[:, None], 0.0)), "gram needs data.X (N, P)"),
    (lambda: criteria.design(np.ones(3)), "X must be 2-D"),  # numpy's concatenate error
    # a float64 criterion on float32 data (strict: a TypePromotionError)
    (lambda: problems.problem(criteria.ridge, criteria.Data(_data().X.astype(jnp.float32),
                                                            _data().y.astype(jnp.float32), np.float64(0.1))),
     "data.l2 is float64 beside data.X of float32"),
]


def _other_datas_b():
    """G and c of one data set, b of another: f* = -5.1, a negative mean square, before."""
    mine = criteria.gram(problems.make_data(_X(), _y()))
    theirs = criteria.gram(problems.make_data(_X(), -3 * _y()))
    return mine._replace(b=theirs.b)


def _penalty_of_the_sum(a, data):  # the course's ridge (sum + penalty) / N: the penalty weighs N x on one row
    return (jnp.sum((data.y - data.X @ a) ** 2) + 0.5 * jnp.sum(a**2)) / data.X.shape[0]


def _sum_of_squares(a, data):
    return jnp.sum((data.y - data.X @ a) ** 2)


def _zero_counts_on_an_indicator():
    """Counts 0 on every sample where the second feature (an indicator) is 1: its coefficient falls without end."""
    rng = np.random.default_rng(1)
    X = np.c_[rng.normal(size=40), np.arange(40) < 8]
    return X, np.where(X[:, 1] > 0, 0.0, rng.poisson(2.0, 40))


def _asymmetric_gram():
    moments = criteria.gram(problems.make_data(_X(), _y()))
    return moments._replace(G=moments.G.at[0, 1].add(0.3))


def _run_args(criterion=criteria.least_squares):
    data = problems.make_data(_X(), _y())
    return data, jnp.zeros(P), problems.problem(criterion, data).reference, 20


def _with_nan_site():
    structure = atoms.bcc(2)
    return structure._replace(positions=np.where(np.arange(16)[:, None] == 0, NAN, structure.positions))


def _boundary_ties():
    """Two separated clusters and two samples of either class at the origin: no margin positive for those two."""
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(2, 0.3, (10, 2)), rng.normal(-2, 0.3, (10, 2)), np.zeros((2, 2))]
    return X, np.r_[np.ones(10), np.zeros(10), 1.0, 0.0]


def _problem():
    return problems.problem(criteria.least_squares, problems.make_data(_X(), _y()))


def _labels01():
    return (_y() > np.median(_y())).astype(float)


def _spectrum():
    return spectrum.spectrum(criteria.least_squares, jnp.zeros(P), problems.make_data(_X(), _y()))


@pytest.mark.parametrize("call, words", FORMULA_INPUTS)
def test_a_formula_refuses_what_it_would_turn_into_a_plausible_number(call, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        call()


def test_sweep_and_edge_search_settings_are_checked_before_any_run(tmp_path):
    run = runs.LinearRegressionRun(n=20, d=2, num_steps=20)
    axes = {"learning_rate_over_edge": np.array([0.5]), "kappa": np.array([1.0, 10.0])}
    for bound in (NAN, INF, -5):  # a TypeError or "more than max_bytes = -4.8e-06 MiB" before
        with pytest.raises(ValueError, match="max_bytes must be a positive number"):
            sweep.sweep(run, axes, max_bytes=bound, progress=False)
    (tmp_path / "file").write_text("")
    # a FileExistsError after the first chunk before
    with pytest.raises(ValueError, match="is a file, not a directory"):
        sweep.sweep(run, axes, checkpoint=tmp_path / "file", progress=False)
    with pytest.raises(ValueError, match="edge_bracket must be a pair"):
        stability.edge_and_best(run, {"kappa": np.array([1.0])}, edge_bracket=(1.0,))
    for rule in (lambda outcome: outcome["final_gap"],  # numbers
                 lambda outcome: jnp.all(outcome["final_gap"] < outcome["initial_gap"]),  # an IndexError before
                 lambda outcome: True,  # an AttributeError before
                 lambda outcome: outcome["gap"] < outcome["initial_gap"][:, None]):  # JAX's scan-carry error before
        with pytest.raises(ValueError, match=r"rule must return one boolean \(stable or not\) per run, shape \(4,\)"):
            stability.edge_and_best(run, {"kappa": np.array([1.0])}, rule=rule)
    edges = [stability.edge_and_best(run, {"kappa": np.array([10.0])}, edge_bracket=bracket, find_best=False)
             for bracket in ((1, 4), (1.0, 4.0))]  # integers: JAX's scan-carry TypeError before
    assert edges[0]["edge"].tolist() == edges[1]["edge"].tolist()
    with pytest.raises(ValueError, match=r"output 'x' has shape \(2,\)"):  # saved, then "damaged" on load, before
        results.save(results.Results({"a": np.arange(3.0)}, {"x": np.zeros(2)}, {}), tmp_path / "r")


def test_a_best_learning_rate_at_the_end_of_its_bracket_is_not_reported_as_measured(capsys):
    run = runs.LinearRegressionRun(n=30, d=3, num_steps=200)
    for bracket, above in (((0.95, 1.5), False), ((0.05, 0.5), True)):  # the best learning rate 2/(L+mu) = 0.91 x 2/L
        with pytest.warns(UserWarning, match="the best learning rate was not bracketed at 1 of 1"):
            edges = stability.edge_and_best(run, {"kappa": np.array([10.0])}, best_bracket=bracket)
        assert (np.isnan(edges["best"][0]) and np.isnan(edges["best_learning_rate"][0])
                and np.isnan(edges["best_rate"][0]))
        assert not edges["best_bracketed"][0] and edges["best_above"][0] == above


def test_an_edge_far_from_theory_is_warned_about_as_a_rule_misreading_the_runs():
    """A rule that calls every run not stopped by the divergence rule stable reads 1.3 x 2/L as the edge of
    10-step runs (their growth past 2/L stays under the divergence threshold): said nothing before. (Log-cosh on
    the diabetes data with 300 steps and 'converging' read 2.4 x 2/L, the README's case.)"""
    run = runs.LinearRegressionRun(n=30, d=3, num_steps=10)
    with pytest.warns(UserWarning, match=r"the measured edge is \+30% from the theory edge \(more than 10% at 1 of 1"):
        edges = stability.edge_and_best(run, {"kappa": np.array([10.0])}, rule=lambda outcome: ~outcome["diverged"])
    assert edges["bracketed"].all() and 1.25 < edges["edge"][0] < 1.35  # the numbers are kept: the warning says it


def test_a_best_learning_rate_far_from_theory_is_warned_about_as_rates_that_had_not_settled():
    """At kappa 1e4 with 4 features, 1000 steps read the rate while the modes just above mu still faded: the golden
    section minimised their transient and reported 0.27 x 2/(L + mu) as measured, in silence (a probe's finding)."""
    axes = {"kappa": np.array([1e4])}
    with pytest.warns(UserWarning, match=r"best learning rate is -7\d% from 2/\(L \+ mu\) \(more than 10% at 1 of 1.*"
                                         r"raise num_steps"):
        short = stability.edge_and_best(runs.LinearRegressionRun(n=40, d=4, num_steps=1000), axes)
    assert 0.2 < short["best_learning_rate"][0] / short["theory_best_learning_rate"][0] < 0.35  # kept, and warned
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        settled = stability.edge_and_best(runs.LinearRegressionRun(n=40, d=4, num_steps=2000), axes)
    assert abs(settled["best_learning_rate"][0] / settled["theory_best_learning_rate"][0] - 1) < 1e-3


def test_no_best_learning_rate_is_reported_for_momentum_whose_rate_has_a_plateau():
    """At a fixed beta heavy ball contracts by sqrt(beta) over much of best_bracket: the golden section minimised the
    measured rates' noise and reported 0.27-0.76 x 2/L as measured bests (rates below sqrt(beta); a probe's finding)."""
    run = runs.LinearRegressionRun(n=50, d=4, num_steps=300, optimizer=functools.partial(optax.sgd, momentum=0.9))
    with pytest.warns(UserWarning, match=r"no best learning rate for sgd\(momentum=0.9\) at 2 of 2 point\(s\).*"
                                         r"Pass find_best=False"):
        edges = stability.edge_and_best(run, {"kappa": np.array([1.0, 10.0])})
    assert np.isnan(edges["best_learning_rate"]).all() and not edges["best_bracketed"].any()
    np.testing.assert_allclose(edges["edge"], 1.9, rtol=1e-2)  # the edge still measured: 2(1 + beta)/L
    plain = stability.edge_and_best(dataclasses.replace(run, optimizer=functools.partial(optax.sgd, momentum=0.0)),
                                    {"kappa": np.array([10.0])})  # beta = 0 is gradient descent: searched
    assert plain["best_learning_rate"][0] == pytest.approx(plain["theory_best_learning_rate"][0], rel=5e-3)


def test_numpy_arrays_in_a_hand_built_data_sweep_with_bootstrap_seeds():
    """A TracerArrayConversionError inside the sweep before: the bootstrap met numpy arrays."""
    axes = {"learning_rate_over_edge": np.array([0.5]), "seed": np.arange(2)}
    L = [sweep.sweep(runs.CriterionRun(criteria.least_squares, data, 30), axes, progress=False)["L"]
         for data in (criteria.Data(np.c_[np.ones(N), _X()], _y(), 0.0), problems.make_data(_X(), _y()))]
    np.testing.assert_allclose(L[0], L[1], rtol=1e-12)


@pytest.mark.parametrize("argv, words", [
    (["--momentum", "0.5"], "--momentum applies to --optimizer momentum or nesterov only"),
    (["--optimizer", "adam", "--momentum", "1.5"], "--momentum applies to"),
    (["--data", "x.csv", "--target", "t", "--n", "5"], "--n applies to synthetic data"),
    (["--delta", "2"], "--delta applies to --criterion huber only"),
    (["--size", "5"], "--size applies to your criterion on --data only"),
    (["--no-intercept"], "--no-intercept describes --data"),
    (["--reference-tol", "1e-6"], "--reference-tol applies to your criterion on --data only"),
    (["--reference-max-iter", "5000"], "--reference-max-iter applies to your criterion on --data only"),
])
def test_lab_sweep_refuses_a_flag_it_would_ignore(argv, words, capsys, tmp_path):
    assert cli.main(["sweep", *argv, "--out", str(tmp_path / "s")]) == 2
    assert words in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_the_checks_accept_what_the_lab_and_numpy_produce():
    """Rounding asymmetry of a float32 Hessian, numpy and JAX booleans, and seeds that are not the lab's."""
    assert float(adam.preconditioned_sharpness(np.array([[1.0, 1e-20], [-1e-20, 2.0]]), 1.0)) == 2.0
    X = _X()
    for intercept in (jnp.array(True), np.False_, 1):
        assert criteria.design(X, intercept).shape[1] == D + bool(intercept)
    grid = sweep.sweep(lambda seed: {"y": seed * 1.0}, {"seed": np.array([0.5, 2.0**40])}, progress=False)
    assert grid["y"].tolist() == [0.5, 2.0**40]  # a function's own "seed" is not cast to int32


def test_values_the_runs_dtype_turns_into_0_or_inf_are_refused_not_run():
    """A learning rate of 1e-50 (or Adam's eps of 1e-45) ran as 0 in float32, its results labelled 1e-50; one of 1e-40
    as a subnormal that XLA's CPU flushes to 0; 1e39 as inf."""
    data = problems.make_data(_X().astype(np.float32), _y().astype(np.float32))
    problem = problems.problem(criteria.least_squares, data)
    with pytest.raises(ValueError, match=r"learning_rate = 1e-50 is outside float32's normal .* compute with 0"):
        descent.run(criteria.least_squares, data, jnp.zeros(P, jnp.float32), problem.reference, 5, learning_rate=1e-50)
    with pytest.raises(ValueError, match=r"eps = 1e-45 is outside float32's normal numbers"):
        runs.optimize(problem, 5, 0.1, optax.adam, eps=1e-45)
    run = runs.CriterionRun(criteria.least_squares, data, 5)
    with pytest.raises(ValueError, match=r"axis 'learning_rate' holds 1e-40, which is outside float32's normal"):
        sweep.sweep(run, {"learning_rate": np.array([0.1, 1e-40])}, progress=False)
    synthetic = runs.LinearRegressionRun(N, D, 5, dtype="float32")
    with pytest.raises(ValueError, match=r"axis 'learning_rate_over_edge' holds 1e\+39, .* compute with inf"):
        sweep.sweep(synthetic, {"learning_rate_over_edge": np.array([0.5, 1e39])}, progress=False)
    for bad in (runs.LogisticRun(N, D, 5, dtype="float32"), synthetic):
        with pytest.raises(ValueError, match=r"axis 'l2' holds 1e-45"):
            bad.check_axes({"learning_rate": np.array([0.1]), "l2": np.array([1e-45])})
    # float32's smallest normal number runs, as printed (1.1754944e-38, which rounds to it), and its largest is held
    grid = sweep.sweep(run, {"learning_rate": np.array([1.1754944e-38, 0.1])}, progress=False)
    assert grid["final_gap"].shape == (2,)
    run.check_axes({"learning_rate": np.array([3.4028235e38])})
    with pytest.raises(ValueError, match="holds 1.17549e-38, which is outside float32's"):  # just below: subnormal
        run.check_axes({"learning_rate": np.array([1.1754942e-38])})
    wide = runs.CriterionRun(criteria.least_squares, problems.make_data(_X(), _y()), 5)
    assert sweep.sweep(wide, {"learning_rate": np.array([1e-50, 0.1])}, progress=False)["final_gap"].shape == (2,)


def test_the_new_checks_let_valid_input_through_eagerly_and_under_jit():
    """A reviewer's cases, each refused or crashing by a first version of the checks."""
    X32, y32 = _X().astype(np.float32), _y().astype(np.float32)
    found = problems.problem(criteria.ridge, criteria.Data(X32, y32, jnp.asarray(0.1)), np.zeros(D))  # float64 start
    assert found.start.dtype == jnp.float32  # cast to the data's precision, l2 (a scalar) aside
    widened = problems.problem(criteria.least_squares, problems.make_data(_X(), _y()), jnp.zeros(P, jnp.float32))
    assert widened.reference.params.dtype == jnp.float64  # a float32 start solved float64 data in float32
    rng = np.random.default_rng(0)  # nearly collinear columns, overlapping classes: finite optimum, singular Hessian
    x = rng.normal(size=(400, 2))
    labels = (x[:, 0] + 0.8 * rng.normal(size=400) > 0) * 1.0
    with pytest.warns(UserWarning, match="singular"):
        problems.problem(criteria.logistic, problems.make_data(np.c_[x, x[:, :1] + 1e-9 * rng.normal(size=(400, 1))],
                                                               labels))
    jax.config.update("jax_default_prng_impl", "rbg")  # its raw keys are (4,), not (2,)
    try:
        assert problems.regression(jax.random.PRNGKey(0), 10, 2, 5.0)[0].shape == (10, 2)
    finally:
        jax.config.update("jax_default_prng_impl", "threefry2x32")
    data, start, found, num_steps = _run_args()
    batches = descent.Minibatches(4, jax.random.key(0), 4)
    jitted = [jax.jit(lambda lr: runs.optimize(problems.problem(criteria.least_squares, data, start), 20,
                                               lr)[0].final_gap),
              jax.jit(lambda lr: descent.run(criteria.least_squares, data, start, found, num_steps, learning_rate=lr,
                                             batches=batches).gap[-1]),
              jax.jit(lambda s: model_selection.ridge_cv(data.X[:, 1:] * s, data.y, jnp.asarray([0.0, 0.1])).best_l2)]
    assert all(np.isfinite(float(f(0.1))) for f in jitted)  # data captured, not traced: the checks crashed on tracers


def test_traced_values_no_check_can_see_give_nan_not_a_plausible_number():
    """Under jit a batch size outside 1..largest zeroed or rescaled the step, and a NaN curvature gave sqrt(beta)."""
    run = runs.CriterionRun(criteria.ridge, _data(), 30, largest_batch=4)
    outcome = jax.jit(jax.vmap(lambda b: run(learning_rate_over_edge=0.5, batch_size=b)))(
        jnp.array([40.0, 2.5, 0.0, 4.0]))
    assert outcome.diverged.tolist() == [True, True, True, False]
    edges = jax.jit(jax.vmap(lambda b: minibatch.mean_square_edge(_X(), b, False)))(jnp.array([25.0, -2.0, 0.5, 3.0]))
    assert np.isnan(edges[:3]).all() and np.isfinite(edges[3])
    rates = jax.jit(lambda h: spectrum.momentum_rate(0.1, 0.5, h))(jnp.array([[1.0, NAN], [1.0, 2.0]]))
    assert np.isnan(rates[0]) and rates[1] == pytest.approx(
        float(spectrum.momentum_rate(0.1, 0.5, jnp.array([1.0, 2.0]))))
    edges = jax.jit(jax.vmap(lambda b: jnp.stack([spectrum.heavy_ball_threshold(2.0, b),
                                                  spectrum.nesterov_threshold(2.0, b),
                                                  spectrum.momentum_rate(0.1, b, jnp.ones(2))])))(
        jnp.array([1.5, -0.5, 0.5]))
    assert np.isnan(edges[:2]).all() and np.isfinite(edges[2]).all()  # 5/L at beta = 1.5 before
    best = jax.jit(lambda l2: model_selection.ridge_cv(_X(), _y(), l2).best)(jnp.array([1e-3, -5.0, 1e-1]))
    assert int(best) == 2  # 1e-1, the better of the two others; the negative penalty's NaN score was chosen before
    scheduled = runs.LinearRegressionRun(n=30, d=3, num_steps=50, optimizer=runs.Scheduled(optax.sgd, 50))
    outcome = jax.jit(jax.vmap(lambda k: scheduled(learning_rate_over_edge=0.9, schedule=k)))(
        jnp.array([7.0, -1.0, 1.5, 3.0]))  # ran schedules 3, 0 and 1 before (jax.lax.switch clamps)
    assert outcome.diverged.tolist() == [True, True, True, False] and np.isnan(outcome.measured_rate[:3]).all()
    assert float(outcome.final_gap[3]) == pytest.approx(  # another program's rounding; schedules 0, 1: 2e-9, 8e-4
        float(scheduled(learning_rate_over_edge=0.9, schedule=3).final_gap), rel=1e-9)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_traced_values_outside_a_formulas_domain_give_nan_not_another_problem(dtype):
    """Under jit, values the eager checks refuse gave plausible numbers: kappa = 0.5 built data of kappa 2 (L 4),
    an all-NaN cross-validation chose l2[0], 2/(L + mu) at mu < 0 was 1.33 (above the edge 2/L = 1), 2/L at L < 0
    -1, (kappa - 1)/(kappa + 1) at kappa 0.5 -0.33, the rate at a learning rate -0.5 2.28, 0 iterations from a
    negative gap."""
    X, y = jax.jit(lambda k: problems.regression(jax.random.key(0), 40, 4, k, dtype=dtype))(0.5)
    assert np.isnan(X).all() and np.isnan(y).all()
    X, _ = jax.jit(lambda k: problems.classification(jax.random.key(0), 40, 4, kappa=k, dtype=dtype))(0.5)
    assert np.isnan(X).all()
    X, y = jax.jit(lambda k: problems.regression(jax.random.key(0), 40, 4, k, dtype=dtype))(3.0)
    assert np.isfinite(X).all()  # kappa >= 1 as before
    scores = jax.jit(model_selection.ridge_cv)(X, y.at[4].set(np.nan), jnp.asarray([0.0, 0.1, 1.0], dtype))
    assert int(scores.best) == -1 and np.isnan(scores.best_l2)
    values = jax.jit(lambda x: jnp.stack([
        spectrum.best_learning_rate(2.0, -x), spectrum.stability_threshold(-x), spectrum.optimal_rate(x),
        spectrum.momentum_rate(-x, 0.5, jnp.ones(2, dtype)), spectrum.predicted_iterations(0.5, -x, 1e-6),
        spectrum.contraction(-x, 2.0, 1.0), spectrum.heavy_ball_optimal(x, 1.0)[0]]))(jnp.asarray(0.5, dtype))
    assert np.isnan(values).all(), values
    valid = jax.jit(lambda x: jnp.stack([  # inside the domain: the formulas
        spectrum.best_learning_rate(2.0, x), spectrum.stability_threshold(x), spectrum.optimal_rate(1 / x),
        spectrum.predicted_iterations(0.5, x, 1e-6), spectrum.contraction(x, 2.0, 1.0)]))(jnp.asarray(0.5, dtype))
    np.testing.assert_allclose(valid, [0.8, 4.0, 1 / 3, 10.0, 0.5], rtol=1e-6)


def test_traced_data_the_checks_refuse_give_the_status_invalid_data_not_an_optimum():
    """Under jit, logistic labels 0 and 2 gave a "converged" optimum with f* = -0.91 (a log-likelihood is >= 0),
    ridge with l2 = -0.05 (H still positive definite) "max_iter", negative Poisson counts an optimum."""
    X = np.column_stack([np.ones(N), _X()])
    labels = jnp.asarray(2.0 * (_X()[:, 0] > 0))
    status = lambda criterion, y, l2: int(jax.jit(lambda y, l2: problems.problem(  # noqa: E731
        criterion, criteria.Data(jnp.asarray(X), y, l2)).reference.status)(y, l2))
    assert status(criteria.logistic, labels, jnp.asarray(0.1)) == reference.INVALID_DATA
    assert status(criteria.logistic, labels / 2, jnp.asarray(0.1)) == reference.CONVERGED
    assert status(criteria.ridge, jnp.asarray(_y()), jnp.asarray(-0.05)) == reference.INVALID_DATA
    assert status(criteria.ridge, jnp.asarray(_y()), jnp.asarray(0.05)) == reference.CONVERGED
    assert status(criteria.poisson, labels - 1, jnp.asarray(0.1)) == reference.INVALID_DATA
    assert status(criteria.poisson, labels, jnp.asarray(0.1)) == reference.CONVERGED


def test_a_run_on_traced_data_the_checks_refuse_measures_nothing():
    """Logistic with l2 < 0 under jit read a final gap of -4e14 and 'not diverged' against a minimum that is none:
    every measurement NaN and every count -1 now, beside the status; valid data keep their numbers."""
    X = np.column_stack([np.ones(N), _X()])
    optimize = jax.jit(lambda l2: runs.optimize(problems.problem(criteria.logistic, criteria.Data(
        jnp.asarray(X), jnp.asarray(_y()), l2)), 50, 1.0)[0])
    bad, good = optimize(jnp.asarray(-0.5)), optimize(jnp.asarray(0.1))
    assert int(bad.reference_status) == reference.INVALID_DATA and int(good.reference_status) == reference.CONVERGED
    for name in ("gap", "distance", "initial_gap", "final_gap", "final_distance", "measured_rate", "L", "mu",
                 "theory_edge_learning_rate", "predicted_rate"):
        assert np.all(np.isnan(bad._asdict()[name])), name
        assert np.all(np.isfinite(good._asdict()[name])), name
    assert int(bad.iterations) == int(bad.predicted_iterations) == int(bad.diverged_at) == -1
    assert not bad.diverged and not bad.iterations_resolved and float(bad.learning_rate) == 1.0
    assert int(good.iterations) > 0 and float(good.final_gap) < 1e-6


def test_a_stability_map_draws_the_edges_of_its_own_slice_and_refuses_others():
    """Edges over l2 drawn on a map at l2 = 0 put the markers of l2 = 0.1 on its rows, unlabelled, before."""
    run = runs.LinearRegressionRun(n=30, d=2, num_steps=50, criterion="ridge")
    kappa, l2 = np.array([1.0, 10.0]), np.array([0.0, 0.1])
    grid = sweep.sweep(run, {"learning_rate_over_edge": np.array([0.5, 1.5]), "kappa": kappa, "l2": l2}, progress=False)
    edges = stability.edge_and_best(run, {"kappa": kappa, "l2": l2}, best_iterations=4)
    part = lambda axes, index: results.Results(axes, {k: v[index] for k, v in edges.outputs.items()}, {})  # noqa: E731
    figure = plots.stability_map(grid, at={"l2": 0.1}, edges=edges)  # the map's slice of the edges, l2 = 0.1
    markers = [line for line in figure.axes[0].lines if line.get_marker() == "o"]
    np.testing.assert_allclose(markers[0].get_xdata(), edges["edge"][:, 1])
    plt.close(figure)
    with pytest.raises(ValueError, match=r"edges hold l2 = \[0.1\], but the map fixes l2 = 0"):
        plots.stability_map(grid, edges=part({"kappa": kappa, "l2": l2[1:]}, np.s_[:, 1:]))
    with pytest.raises(ValueError, match="edges lack the axis 'l2' that the map fixes"):
        plots.stability_map(grid, edges=part({"kappa": kappa}, np.s_[:, 0]))
    with pytest.raises(ValueError, match="edges lack the map's rows axis 'l2'"):  # markers at y = kappa, before
        plots.stability_map(grid, rows="l2", at={"kappa": 1.0}, edges=part({"kappa": kappa[:1]}, np.s_[:1, 0]))
    other = edges._replace(optimizer=runs.name_of(functools.partial(optax.sgd, momentum=0.9)))  # as its search names it
    with pytest.raises(ValueError,
                       match=r"edges were measured with optimizer 'sgd\(momentum=0.9\)', the map's runs use "
                             "'sgd'"):  # markers at 1.9 x 2/L beside the theory's 1, before
        plots.stability_map(grid, at={"l2": 0.1}, edges=other)
    seeds = results.Results({**edges.axes, "seed": np.array([7])}, {k: v[..., None] for k, v in edges.outputs.items()},
                            {}, edges.optimizer, edges.problem)
    with pytest.raises(ValueError, match=r"edges hold seeds \[7\] that the map does not"):
        plots.stability_map(results.Results({**grid.axes, "seed": np.array([0, 1])},
                                            {k: np.stack([v, v], axis=-1) for k, v in grid.outputs.items()}, {}),
                            at={"l2": 0.1}, edges=seeds)
    one_kappa = results.Results({**grid.axes, "kappa": kappa[:1]}, {k: v[:, :1] for k, v in grid.outputs.items()}, {})
    figure = plots.stability_map(one_kappa)  # rows: l2, not the one kappa (a map of one row, l2 = 0.1 unseen)
    assert "penalty l2" in figure.axes[0].get_ylabel()
    plt.close(figure)

def test_only_an_optimizers_numbers_are_sweep_axes_and_an_output_named_as_an_axis_must_echo_it():
    """adamw's mask, lbfgs's memory_size and linesearch, noisy_sgd's key and seed were offered as axes (then failed
    inside JAX); an output x beside an axis x was dropped from the long format in silence."""
    assert runs.values_of(optax.adamw) == ["learning_rate", "b1", "b2", "eps", "eps_root", "weight_decay"]
    assert runs.values_of(optax.sgd) == ["learning_rate", "momentum"]
    assert runs.values_of(optax.lbfgs) == ["learning_rate"] and runs.values_of(optax.noisy_sgd) == ["learning_rate",
                                                                                                   "eta", "gamma"]
    assert "min_dim_size_to_factor" not in runs.values_of(optax.adafactor)  # a swept axis that changed nothing
    with pytest.raises(ValueError, match="axis 'mask'"):
        sweep.sweep(runs.LinearRegressionRun(n=20, d=2, num_steps=5, optimizer=optax.adamw),
                    {"learning_rate": np.array([0.1]), "mask": np.array([0, 1])}, progress=False)
    axes = {"x": np.array([1.0, 2.0]), "s": np.array([0.0, 1.0])}
    grid = sweep.sweep(lambda x, s: {"x": 2 * x + s, "y": x * s}, axes, progress=False)
    with pytest.raises(ValueError, match="output 'x' is named as an axis but holds other values"):
        results.rows(grid)
    echo = sweep.sweep(lambda x, s: {"x": x + 0 * s, "y": x * s}, axes, progress=False)
    assert results.rows(echo)[0] == ["x", "s", "y"]
    # valid echoes: in bfloat16, and NaN where a run lost its unit (a failed reference's 2/L)
    rounded = sweep.sweep(lambda x, s: {"x": jnp.asarray(x, jnp.bfloat16), "y": x * s}, axes, progress=False)
    lost = sweep.sweep(lambda x, s: {"x": jnp.where(s > 0, jnp.nan, x), "y": x * s}, axes, progress=False)
    assert results.rows(rounded)[0] == results.rows(lost)[0] == ["x", "s", "y"]
    momentum = lambda learning_rate, momentum=0: optax.sgd(learning_rate, momentum)  # noqa: E731 (an int default)
    assert runs.values_of(momentum) == ["learning_rate", "momentum"]


def test_pandas_nullable_columns_are_read_as_numbers():
    """pandas' Int64 and Float64 columns raised "Cannot interpret 'Int64Dtype()' as a data type"; text stays
    refused."""
    pandas = pytest.importorskip("pandas")
    with pytest.raises(ValueError, match="not numbers"):
        problems.make_data(_X(), pandas.Series([str(v) for v in _y()], dtype="string"))
    frame = pandas.DataFrame({"a": _X()[:, 0], "b": _X()[:, 1], "y": (_y() * 3).astype(int)}).astype({"y": "Int64"})
    data = problems.make_data(frame[["a", "b"]].astype("Float64"), frame["y"])
    np.testing.assert_array_equal(data.y, _y() * 3)
    np.testing.assert_array_equal(data.X[:, 1:], _X()[:, :2])


@pytest.mark.parametrize("dtype, scales", [("float64", (1e200, 1e-170)), ("float32", (1e20, 1e-25))])
def test_standardize_scales_features_whose_squares_overflow_or_underflow(dtype, scales):
    """A column of 1e200 (1e20 in float32) came out all zeros with scale inf, one of 1e-170 as inf and NaN; the
    lab's features may lie anywhere from 1e-200 to 1e200. Ordinary columns: the formulas to rounding."""
    X = np.asarray(_X(), dtype)
    expected, _, plain_scale = problems.standardize(X)
    for size in scales:
        for standardize in (problems.standardize, jax.jit(problems.standardize)):  # eagerly and traced
            standardized, mean, scale = standardize(X * np.array([size, 1.0, 1.0], dtype))
            np.testing.assert_allclose(standardized, expected, rtol=20 * np.finfo(dtype).eps,
                                       atol=20 * np.finfo(dtype).eps)
            np.testing.assert_allclose(scale[0], size * plain_scale[0], rtol=20 * np.finfo(dtype).eps)
    exact = np.asarray(X, np.float64)  # ordinary columns: the formulas to rounding
    exact = (exact - exact.mean(axis=0)) / exact.std(axis=0)
    np.testing.assert_allclose(expected, exact, rtol=8 * np.finfo(dtype).eps, atol=8 * np.finfo(dtype).eps)


def test_valid_gram_moments_and_scalars_beside_data_are_accepted():
    """The moment and dtype checks refuse no valid input: nearly collinear columns with ridge, noiseless centred
    moments in float64 (no cancellation warning), an l2 scalar of the arrays' dtype (a float64 one beside float32
    arrays is refused, in the seventh probe's table)."""
    X = _X()
    collinear = np.column_stack([X[:, 0], X[:, 0] * (1 + 1e-8), X[:, 1]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        problems.problem(criteria.ridge_gram, criteria.gram(problems.make_data(collinear, _y(), l2=1e-3)))
        problems.problem(criteria.least_squares_gram, criteria.gram(problems.make_data(X, X @ np.arange(3.0))))
    data = _data()
    problems.problem(criteria.ridge, criteria.Data(data.X, data.y, np.float64(0.1)))
    problems.problem(criteria.ridge, criteria.Data(data.X.astype(jnp.float32), data.y.astype(jnp.float32),
                                                   np.float32(0.1)))


def test_gram_moments_that_cancel_beyond_the_dtype_warn_and_a_constant_csv_column_is_named(tmp_path):
    """float32 moments of a y around 1000 give f* = 0.81 where it is 1.06 (eps c = 0.12): a warning; centred y
    none. load_csv(standardize=True) named a constant column by its index among the features, not its name."""
    X = np.asarray(_X(), np.float32)
    y = np.asarray(1000 + _y(), np.float32)
    with pytest.warns(UserWarning, match=r"cancels c = 1e\+06 down to f\* = .* in float32 .* centre y"):
        problems.problem(criteria.least_squares_gram, criteria.gram(problems.make_data(X, y)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        problems.problem(criteria.least_squares_gram, criteria.gram(problems.make_data(X, y - y.mean())))
    (tmp_path / "c.csv").write_text("y,a,b\n3,1,5\n4,2,5\n5,3,5\n")
    with pytest.raises(ValueError, match="has constant column\\(s\\) 'b'"):
        problems.load_csv(tmp_path / "c.csv", "y", standardize=True)


def test_a_schedule_longer_than_the_run_is_its_first_part():
    """Only a shorter one is refused (it would stop the run): a 1000-step cosine in a 300-step run decays partly."""
    data = problems.make_data(_X(), _y())
    runs.CriterionRun(criteria.least_squares, data, 300, optimizer=runs.Scheduled(optax.sgd, 1000))
    with pytest.raises(ValueError, match="would end at step 100"):
        runs.CriterionRun(criteria.least_squares, data, 300, optimizer=runs.Scheduled(optax.sgd, 100))


def test_formulas_refuse_what_would_broadcast_or_read_nan_as_a_plausible_number():
    """Found by probing the formulas' modules: each of these returned a number."""
    spec = spectrum.Spectrum(jnp.array([1.0, 4.0]), jnp.eye(2))
    X = jax.random.normal(jax.random.key(0), (5, 2))
    one_rate = "learning_rate must be one number, got shape .*jax.vmap over learning rates"
    with pytest.raises(ValueError, match=one_rate):  # a rate per eigen-direction
        spectrum.predicted_gap(spec, jnp.array([0.1, 0.4]), jnp.ones(2), jnp.zeros(2), 2)
    with pytest.raises(ValueError, match=one_rate):
        spectrum.predicted_distance(spec, jnp.full((3, 1), 0.1), jnp.ones(2), jnp.zeros(2), 2)
    with pytest.raises(ValueError, match=one_rate):  # a rate per entry of the P^2 map
        minibatch.mean_square_rate(X, jnp.array([0.1, 0.2, 0.3, 0.4]), 2)
    with pytest.raises(ValueError, match=one_rate):
        spectrum.momentum_rate(jnp.array([0.1, 0.2]), 0.5, jnp.array([1.0, 4.0]))
    for bad in (2, np.array([True, False]), "no"):  # 2 was taken for True, both for their maximum
        with pytest.raises(ValueError, match="nesterov must be True or False"):
            spectrum.momentum_rate(0.1, 0.5, jnp.array([1.0, 4.0]), nesterov=bad)
    with pytest.raises(ValueError, match="debias must be True or False"):  # "no" meant 10x larger first steps
        adam.frozen_adam(0.1, debias="no")
    with pytest.raises(ValueError, match="hessian contains NaN or infinite values"):  # NaN passed the symmetry test
        adam.preconditioned_sharpness(jnp.array([[np.nan, 0.0], [0.0, 1.0]]), 1.0)
    with pytest.raises(ValueError, match="predicted contains NaN or infinite values at \\[1\\]"):
        model_selection.mean_absolute_error([1.0, np.nan], [1.0, 2.0])
    params = jnp.ones((3, 3))
    with pytest.raises(ValueError, match=r"preconditioner has shape \(3,\), the parameters \(3, 3\)"):
        adam.frozen_adam(0.1, preconditioner=jnp.ones(3)).update(params, adam.frozen_adam(0.1).init(params))
    with pytest.raises(ValueError, match="b2 must be one number"):
        adam.preconditioner(optax.adam(0.1).init(jnp.ones(3)), jnp.array([0.9, 0.99, 0.999]), 1e-8)
    for bad in (2.5, 0):
        with pytest.raises(ValueError, match="num_samples must be an integer >= 1"):
            minibatch.noise_weight(2, bad, replacement=False)
    data = problems.make_data(X, jnp.ones(5))
    optimum = descent.Optimum(jnp.zeros(3), jnp.zeros(()))
    with pytest.raises(ValueError, match=r"optimum.value must be one number f\*, got shape \(1,\)"):  # was JAX's own
        descent.run(criteria.least_squares, data, jnp.zeros(3), optimum._replace(value=jnp.zeros(1)), 3,
                    learning_rate=0.1)
    with pytest.raises(ValueError, match=r"growth must be one number.*got shape \(2,\)"):
        descent.run(criteria.least_squares, data, jnp.zeros(3), optimum, 3, growth=jnp.array([2.0, 3.0]),
                    learning_rate=0.1)
    # the valid forms still pass, eagerly and under vmap over the rates
    assert float(spectrum.momentum_rate(0.1, 0.5, jnp.array([1.0, 4.0]), nesterov=np.bool_(True))) > 0
    rates = jax.vmap(lambda eta: minibatch.mean_square_rate(X, eta, 2)[0])(jnp.array([0.01, 0.02]))
    assert rates.shape == (2,) and bool(jnp.all(rates < 1))


def test_a_row_mean_that_is_not_finite_at_the_start_is_still_refused():
    """The random point's check skips a point where a value overflows; the start's did too for a moment, and a
    criterion divided by the variance of its one-row data (0: NaN or inf) was accepted (a review's finding)."""
    def normalised_mse(a, data):
        return jnp.mean((data.y - data.X @ a) ** 2) / jnp.var(data.y)

    with pytest.raises(ValueError, match=r"mean of its rows' values is (nan|inf)"):
        runs.CriterionRun(normalised_mse, problems.make_data(_X(), _y()), 10, largest_batch=4)
