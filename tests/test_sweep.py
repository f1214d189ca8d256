"""Sweeps: equal to a Python loop, divergence contained, theory met, files exact, sharding transparent."""

import dataclasses
import functools
import json
import os
import subprocess
import sys
import textwrap
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from lab import criteria, descent, problems, reference, results, runs, stability, sweep

from tests import helpers  # absolute: the two-process test imports this file as a top-level module

RUN = runs.LinearRegressionRun(n=40, d=4, num_steps=200)
AXES = {"learning_rate_over_edge": np.array([0.2, 0.6, 0.95, 1.05, 3.0]), "kappa": np.array([1.0, 30.0]),
        "seed": np.array([0, 1])}


@pytest.fixture(scope="module")
def swept():
    return sweep.sweep(RUN, AXES, progress=False)


def close_to(measured, expected, scale, name=""):
    """Equal to 1e-12 relative, or within 1e-12 of the curve's own scale where rounding dominates.

    Not bitwise: a different batch width (chunk, device count, one run alone)
    changes the matmul kernel's blocking and so the order of its sums.
    """
    if name == "measured_rate":  # a threshold on the rounding floor picks its window: a step more or less
        np.testing.assert_allclose(measured, expected, rtol=5e-4)
    elif name == "rate_resolution":  # the rounding at that window's end over its length: a step more or less moves
        measured, expected = np.asarray(measured), np.asarray(expected)  # the end by a factor of the rate, >= 0.2
        ratio = measured / np.where(expected == 0, 1, expected)  # here; 0 (a rate of 0) is exact on both sides
        same = (measured == expected) | (np.isnan(measured) & np.isnan(expected))
        assert np.all(same | (ratio >= 0.2) & (ratio <= 5)), (name, ratio)
    elif np.asarray(measured).dtype == bool or np.issubdtype(np.asarray(measured).dtype, np.integer):
        np.testing.assert_array_equal(measured, expected)
    else:
        np.testing.assert_allclose(measured, expected, rtol=1e-12, atol=1e-12 * scale)


def test_sweep_equals_a_python_loop_over_the_same_runs(swept):
    assert swept.shape == (5, 2, 2) and swept["gap"].shape == (5, 2, 2, 201)
    for i, c in enumerate(AXES["learning_rate_over_edge"]):
        for j, kappa in enumerate(AXES["kappa"]):
            for k, seed in enumerate(AXES["seed"]):
                one = RUN(learning_rate_over_edge=c, kappa=kappa, seed=seed)
                for name, value in one._asdict().items():
                    scale = float(np.max(np.abs(one.gap))) if name in ("gap", "final_gap", "initial_gap") else 1.0
                    close_to(swept[name][i, j, k], value, scale, name)


def test_dims_name_the_axes_and_the_iterations(swept):
    assert swept.dims("gap") == ("learning_rate_over_edge", "kappa", "seed", "iteration")
    assert swept.dims("final_gap") == ("learning_rate_over_edge", "kappa", "seed")


def test_jax_tree_functions_keep_the_axes_in_the_outputs_order(swept):
    """jax.device_get and jax.tree.map rebuilt Results' dicts with sorted keys: the axes of a lesson's grid read
    (kappa, learning_rate_over_edge, seed) beside outputs still (learning_rate_over_edge, kappa, seed)."""
    for rebuilt in (jax.device_get({"grid": swept})["grid"], jax.tree.map(lambda x: x, swept)):
        assert isinstance(rebuilt, type(swept)) and list(rebuilt.axes) == list(AXES) and rebuilt.shape == (5, 2, 2)
        assert rebuilt.dims("gap") == swept.dims("gap") and rebuilt.config == swept.config
        np.testing.assert_array_equal(rebuilt["final_gap"], swept["final_gap"])


