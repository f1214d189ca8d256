"""No lost sweep: memory bounded before a sweep starts, chunks checkpointed, interruptions resumed.

Each test is named after a defect it guards against.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lab import cli, criteria, problems, results, runs, stability, sweep

jax.config.update("jax_enable_x64", True)

RUN = runs.LinearRegressionRun(n=40, d=3, num_steps=100)
AXES = {"learning_rate_over_edge": np.array([0.4, 1.1]), "kappa": np.geomspace(1.0, 30.0, 6), "seed": np.array([0])}
# One kappa per chunk: 8 chunks. 100 steps measure the best learning rate to 0.5 % up to kappa 300, not at 1000
# (a warning would add a line to what the interruption prints).
SWEEP_ARGUMENTS = ["sweep", "--n", "40", "--d", "3", "--steps", "100", "--learning-rate", "0.05:1:2", "--kappa",
                   "1,2,3,10,30,100,200,300", "--quiet", "--max-mb", "0.02"]


def test_the_memory_estimate_counts_the_data_of_each_setting():
    big = runs.LinearRegressionRun(n=100_000, d=5_000, num_steps=10)
    assert big.bytes_per_setting() >= 100_000 * 5_001 * 8 > 1000 * RUN.bytes_per_setting()
    data = problems.make_data(np.ones((500, 4)) + np.arange(4), np.arange(500.0))
    with pytest.warns(UserWarning, match="singular"):  # constant columns: the warning is right, and not the point
        run = runs.CriterionRun(criteria.least_squares, data, 10)
    assert run.bytes_per_setting() >= data.X.nbytes + data.y.nbytes


@pytest.mark.parametrize("kind", ["regression", "classification"])
def test_the_memory_estimate_bounds_what_xla_counts_while_a_problem_is_built(kind):
    """bytes_per_setting (PROBLEM_WORKSPACE times the data) against the compiled build's temporaries and results,
    at the small shape where the ratio is largest (9.6 for least squares: fixed costs weigh most there)."""
    n, d = 200, 10
    run, build = {"regression": (runs.LinearRegressionRun, lambda key: problems.regression_problem(key, n, d, 10.0)),
                  "classification": (runs.LogisticRun, lambda key: problems.classification_problem(key, n, d))}[kind]
    memory = jax.jit(build).lower(jax.random.key(0)).compile().memory_analysis()
    counted = memory.temp_size_in_bytes + memory.output_size_in_bytes
    assert 0.3 * run(n=n, d=d, num_steps=10).bytes_per_setting() < counted <= run(
        n=n, d=d, num_steps=10).bytes_per_setting()


def test_the_exact_optimum_takes_no_n_by_n_workspace():
    """The numerical rank's SVD once took an N x N workspace (80 GB at N = 1e5): now that of R, P x P."""
    n, p = 4000, 21
    X, y = jnp.ones((n, p)), jnp.ones(n)
    build = jax.jit(lambda X, y: problems.problem(criteria.least_squares, problems.Data(X, y, jnp.zeros(()))))
    temporary = build.lower(X, y).compile().memory_analysis().temp_size_in_bytes
    assert temporary < 8 * X.nbytes  # an N x N workspace would be 190 times X


def test_a_sweep_larger_than_the_free_memory_is_refused_before_it_runs(monkeypatch):
    monkeypatch.setattr(sweep, "available_bytes", lambda device=None: 10_000)
    with pytest.raises(ValueError, match=r"one chunk of this sweep needs [\d.,]+ MiB per device .* more than the "
                                         r"0.009537 MiB free"):
        sweep.sweep(RUN, AXES, progress=False)


def test_results_larger_than_the_host_memory_are_refused_before_the_sweep_runs(monkeypatch):
    monkeypatch.setattr(sweep, "available_bytes", lambda device=None: 2**40)
    monkeypatch.setattr(sweep, "host_available_bytes", lambda: 50_000)
    with pytest.raises(ValueError, match=r"the results of this sweep need .* GiB in all, more than .*record_every"):
        sweep.sweep(lambda x: counted(jnp.zeros(10_000) + x), {"x": np.arange(8.0)}, progress=False)
    assert calls == []  # nothing ran
    monkeypatch.setattr(sweep, "host_available_bytes", lambda: 2**40)
    assert sweep.sweep(lambda x: counted(jnp.zeros(3) + x), {"x": np.arange(8.0)}, progress=False)["y"].shape == (8, 3)
    assert calls


def counted(y):
    """{'y': y}, counting in `calls` each time the compiled run executes (not when it is traced)."""
    jax.debug.callback(lambda: calls.append(1))
    return {"y": y}


calls = []


