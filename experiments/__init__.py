"""The lab's experiments: one module per lesson of the course.

Each module is a short script with `# %%` cells and the same interface:

    reproduce(out="figures", quick=False, dtype="float64", seed=0) -> dict

which writes its figures `out/NAME*.png` and its key numbers `out/NAME.json`
(atomically, through `lab.files`) and returns those numbers. The first line
of the module's docstring says what it shows (`lab list` prints it). The
figures are drawn by `experiments/figures/NAME.py`, functions of the lesson's
results; what several lessons share (sizes, slopes, deviations, saving) is here.
"""

import argparse
import importlib

import numpy as np

NAMES = ("least_squares", "stability", "conditioning_quadratics", "conditioning", "ridge", "model_selection",
         "logistic", "logistic_edges", "optimizers", "optimizers_schedules", "curvature", "autodiff", "entropy",
         "your_criterion", "sgd", "adam", "edge_of_stability")
# Lessons whose problems are drawn with fixed seeds (or not drawn): `--seed` changes nothing there.
FIXED_SEED = ("conditioning_quadratics", "logistic", "logistic_edges", "optimizers", "optimizers_schedules")
# Longest first in quick mode (measured): `lab run --jobs N` starts them in this order.
LONGEST_FIRST = ("entropy", "edge_of_stability", "sgd", "optimizers", "logistic", "your_criterion", "logistic_edges",
                 "conditioning", "model_selection", "stability", "least_squares", "ridge", "autodiff", "curvature",
                 "conditioning_quadratics", "optimizers_schedules", "adam")


SKLEARN_MISSING = ("scikit-learn is not installed: {what} is skipped (its numbers are null in the JSON and its curve "
                   "is missing from the figure). Install it with: pip install -e '.[compare]'")


def load(name: str):
    """The experiment module `name` (ValueError listing the names when unknown)."""
    if name not in NAMES:
        raise ValueError(f"unknown experiment {name!r}; the experiments are: {', '.join(NAMES)}.")
    return importlib.import_module(f"experiments.{name}")


def summary(name: str) -> str:
    """The first paragraph of the experiment's docstring, on one line (`lab list`)."""
    return first_paragraph(load(name).__doc__ or name)


def first_paragraph(doc: str) -> str:
    """A docstring's first paragraph, its lines joined into one."""
    return " ".join(doc.strip().split("\n\n")[0].split())


def prepare(out, dtype: str):
    """Check that `out` can be written (before any computation) and switch on float64 when asked.

    float32 needs no switch: arrays carry their dtype. Returns `out` as a Path.
    """
    import jax

    from lab import files

    out = files.writable_directory(out)
    if dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    return out


def interpolating_diabetes(dtype):
    """Diabetes (442 x 10, standardised, intercept column) with y = X a*, a* the least-squares fit of the target:
    (Data, a*), data that gradient descent and SGD fit exactly."""
    from lab import datasets, problems

    X, y, _ = datasets.diabetes(standardize=True)
    return problems.interpolating(problems.make_data(X.astype(dtype), y.astype(dtype)))


def size(table: dict, name: str, quick: bool):
    """An experiment's size in its mode: `table[name]` is a (full, quick) pair, so both sit side by side."""
    return table[name][1 if quick else 0]


def loglog_slope(x, y) -> float:
    """The exponent p of a power law y ~ x^p, fitted by least squares on log-log axes (NaN with fewer than two
    points)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    return float(np.polyfit(np.log(x), np.log(y), 1)[0]) if len(x) >= 2 else float("nan")


def first_below(curve, threshold):
    """First index where curve <= threshold, or None."""
    hits = np.flatnonzero(np.asarray(curve) <= threshold)
    return int(hits[0]) if hits.size else None


def first_above(curve, threshold):
    """First index where curve >= threshold, or None."""
    hits = np.flatnonzero(np.asarray(curve) >= threshold)
    return int(hits[0]) if hits.size else None


def rounding_floor(gap):
    """10 eps (1 + f(a_0) - f*), eps that of the gap's own dtype: below it f - f* is rounding noise (gap[0] =
    f(a_0) - f*). (Converted to float first, a float32 gap had float64's eps: a floor 5e8 times too low.)"""
    gap = np.asarray(gap)
    return 10 * float(np.finfo(gap.dtype).eps) * (1 + abs(float(gap[0])))


def finite(value):
    """A float, or None where it is infinite or NaN (JSON has no infinity)."""
    return float(value) if np.isfinite(value) else None


def max_relative_deviation(measured, predicted, trusted=None) -> float:
    """max |measured / predicted - 1| over the `trusted` points (all by default; 0 where none is trusted)."""
    measured, predicted = np.asarray(measured, float), np.asarray(predicted, float)
    trusted = np.ones(measured.shape, bool) if trusted is None else np.asarray(trusted)
    return float(np.max(np.abs(measured[trusted] / predicted[trusted] - 1))) if trusted.any() else 0.0


def quantiles(curves, percents):
    """Percentiles over the curves (axis 0) of the values not NaN, NaN where every curve is."""
    drawn = ~np.all(np.isnan(curves), axis=0)
    found = np.full((len(percents), curves.shape[1]), np.nan)
    found[:, drawn] = np.nanpercentile(curves[:, drawn], percents, axis=0)
    return found


def save(out, name: str, numbers: dict, figures: dict, timings: dict | None = None) -> dict:
    """Write each figure as out/NAME_KEY.png (out/NAME.png for the key "") and close it, then the
    numbers as out/NAME.json, and `timings` (seconds, which change on every run) apart as
    out/NAME_timings.json, so that a re-run leaves NAME.json as it was; return the numbers, with
    the timings under "timings". Every file is written whole or not at all."""
    import matplotlib.pyplot as plt

    from lab import files

    for key, fig in figures.items():
        files.save_figure(out / f"{name}_{key}.png" if key else out / f"{name}.png", fig)
        plt.close(fig)
    files.save_json(out / f"{name}.json", numbers)
    if timings is None:
        return numbers
    files.save_json(out / f"{name}_timings.json", timings)
    return numbers | {"timings": timings}


def stack(items):
    """A list of pytrees of arrays as one pytree of stacked arrays, ready for `jax.vmap`."""
    import jax
    import jax.numpy as jnp

    return jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *items)


def plural(count, word) -> str:
    """'1 iteration', '46 iterations'."""
    return f"{count} {word}" + ("" if count == 1 else "s")


def command_line(reproduce, doc: str) -> dict:
    """`python -m experiments.NAME [--out DIR] [--quick] [--dtype ...] [--seed N]`: parse, run, return the numbers."""
    parser = argparse.ArgumentParser(description=first_paragraph(doc))
    parser.add_argument("--out", default="figures", help="output directory (default figures/)")
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds, for tests)")
    parser.add_argument("--dtype", default="float64", choices=("float32", "float64"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from lab.cli import fast_compile_xla_flags, use_compilation_cache

    use_compilation_cache()  # as the `lab` command: a second run compiles nothing
    if args.quick:  # as `lab run --quick`: compile fast, run slower (read by JAX when its backend starts)
        import os

        os.environ["XLA_FLAGS"] = fast_compile_xla_flags(os.environ.get("XLA_FLAGS", ""))
    return reproduce(args.out, args.quick, args.dtype, args.seed)