def test_diverged_runs_are_recorded_finite_and_leave_the_others_untouched(swept):
    diverged = swept["diverged"]
    assert diverged[3:].all() and not diverged[:3].any()  # 1.05 and 3.0 times 2/L diverge, the rest do not
    assert (swept["diverged_at"][3:] > 0).all() and (swept["diverged_at"][:3] == -1).all()
    for name, value in swept.outputs.items():
        assert np.all(np.isfinite(value)), name
    stable_only = sweep.sweep(RUN, AXES | {"learning_rate_over_edge": AXES["learning_rate_over_edge"][:3]},
                              progress=False)
    for name, value in stable_only.outputs.items():
        close_to(value, swept[name][:3], np.max(np.abs(swept["gap"][:3])), name)


def test_theory_beside_measurement(swept):
    np.testing.assert_allclose(swept["learning_rate_over_edge"],
                               AXES["learning_rate_over_edge"][:, None, None] * np.ones((1, 2, 2)), rtol=1e-12)
    np.testing.assert_allclose(swept["condition_number"], AXES["kappa"][None, :, None] * np.ones((5, 1, 2)), rtol=1e-6)
    converged = swept["iterations"] >= 0
    # Read off the curve, the iterations to 1e-6 never exceed the worst-case prediction.
    assert np.all(swept["iterations"][converged] <= swept["predicted_iterations"][converged])
    stable = ~swept["diverged"] & (swept["predicted_rate"] > 0.5)
    np.testing.assert_allclose(swept["measured_rate"][stable], swept["predicted_rate"][stable], rtol=1e-2)


def test_a_second_sweep_with_new_values_does_not_recompile(swept):
    with helpers.lowerings() as lowered:
        again = sweep.sweep(RUN, {"learning_rate_over_edge": AXES["learning_rate_over_edge"] * 0.9,
                                  "kappa": np.array([2.0, 7.0]), "seed": np.array([5, 6])}, progress=False)
    assert not lowered
    assert not np.array_equal(again["gap"], swept["gap"])


def test_chunks_equal_one_call_and_report_progress(swept, capsys):
    per_slice = (RUN.bytes_per_run() + RUN.bytes_per_setting()) * 4  # 2 kappas x 2 seeds, each its own data
    chunked = sweep.sweep(RUN, AXES, max_bytes=2 * per_slice)
    for name, value in swept.outputs.items():
        close_to(chunked[name], value, np.max(np.abs(swept["gap"])), name)
    report = capsys.readouterr().err
    assert "runs/s" in report and "20/20 runs" in report
    sweep.sweep(RUN, AXES, max_bytes=2 * per_slice, progress=False)
    assert capsys.readouterr().err == ""


def test_save_and_load_round_trip_exactly(swept, tmp_path):
    path = results.save(swept, tmp_path / "sweep")
    loaded = results.load(tmp_path / "sweep")
    assert list(loaded.axes) == list(swept.axes) and list(loaded.outputs) == list(swept.outputs)
    for name in swept.axes:
        np.testing.assert_array_equal(loaded.axes[name], swept.axes[name])
    for name, value in swept.outputs.items():
        assert loaded[name].dtype == value.dtype
        np.testing.assert_array_equal(loaded[name], value)
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["dims"]["gap"] == ["learning_rate_over_edge", "kappa", "seed", "iteration"]
    assert sidecar["config"]["run_config"]["n"] == 40 and "jax" in sidecar["config"]["versions"]
    assert (loaded.optimizer, loaded.problem) == (swept.optimizer, swept.problem) == ("sgd",
                                                                                      "least squares, N = 40, D = 4")


def test_an_interrupted_save_leaves_no_partial_file(swept, tmp_path, monkeypatch):
    results.save(swept, tmp_path / "kept")
    before = (tmp_path / "kept.npz").read_bytes()

    def crash(file, **arrays):
        file.write(b"half of an npz")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        results.save(swept, tmp_path / "kept")
    with pytest.raises(KeyboardInterrupt):
        results.save(swept, tmp_path / "fresh")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.json", "kept.npz"]
    assert (tmp_path / "kept.npz").read_bytes() == before