def test_a_checkpointed_sweep_reads_its_chunks_and_recomputes_only_the_missing_ones(tmp_path):
    whole = sweep.sweep(RUN, AXES, progress=False)
    chunk = RUN.bytes_per_run() * 2 + RUN.bytes_per_setting()  # one kappa (its 2 step sizes) per chunk
    first = sweep.sweep(RUN, AXES, max_bytes=chunk, progress=False, checkpoint=tmp_path)
    stored = sorted(tmp_path.iterdir())
    assert len(stored) == 6
    for path in stored[::2]:
        path.unlink()
    kept = {path: path.stat().st_mtime_ns for path in stored[1::2]}
    resumed = sweep.sweep(RUN, AXES, max_bytes=chunk, progress=False, checkpoint=tmp_path)
    assert {path: path.stat().st_mtime_ns for path in stored[1::2]} == kept  # read, not written again
    for name in whole.outputs:
        np.testing.assert_array_equal(first[name], resumed[name], err_msg=name)
    # Chunks round apart from one call (test_sweep compares them): gaps within 1e-12 of the largest.
    np.testing.assert_allclose(resumed["gap"], whole["gap"], rtol=0, atol=1e-12 * np.max(whole["gap"]))


def test_chunks_of_another_run_or_grid_are_never_read(tmp_path):
    sweep.sweep(RUN, AXES, progress=False, checkpoint=tmp_path)
    other = sweep.sweep(RUN, AXES | {"kappa": np.array([1.0, 31.0])}, progress=False, checkpoint=tmp_path)
    assert len(list(tmp_path.iterdir())) == 2
    noisier = runs.LinearRegressionRun(n=40, d=3, num_steps=100, noise=0.2)
    keys = {sweep.sweep(run, AXES, progress=False, checkpoint=tmp_path).config["checkpoint_key"]
            for run in (RUN, noisier)}
    assert len(keys) == 2 and len(list(tmp_path.iterdir())) == 3
    np.testing.assert_allclose(other["condition_number"][0, :, 0], [1.0, 31.0], rtol=1e-9)


def _mean_square(residual):
    return jnp.mean(residual**2)


def test_an_edited_criterion_never_reads_the_chunks_of_its_earlier_version(tmp_path):
    """The key hashes the compiled program: an edit that keeps the function's name and bytecode (another called
    name, a helper) is a new sweep, not a resumed one. (A constant it closes over too, in a new process: within
    one, jax.jit itself keeps the first trace of a function object.)"""
    data = problems.make_data(np.arange(20.0).reshape(10, 2) % 7, np.arange(10.0))
    axes = {"learning_rate_over_edge": np.array([0.5, 0.9])}

    def by_mean(a, d):
        return jnp.mean((d.X @ a - d.y) ** 2)

    def by_sum(a, d):  # the same bytecode and constants as by_mean: only the called name differs
        return jnp.sum((d.X @ a - d.y) ** 2)

    def by_helper(a, d):
        return _mean_square(d.X @ a - d.y)

    first = sweep.sweep(runs.CriterionRun(by_mean, data, 20), axes, progress=False, checkpoint=tmp_path)
    for criterion in (by_sum, by_helper):
        fresh = sweep.sweep(runs.CriterionRun(criterion, data, 20), axes, progress=False)
        resumed = sweep.sweep(runs.CriterionRun(criterion, data, 20), axes, progress=False, checkpoint=tmp_path)
        np.testing.assert_array_equal(resumed["L"], fresh["L"])
    summed = sweep.sweep(runs.CriterionRun(by_sum, data, 20), axes, progress=False)
    np.testing.assert_allclose(first["L"], summed["L"] / 10, rtol=1e-12)  # the premise: by_sum's L is N = 10 times
    assert len({path.name.split("-")[0] for path in sweep.checkpoint_files(tmp_path)}) == 3


def test_a_damaged_chunk_is_computed_again(tmp_path):
    whole = sweep.sweep(RUN, AXES, progress=False, checkpoint=tmp_path)
    (stored,) = tmp_path.iterdir()
    stored.write_bytes(b"not an npz")
    again = sweep.sweep(RUN, AXES, progress=False, checkpoint=tmp_path)
    np.testing.assert_array_equal(again["gap"], whole["gap"])


def _interrupt_on(monkeypatch, module, name, after):
    """Make module.name raise KeyboardInterrupt on its call number `after` (after doing its work)."""
    original, calls = getattr(module, name), []

    def interrupted(*args, **kwargs):
        result = original(*args, **kwargs)
        calls.append(1)
        if len(calls) == after:
            raise KeyboardInterrupt
        return result

    monkeypatch.setattr(module, name, interrupted)


