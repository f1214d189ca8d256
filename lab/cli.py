"""The `lab` command: list and run the experiments, sweep from the command line, benchmark.

Side effects live here (printing, files, jax.config); the library computes.
A user's mistake prints one line `lab: error: ...` and exits 2, never a traceback.
"""

import argparse
import dataclasses
import functools
import sys
import time
from pathlib import Path

import numpy as np

OPTIMIZERS = ("gd", "momentum", "nesterov", "adam")


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except ValueError as error:
        print(f"lab: error: {error}", file=sys.stderr)
        return 2


def _parser():
    parser = argparse.ArgumentParser(prog="lab", description="A JAX-accelerated optimization lab.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    listing = commands.add_parser("list", help="the experiments, one line each")
    listing.set_defaults(handler=_list)

    run = commands.add_parser("run", help="run experiments, write their figures and numbers")
    run.add_argument("names", nargs="+", metavar="NAME", help="experiment names (see `lab list`), or all")
    _common(run)
    run.add_argument("--quick", action="store_true", help="small sizes (seconds, for tests)")
    run.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    run.set_defaults(handler=_run, out="figures")

    sweep = commands.add_parser("sweep", help="a grid of optimization runs, measured against theory")
    sweep.add_argument("--criterion", default="least_squares", choices=("least_squares", "ridge", "logistic"))
    sweep.add_argument("--optimizer", default="gd", choices=OPTIMIZERS)
    sweep.add_argument("--momentum", type=float, default=0.9, help="beta for momentum and nesterov (default 0.9)")
    sweep.add_argument("--lr", type=_lr_range, default=_lr_range("0.05:1.2:64"), metavar="START:STOP:COUNT",
                       help="learning rates, COUNT values log-spaced from START to STOP (default 0.05:1.2:64)")
    sweep.add_argument("--lr-relative", action="store_true", help="--lr in units of each run's 2/L")
    sweep.add_argument("--kappa", type=_float_list, default=[1.0, 10.0, 100.0], metavar="LIST",
                       help="condition numbers of the Hessian, comma-separated, each >= 1 (default 1,10,100)")
    sweep.add_argument("--seeds", type=_positive_int, default=1, metavar="K", help="seeds 0..K-1 (default 1)")
    sweep.add_argument("--steps", type=_positive_int, default=500, metavar="T", help="iterations per run (default 500)")
    sweep.add_argument("--n", type=_positive_int, default=200, help="samples (default 200)")
    sweep.add_argument("--d", type=_positive_int, default=10, help="features, plus the intercept (default 10)")
    sweep.add_argument("--eps", type=float, default=0.0, help="ridge penalty weight l2 (mean scaling; default 0)")
    sweep.add_argument("--tolerance", type=float, default=1e-6, help="iterations to reach gap <= tolerance * initial gap")
    sweep.add_argument("--gram", action="store_true", help="least squares on X^T X / N: P^2 per step instead of N P")
    sweep.add_argument("--dtype", default="float64", choices=("float32", "float64"))
    sweep.add_argument("--out", default="sweep.npz", help="results file: OUT.npz plus OUT.json (default sweep.npz)")
    sweep.add_argument("--csv", action="store_true", help="also write OUT.csv, one row per run")
    sweep.add_argument("--plot", action="store_true", help="also draw OUT.png: stability map and iterations")
    sweep.add_argument("--quiet", action="store_true", help="no progress on stderr")
    sweep.set_defaults(handler=_sweep)

    bench = commands.add_parser("bench", help="throughput of the sweep against numpy, JAX and optax loops")
    _common(bench)
    bench.add_argument("--quick", action="store_true", help="tiny sizes (seconds)")
    bench.set_defaults(handler=_bench, out="figures")
    return parser


def _common(parser):
    parser.add_argument("--out", default="figures", help="output directory (default figures/)")
    parser.add_argument("--dtype", default="float64", choices=("float32", "float64"))
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")


def _lr_range(text):
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
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr, flush=True)


def _list(args) -> int:
    import experiments

    width = max(map(len, experiments.NAMES))
    for name in experiments.NAMES:
        print(f"{name:<{width}}  {experiments.summary(name)}")
    return 0


def _run(args) -> int:
    import experiments
    from lab import files

    names = list(experiments.NAMES) if args.names == ["all"] else args.names
    unknown = [n for n in names if n not in experiments.NAMES]
    if unknown:
        raise ValueError(f"unknown experiment(s) {', '.join(unknown)}; the experiments are: {', '.join(experiments.NAMES)}")
    out = files.writable_directory(args.out)
    _enable_x64(args.dtype)
    rows = []
    for name in names:
        _say(args, f"lab: running {name}{' (quick)' if args.quick else ''} ...")
        started = time.perf_counter()
        try:
            experiments.load(name).run(out, quick=args.quick, dtype=args.dtype, seed=args.seed)
            status = "ok"
        except Exception as error:  # one failed experiment must not stop the others
            status = f"FAILED: {type(error).__name__}: {error}"
        rows.append((name, time.perf_counter() - started, status))
    width = max(len(name) for name, _, _ in rows)
    print(f"{'experiment':<{width}}  {'seconds':>8}  status")
    for name, seconds, status in rows:
        print(f"{name:<{width}}  {seconds:8.1f}  {status}")
    print(f"figures and numbers in {out}/")
    return 1 if any(status != "ok" for *_, status in rows) else 0


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


