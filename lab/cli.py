"""The library's command line: `lab sweep`, a grid of runs and the edge search on synthetic data or yours.

The `lab` command is this parser with the experiments' commands added (`experiments.cli`: list, run,
bench); the library itself never imports the experiments. Side effects live here (printing, files,
jax.config); the library computes. A user's mistake prints one line `lab: error: ...` and exits 2,
never a traceback; Ctrl-C (or SIGTERM) prints what was saved and how to resume, and exits 130 (143).
"""

import argparse
import contextlib
import functools
import os
import shutil
import signal
import sys
import time
import types
import warnings
from pathlib import Path
from unittest import mock

import numpy as np

OPTIMIZERS = ("gd", "momentum", "nesterov", "adam")
CRITERIA = ("least_squares", "ridge", "logistic", "huber", "poisson")
CONVERGING = ("logistic", "huber")  # bounded gradients: past the edge they oscillate without blowing up
LOGISTIC_L2 = 1e-3
SWEEP_DESCRIPTION = """\
A grid of optimization runs (learning rate x kappa x seed, or learning rate x seed on your --data) in one compiled call,
and per setting the measured stability edge beside the optimizer's theoretical edge and 2/L, the
measured best learning rate beside 2/(L+mu) and the fewest iterations to the tolerance beside the prediction.

Stable (--rule): bounded, not diverged and a final gap at most the initial one (least squares,
ridge, poisson, your own criterion by default); converging, not diverged and the gap reached the
tolerance (ending at most where it started) or still halved over the second half of the run (logistic
and huber by default: their gradients are bounded, so a learning rate past the edge oscillates
without growing). L and mu are the
Hessian's at the optimum, and the edge is measured from next to it: the local edge is 2/L there
(for synthetic logistic, from a = 0 the larger curvature L_start matters: see lab run curvature).
With --data, seed 0 is your data and seeds 1..K-1 bootstrap resamples of its rows."""


CACHE_VARIABLE = "LAB_CACHE_DIR"
# XLA options that trade run speed for compile speed: no LLVM optimisation of the generated CPU code, XLA's
# elemental emitters instead of its fusion emitters, and the generated module compiled whole (split into parts for
# parallel codegen threads, unoptimised code costs more to split than to compile). On the default sweep, compiling
# takes about a sixth of the time and a step a few times longer (benchmarks/compile_cache.py).
FAST_COMPILE_XLA_FLAGS = ("--xla_backend_optimization_level=0", "--xla_cpu_use_fusion_emitters=false",
                          "--xla_cpu_parallel_codegen_split_count=1")
# `lab sweep --compile auto` compiles fast when its grid does at most this much arithmetic (runs x steps x 4 N P
# flops, about a second at the ~10 GFLOP/s of a 2-core CPU): there the seconds saved compiling outweigh the
# slower steps.
FAST_COMPILE_FLOPS = 1e10


def fast_compile_xla_flags(flags: str) -> str:
    """XLA_FLAGS with FAST_COMPILE_XLA_FLAGS first: flags already set come last, so they win (XLA takes a flag's
    last value). JAX reads XLA_FLAGS once, when its backend starts."""
    present = flags.split()
    return " ".join([*(flag for flag in FAST_COMPILE_XLA_FLAGS if flag not in present), flags]).strip()


def use_compilation_cache(environ=None):
    """Turn on JAX's persistent compilation cache, so that a second run with the same shapes compiles nothing.

    Where: $LAB_CACHE_DIR, by default the user's cache directory (~/.cache/lab/jax, or
    $XDG_CACHE_HOME/lab/jax; ~/Library/Caches on macOS, %LOCALAPPDATA% on Windows); LAB_CACHE_DIR=off
    disables it. Every compilation is cached (JAX's default keeps only those over 1 s, and most of the
    lab's take less); the directory is not bounded (JAX's bound needs the filelock package): delete it at
    will. The key includes the XLA flags, so --quick's compilations are cached apart. Returns the
    directory, or None when off.
    """
    environ = os.environ if environ is None else environ
    setting = environ.get(CACHE_VARIABLE, "").strip()
    if setting.lower() == "off":
        return None
    directory = Path(setting).expanduser() if setting else _user_cache(environ) / "lab" / "jax"
    import jax

    jax.config.update("jax_compilation_cache_dir", str(directory))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    return directory