def test_ctrl_c_in_lab_sweep_prints_one_line_exits_130_and_resume_gives_equal_results(tmp_path, monkeypatch, capsys):
    out = tmp_path / "grid"
    assert cli.main([*SWEEP_ARGUMENTS, "--out", str(tmp_path / "whole")]) == 0
    with monkeypatch.context() as patch:
        _interrupt_on(patch, sweep, "_write_chunk", after=3)
        assert cli.main([*SWEEP_ARGUMENTS, "--out", str(out)]) == 130
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "Traceback" not in error
    assert f"the finished chunks are in {out}.chunks/: run the same command with --resume" in error
    assert len(list((tmp_path / "grid.chunks").iterdir())) == 3 and not (tmp_path / "grid.npz").exists()
    assert cli.main([*SWEEP_ARGUMENTS, "--out", str(out)]) == 2
    assert "add --resume to finish it" in capsys.readouterr().err
    (tmp_path / "grid.chunks" / ".0123-00004.npz.x1y2.tmp").write_bytes(b"half")  # what a kill -9 mid-write leaves
    assert cli.main([*SWEEP_ARGUMENTS, "--out", str(out), "--resume"]) == 0
    assert not (tmp_path / "grid.chunks").exists()  # else a later run would be refused for a leftover
    whole, resumed = results.load(tmp_path / "whole"), results.load(out)
    for name, value in whole.outputs.items():
        np.testing.assert_array_equal(resumed[name], value, err_msg=name)


def test_resuming_after_the_criterion_file_changed_computes_anew_and_deletes_no_other_chunk(tmp_path, monkeypatch,
                                                                                           capsys):
    """`lab sweep --resume` after an edit of the criterion's file (same name, same bytecode, another called
    function): the old chunks are neither read nor deleted, and a note says so. --out with a dot in its name
    writes its CSV files beside it (lr0.1.csv, not lr0.csv, which the edges' CSV would overwrite)."""
    X = np.array([[i % 5, (i * 7) % 11] for i in range(30)], float)
    rows = ["u,v,t"] + [f"{u:g},{v:g},{i % 3}" for i, (u, v) in enumerate(X)]
    (tmp_path / "d.csv").write_text("\n".join(rows) + "\n")
    criterion = tmp_path / "crit.py"
    criterion.write_text("import jax.numpy as jnp\n\ndef f(a, d):\n    return jnp.mean((d.X @ a - d.y) ** 2)\n")
    out = tmp_path / "lr0.1"
    argv = ["sweep", "--data", str(tmp_path / "d.csv"), "--target", "t", "--criterion", f"{criterion}:f",
            "--learning-rate", "0.001:0.01:2", "--steps", "50", "--seeds", "4", "--max-mb", "0.012", "--quiet",
            "--csv", "--out", str(out)]
    with monkeypatch.context() as patch:
        _interrupt_on(patch, sweep, "_write_chunk", after=2)
        assert cli.main(argv) == 130
    old = sweep.checkpoint_files(tmp_path / "lr0.1.chunks")
    assert len(old) == 2
    criterion.write_text(criterion.read_text().replace("jnp.mean", "jnp.sum"))
    capsys.readouterr()
    assert cli.main([*argv, "--resume"]) == 0
    assert "none of the 2 chunks" in capsys.readouterr().err
    assert sweep.checkpoint_files(tmp_path / "lr0.1.chunks") == old  # left there, not deleted
    design = np.c_[np.ones(30), X]  # seed 0 is the data itself: L of the sum criterion is 2 lambda_max(A^T A)
    np.testing.assert_allclose(results.load(out)["L"][:, 0], 2 * np.linalg.eigvalsh(design.T @ design)[-1], rtol=1e-10)
    assert {"lr0.1.csv", "lr0.1_edges.csv"} <= {path.name for path in tmp_path.iterdir()}


def test_the_grid_is_saved_before_the_edge_search(tmp_path, monkeypatch, capsys):
    out = tmp_path / "grid"
    with monkeypatch.context() as patch:
        _interrupt_on(patch, stability, "edge_and_best", after=1)
        assert cli.main([*SWEEP_ARGUMENTS, "--out", str(out)]) == 130
    assert f"the grid is saved in {out}.npz" in capsys.readouterr().err
    assert results.load(out)["gap"].shape[:2] == (2, 8)
    assert not (tmp_path / "grid_edges.npz").exists()
    assert cli.main([*SWEEP_ARGUMENTS, "--out", str(out), "--resume"]) == 0  # the grid from its chunks, then the edge
    assert results.load(tmp_path / "grid_edges")["edge_learning_rate"].shape == (8, 1)


def test_out_naming_a_directory_is_refused_before_any_computation(tmp_path, capsys):
    (tmp_path / "taken").mkdir()
    (tmp_path / "grid.npz").mkdir()
    for out in ("taken", "grid.npz", "grid"):
        assert cli.main([*SWEEP_ARGUMENTS, "--out", str(tmp_path / out)]) == 2
        assert "would write over the directory" in capsys.readouterr().err


