"""The persistent compilation cache, end to end: a command run in a new process with the cache off, then
first and second with a fresh cache directory; median seconds over REPEATS and the ratios.

Run: python -m benchmarks.compile_cache [--out figures] [--repeats 3]
Writes OUT/compile_cache.json. Each repeat uses a new cache directory, so "first" always compiles.
"""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lab import files

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


def benchmark(out="figures", repeats=3):
    out = files.writable_directory(out)
    numbers = dict(
        description=__doc__.strip().splitlines()[0],
        repeats=repeats,
        machine=dict(platform=platform.platform(), cpus=os.cpu_count(), python=platform.python_version()),
        commands={name: measure(arguments, repeats) for name, arguments in COMMANDS.items()},
    )
    files.save_json(out / "compile_cache.json", numbers)
    return numbers


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--out", default="figures")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for name, result in benchmark(args.out, args.repeats)["commands"].items():
        m = result["median_s"]
        print(f"{name}: off {m['off']:.1f} s, first {m['first']:.1f} s ({result['first_over_off']:.2f}x), "
              f"second {m['second']:.1f} s: {result['second_speedup']:.1f}x faster")