def test_csv_is_long_format(swept, tmp_path):
    import csv

    rows = list(csv.DictReader(open(results.to_csv(swept, tmp_path / "runs.csv"))))
    assert len(rows) == 20 and float(rows[-1]["learning_rate_over_edge"]) == 3.0 and rows[-1]["diverged"] == "True"
    curves = list(csv.DictReader(open(results.to_csv(swept, tmp_path / "curves.csv", curves=True))))
    assert len(curves) == 20 * 201 and set(curves[0]) == {"learning_rate_over_edge", "kappa", "seed", "iteration",
                                                          "gap", "distance"}
    assert float(curves[5]["gap"]) == swept["gap"][0, 0, 0, 5]


def test_gram_form_iterates_equal_the_data_form():
    X, y = problems.regression(jax.random.key(3), 500, 6, 100.0)
    data = problems.make_data(X, y, l2=0.01)
    moments = criteria.gram(data)
    for plain, on_moments in ((criteria.least_squares, criteria.least_squares_gram),
                              (criteria.ridge, criteria.ridge_gram)):
        a = jax.random.normal(jax.random.key(4), (7,))
        np.testing.assert_allclose(on_moments(a, moments), plain(a, data), rtol=1e-12)
        optimum = descent.optimum(plain, reference.ridge(X, y, 0.01 if plain is criteria.ridge else 0.0), data)
        gram_optimum = descent.Optimum(optimum.params, on_moments(optimum.params, moments))
        by_data = descent.gradient_descent(plain, data, jnp.zeros(7), optimum, 0.4, 300)
        by_moments = descent.gradient_descent(on_moments, moments, jnp.zeros(7), gram_optimum, 0.4, 300)
        np.testing.assert_allclose(by_moments.params, by_data.params, rtol=1e-10)
        np.testing.assert_allclose(by_moments.distance, by_data.distance, rtol=1e-10, atol=1e-14)


