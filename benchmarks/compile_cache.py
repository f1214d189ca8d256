"""The persistent compilation cache, end to end: a command run in a new process with the cache off, then
first and second with a fresh cache directory; median seconds over REPEATS and the ratios. And the compile
time alone of the default `lab sweep`'s grid (`sweep.lower(...).compile()`, in a new process each time),
with XLA's optimising compile and with `lab.cli.FAST_COMPILE_XLA_FLAGS`, which `lab sweep` uses on grids
this small (`--compile auto`), and with those flags but the generated module split for parallel codegen
(XLA's default; the flags compile it whole). And what every new process pays before any of it: importing JAX, optax,
matplotlib and the `lab` command, with the installed ml_dtypes and, side by side, with ml_dtypes
ML_DTYPES_COMPARED (installed apart for the comparison: its extension module took a second to import).
And the floor under every command: a new process that imports the `lab` command and starts JAX's CPU
backend with one compiled addition (STARTUP).

Run: python -m benchmarks.compile_cache [--out figures] [--repeats 3]
Writes OUT/compile_cache.json. Each repeat uses a new cache directory, so "first" always compiles.
"""

import argparse
import importlib.metadata
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lab import cli, files

COMMANDS = {
    "lab sweep": ["sweep", "--quiet"],
    "lab run stability --quick": ["run", "stability", "--quick", "--jobs", "1", "--quiet"],
}


def seconds(arguments, cache, out):
    """Wall time of `lab ARGUMENTS` in a new Python process with LAB_CACHE_DIR=cache."""
    environment = {**os.environ, "LAB_CACHE_DIR": cache}
    extra = ["--out", str(out / "sweep")] if arguments[0] == "sweep" else ["--out", str(out)]
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "experiments", *arguments, *extra], env=environment, check=True,
                   capture_output=True)
    return time.perf_counter() - started


def measure(arguments, repeats):
    samples = {"off": [], "first": [], "second": []}
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "out"
        for repeat in range(repeats):
            cache = Path(scratch) / f"cache{repeat}"
            samples["off"].append(seconds(arguments, "off", out))
            samples["first"].append(seconds(arguments, str(cache), out))
            samples["second"].append(seconds(arguments, str(cache), out))
    median = {name: statistics.median(values) for name, values in samples.items()}
    return dict(median_s=median, samples_s=samples, second_speedup=median["off"] / median["second"],
                first_over_off=median["first"] / median["off"])


# The default `lab sweep`: least squares, N = 200, D = 10, 500 steps, 64 learning rates x 3 condition numbers, float64.
COMPILE_ONLY = """
import time
import jax
import numpy as np
from lab import runs, sweep
jax.config.update("jax_enable_x64", True)
run = runs.LinearRegressionRun(n=200, d=10, num_steps=500)
axes = {"learning_rate": np.geomspace(0.05, 1.2, 64), "kappa": np.array([1.0, 10.0, 100.0]), "seed": np.array([0])}
lowered = sweep.lower(run, axes)
started = time.perf_counter()
lowered.compile()
print(time.perf_counter() - started)
"""


WHOLE_MODULE = "--xla_cpu_parallel_codegen_split_count=1"  # of FAST_COMPILE_XLA_FLAGS: measured without it too
MODES = {  # XLA_FLAGS of each compile measured, before any the environment sets
    "full": "",
    "fast": cli.fast_compile_xla_flags(""),
    "fast, module split for parallel codegen": " ".join(f for f in cli.FAST_COMPILE_XLA_FLAGS if f != WHOLE_MODULE),
}


def compile_seconds(mode: str) -> float:
    """Seconds to compile the default sweep's grid in a new process, with the XLA flags of `mode` (MODES)."""
    given = " ".join(f for f in os.environ.get("XLA_FLAGS", "").split() if f != WHOLE_MODULE)  # split means split
    flags = f"{MODES[mode]} {given}".strip()
    done = subprocess.run([sys.executable, "-c", COMPILE_ONLY], env={**os.environ, "XLA_FLAGS": flags}, check=True,
                          capture_output=True, text=True)
    return float(done.stdout.strip().splitlines()[-1])


def compile_only(repeats):
    samples = {mode: [] for mode in MODES}
    for _ in range(repeats):
        for mode in samples:
            samples[mode].append(compile_seconds(mode))
    median = {mode: statistics.median(values) for mode, values in samples.items()}
    return dict(median_s=median, samples_s=samples, full_over_fast=median["full"] / median["fast"],
                split_over_whole=median["fast, module split for parallel codegen"] / median["fast"])


