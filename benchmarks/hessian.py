"""The Hessian of the Finnis-Sinclair energy two ways, side by side: per-site blocks (lab.atoms) against 3S
Hessian-vector products of the whole energy. Seconds (first call: compile + run; then the best of three runs),
the ratio and the largest difference per cell size, printed and written to OUT/hessian.json.
Run: python -m benchmarks.hessian [--out figures]
"""

import argparse
import os
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)
from lab import atoms, files  # noqa: E402


@jax.jit
def by_columns(positions, occupied, near):
    """The former method: one forward-over-reverse Hessian-vector product per coordinate, 48 at a time."""
    column = atoms.hessian_product(positions, occupied, near)
    return jax.lax.map(column, jnp.eye(positions.size, dtype=positions.dtype), batch_size=48)


def seconds(f, *args):
    clock = time.perf_counter()
    first = np.asarray(f(*args))
    compile_and_run = time.perf_counter() - clock
    runs = []
    for _ in range(3):
        clock = time.perf_counter()
        np.asarray(f(*args))
        runs.append(time.perf_counter() - clock)
    return first, compile_and_run, min(runs)


def benchmark(out="figures", sizes=(4, 5, 6, 7, 8)):
    """Time both methods on bcc cells of 2 r^3 sites (three vacancies) for each r in `sizes`; write hessian.json."""
    print(f"{'sites':>6} {'blocks: first, run (s)':>24} {'columns: first, run (s)':>25} "
          f"{'ratio':>6} {'max |diff|':>10}")
    rows = []
    for repeats in sizes:
        structure = atoms.vacate(atoms.bcc(repeats, 0.003), [0, 1, 5])
        args = (jnp.asarray(structure.positions), structure.occupied, atoms.potential_neighbours(structure, skin=0.0))
        blocks, first_b, run_b = seconds(atoms.vibrations.padded_hessian, *args)
        columns, first_c, run_c = seconds(by_columns, *args)
        row = dict(sites=int(structure.occupied.size), atoms=int(structure.occupied.sum()), blocks_first_s=first_b,
                   blocks_s=run_b, columns_first_s=first_c, columns_s=run_c, columns_over_blocks=run_c / run_b,
                   max_abs_difference=float(np.max(np.abs(blocks - columns))))
        rows.append(row)
        print(f"{row['sites']:6d} {first_b:12.2f} {run_b:11.3f} {first_c:13.2f} {run_c:11.3f} "
              f"{row['columns_over_blocks']:6.1f} {row['max_abs_difference']:10.1e}")
    numbers = dict(machine=dict(platform=platform.platform(), cpus=os.cpu_count()), cells=rows)
    files.save_json(files.writable_directory(out) / "hessian.json", numbers)
    return numbers


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="figures")
    benchmark(parser.parse_args().out)