def test_gram_sweep_equals_data_sweep(swept):
    gram = sweep.sweep(runs.LinearRegressionRun(n=40, d=4, num_steps=200, gram=True), AXES, progress=False)
    np.testing.assert_allclose(gram["distance"], swept["distance"], rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(gram["diverged"], swept["diverged"])


@pytest.fixture(scope="module")
def edges():
    run = runs.LinearRegressionRun(n=30, d=5, num_steps=3000)
    return stability.edge_and_best(run, {"kappa": np.array([1.0, 10.0, 100.0, 1e3, 1e4])})


def test_measured_stability_edge_is_2_over_L(edges):
    assert edges["bracketed"].all()
    np.testing.assert_allclose(edges["edge_learning_rate"], edges["theory_edge_learning_rate"], rtol=1e-2)
    np.testing.assert_allclose(edges["condition_number"], [1.0, 10.0, 100.0, 1e3, 1e4], rtol=1e-6)


def test_measured_best_learning_rate_and_rate_are_the_theory(edges):
    np.testing.assert_allclose(edges["best_learning_rate"], edges["theory_best_learning_rate"], rtol=2e-2)
    # The optimal rate (kappa-1)/(kappa+1) is 0 at kappa = 1: there the bound is absolute.
    np.testing.assert_allclose(edges["best_rate"], edges["theory_rate"], rtol=1e-2, atol=1e-4)


def test_the_edge_alone_is_the_same_edge_without_the_best_learning_rate(edges):
    """find_best=False: the bisection alone (one step per iteration instead of two, as many iterations as rtol
    asks), no golden section, no warning about the best learning rate it did not look for."""
    run, axes = runs.LinearRegressionRun(n=30, d=5, num_steps=3000), {"kappa": np.array([1.0, 10.0, 100.0, 1e3, 1e4])}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # misses the best learning rate
        alone = stability.edge_and_best(run, axes, find_best=False, best_bracket=(0.05, 0.1))
    # searched (the fixture's program): warned
    with pytest.warns(UserWarning, match="the best learning rate was not bracketed"):
        missed = stability.edge_and_best(run, axes, best_bracket=(0.05, 0.1))
    assert missed["best_above"].all() and (missed["best_bound"] == 0.1).all()  # beyond the bracket's top, 0.1 x 2/L
    assert np.isnan(alone["best_bound"]).all() and np.isnan(alone["edge_bound"]).all()  # not searched; measured
    np.testing.assert_allclose(alone["edge_learning_rate"], edges["edge_learning_rate"], rtol=1e-3)  # the default rtol
    for name in ("theory_edge_learning_rate", "gd_edge_learning_rate", "theory_best_learning_rate", "L", "mu",
                 "bracketed"):
        np.testing.assert_array_equal(alone[name], edges[name])
    assert (np.isnan(alone["best_learning_rate"]).all() and np.isnan(alone["best_rate"]).all()
            and not alone["best_bracketed"].any())
    assert alone.config["find_best"] is False
    with pytest.raises(ValueError, match="find_best must be True or False"):
        stability.edge_and_best(run, {"kappa": np.array([10.0])}, find_best="no")



def test_a_best_learning_rate_at_a_bracket_end_is_not_measured_in_float32_either():
    """float32's measured rate wobbles by 1e-5: the golden section's minimum 0.80001 in (0.8, 1) beat the rate at
    0.8 by chance and was reported as measured (the best is 0.5 x 2/L at kappa = 1)."""
    run = runs.LinearRegressionRun(n=40, d=4, num_steps=300, dtype="float32")
    with pytest.warns(UserWarning, match=r"not bracketed at 2 of 2 point\(s\) \(0 at the top .*, 2 at its bottom"):
        found = stability.edge_and_best(run, {"kappa": np.array([1.0, 1.0001])}, best_bracket=(0.8, 1.0))
    assert not found["best_bracketed"].any() and np.isnan(found["best_learning_rate"]).all()
    np.testing.assert_array_equal(found["best_bound"], 0.8)



def test_where_no_rate_can_be_measured_the_best_lies_on_no_side(monkeypatch):
    """NaN rates at both ends of best_bracket read as 'the rate still falls beyond the top': widen the bracket,
    the wrong advice. Now no side, no bound, and the warning says why."""
    monkeypatch.setattr(runs, "measured_rate", lambda distance, *_: jnp.full((), jnp.nan, distance.dtype))
    run = runs.LinearRegressionRun(n=23, d=3, num_steps=100)  # a program of its own: traced with the patch
    with pytest.warns(UserWarning, match="1 where no rate could be measured at either end"):
        found = stability.edge_and_best(run, {"kappa": np.array([10.0])})
    assert not found["best_bracketed"].any() and not found["best_above"].any() and np.isnan(found["best_bound"]).all()


@pytest.mark.parametrize(
    "axes, match",
    [
        ({}, "non-empty dict"),
        ({"learning_rate_over_edge": []}, "axis 'learning_rate_over_edge' must be a non-empty"),
        ({"learning_rate_over_edge": [0.1, np.nan]}, "axis 'learning_rate_over_edge' contains NaN"),
        ({"learning_rate_over_edge": [0.1, np.inf]}, "axis 'learning_rate_over_edge' contains NaN"),
        ({"learning_rate_over_edge": [0.1, 0.0]}, "axis 'learning_rate_over_edge' must hold values > 0"),
        ({"learning_rate_over_edge": [-0.5]}, "axis 'learning_rate_over_edge' must hold values > 0"),
        ({"learning_rate_over_edge": [0.5], "kapa": [10.0]}, "axis 'kapa' is not a parameter"),
        ({"learning_rate_over_edge": [0.5], "kappa": [0.5]}, "axis 'kappa' must hold values >= 1"),
        ({"learning_rate_over_edge": [0.5], "seed": [0.5]}, "axis 'seed' must hold integers"),
        ({"learning_rate_over_edge": [0.5], "seed": [0, 2**32]}, r"magnitude below 2\*\*31"),
        ({"learning_rate_over_edge": [[0.5]]}, "axis 'learning_rate_over_edge' must be a non-empty 1-D"),
        ({"learning_rate": [-0.1]}, "axis 'learning_rate' must hold values > 0"),
        ({"learning_rate": [0.1], "learning_rate_over_edge": [0.5]}, "one learning rate in two units"),
        ({"kappa": [10.0]}, "exactly one of learning_rate"),
    ],
)
def test_bad_axes_are_refused_by_name(axes, match):
    with pytest.raises(ValueError, match=match):
        sweep.sweep(RUN, axes, progress=False)


@pytest.mark.parametrize("run", [RUN, runs.LogisticRun(n=40, d=3, num_steps=50)], ids=["least_squares", "logistic"])
def test_the_learning_rate_has_one_unit_per_name_in_and_out(run):
    """learning_rate_over_edge = c is learning_rate = c times the run's 2/L (logistic from a = 0: 2/L_start), and the
    Outcome reports the same c back: one conversion, the same unit on both sides."""
    relative = runs.outputs_of(run(learning_rate_over_edge=0.5, kappa=30.0))
    unit = 2 / float(relative["L_start"] if "L_start" in relative else relative["L"])
    assert float(relative["learning_rate"]) == pytest.approx(0.5 * unit, rel=1e-14)
    absolute = runs.outputs_of(run(learning_rate=0.5 * unit, kappa=30.0))
    assert float(absolute["learning_rate_over_edge"]) == pytest.approx(0.5, rel=1e-14)
    np.testing.assert_allclose(absolute["gap"], relative["gap"], rtol=1e-12)


def test_a_grid_too_large_for_the_memory_bound_is_refused_without_chunking():
    with pytest.raises(ValueError, match="max_bytes"):
        sweep.sweep(RUN, AXES, max_bytes=RUN.bytes_per_run() * 10, chunk=False, progress=False)
    with pytest.raises(ValueError, match=r"value of the chunked axis 'kappa' per device: 1 x .* more than max_bytes"):
        sweep.sweep(RUN, AXES, max_bytes=RUN.bytes_per_run(), progress=False)


def test_sharded_over_four_devices_equals_one_device(swept, tmp_path):
    script = textwrap.dedent(
        f"""
        import jax, numpy as np
        jax.config.update("jax_enable_x64", True)
        assert len(jax.devices()) == 4, jax.devices()
        from lab import results, runs, sweep
        run = runs.LinearRegressionRun(n=40, d=4, num_steps=200)
        axes = {{k: np.array(v) for k, v in {({k: v.tolist() for k, v in AXES.items()})!r}.items()}}
        results.save(sweep.sweep(run, axes, progress=False), {str(tmp_path / "sharded")!r})
        """
    )
    flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count=4"  # same compile options
    env = os.environ | {"XLA_FLAGS": flags, "JAX_PLATFORMS": "cpu"}
    subprocess.run([sys.executable, "-c", script], check=True, env=env, timeout=300)
    sharded = results.load(tmp_path / "sharded")
    assert len(sharded.config["devices"]) == 4
    for name, value in swept.outputs.items():
        close_to(sharded[name], value, np.max(np.abs(swept["gap"])), name)


TWO_PROCESSES = """
import sys
import jax
jax.config.update("jax_enable_x64", True)
jax.config.update("jax_cpu_collectives_implementation", "gloo")  # CPU collectives across processes
process, port, out = int(sys.argv[1]), sys.argv[2], sys.argv[3]
jax.distributed.initialize(coordinator_address=f"localhost:{port}", num_processes=2, process_id=process)
assert jax.process_count() == 2 and len(jax.devices()) == 2 and len(jax.local_devices()) == 1
import numpy as np
from lab import results, sweep
sys.path.insert(0, sys.argv[4])
from test_sweep import decaying  # the run the one-process sweep computes too
grid = sweep.sweep(decaying, {"rate": np.linspace(0.1, 0.9, 6), "scale": np.array([1.0, 2.0])}, progress=False)
np.save(f"{out}-curve-{process}.npy", grid["curve"])
if jax.process_index() == 0:
    results.save(grid, out)
"""


def decaying(rate, scale):
    """A small run for the two-process test: a curve and a summary from two hyper-parameters, compiled in
    milliseconds (the sweep's machinery is what is tested, not a problem's)."""
    curve = scale * rate ** jnp.arange(50.0)
    return {"curve": curve, "total": jnp.sum(curve)}


def test_one_sweep_in_two_processes_equals_one_process_and_only_process_0_writes(tmp_path):
    import socket

    with socket.socket() as probe:  # a free port for the coordinator
        probe.bind(("localhost", 0))
        port = str(probe.getsockname()[1])
    env = os.environ | {"JAX_PLATFORMS": "cpu", "XLA_FLAGS": ""}
    command = [sys.executable, "-c", TWO_PROCESSES]
    workers = [subprocess.Popen([*command, str(i), port, str(tmp_path / "grid"), os.path.dirname(__file__)], env=env,
                                stderr=subprocess.PIPE, text=True) for i in range(2)]
    errors = [worker.communicate(timeout=300)[1] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], errors
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid-curve-0.npy", "grid-curve-1.npy", "grid.json",
                                                          "grid.npz"]
    grid = results.load(tmp_path / "grid")
    assert len(grid.config["devices"]) == 2
    np.testing.assert_array_equal(np.load(tmp_path / "grid-curve-1.npy"), grid["curve"])  # both hold all results
    alone = sweep.sweep(decaying, {"rate": np.linspace(0.1, 0.9, 6), "scale": np.array([1.0, 2.0])}, progress=False)
    for name, value in alone.outputs.items():
        np.testing.assert_allclose(grid[name], value, rtol=1e-15, err_msg=name)


