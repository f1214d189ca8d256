"""The `lab` command: the library's `sweep` (`lab.cli`) with the experiments' `list` and `run` and the
benchmark's `bench` added. `lab run all` is the main job: every experiment, its figures and numbers.
"""

import argparse
import os
import sys
import time
from unittest import mock

from lab import cli, files

import experiments

# --quick is compile-bound (small problems, many compiled shapes): XLA's CPU backend without LLVM optimisation,
# with its elemental emitters instead of the fusion emitters and the module compiled whole
# (lab.cli.FAST_COMPILE_XLA_FLAGS) compiles several times faster and runs about 3x slower.


def main(argv=None) -> int:
    """The `lab` command (console script): `lab list | run | sweep | bench ...`."""
    return cli.main(argv, extensions=(add_commands,))


def add_commands(commands):
    """Add `list`, `run` and `bench` to the subparsers of `lab.cli.parser`."""
    listing = commands.add_parser("list", help="the experiments, one line each")
    listing.set_defaults(handler=list_experiments)

    run = commands.add_parser("run", help="run experiments, write their figures and numbers")
    run.add_argument("names", nargs="+", metavar="NAME", help="experiment names (see `lab list`), or all")
    _output_options(run)
    run.add_argument("--quick", action="store_true",
                     help="small sizes, and XLA compiling fast rather than well (seconds, for tests)")
    run.add_argument("--seed", type=_seed, default=0,
                     help=f"random seed of the lessons' draws, 0 <= SEED < 2**31 (default 0); "
                          f"{', '.join(experiments.FIXED_SEED)} draw with fixed seeds and ignore it")
    run.add_argument("--jobs", type=int, default=None, metavar="N",
                     help="run the experiments in N worker processes, longest first (default: with --quick the "
                          f"usable CPUs, here {usable_cpus()}; otherwise 1, in this process, since full runs time "
                          "things that a second worker would disturb)")
    run.set_defaults(handler=run_experiments)

    bench = commands.add_parser("bench", help="throughput of the sweep against numpy, JAX and optax loops; "
                                "the lab against hand-written JAX (bookkeeping); 10^5 runs in one sweep")
    bench.add_argument("--out", default="figures", help="output directory (default figures/)")
    bench.add_argument("--quick", action="store_true", help="tiny sizes (seconds)")
    bench.set_defaults(handler=bench_throughput)


def _output_options(parser):
    parser.add_argument("--out", default="figures", help="output directory (default figures/)")
    parser.add_argument("--dtype", default="float64", choices=("float32", "float64"))
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")


def list_experiments(args) -> int:
    width = max(map(len, experiments.NAMES))
    for name in experiments.NAMES:
        print(f"{name:<{width}}  {experiments.summary(name)}")
    return 0


def run_experiments(args) -> int:
    names = list(experiments.NAMES) if args.names == ["all"] else list(dict.fromkeys(args.names))  # each once
    unknown = [n for n in names if n not in experiments.NAMES]
    if unknown:
        raise ValueError(f"unknown experiment(s) {', '.join(unknown)}; "
                         f"the experiments are: {', '.join(experiments.NAMES)}")
    requested = args.jobs if args.jobs is not None else (usable_cpus() if args.quick else 1)
    if requested < 1:
        raise ValueError(f"--jobs must be >= 1, got {requested}.")
    out = files.writable_directory(args.out)
    # JAX reads XLA_FLAGS once, when its backend starts (here, unless an earlier call in this process started it).
    flags = cli.fast_compile_xla_flags(os.environ.get("XLA_FLAGS", "")) if args.quick else None
    jobs = min(requested, len(names))
    task = (str(out), args.quick, args.dtype, args.seed, args.quiet)
    if jobs == 1:
        # Ctrl-C or SIGTERM: the file being written is removed whole (no temporary file left), one line says what ran.
        with cli.interrupts() as state, mock.patch.dict(os.environ, {"XLA_FLAGS": flags} if flags is not None else {}):
            rows = []
            state.saved = "no experiment finished; the one running may have written some of its files"
            for name in names:
                rows.append(run_one(name, *task))
                state.saved = (f"{', '.join(row[0] for row in rows)} finished (files in {out}/); "
                               "the experiment then running may have written some of its files")
    else:
        rows = _run_parallel(names, jobs, flags, task)
    width = max(len(name) for name, _, _ in rows)
    print(f"{'experiment':<{width}}  {'seconds':>8}  status")
    for name, seconds, status in rows:
        print(f"{name:<{width}}  {seconds:8.1f}  {status}")
    print(f"figures and numbers in {out}/")
    return 1 if any(status != "ok" for *_, status in rows) else 0


def run_one(name, out, quick, dtype, seed, quiet):
    """Run one experiment; return (name, seconds, "ok" or "FAILED: ...") -- one failure must not stop the others.

    JAX's float64 switch is restored afterwards: an experiment that always computes in float64
    (entropy) must not leave it on for the next one in the same process.
    """
    import jax

    if not quiet:
        print(f"lab: running {name}{' (quick)' if quick else ''} ...", file=sys.stderr, flush=True)
    x64 = jax.config.read("jax_enable_x64")
    if dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    started = time.perf_counter()
    try:
        experiments.load(name).reproduce(out, quick=quick, dtype=dtype, seed=seed)
        status = "ok"
    except Exception as error:
        status = f"FAILED: {type(error).__name__}: {error}"
    finally:
        jax.config.update("jax_enable_x64", x64)
    return name, time.perf_counter() - started, status


def _run_parallel(names, jobs, flags, task):
    """`run_one` for each name in `jobs` fresh processes, longest first; rows in the order of `names`.

    Spawned, not forked (JAX's threads do not survive a fork); each worker sets --quick's XLA_FLAGS
    before it imports JAX. A worker that dies breaks the pool: every experiment not finished by then
    is marked FAILED, with the seconds since the pool started.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    order = sorted(names, key=lambda n: experiments.LONGEST_FIRST.index(n))
    rows = {}
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_start_worker, initargs=(flags,)) as pool:
        started = time.perf_counter()
        futures = {name: pool.submit(run_one, name, *task) for name in order}
        for name, future in futures.items():
            try:
                rows[name] = future.result()
            except Exception as error:  # the worker process itself failed (killed, out of memory)
                rows[name] = (name, time.perf_counter() - started, f"FAILED: {type(error).__name__}: {error}")
    return [rows[name] for name in names]


def _start_worker(flags):
    """A worker's first act, before JAX starts: --quick's XLA_FLAGS and the compilation cache, as in the parent."""
    if flags is not None:
        os.environ["XLA_FLAGS"] = flags
    cli.use_compilation_cache()


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity where the system reports it)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def bench_throughput(args) -> int:
    from benchmarks import bookkeeping, scale, throughput

    out = files.writable_directory(args.out)
    throughput.benchmark(out, quick=args.quick)
    bookkeeping.benchmark(out, quick=args.quick)
    scale.benchmark(out, quick=args.quick)
    print(f"wrote {out}/throughput.json, {out}/throughput.png, {out}/bookkeeping.json and {out}/scale.json")
    return 0


def _seed(text) -> int:
    """--seed: an integer the experiments' 32-bit PRNG keys hold (checked before any experiment starts)."""
    seed = int(text)
    if not 0 <= seed < 2**31:
        raise argparse.ArgumentTypeError(f"must be in [0, 2**31), got {seed}")
    return seed