def _sweep(args) -> int:
    if args.criterion == "logistic":
        raise ValueError("--criterion logistic is not available yet: logistic sweeps arrive with the "
                         "logistic/optimizers issue; use least_squares or ridge.")
    if not 0 <= args.eps < np.inf:
        raise ValueError(f"--eps must be >= 0, got {args.eps}")
    if args.optimizer in ("momentum", "nesterov") and not 0 <= args.momentum < 1:
        raise ValueError(f"--momentum must be in [0, 1), got {args.momentum}")
    if args.eps > 0 and args.criterion != "ridge":
        raise ValueError("--eps is the ridge penalty: add --criterion ridge.")
    from lab import files, results, runs, stability, sweep

    out = Path(args.out)
    stem = out.with_suffix("") if out.suffix == ".npz" else out
    files.writable_directory(stem.parent)
    _enable_x64(args.dtype)
    run = runs.LinearRegressionRun(n=args.n, d=args.d, num_steps=args.steps, criterion=args.criterion, gram=args.gram,
                                   relative_step=args.lr_relative, optimizer=_optimizer(args),
                                   tolerance=args.tolerance, dtype=args.dtype)
    axes = {"step": args.lr, "kappa": np.asarray(args.kappa), "seed": np.arange(args.seeds)}
    if args.criterion == "ridge":
        axes["l2"] = np.array([args.eps])
    started = time.perf_counter()
    grid = sweep.sweep(run, axes, progress=not args.quiet)
    _say(args, f"lab: {grid['final_gap'].size} runs in {time.perf_counter() - started:.1f} s; measuring the edge ...")
    edges = stability.edge_and_best(dataclasses.replace(run, relative_step=True),
                                    {k: v for k, v in axes.items() if k != "step"})
    results.save(grid, stem)
    results.save(edges, stem.with_name(stem.name + "_edges"))
    written = [f"{stem}.npz", f"{stem}.json", f"{stem}_edges.npz", f"{stem}_edges.json"]
    if args.csv:
        written.append(str(results.to_csv(grid, stem.with_suffix(".csv"))))
    if args.plot:
        written.append(str(_plot(grid, edges, stem.with_suffix(".png"))))
    _print_edges(grid, edges, args)
    print("wrote " + ", ".join(written))
    return 0


def _print_edges(grid, edges, args):
    """Per condition number: measured edge and best step (first seed) beside theory, fewest iterations over all seeds."""
    note = "" if args.optimizer == "gd" else "   (theory: gradient descent's)"
    print(f"{'kappa':>8} {'edge':>10} {'2/L':>10} {'best':>10} {'2/(L+mu)':>10} {'fastest':>8} {'theory':>8}{note}")
    for j, kappa in enumerate(grid.axes["kappa"]):  # edges: axes (kappa, seed, ...); grid: (step, kappa, ...)
        e = {name: float(edges[name][j].ravel()[0]) for name in
             ("edge_step", "theory_edge_step", "best_step", "theory_best_step", "theory_rate")}
        reached = grid["iterations"][:, j]
        fastest = str(reached[reached >= 0].min()) if (reached >= 0).any() else "never"
        rate = e["theory_rate"]
        theory = str(int(np.ceil(np.log(args.tolerance) / (2 * np.log(rate))))) if 0 < rate < 1 else "1"
        print(f"{kappa:8.3g} {e['edge_step']:10.5g} {e['theory_edge_step']:10.5g} {e['best_step']:10.5g} "
              f"{e['theory_best_step']:10.5g} {fastest:>8} {theory:>8}")
    print("edge, best: measured largest stable and best step; fastest: fewest iterations to the tolerance "
          "among the swept steps; theory: at 2/(L+mu)")


def _plot(grid, edges, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lab import files, plots

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
    plots.stability_map(grid, ax=left, edges=edges)
    plots.iterations_vs_step(grid, ax=right)
    fig.tight_layout()
    files.save_figure(path, fig)
    plt.close(fig)
    return path


def _bench(args) -> int:
    from lab import files

    out = files.writable_directory(args.out)
    from experiments import throughput

    throughput.run(out, quick=args.quick)
    print(f"wrote {out}/throughput.json and {out}/throughput.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