def test_float_seeds_and_optimizer_names_in_the_sidecar(tmp_path):
    import functools

    import optax

    run = runs.LinearRegressionRun(n=20, d=2, num_steps=5, optimizer=functools.partial(optax.sgd, nesterov=True))
    # whole floats are seeds
    grid = sweep.sweep(run, {"learning_rate_over_edge": [0.5], "seed": np.array([0.0, 1.0])}, progress=False)
    assert not np.array_equal(grid["gap"][0, 0], grid["gap"][0, 1])
    assert grid.config["run_config"]["optimizer"] == grid.optimizer == "sgd(nesterov=True)"


def test_numpy_scalars_in_a_runs_configuration_are_recorded_as_their_values():
    """A run built in a loop over a NumPy array recorded "n": "int64" and the optimizer
    "sgd(momentum=np.float64(0.5))" in its provenance and titles (a probe's finding)."""
    run = runs.LinearRegressionRun(n=np.int64(30), d=np.int64(2), num_steps=np.int64(20), tolerance=np.float32(1e-4),
                                   optimizer=functools.partial(optax.sgd, momentum=np.float64(0.5)))
    grid = sweep.sweep(run, {"learning_rate_over_edge": [0.5]}, progress=False)
    config = json.loads(json.dumps(grid.config["run_config"]))  # as the sidecar holds it
    assert (config["n"], config["d"], config["num_steps"]) == (30, 2, 20)
    assert config["tolerance"] == float(np.float32(1e-4)) and grid.optimizer == "sgd(momentum=0.5)"
    # other keywords as written (they read 'tuple' and 'Float32DType' for a moment)
    assert runs.name_of(functools.partial(optax.adamw, mask=(True, False))) == "adamw(mask=(True, False))"
    adam = functools.partial(optax.adam, mu_dtype=np.dtype("float32"))
    assert runs.name_of(adam) == "adam(mu_dtype=dtype('float32'))"