IMPORTED = ("jax", "optax", "matplotlib.pyplot", "lab.cli")
ML_DTYPES_COMPARED = "0.7.0"  # pyproject.toml pins ml_dtypes < 0.7 for what this measures


def import_seconds(module, path=None):
    """Wall time of `import module` in a new Python process (`path` first on its sys.path)."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [path, os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", f"import time; t = time.perf_counter(); import {module}; "
                           "print(time.perf_counter() - t)"], env=environment,
                          check=True, capture_output=True, text=True)
    return float(done.stdout.strip().splitlines()[-1])


def imports(repeats):
    """Median seconds to import each of IMPORTED, and `jax` and `ml_dtypes` alone with the installed ml_dtypes
    beside ML_DTYPES_COMPARED (installed with pip into a temporary directory put first on the path; None where pip
    cannot get it)."""
    median = {module: statistics.median(import_seconds(module) for _ in range(repeats)) for module in IMPORTED}
    installed = dict(jax=median["jax"],
                     ml_dtypes=statistics.median(import_seconds("ml_dtypes") for _ in range(repeats)))
    with tempfile.TemporaryDirectory() as other:
        got = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", other,
                              f"ml_dtypes=={ML_DTYPES_COMPARED}"], capture_output=True).returncode == 0
        compared = {module: statistics.median(import_seconds(module, other) for _ in range(repeats)) if got else None
                    for module in ("jax", "ml_dtypes")}
    return dict(median_s=median, ml_dtypes_versions=dict(installed=importlib.metadata.version("ml_dtypes"),
                                                         compared=ML_DTYPES_COMPARED),
                with_installed_ml_dtypes_s=installed, with_compared_ml_dtypes_s=compared)


# What every `lab` command pays before it traces anything: Python, the lab's command and its imports, JAX's CPU
# backend started by one compiled call. A second run cannot be faster than this.
STARTUP = """
import time
started = time.perf_counter()
import jax
import jax.numpy as jnp
import experiments.cli
jax.config.update("jax_enable_x64", True)
jax.jit(lambda x: x + 1)(jnp.ones(3)).block_until_ready()
print(time.perf_counter() - started)
"""


def startup(repeats):
    """Median wall seconds of a new process that runs STARTUP, measured from before Python starts (the interpreter's
    own start included) and from STARTUP's first line."""
    whole, inside = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", STARTUP], env={**os.environ, "LAB_CACHE_DIR": "off"}, check=True,
                              capture_output=True, text=True)
        whole.append(time.perf_counter() - started)
        inside.append(float(done.stdout.strip().splitlines()[-1]))
    return dict(median_s=statistics.median(whole), median_after_python_s=statistics.median(inside), samples_s=whole)


def benchmark(out="figures", repeats=3):
    out = files.writable_directory(out)
    numbers = dict(
        description=__doc__.strip().splitlines()[0],
        repeats=repeats,
        machine=dict(platform=platform.platform(), cpus=os.cpu_count(), python=platform.python_version()),
        commands={name: measure(arguments, repeats) for name, arguments in COMMANDS.items()},
        default_sweep_compile=compile_only(repeats),
        imports=imports(repeats),
        startup=startup(repeats),
    )
    second = numbers["commands"]["lab sweep"]["median_s"]
    numbers["second_sweep_floor"] = dict(
        target_s=second["first"] / 3, startup_s=numbers["startup"]["median_s"],
        left_for_the_sweep_s=second["first"] / 3 - numbers["startup"]["median_s"],
        second_minus_startup_s=second["second"] - numbers["startup"]["median_s"])
    files.save_json(out / "compile_cache.json", numbers)
    return numbers


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--out", default="figures")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    numbers = benchmark(args.out, args.repeats)
    print(f"startup (the floor of any lab command): {numbers['startup']['median_s']:.2f} s")
    print(f"default sweep's compile: {numbers['default_sweep_compile']['median_s']}")
    found = numbers["imports"]
    print(f"imports (s): {found['median_s']}; with ml_dtypes {found['ml_dtypes_versions']}: "
          f"{found['with_installed_ml_dtypes_s']} against {found['with_compared_ml_dtypes_s']}")
    for name, result in numbers["commands"].items():
        m = result["median_s"]
        print(f"{name}: off {m['off']:.1f} s, first {m['first']:.1f} s ({result['first_over_off']:.2f}x), "
              f"second {m['second']:.1f} s: {result['second_speedup']:.1f}x faster")
