"""The `lab` command: listing, running, sweeping, and one-line errors for a user's mistakes."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from experiments import cli as command
from lab import cli, results


def lab(capsys, *argv):
    """Exit code, stdout and stderr of `lab ARGV` (argparse's own errors exit through SystemExit)."""
    try:
        code = command.main(list(argv))
    except SystemExit as exit:
        code = exit.code
    out, err = capsys.readouterr()
    return code, out, err


def test_list_names_every_experiment_with_what_it_shows(capsys):
    import experiments

    code, out, _ = lab(capsys, "list")
    assert code == 0
    for name in experiments.NAMES:
        assert any(line.startswith(name) and len(line) > len(name) + 10 for line in out.splitlines())


def test_a_reader_that_leaves_early_stops_the_command_quietly():
    """`lab list | head -3`: the reader closes the pipe; the command stops with the shell's 141, no traceback."""
    reader, writer = os.pipe()
    os.close(reader)  # no reader at all: the first write fails (EPIPE)
    try:
        done = subprocess.run([sys.executable, "-m", "experiments", "list"], stdout=writer, stderr=subprocess.PIPE,
                              text=True, timeout=60)
    finally:
        os.close(writer)
    assert (done.returncode, done.stderr) == (141, "")


def test_python_dash_m_experiments_is_the_command():
    done = subprocess.run([sys.executable, "-m", "experiments", "sweep", "--help"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0 and "--learning-rate-over-edge" in done.stdout


def test_run_writes_figures_numbers_and_a_summary(capsys, tmp_path):
    flags = os.environ.get("XLA_FLAGS")
    code, out, err = lab(capsys, "run", "least_squares", "--quick", "--out", str(tmp_path))
    assert code == 0, err
    assert os.environ.get("XLA_FLAGS") == flags  # --quick's compile options end with the run
    assert "least_squares" in out and "ok" in out
    assert (tmp_path / "least_squares_convergence.png").exists()
    assert json.loads((tmp_path / "least_squares.json").read_text())["runs"]


def test_quick_trades_run_speed_for_compile_speed_and_flags_already_set_win():
    assert cli.fast_compile_xla_flags("") == ("--xla_backend_optimization_level=0 --xla_cpu_use_fusion_emitters=false "
                                                 "--xla_cpu_parallel_codegen_split_count=1")
    assert cli.fast_compile_xla_flags("--xla_backend_optimization_level=2").split() == [
        *cli.FAST_COMPILE_XLA_FLAGS, "--xla_backend_optimization_level=2"]  # XLA takes the last value of a flag
    assert cli.fast_compile_xla_flags(cli.fast_compile_xla_flags("")) == cli.fast_compile_xla_flags("")  # once


def test_unknown_experiment_lists_the_names_and_exits_2(capsys, tmp_path):
    code, out, err = lab(capsys, "run", "least_squares", "nope", "--out", str(tmp_path))
    assert code == 2 and "nope" in err and "least_squares" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []  # refused before running anything


def test_unwritable_output_fails_before_computing(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = lab(capsys, "run", "least_squares", "--out", str(blocker / "figures"))
    assert code == 2 and "cannot write" in err and "Traceback" not in err
    code, _, err = lab(capsys, "sweep", "--out", str(blocker / "results.npz"))
    assert code == 2 and "cannot write" in err


@pytest.mark.parametrize(
    "argv, flag",
    [
        (["--learning-rate", "0.1:1"], "--learning-rate"),
        (["--learning-rate", "a:b:c"], "--learning-rate"),
        (["--learning-rate", "-1:1:5"], "--learning-rate"),
        (["--kappa", "-3"], "--kappa"),
        (["--kappa", "0.5,10"], "--kappa"),
        (["--kappa", "ten"], "--kappa"),
        (["--kappa", "10,10"], "--kappa repeats"),  # swept, searched and written, then refused by --plot's map
        (["--seeds", "0"], "--seeds"),
        (["--l2", "-1", "--criterion", "ridge"], "--l2"),
        (["--criterion", "logistic", "--l2", "0"], "--l2"),
        (["--l2", "1e-3"], "--l2"),
        (["--criterion", "logistic", "--gram"], "--gram"),
        (["--learning-rate", "1e-50:1e-45:2", "--dtype", "float32"], "--learning-rate"),  # ran as 0 before
        (["--learning-rate-over-edge", "1e-40:1:3", "--dtype", "float32"], "--learning-rate-over-edge"),
    ],
)
def test_bad_sweep_values_name_their_flag(capsys, tmp_path, argv, flag):
    code, _, err = lab(capsys, "sweep", *argv, "--out", str(tmp_path / "r.npz"))
    assert code == 2 and flag in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv, fast", [
    ([], True),  # the default grid: 192 runs x 500 steps x 4 N P = 8.4e8 flops
    (["--n", "100000"], False),  # 4.2e11 flops: compiling fast would cost more in slower steps than it saves
    (["--n", "100000", "--gram"], True),  # P^2 per step
    (["--compile", "full"], False),
    (["--n", "100000", "--compile", "fast"], True),
    (["--steps", "5918"], True), (["--steps", "5919"], False),  # either side of FAST_COMPILE_FLOPS = 1e10
])
def test_sweep_compiles_fast_on_small_grids_only(argv, fast, tmp_path):
    assert cli.compiles_fast(cli.parser().parse_args(["sweep", "--out", str(tmp_path / "s"), *argv])) is fast


def test_auto_compile_counts_the_rows_and_columns_of_the_data(tmp_path):
    found = []
    for rows in (10, 200_000):  # 64 runs x 500 steps x 4 x 3 columns x rows: 3.8e6 and 7.7e10 flops
        data = tmp_path / f"d{rows}.csv"
        data.write_text("x1,x2,y\n" + "1,2,3\n" * rows)
        found.append(cli.compiles_fast(cli.parser().parse_args(["sweep", "--data", str(data), "--target", "y"])))
    assert found == [True, False]


def test_a_fast_compiling_sweep_leaves_the_xla_flags_as_they_were(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_enable_fast_math=false")
    # the grid of test_sweep_measures_the_edge_at_2_over_L, so that one of the two compiles it
    code, _, err = lab(capsys, "sweep", "--kappa", "1,10,100,1000", "--steps", "400", "--n", "30", "--d", "3",
                       "--learning-rate-over-edge", "0.1:1.2:8", "--out", str(tmp_path / "s"), "--quiet")
    assert code == 0, err
    assert os.environ["XLA_FLAGS"] == "--xla_cpu_enable_fast_math=false"


def test_sweep_measures_the_edge_at_2_over_L(capsys, tmp_path):
    out = tmp_path / "ls.npz"
    code, stdout, err = lab(capsys, "sweep", "--kappa", "1,10,100,1000", "--steps", "400", "--n", "30", "--d", "3",
                            "--learning-rate-over-edge", "0.1:1.2:8", "--out", str(out), "--csv", "--quiet")
    assert code == 0, err
    assert err == ""  # --quiet
    grid = results.load(out)
    assert grid.shape == (8, 4, 1) and grid["diverged"][-1].all()
    edges = results.load(tmp_path / "ls_edges")
    np.testing.assert_allclose(edges["edge_learning_rate"], edges["theory_edge_learning_rate"], rtol=1e-2)
    assert (tmp_path / "ls.csv").read_text().count("\n") == 8 * 4 + 1
    assert [line.split()[0] for line in stdout.splitlines()[1:5]] == ["kappa=1", "kappa=10", "kappa=100", "kappa=1000"]


def test_logistic_sweep_measures_the_local_edge_at_2_over_L_at_the_optimum(capsys, tmp_path):
    out = tmp_path / "lg.npz"
    code, stdout, err = lab(capsys, "sweep", "--criterion", "logistic", "--kappa", "1,10,100", "--steps", "400",
                            "--n", "60", "--d", "3", "--learning-rate-over-edge", "0.1:2:8", "--out", str(out),
                            "--quiet")
    assert code == 0, err
    grid = results.load(out)
    assert grid.shape == (8, 3, 1, 1) and grid.axes["l2"].tolist() == [cli.LOGISTIC_L2]
    assert not grid["diverged"].any()  # up to twice 2/L at a = 0: logistic steps past the edge oscillate, never blow up
    edges = results.load(tmp_path / "lg_edges")
    assert edges["bracketed"].all()
    # The rule reads the edge about 0.35/T low (0.09 %); 2/L at a = 0, where the curvature is largest, is 12 % lower.
    np.testing.assert_allclose(edges["edge_learning_rate"], edges["theory_edge_learning_rate"], rtol=3e-3)
    assert (grid["L_start"][0] > 1.1 * grid["L"][0]).all()
    np.testing.assert_allclose(edges["best_learning_rate"], edges["theory_best_learning_rate"], rtol=2e-2)
    assert [line.split()[0] for line in stdout.splitlines()[1:4]] == ["kappa=1", "kappa=10", "kappa=100"]


def test_momentum_edge_is_measured_at_two_one_plus_beta_over_L_not_at_the_bracket(capsys, tmp_path):
    code, stdout, err = lab(capsys, "sweep", "--optimizer", "momentum", "--momentum", "0.5", "--kappa", "10",
                            "--steps", "400", "--n", "30", "--d", "3", "--learning-rate-over-edge", "0.1:1:4",
                            "--out", str(tmp_path / "m.npz"), "--quiet", "--csv")
    assert code == 0, err
    edges = results.load(tmp_path / "m_edges")
    assert edges["bracketed"].all()
    # 2(1 + beta)/L
    np.testing.assert_allclose(edges["edge_learning_rate"], 1.5 * edges["gd_edge_learning_rate"], rtol=1e-2)
    np.testing.assert_allclose(edges["theory_edge_learning_rate"], 1.5 * edges["gd_edge_learning_rate"], rtol=1e-12)
    header = (tmp_path / "m_edges.csv").read_text().splitlines()[0].split(",")
    assert {"edge_learning_rate", "theory_edge_learning_rate", "best_learning_rate", "theory_best_learning_rate",
            "bracketed"} <= set(header)
    # no best learning rate at a fixed momentum (its rate's plateau): '-', not noise printed as measured
    assert np.isnan(edges["best_learning_rate"]).all() and stdout.splitlines()[1].split()[5] == "-"
    assert "warning" not in err  # not searched (find_best=False), so nothing to warn about


CRITERION_FILE = """
import jax.numpy as jnp

def log_cosh(a, data):  # with a ridge penalty, 0 unless --l2
    r = data.X @ a - data.y
    return jnp.mean(jnp.logaddexp(r, -r) - jnp.log(2.0)) + data.l2 * jnp.sum(a ** 2)

def log_cosh_alone(a, data):  # no penalty: --l2 would be ignored
    r = data.X @ a - data.y
    return jnp.mean(jnp.logaddexp(r, -r) - jnp.log(2.0))

def vector(a, data):
    return data.X @ a

def broken(a, data):
    raise RuntimeError("my bug")

def leaves(a, data):  # exited `lab sweep` with code 3, nothing said
    import sys
    sys.exit(3)

def net(a, data):  # a network of 6 weights on the intercept and two features: not one parameter per column
    return jnp.mean((jnp.tanh(data.X @ a[:6].reshape(3, 2)).sum(1) - data.y) ** 2)
"""


@pytest.fixture
def user_files(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = 1 + X @ [1.0, -2.0] + rng.standard_t(3, 40)
    lines = ["u,v,target"] + [f"{a},{b},{c}" for (a, b), c in zip(X, y)]
    (tmp_path / "data.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "losses.py").write_text(CRITERION_FILE)
    return tmp_path


def test_sweep_on_a_csv_with_a_criterion_file(capsys, user_files):
    out = user_files / "out" / "lc.npz"
    code, stdout, err = lab(capsys, "sweep", "--data", str(user_files / "data.csv"), "--target", "target",
                            "--criterion", f"{user_files / 'losses.py'}:log_cosh", "--rule", "converging",
                            "--learning-rate-over-edge", "0.2:1.4:6", "--steps", "300", "--seeds", "2",
                            "--l2", "1e-12",  # read by log_cosh (df/dl2 > 0), however small beside f
                            "--out", str(out), "--csv", "--plot", "--quiet")
    assert code == 0, err
    grid, edges = results.load(out), results.load(out.parent / "lc_edges")
    assert grid.shape == (6, 2) and edges.config["stability_rule"] == "converging"
    assert grid.config["data"] == {"file": str(user_files / "data.csv"), "target": "target", "standardize": False,
                                   "intercept": True}  # the run's config says only "Data"
    assert edges["bracketed"].all()
    np.testing.assert_allclose(edges["edge_learning_rate"], edges["gd_edge_learning_rate"], rtol=1e-2)
    assert edges["L"][0] != edges["L"][1]  # seed 1 is a bootstrap resample: another Hessian
    assert [line.split()[0] for line in stdout.splitlines()[1:3]] == ["seed=0", "seed=1"]
    assert (out.parent / "lc.csv").exists() and (out.parent / "lc_edges.csv").exists()
    assert (out.parent / "lc.png").stat().st_size > 10_000  # the stability profile and the iterations


@pytest.mark.parametrize("argv, flag, words", [
    (["--criterion", "{d}/missing.py:f"], "--criterion", "no file"),
    (["--criterion", "{d}/losses.py:nope"], "--criterion", "no function 'nope'"),
    (["--criterion", "{d}/losses.py:vector"], "--criterion", "must return a real scalar"),
    (["--criterion", "{d}/losses.py:broken"], "--criterion", "RuntimeError: my bug"),
    (["--criterion", "{d}/losses.py:leaves"], "--criterion", "raised SystemExit: 3"),
    (["--criterion", "no_such_module:f"], "--criterion", "does not import"),
    (["--criterion", "cubic"], "--criterion", "must be one of"),
    (["--target", "nope"], "--target", "no column 'nope'"),
    (["--criterion", "logistic"], "--data", "binary labels"),
    (["--kappa", "10"], "--kappa", "does not apply to --data"),
    (["--criterion", "{d}/losses.py:net"], "--criterion", "lab sweep: --size P"),  # 3 columns, 6 parameters
    (["--criterion", "least_squares", "--size", "4"], "--criterion", "start must have shape (3,)"),
    (["--criterion", "{d}/losses.py:log_cosh", "--reference-max-iter", "1"], "--criterion",
     "(max_iter): raise max_iter"),
    (["--criterion", "{d}/losses.py:log_cosh", "--reference-tol", "-1"], "--reference-tol", "must be > 0"),
    (["--tolerance", "0"], "--tolerance", "must be in (0, 1)"),  # said to be --criterion's before
    (["--max-mb", "1e-9"], "--max-mb", "from 1 byte"),  # "max_bytes ... got 0" before
    (["--delta", "inf"], "--delta", "finite and > 0"),  # a "not_finite" reference, blamed on the features, before
    (["--criterion", "{d}/losses.py:log_cosh_alone", "--l2", "0.5"], "--l2", "never reads data.l2"),  # ignored
])
def test_bad_data_sweeps_name_their_flag_before_any_sweep(capsys, user_files, argv, flag, words):
    argv = [a.format(d=user_files) for a in argv]
    base = {"--data": str(user_files / "data.csv"), "--target": "target", "--criterion": "huber"}
    for name, value in zip(argv[::2], argv[1::2]):
        base[name] = value
    code, _, err = lab(capsys, "sweep", *[x for pair in base.items() for x in pair], "--out",
                       str(user_files / "o" / "r"))
    assert code == 2 and flag in err and words in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not list(user_files.glob("o/*"))  # nothing written


def test_a_file_that_is_not_utf8_and_an_empty_out_are_named(capsys, user_files):
    """A latin-1 CSV gave "'utf-8' codec can't decode byte 0xe9" naming neither file nor flag; --out '' gave
    "PosixPath('.') has an empty name"."""
    (user_files / "latin.csv").write_bytes("caf\xe9,v,target\n1,2,3\n2,3,5\n".encode("latin-1"))
    code, _, err = lab(capsys, "sweep", "--data", str(user_files / "latin.csv"), "--target", "target",
                       "--out", str(user_files / "o" / "r"))
    assert code == 2 and "--data" in err and "is not UTF-8 text" in err and "Traceback" not in err, err
    code, _, err = lab(capsys, "sweep", "--data", str(user_files / "data.csv"), "--target", "target", "--out", "")
    assert code == 2 and "--out must name a file" in err, err


def test_an_out_that_would_write_over_the_data_is_refused_and_the_data_kept(capsys, user_files):
    """--csv --out data wrote data.csv, the results table, over the user's --data data.csv, and said "wrote"."""
    edges = user_files / "r_edges.csv"
    edges.write_bytes((user_files / "data.csv").read_bytes())
    for path, out in ((user_files / "data.csv", "data"), (user_files / "data.csv", "data.npz"), (edges, "r")):
        before = path.read_bytes()
        code, _, err = lab(capsys, "sweep", "--data", str(path), "--target", "target", "--csv", "--out",
                           str(user_files / out))
        assert code == 2 and f"over --data {path}" in err and "Traceback" not in err, err
        assert path.read_bytes() == before
    assert sorted(p.name for p in user_files.iterdir()) == ["data.csv", "losses.py", "r_edges.csv"]


def test_a_text_cell_in_the_csv_is_refused_with_its_line(capsys, user_files):
    path = user_files / "data.csv"
    path.write_text(path.read_text().replace("\n", "\nabc,1,2\n", 1))
    code, _, err = lab(capsys, "sweep", "--data", str(path), "--target", "target", "--criterion", "huber",
                       "--out", str(user_files / "o" / "r"))
    assert code == 2 and "--data" in err and "line 2" in err and "'abc' is not a number" in err


def test_jobs_runs_experiments_in_worker_processes_with_the_same_table(capsys, tmp_path):
    import experiments

    assert sorted(experiments.LONGEST_FIRST) == sorted(experiments.NAMES)
    code, out, err = lab(capsys, "run", "conditioning_quadratics", "least_squares", "--quick", "--jobs", "2", "--out",
                         str(tmp_path))  # the two quickest lessons
    assert code == 0, err
    rows = [line.split() for line in out.splitlines()[1:3]]
    assert [row[0] for row in rows] == ["conditioning_quadratics", "least_squares"] and all(
        row[2] == "ok" for row in rows)
    assert json.loads((tmp_path / "conditioning_quadratics.json").read_text())
    assert json.loads((tmp_path / "least_squares.json").read_text()) and any(
        tmp_path.glob("conditioning_quadratics*.png"))
    code, _, err = lab(capsys, "run", "curvature", "--jobs", "0", "--out", str(tmp_path))
    assert code == 2 and "--jobs" in err


def test_an_experiment_that_switches_float64_on_does_not_leave_it_on(monkeypatch, tmp_path):
    import jax

    import experiments

    class AlwaysFloat64:  # like entropy, whatever --dtype says
        @staticmethod
        def reproduce(out, quick, dtype, seed):
            jax.config.update("jax_enable_x64", True)

    monkeypatch.setattr(experiments, "load", lambda name: AlwaysFloat64)
    jax.config.update("jax_enable_x64", False)
    try:
        assert command.run_one("entropy", str(tmp_path), True, "float32", 0, True)[2] == "ok"
        assert jax.config.read("jax_enable_x64") is False
    finally:
        jax.config.update("jax_enable_x64", True)  # the suite's default (conftest)


def test_the_library_imports_neither_the_experiments_nor_the_benchmarks_and_these_not_each_other():
    code = ("import sys, lab, lab.cli, lab.sweep, lab.stability, lab.plots, lab.results, lab.atoms, lab.datasets; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'experiments', 'benchmarks'})); "
            "import benchmarks.bookkeeping, benchmarks.compile_cache, benchmarks.hessian, benchmarks.scale, "
            "benchmarks.sweeps, benchmarks.throughput; print('experiments' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.split() == ["[]", "False"], done.stderr
    experiments = Path(__file__).parent.parent / "experiments"
    importing = [path.relative_to(experiments).as_posix() for path in sorted(experiments.rglob("*.py"))
                 if re.search(r"^\s*(from|import) benchmarks\b", path.read_text(), re.M)]
    assert importing == ["cli.py"]  # `lab bench`: the command sits on top; no lesson imports a benchmark


def test_the_compilation_cache_is_the_users_unless_moved_or_off(tmp_path):
    import jax

    before = jax.config.jax_compilation_cache_dir
    try:
        assert cli.use_compilation_cache({"LAB_CACHE_DIR": "off"}) is None
        assert jax.config.jax_compilation_cache_dir == before
        if sys.platform == "linux":
            assert cli.use_compilation_cache({"XDG_CACHE_HOME": str(tmp_path)}) == tmp_path / "lab" / "jax"
        assert cli.use_compilation_cache({"LAB_CACHE_DIR": str(tmp_path / "c")}) == tmp_path / "c"
        assert jax.config.jax_compilation_cache_dir == str(tmp_path / "c")
        assert jax.config.jax_persistent_cache_min_compile_time_secs == 0  # the lab's compilations are short
    finally:
        jax.config.update("jax_compilation_cache_dir", before)


def test_a_second_lab_sweep_reads_its_compilations_from_the_cache(tmp_path):
    command = [sys.executable, "-m", "experiments", "sweep", "--n", "20", "--d", "2", "--learning-rate", "0.2:1:3",
               "--kappa", "1,10", "--steps", "20", "--quiet", "--out", str(tmp_path / "s")]
    cache = tmp_path / "cache"

    def lab_sweep(setting):
        done = subprocess.run(command, env={**os.environ, "LAB_CACHE_DIR": setting}, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr

    lab_sweep(str(cache))
    first = sorted(p.name for p in cache.iterdir())
    lab_sweep(str(cache))
    assert len(first) >= 5 and sorted(p.name for p in cache.iterdir()) == first  # the second compiled nothing new


def test_lab_run_names_each_experiment_once(monkeypatch, tmp_path, capsys):
    # The defect: `lab run NAME NAME` ran it twice (in parallel under --jobs 2), both writing the same files.
    from experiments import cli as commands

    ran = []
    monkeypatch.setattr(commands, "run_one", lambda name, *task: ran.append(name) or (name, 0.0, "ok"))
    assert commands.main(["run", "least_squares", "ridge", "least_squares", "--out", str(tmp_path), "--jobs", "1"]) == 0
    assert ran == ["least_squares", "ridge"]


def test_sigterm_during_lab_run_removes_the_file_being_written_and_says_what_finished(monkeypatch, tmp_path, capsys):
    import signal
    import types

    import experiments
    from lab import files

    def writes(name, stop):
        def reproduce(out, quick, dtype, seed):
            def write(file):
                file.write(b"partial")
                if stop:
                    os.kill(os.getpid(), signal.SIGTERM)  # as `kill PID` would, in the middle of a write
                file.write(b" rest")

            files.write_atomic(os.path.join(out, f"{name}.json"), write)
        return types.SimpleNamespace(reproduce=reproduce)

    modules = {"least_squares": writes("least_squares", False), "ridge": writes("ridge", True)}
    monkeypatch.setattr(experiments, "load", lambda name: modules[name])
    code = command.main(["run", "least_squares", "ridge", "--out", str(tmp_path), "--jobs", "1"])
    err = capsys.readouterr().err
    assert code == 128 + signal.SIGTERM and "lab: interrupted: least_squares finished" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["least_squares.json"]  # no ridge.json, no temporary file
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the handler is put back


def test_the_edge_searchs_warnings_reach_the_user_in_the_commands_words(capsys, tmp_path):
    """The table's '< 0.5x2/L' came without the advice (runs too short for 'converging'), which was filtered out."""
    code, out, err = lab(capsys, "sweep", "--kappa", "1000", "--steps", "30", "--rule", "converging",
                         "--learning-rate-over-edge", "0.5:1.5:4", "--quiet", "--out", str(tmp_path / "short"))
    assert code == 0 and "< 0.5x2/L" in out
    assert "lab: warning: the edge was not bracketed at 1 of 1" in err and "raise --steps" in err


def test_the_runs_and_the_grids_warnings_are_said_once_each_in_the_commands_words(capsys, user_files):
    """A duplicated column: the reference is the minimum-norm one, warned by the run as it is built, by the grid and
    by the edge search; the command says it once, as its own line, not as a Python warning."""
    lines = (user_files / "data.csv").read_text().splitlines()
    (user_files / "twice.csv").write_text("\n".join(["u,u2,v,target"] + [f"{r.split(',')[0]},{r}" for r in lines[1:]]))
    import warnings

    with warnings.catch_warnings(record=True) as escaped:  # a Python warning would print beside the command's line
        warnings.simplefilter("always")
        code, _, err = lab(capsys, "sweep", "--data", str(user_files / "twice.csv"), "--target", "target", "--steps",
                           "20", "--learning-rate-over-edge", "0.5:1:2", "--quiet",
                           "--out", str(user_files / "o" / "twice"))
    said = [line for line in err.splitlines() if line.startswith("lab: warning:")]
    assert code == 0 and said and len(said) == len(set(said)) and any("rank" in line for line in said), err
    assert not escaped, [str(w.message) for w in escaped]


def test_no_intercept_gives_your_criterion_the_features_alone(user_files):
    """A network's biases would duplicate the intercept column: --no-intercept leaves it out (and P with it)."""
    from lab import cli

    argv = ["sweep", "--data", str(user_files / "data.csv"), "--target", "target", "--criterion",
            f"{user_files / 'losses.py'}:log_cosh"]
    for extra, columns in (([], 3), (["--no-intercept"], 2)):
        args = cli.parser().parse_args([*argv, *extra])
        run, _ = cli.run_and_axes(args, 0.0, "converging")
        assert run.data.X.shape[1] == columns and (columns == 2) != bool(np.all(run.data.X[:, 0] == 1))