def test_csv_curves_keep_only_curves_of_one_length(tmp_path):
    import csv

    grid = results.Results({"learning_rate_over_edge": np.array([0.1, 0.2])},
                           {"gap": np.ones((2, 5)), "sharpness": np.ones((2, 3)), "final_gap": np.ones(2)}, {})
    with pytest.warns(UserWarning, match=r"left out: sharpness \(3,\)"):
        rows = list(csv.DictReader(open(results.to_csv(grid, tmp_path / "c.csv", curves=True))))
    assert len(rows) == 2 * 5 and set(rows[0]) == {"learning_rate_over_edge", "iteration", "gap"}


def test_csv_curves_leave_out_a_curve_of_the_same_length_recorded_at_other_steps(tmp_path):
    """sharpness every 7 steps (0, 7, 14) beside gap every 10 (0, 10, 20): both of length 3, and the sharpness was
    written in the rows of iterations 0, 10 and 20 (a probe's finding)."""
    import csv

    run = runs.LogisticRun(n=40, d=2, num_steps=20, record_every=10, sharpness_every=7)
    grid = sweep.sweep(run, {"learning_rate_over_edge": [0.5]}, progress=False)
    assert grid["sharpness"].shape == grid["gap"].shape == (1, 3) and int(grid["sharpness_every"][0]) == 7
    rows = list(csv.DictReader(open(results.to_csv(grid, tmp_path / "c.csv", curves=True))))
    assert [int(row["iteration"]) for row in rows] == [0, 10, 20] and "sharpness" not in rows[0] and "gap" in rows[0]
    every = sweep.sweep(dataclasses.replace(run, sharpness_every=10), {"learning_rate_over_edge": [0.5]},
                        progress=False)
    header, _ = results.rows(every, curves=True)  # at the rows' own steps: kept
    assert "sharpness" in header