def _user_cache(environ) -> Path:
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches"
    if sys.platform == "win32" and environ.get("LOCALAPPDATA"):
        return Path(environ["LOCALAPPDATA"])
    return Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def main(argv=None, extensions=()) -> int:
    """Parse `argv` (default sys.argv), run the command; 0 on success, 2 (one line on stderr) on a user's mistake.

    JAX's persistent compilation cache is on (`use_compilation_cache`)."""
    use_compilation_cache()
    command_line = parser(extensions)
    args = command_line.parse_args(argv)
    if args.command is None:
        command_line.print_help()
        return 2
    try:
        return args.handler(args)
    except ValueError as error:
        print(f"lab: error: {error}", file=sys.stderr)
        return 2
    except Interrupted as interruption:
        print(f"lab: interrupted: {interruption.saved}.", file=sys.stderr)
        return 128 + interruption.signal_number
    except KeyboardInterrupt:
        print("lab: interrupted.", file=sys.stderr)
        return 130
    except MemoryError:
        print("lab: error: out of memory: sweep fewer runs (shorter axes) or smaller data.", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader left (`lab list | head -3`): stop quietly, as cat does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's flush at exit fails no more
        return 128 + 13  # SIGPIPE's number, as a shell reports a reader gone (no signal.SIGPIPE on Windows)


def parser(extensions=()):
    """The `lab` command's argument parser: `sweep`, then each `add(commands)` of `extensions` adds its own
    subcommands to argparse's subparsers (each sets `handler=function(args) -> exit code`)."""
    command_line = argparse.ArgumentParser(prog="lab", description="A JAX-accelerated optimization lab.")
    commands = command_line.add_subparsers(dest="command", metavar="COMMAND")

    sweep = commands.add_parser("sweep", help="a grid of optimization runs, measured against theory",
                                description=SWEEP_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    sweep.add_argument("--criterion", default="least_squares", metavar="NAME",
                       help=f"one of {', '.join(CRITERIA)}, or your own f(a, data) as PATH.py:FUNCTION or "
                            "package.module:FUNCTION (needs --data; data is lab.criteria.Data(X, y, l2) with the "
                            "intercept column first, unless --no-intercept). Without --data: least squares or ridge on "
                            "regression data "
                            "with an exact condition number, or logistic regression on two Gaussian classes (means "
                            "1 apart) with an l2 penalty (default least_squares)")
    sweep.add_argument("--data", metavar="FILE.csv", help="your data: a CSV file with a header and numeric columns")
    sweep.add_argument("--target", metavar="COLUMN", help="the column of --data to predict (the others are features)")
    sweep.add_argument("--standardize", action="store_true", help="centre and scale the features of --data")
    sweep.add_argument("--no-intercept", action="store_true",
                       help="no intercept column before the features of --data: for a criterion with its own "
                            "offsets (a network's biases), which the column would duplicate")
    sweep.add_argument("--delta", type=float, default=1.0, action=_Given,
                       help="huber: the residual where the loss turns linear, in units of the target (default 1)")
    sweep.add_argument("--rule", choices=("bounded", "converging"), default=None,
                       help="when a run counts as stable: bounded (not diverged, final gap <= initial) or converging "
                            "(the gap reaches the tolerance, ending at most where it started, or still halves); "
                            "default converging for logistic and huber, whose gradients are bounded, bounded otherwise")
    sweep.add_argument("--start", choices=("zero", "random", "eigen"), default="zero",
                       help="where the swept runs start: a = 0, a random a ~ N(0, 0.5^2) per seed (--data only; "
                            "also where the reference search starts), or a* plus every unit eigenvector of the "
                            "Hessian (times 0.01 off the quadratics) (default zero; the edge is always measured "
                            "from there)")
    sweep.add_argument("--optimizer", default="gd", choices=OPTIMIZERS)
    sweep.add_argument("--momentum", type=float, default=0.9, action=_Given,
                       help="beta for momentum and nesterov (default 0.9)")
    learning_rate_group = sweep.add_mutually_exclusive_group()
    learning_rate_group.add_argument("--learning-rate", type=_geometric_range, default=None, metavar="START:STOP:COUNT",
                           help="learning rates, COUNT values log-spaced from START to STOP (default 0.05:1.2:64)")
    learning_rate_group.add_argument("--learning-rate-over-edge", type=_geometric_range, default=None,
                           metavar="START:STOP:COUNT",
                           help="learning rates in units of each run's 2/L instead (at the optimum; synthetic logistic "
                                "from a = 0: L at a = 0, its largest curvature)")
    sweep.add_argument("--kappa", type=_float_list, default=None, metavar="LIST",
                       help="synthetic data only: condition numbers, comma-separated, each >= 1 (default 1,10,100): "
                            "of the Hessian for least squares; for logistic, of the features' within-class "
                            "covariance (the Hessian's at the optimum is printed as cond(H*))")
    sweep.add_argument("--seeds", type=_positive_int, default=1, metavar="K",
                       help="seeds 0..K-1 (default 1): synthetic data drawn anew; with --data, seed 0 is the data "
                            "itself and seeds 1..K-1 bootstrap resamples of its rows, each with its own optimum")
    sweep.add_argument("--size", type=_positive_int, default=None, action=_Given, metavar="P",
                       help="the number of parameters of your --criterion on --data where it is not one per column "
                            "(the intercept's included): a network's, lab.networks.size(widths)")
    sweep.add_argument("--reference-tol", type=float, default=None, action=_Given, metavar="TOL",
                       help="the gradient norm your criterion's reference optimum must reach (default 1e-10 in "
                            "float64, 1e-5 in float32): looser for a network that approaches its minimum slowly")
    sweep.add_argument("--reference-max-iter", type=_positive_int, default=None, action=_Given, metavar="K",
                       help="iterations of the reference search for your criterion (default: Newton 100, L-BFGS 2000)")
    sweep.add_argument("--steps", type=_positive_int, default=500, metavar="T", help="iterations per run (default 500)")
    sweep.add_argument("--n", type=_positive_int, default=200, action=_Given,
                       help="synthetic data: samples (default 200)")
    sweep.add_argument("--d", type=_positive_int, default=10, action=_Given,
                       help="synthetic data: features, plus the intercept (default 10)")
    sweep.add_argument("--l2", type=float, default=None,
                       help="penalty weight l2 (mean scaling) of ridge (default 0), logistic (> 0, default 1e-3), "
                            "huber and poisson (default 0); your own criterion gets it as data.l2 and must read it "
                            "(refused otherwise: it would be ignored)")
    sweep.add_argument("--tolerance", type=float, default=1e-6,
                       help="iterations to reach gap <= tolerance * initial gap")
    sweep.add_argument("--gram", action="store_true", help="least squares on X^T X / N: P^2 per step instead of N P")
    sweep.add_argument("--dtype", default="float64", choices=("float32", "float64"))
    sweep.add_argument("--out", default="sweep.npz", help="results file: OUT.npz plus OUT.json (default sweep.npz); "
                                                          "finished chunks are kept in OUT.chunks/ until the end")
    sweep.add_argument("--resume", action="store_true",
                       help="finish an interrupted sweep: read the chunks OUT.chunks/ holds, compute only the others")
    sweep.add_argument("--max-mb", type=float, default=None, metavar="M",
                       help="memory bound for one chunk of runs, in MiB (default: 1 GiB, at most half the free memory)")
    sweep.add_argument("--csv", action="store_true", help="also write OUT.csv (one row per run) and OUT_edges.csv")
    sweep.add_argument("--plot", action="store_true", help="also draw OUT.png: stability map and iterations")
    sweep.add_argument("--quiet", action="store_true", help="no progress on stderr")
    sweep.add_argument("--compile", choices=("auto", "fast", "full"), default="auto",
                       help="fast: compile in a fraction of the time, steps run a few times slower; full: XLA's "
                            f"optimising compile; auto (default): fast when the grid does at most "
                            f"{FAST_COMPILE_FLOPS:.0e} flops (runs x steps x 4 N P), full otherwise")
    sweep.set_defaults(handler=_sweep, given=frozenset())

    for add in extensions:
        add(commands)
    return command_line


def _geometric_range(text):
    try:
        start, stop, count = text.split(":")
        start, stop, count = float(start), float(stop), int(count)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected START:STOP:COUNT such as 0.05:1.2:64, got {text!r}") from None
    if not (0 < start <= stop and np.isfinite(stop) and count >= 1):
        raise argparse.ArgumentTypeError(f"need 0 < START <= STOP and COUNT >= 1, got {text!r}")
    return np.geomspace(start, stop, count)


def _float_list(text):
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers such as 1,10,100, got {text!r}") from None
    if not all(np.isfinite(v) and v >= 1 for v in values):
        raise argparse.ArgumentTypeError(f"condition numbers must be finite and >= 1, got {text!r}")
    return values


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _say(args, message):
    """`message` on stderr unless --quiet."""
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr, flush=True)


def _enable_x64(dtype):
    if dtype == "float64":
        import jax

        jax.config.update("jax_enable_x64", True)


def _optimizer(args):
    import optax

    return {
        "gd": optax.sgd,
        "momentum": functools.partial(optax.sgd, momentum=args.momentum),
        "nesterov": functools.partial(optax.sgd, momentum=args.momentum, nesterov=True),
        "adam": optax.adam,
    }[args.optimizer]


class _Given(argparse.Action):
    """Store the value and note that the flag was given (`args.given`), so that a flag that does not apply to the
    command as written is refused instead of ignored."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        namespace.given = namespace.given | {self.dest}


def _sweep(args) -> int:
    """A grid of runs and the edge search, on synthetic data or on --data with any criterion; files and a table."""
    momentum = args.optimizer in ("momentum", "nesterov")
    for name, applies, where in (("momentum", momentum, "--optimizer momentum or nesterov"),
                                 ("n", args.data is None, "synthetic data (--data sets N)"),
                                 ("d", args.data is None, "synthetic data (--data sets D)"),
                                 ("delta", args.criterion == "huber", "--criterion huber"),
                                 ("size", args.data is not None, "your criterion on --data"),
                                 ("reference_tol", args.data is not None, "your criterion on --data"),
                                 ("reference_max_iter", args.data is not None, "your criterion on --data")):
        flag = "--" + name.replace("_", "-")
        if name in args.given and not applies:
            raise ValueError(f"{flag} applies to {where} only: remove it, it would be ignored.")
    logistic = args.criterion == "logistic"
    l2 = (LOGISTIC_L2 if logistic else 0.0) if args.l2 is None else args.l2
    if not 0 <= l2 < np.inf:
        raise ValueError(f"--l2 must be >= 0, got {l2}")
    if args.reference_tol is not None and not 0 < args.reference_tol < np.inf:
        raise ValueError(f"--reference-tol must be > 0 (a gradient norm), got {args.reference_tol}")
    if args.optimizer in ("momentum", "nesterov") and not 0 <= args.momentum < 1:
        raise ValueError(f"--momentum must be in [0, 1), got {args.momentum}")
    if l2 > 0 and args.criterion == "least_squares":
        raise ValueError("--l2 is the ridge or logistic penalty: add --criterion ridge.")
    if logistic and l2 == 0:
        raise ValueError("--l2 must be > 0 for logistic: without a penalty, separable classes have no finite optimum.")
    if args.gram and args.criterion not in ("least_squares", "ridge"):
        raise ValueError(f"--gram rewrites least squares on X^T X / N: it does not apply to "
                         f"--criterion {args.criterion}.")
    if args.data is None:
        if args.criterion not in ("least_squares", "ridge", "logistic"):
            raise ValueError(f"--criterion {args.criterion} needs your data: add --data FILE.csv --target COLUMN "
                             "(synthetic data come for least_squares, ridge and logistic only).")
        for flag, given in (("--target", args.target), ("--standardize", args.standardize),
                            ("--no-intercept", args.no_intercept)):
            if given:
                raise ValueError(f"{flag} describes --data: add --data FILE.csv.")
    else:
        if args.target is None:
            raise ValueError("--target: name the column of --data to predict.")
        if args.kappa is not None:
            raise ValueError("--kappa conditions synthetic data: it does not apply to --data.")
        if args.gram:
            raise ValueError("--gram applies to synthetic least squares only.")
    if args.kappa is not None and len(set(args.kappa)) < len(args.kappa):  # the same runs twice, one row of no height
        raise ValueError(f"--kappa repeats a value ({','.join(f'{k:g}' for k in args.kappa)}): list each once.")
    if not 0 < args.tolerance < 1:
        raise ValueError(f"--tolerance must be in (0, 1), a fraction of the initial gap, got {args.tolerance}.")
    if not 0 < args.delta < np.inf:
        raise ValueError(f"--delta must be finite and > 0, got {args.delta}")
    if args.max_mb is not None and not 2.0**-20 <= args.max_mb < np.inf:
        raise ValueError(f"--max-mb must be a number of MiB from 1 byte ({2.0**-20:.2g} MiB), got {args.max_mb}.")
    from lab import files, sweep  # no JAX backend starts here: XLA_FLAGS below still apply

    stem = _stem(args.out)
    files.writable_directory(stem.parent)
    _refuse_writing_over_the_data(args, stem)
    chunks = stem.with_name(stem.name + ".chunks")
    if chunks.is_dir() and sweep.checkpoint_files(chunks) and not args.resume:
        raise ValueError(f"{chunks} holds the finished chunks of an interrupted sweep: add --resume to finish it "
                         f"(the same arguments), or delete {chunks} to start again.")
    _enable_x64(args.dtype)
    # JAX reads XLA_FLAGS when its backend starts: in the `lab` command, at the first array below.
    flags = {"XLA_FLAGS": fast_compile_xla_flags(os.environ.get("XLA_FLAGS", ""))} if compiles_fast(args) else {}
    with mock.patch.dict(os.environ, flags):
        return _sweep_and_edges(args, l2, stem, chunks)


def _sweep_and_edges(args, l2, stem, chunks) -> int:
    """The grid, then the edge search, saved as they finish; the table of edges. The warnings of the run, the
    grid and the edge search are said once each, as the command's own lines, before the table."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        return _grid_and_edges(args, l2, stem, chunks, caught)


def _grid_and_edges(args, l2, stem, chunks, caught) -> int:
    from lab import results, runs, stability, sweep

    rule = args.rule or ("converging" if args.criterion in CONVERGING else "bounded")
    run, axes = run_and_axes(args, l2, rule)
    started = time.perf_counter()
    max_bytes = None if args.max_mb is None else int(args.max_mb * 2**20)
    edges_stem = stem.with_name(stem.name + "_edges")
    left = sweep.checkpoint_files(chunks) if chunks.is_dir() else []  # --resume: another run's chunks, perhaps
    with interrupts() as interrupted:
        interrupted.saved = f"the finished chunks are in {chunks}/: run the same command with --resume to finish"
        read = {"data": {"file": args.data, "target": args.target, "standardize": args.standardize,
                         "intercept": not args.no_intercept}} if args.data else {}  # what run_config calls "Data"
        grid = sweep.sweep(run, axes, max_bytes=max_bytes, progress=not args.quiet,
                           config={"stability_rule": rule, **read}, checkpoint=chunks)
        key = grid.config["checkpoint_key"]
        if left and not set(left) & set(sweep.checkpoint_files(chunks, key)):
            print(f"lab: --resume: none of the {len(left)} chunks in {chunks} is of this sweep (its arguments, data "
                  "or criterion changed since): computed it whole; delete them if they are not needed.",
                  file=sys.stderr)
        results.save(grid, stem)  # before the edge search: an interruption there loses no run
        interrupted.saved = (f"the grid is saved in {stem}.npz; the edge search was not finished: run the same "
                             "command with --resume to measure it")
        _say(args, f"lab: {grid['final_gap'].size} runs in {time.perf_counter() - started:.1f} s, saved in "
                   f"{stem}.npz; measuring the edge ...")
        edges = stability.edge_and_best(run, {k: v for k, v in axes.items() if k not in runs.LEARNING_RATE_AXES},
                                        rule=rule, find_best=args.optimizer == "gd")  # momentum: a plateau; Adam: noise
        for message in dict.fromkeys(str(warning.message) for warning in caught):  # in their order, each once
            print(f"lab: warning: {message.replace('raise num_steps', 'raise --steps')}", file=sys.stderr)
        results.save(edges, edges_stem)
    for path in sweep.checkpoint_files(chunks, key):  # this sweep's chunks only: another's are never deleted
        path.unlink()
    if chunks.is_dir() and not sweep.checkpoint_files(chunks):
        shutil.rmtree(chunks)  # with what a killed write left (.KEY-INDEX.npz.XXXX.tmp): never a chunk
    written = [f"{stem}.npz", f"{stem}.json", f"{edges_stem}.npz", f"{edges_stem}.json"]
    beside = lambda path, suffix: path.with_name(path.name + suffix)  # noqa: E731 (--out lr0.1: lr0.1.csv, not lr0.csv)
    if args.csv:
        written.append(str(results.to_csv(grid, beside(stem, ".csv"))))
        written.append(str(results.to_csv(edges, beside(edges_stem, ".csv"))))
    if args.plot:
        written.append(str(_plot(grid, edges, beside(stem, ".png"))))
    _print_edges(grid, edges, args, rule)
    print("wrote " + ", ".join(written))
    return 0


def compiles_fast(args) -> bool:
    """Whether `lab sweep ARGS` (parsed) compiles with FAST_COMPILE_XLA_FLAGS: --compile, with auto decided by
    the grid's arithmetic (runs x steps x 4 N P flops; P^2 per step with --gram), counted from the arguments
    and, for --data, the CSV's rows and columns, before JAX starts."""
    if args.compile != "auto":
        return args.compile == "fast"
    if args.data is None:
        n, p, settings = args.n, args.d + 1, len(args.kappa or [1.0, 10.0, 100.0])
    else:
        try:
            with open(args.data) as file:
                p = len(file.readline().split(","))  # the features, the intercept for the target's column
                n = sum(1 for line in file if line.strip())
        except (OSError, UnicodeDecodeError):
            return False  # loading the data says what is wrong
        settings = 1
    per_step = 4 * p * (p if args.gram else n)
    runs = len(next(iter(_learning_rates(args).values()))) * settings * args.seeds
    return runs * args.steps * per_step <= FAST_COMPILE_FLOPS


def _stem(out) -> Path:
    """The results' path without suffix: --out OUT, OUT.npz or OUT.json all name OUT.npz and OUT.json."""
    out = Path(out)
    if not out.name:  # --out "" or --out /: no file to name
        raise ValueError(f"--out must name a file, e.g. --out sweep.npz, got {str(out)!r}.")
    stem = out.with_suffix("") if out.suffix in (".npz", ".json") else out
    for taken in (stem, stem.with_name(stem.name + ".npz"), stem.with_name(stem.name + ".json")):
        if taken.is_dir():
            raise ValueError(f"--out {out} would write over the directory {taken}: name a file, e.g. "
                             f"--out {taken / 'sweep.npz'}.")
    return stem


def _refuse_writing_over_the_data(args, stem):
    """ValueError where a file the command writes (OUT.npz, .json, .csv, .png and their _edges twins) is --data."""
    if args.data is None or not Path(args.data).is_file():
        return
    data = Path(args.data).resolve()
    suffixes = (".npz", ".json", *((".csv",) if args.csv else ()), *((".png",) if args.plot else ()))
    for base in (stem, stem.with_name(stem.name + "_edges")):
        for suffix in suffixes:
            if base.with_name(base.name + suffix).resolve() == data:
                raise ValueError(f"--out {args.out} would write {base.name + suffix} over --data {args.data}: "
                                 "name another --out.")


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM, with what was saved and how to go on (`main` prints it and exits 128 + signal)."""

    def __init__(self, signal_number, saved=""):
        super().__init__(signal_number, saved)
        self.signal_number, self.saved = signal_number, saved


@contextlib.contextmanager
def interrupts():
    """Turn Ctrl-C and SIGTERM into `Interrupted(state.saved)`, `state` the yielded namespace whose `saved`
    says what is on disk so far: files being written are removed whole (their temporary files with them),
    and `main` prints one line instead of a traceback."""
    state = types.SimpleNamespace(saved="nothing was saved")

    def stop(signal_number, frame):
        raise Interrupted(signal_number, state.saved)

    previous = {number: signal.signal(number, stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield state
    except Interrupted:
        raise
    except KeyboardInterrupt:
        raise Interrupted(signal.SIGINT, state.saved) from None
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _synthetic_run(args, l2):
    from lab import runs

    common = dict(num_steps=args.steps, optimizer=_optimizer(args),
                  tolerance=args.tolerance, dtype=args.dtype, start="zero" if args.start == "zero" else "eigen")
    if args.start == "random":
        raise ValueError("--start random applies to --data; synthetic runs start at zero or eigen.")
    if args.criterion == "logistic":
        run = runs.LogisticRun(n=args.n, d=args.d, **common)
    else:
        run = runs.LinearRegressionRun(n=args.n, d=args.d, criterion=args.criterion, gram=args.gram, **common)
    axes = {**_learning_rates(args), "kappa": np.asarray(args.kappa or [1.0, 10.0, 100.0]),
            "seed": np.arange(args.seeds)}
    if args.criterion != "least_squares":
        axes["l2"] = np.array([l2])
    return run, axes


def run_and_axes(args, l2, rule):
    """What `lab sweep ARGS` (parsed by `parser()`) sweeps at penalty l2 with stability rule `rule`: the run (a
    CriterionRun on the CSV file of --data, else the synthetic problem) and the axes of its grid."""
    from lab import _validate

    flag = "--learning-rate-over-edge" if args.learning_rate_over_edge is not None else "--learning-rate"
    _validate.within_dtype(_learning_rates(args), args.dtype, flag + " holds {value:g}, which")  # before any file
    return _data_run(args, l2, rule) if args.data else _synthetic_run(args, l2)


def _data_run(args, l2, rule):
    """A CriterionRun on the CSV file: checks the file, the criterion and its reference before any sweep."""
    import jax.numpy as jnp

    from lab import problems, runs

    criterion = _criterion(args)
    try:
        X, y, _ = problems.load_csv(args.data, args.target, standardize=args.standardize,
                                    labels=args.criterion == "logistic")
    except ValueError as error:
        flag = "--target" if "no column" in str(error) else "--data"
        raise ValueError(f"{flag}: {error}") from None
    if args.criterion == "poisson" and bool(jnp.any(y < 0)):
        raise ValueError(f"--target: poisson regression needs counts >= 0; {args.target!r} has negative values.")
    dtype = jnp.dtype(args.dtype)
    data = problems.make_data(X.astype(dtype), y.astype(dtype), l2=l2, intercept=not args.no_intercept)
    if l2 > 0 and args.criterion not in CRITERIA:
        _check_reads_l2(criterion, data, args.size or problems.problem_size(data), l2, args.criterion)
    try:
        run = runs.CriterionRun(criterion, data, args.steps, start=args.start, size=args.size,
                                reference_tol=args.reference_tol, reference_max_iter=args.reference_max_iter,
                                init_scale=0.5 if args.start == "random" else 0.0,
                                optimizer=_optimizer(args), tolerance=args.tolerance,
                                stability_rule=rule)
    except ValueError as error:
        raise ValueError(f"--criterion {args.criterion}: {error}") from None
    return run, {**_learning_rates(args), "seed": np.arange(args.seeds)}


def _check_reads_l2(criterion, data, size, l2, name):
    """--l2 on your criterion that never reads data.l2 would be ignored in silence: df/dl2 at a random point is
    exactly 0 then (autodiff of an unused input), and ||a||^2 for a ridge penalty, however small beside f."""
    import jax

    point = jax.random.normal(jax.random.key(0), (size,), data.X.dtype)
    try:
        slope = jax.grad(lambda penalty: criterion(point, data._replace(l2=penalty)))(data.l2)
    except Exception:  # noqa: BLE001 (the criterion's own errors are named by CriterionRun, next)
        return
    if float(slope) == 0:
        raise ValueError(f"--l2 {l2:g}: {name} never reads data.l2 (df/dl2 = 0), so the penalty would be ignored: "
                         "add it to your criterion (e.g. + data.l2 * jnp.sum(a ** 2)), or drop --l2.")


def _learning_rates(args) -> dict:
    """The step-size axis, named for its unit: {'learning_rate': ...} or {'learning_rate_over_edge': ...}."""
    if args.learning_rate_over_edge is not None:
        return {"learning_rate_over_edge": args.learning_rate_over_edge}
    return {"learning_rate": _geometric_range("0.05:1.2:64") if args.learning_rate is None else args.learning_rate}


def _criterion(args):
    """The lab's criterion of that name, or the user's FUNCTION from PATH.py:FUNCTION or package.module:FUNCTION."""
    from lab import criteria

    if args.criterion in CRITERIA:
        function = getattr(criteria, args.criterion)
        return functools.partial(function, delta=args.delta) if args.criterion == "huber" else function
    if ":" not in args.criterion:
        raise ValueError(f"--criterion must be one of {', '.join(CRITERIA)}, or PATH.py:FUNCTION or "
                         f"package.module:FUNCTION for your own f(a, data); got {args.criterion!r}.")
    where, name = args.criterion.rsplit(":", 1)
    try:
        if where.endswith(".py"):
            import importlib.util

            if not Path(where).is_file():
                raise ValueError(f"--criterion: no file {where!r}.")
            spec = importlib.util.spec_from_file_location(Path(where).stem, where)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            import importlib

            module = importlib.import_module(where)
    except ValueError:
        raise
    except BaseException as error:  # a user's file may fail in any way, SystemExit included
        raise ValueError(f"--criterion: {where!r} does not import: {type(error).__name__}: {error}") from None
    function = getattr(module, name, None)
    if not callable(function):
        raise ValueError(f"--criterion: {where!r} has no function {name!r}.")
    return function


def _print_edges(grid, edges, args, rule):
    """One row per setting of the edge search (at most 20): measured edge and best learning rate beside theory."""
    from lab import spectrum

    note = (f"   (theory edge: {args.optimizer}'s on the quadratic model)"
            if args.optimizer in ("momentum", "nesterov") else "")
    print(f"{'setting':<22} {'cond(H*)':>9} {'edge':>11} {'theory':>10} {'2/L':>10} {'best':>10} {'2/(L+mu)':>10} "
          f"{'fastest':>8} {'theory':>7}{note}")
    names = list(edges.axes)
    index = list(np.ndindex(edges.shape))
    reached = np.where(grid["iterations"] >= 0, grid["iterations"], np.inf).min(axis=0)  # over the steps
    for point in index[:20]:
        e = {name: float(np.asarray(edges[name])[point]) for name in
             ("condition_number", "theory_edge_learning_rate", "gd_edge_learning_rate", "theory_best_learning_rate",
              "theory_rate")}
        setting = ", ".join(f"{n}={edges.axes[n][i]:g}" for n, i in zip(names, point) if len(edges.axes[n]) > 1) or "-"
        edge = _measured(edges, point, "edge_learning_rate", "bracketed", "edge_above", "edge_bound", 11)
        best = _measured(edges, point, "best_learning_rate", "best_bracketed", "best_above", "best_bound", 10)
        fastest = int(reached[point]) if np.isfinite(reached[point]) else "never"
        rate = e["theory_rate"]
        theory = float(spectrum.predicted_iterations(rate, 1.0, args.tolerance))  # NaN rate (not plain GD): inf
        theory = str(int(theory)) if np.isfinite(theory) else "-"
        print(f"{setting:<22} {e['condition_number']:9.4g} {edge} {_number(e['theory_edge_learning_rate']):>10} "
              f"{e['gd_edge_learning_rate']:10.5g} {best} {_number(e['theory_best_learning_rate']):>10} "
              f"{str(fastest):>8} {theory:>7}")
    if len(index) > 20:
        print(f"... {len(index) - 20} more settings in the edges file")
    print(f"edge: the largest stable learning rate measured from next to a* (rule {rule}), '> B x2/L' where even the "
          "top of the bracket was stable (not measured; best: where the rate still fell there); theory: the "
          "optimizer's edge on the quadratic model at a*; cond(H*), L, mu: the Hessian at the optimum; best: the "
          "measured best learning rate (gradient descent's: '-' for momentum, a plateau, and Adam); fastest: "
          "fewest iterations to the tolerance among the swept learning rates; theory: at 2/(L+mu)")
    if args.criterion == "logistic" and args.data is None:
        print("logistic: from a = 0 the curvature is larger (up to L_start in the results), learning rates up to "
              "2/L_start are stable from anywhere, those between may converge once the path has flattened")


def _measured(edges, point, name, bracketed, above, bound, width):
    """A measured learning rate, or '> B x2/L' / '< B x2/L' where the search ended at the end B of its bracket."""
    if bool(np.asarray(edges[bracketed])[point]):
        return f"{float(np.asarray(edges[name])[point]):{width}.5g}"
    if np.isnan(np.asarray(edges[bound])[point]):  # not searched (find_best=False), or no rate at either end
        return f"{'-':>{width}}"
    side = f"{'>' if bool(np.asarray(edges[above])[point]) else '<'} {float(np.asarray(edges[bound])[point]):g}"
    return f"{side + 'x2/L':>{width}}"


def _number(value):
    return "-" if not np.isfinite(value) else f"{value:.5g}"


def _plot(grid, edges, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lab import files, plots

    fig, (left, right) = plt.subplots(1, 2, figsize=(16, 5.6), layout="constrained")  # room for titles, legends below
    plots.stability_map(grid, ax=left, edges=edges, colour="rate")  # steps per decade: tells small kappas apart
    plots.iterations_vs_learning_rate(grid, ax=right)
    files.save_figure(path, fig)
    plt.close(fig)
    return path


if __name__ == "__main__":  # python -m lab.cli sweep ...: the library's command without the experiments
    raise SystemExit(main())