def test_out_with_a_json_suffix_writes_the_files_it_names(tmp_path, capsys):
    assert cli.main([*SWEEP_ARGUMENTS, "--out", str(tmp_path / "x.json"), "--csv"]) == 0
    written = capsys.readouterr().out.splitlines()[-1].removeprefix("wrote ").split(", ")
    assert sorted(written) == sorted(str(tmp_path / name) for name in
                                     ("x.npz", "x.json", "x_edges.npz", "x_edges.json", "x.csv", "x_edges.csv"))
    assert all(os.path.isfile(path) for path in written)


KILLED_SWEEP = """
import sys, time
import jax
jax.config.update("jax_enable_x64", True)
import jax, jax.numpy as jnp, numpy as np
from lab import results, sweep

def slow(x):  # a run whose chunks take 0.1 s each: 12 chunks
    def wait(v):
        time.sleep(0.1)
        return v
    shape = jax.ShapeDtypeStruct(x.shape, x.dtype)
    return {"y": jax.pure_callback(wait, shape, x * x, vmap_method="broadcast_all") + 1.0}

out = results.save(sweep.sweep(slow, {"x": np.arange(12.0)}, max_bytes=8, progress=False, checkpoint=sys.argv[1]),
                   sys.argv[2])
"""


def test_a_sweep_killed_with_sigkill_resumes_only_the_missing_chunks(tmp_path):
    script = tmp_path / "killed.py"
    script.write_text(textwrap.dedent(KILLED_SWEEP))
    chunks = tmp_path / "chunks"
    process = subprocess.Popen([sys.executable, str(script), str(chunks), str(tmp_path / "resumed")])
    deadline = time.monotonic() + 120
    while len(list(chunks.glob("*.npz"))) < 3 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = {path: path.stat().st_mtime_ns for path in chunks.glob("*.npz")}
    assert 3 <= len(before) < 12, "the sweep was not killed mid-way"
    subprocess.run([sys.executable, str(script), str(chunks), str(tmp_path / "resumed")], check=True, timeout=120)
    assert {path: path.stat().st_mtime_ns for path in before} == before
    assert len(list(chunks.glob("*.npz"))) == 12
    np.testing.assert_array_equal(results.load(tmp_path / "resumed")["y"], np.arange(12.0) ** 2 + 1)


def test_ctrl_c_while_the_edge_search_compiles_prints_one_line_and_keeps_the_grid(tmp_path):
    # The defect: SIGINT during the edge search's compilation segfaulted in 3 of 4 tries, and lost the grid.
    arguments = [a for a in SWEEP_ARGUMENTS if a != "--quiet"]
    process = subprocess.Popen([sys.executable, "-m", "experiments", *arguments, "--out", str(tmp_path / "grid")],
                               stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    for line in process.stderr:
        if "measuring the edge" in line:
            process.send_signal(signal.SIGINT)
            break
    error = process.stderr.read()
    assert process.wait(timeout=120) == 130, error
    assert "Traceback" not in error and error.count("\n") == 1
    assert f"lab: interrupted: the grid is saved in {tmp_path / 'grid'}.npz" in error
    assert results.load(tmp_path / "grid")["gap"].shape[:2] == (2, 8)


def test_sigterm_mid_sweep_exits_143_leaves_no_temporary_file_and_resumes_to_equal_results(tmp_path):
    # The defects: SIGTERM during a save left a hidden temporary file; an interrupted sweep lost its runs.
    arguments = [*SWEEP_ARGUMENTS[:SWEEP_ARGUMENTS.index("--learning-rate")], "--learning-rate", "0.05:1:64",
                 "--kappa", "30", "--max-mb", "0.02"]  # 64 chunks of one step size: a wide window for the signal
    command = [sys.executable, "-m", "experiments", *arguments, "--out", str(tmp_path / "grid")]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    for line in process.stderr:
        if line.startswith("sweep: 2/64 runs"):  # progress after the second chunk
            process.send_signal(signal.SIGTERM)
            break
    error = process.stderr.read()
    assert process.wait(timeout=120) == 143, error
    assert "Traceback" not in error and "lab: interrupted: the finished chunks are in" in error
    assert not list(tmp_path.rglob(".*.tmp")), "a temporary file was left behind"
    assert 2 <= len(list((tmp_path / "grid.chunks").iterdir())) < 64
    # Resumed, the grid is whole (equal to an uninterrupted sweep: the Ctrl-C test above compares them).
    assert cli.main([*arguments, "--quiet", "--out", str(tmp_path / "grid"), "--resume"]) == 0
    assert results.load(tmp_path / "grid")["gap"].shape[:2] == (64, 1) and not (tmp_path / "grid.chunks").exists()