def test_csv_curves_of_a_function_run_are_its_iteration_curves_and_what_is_left_out_is_said(tmp_path):
    """A function run returning its coefficients (3,) beside its loss curve (10,): the coefficients, first by name,
    were written as the curve at iterations 0, 1, 2 and the loss dropped, in silence (a probe's finding)."""
    def fit(learning_rate):
        def step(a, _):
            a = a - learning_rate * (a - jnp.arange(3.0))
            return a, 0.5 * jnp.sum((a - jnp.arange(3.0)) ** 2)
        coef, loss = jax.lax.scan(step, jnp.zeros(3), None, length=10)
        return {"coef": coef, "loss": loss}

    grid = sweep.sweep(fit, {"learning_rate": np.array([0.1, 0.5])}, progress=False)
    with pytest.warns(UserWarning, match=r"curves are the outputs of 10 values per run.*left out: coef \(3,\)"):
        header, lines = results.rows(grid, curves=True)
        lines = list(lines)
    assert header == ["learning_rate", "iteration", "loss"] and len(lines) == 20
    np.testing.assert_allclose([row[2] for row in lines[10:]], grid["loss"][1])


def test_lower_gives_the_grids_compiled_call_without_running_it():
    # Axes of several values are vmapped (step sizes innermost), an axis of one value is passed as a scalar.
    run = runs.LinearRegressionRun(n=20, d=2, num_steps=10)
    axes = {"learning_rate_over_edge": np.array([0.5, 0.9, 1.1]), "kappa": np.array([10.0, 100.0]),
            "seed": np.array([0.0])}
    outputs = sweep.lower(run, axes).out_info
    assert outputs.gap.shape == (2, 3, 11) and outputs.final_gap.shape == (2, 3)
    with pytest.raises(ValueError, match="axis 'kappa' must hold values >= 1"):
        sweep.lower(run, {"learning_rate_over_edge": np.array([0.5]), "kappa": np.array([0.5])})


def test_a_function_returning_descent_traces_of_adam_sweeps_like_any_other():
    """A Trace holds arrays only (its optimizer state only when asked), so it sweeps, with Adam too."""
    problem = problems.regression_problem(jax.random.key(0), 30, 3, 10.0)

    def adam_run(learning_rate):
        return descent.run(problem.criterion, problem.data, problem.start, problem.reference, 20, optax.adam,
                           learning_rate=learning_rate)

    grid = sweep.sweep(adam_run, {"learning_rate": [0.01, 0.1]}, progress=False)
    assert "opt_state" not in grid.outputs and grid["gap"].shape == (2, 21)
    np.testing.assert_allclose(grid["gap"][1], adam_run(0.1).gap, rtol=1e-12)
