"""The Hessian of the Finnis-Sinclair energy two ways, side by side: per-site blocks (lab.atoms) against 3S
Hessian-vector products of the whole energy. Prints seconds (first call: compile + run; then the best of three
runs) and the ratio per cell size.  Run: python -m benchmarks.hessian
"""

import time

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)
from lab import atoms  # noqa: E402


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


def main():
    print(f"{'sites':>6} {'blocks: first, run (s)':>24} {'columns: first, run (s)':>25} {'ratio':>6} {'max |diff|':>10}")
    for repeats in (4, 5, 6, 7, 8):
        structure = atoms.vacate(atoms.bcc(repeats, 0.003), [0, 1, 5])
        args = (jnp.asarray(structure.positions), structure.occupied, atoms.potential_neighbours(structure, skin=0.0))
        blocks, first_b, run_b = seconds(atoms.vibrations._padded_hessian, *args)
        columns, first_c, run_c = seconds(by_columns, *args)
        print(f"{len(structure.occupied):6d} {first_b:12.2f} {run_b:11.3f} {first_c:13.2f} {run_c:11.3f} "
              f"{run_c / run_b:6.1f} {np.max(np.abs(blocks - columns)):10.1e}")


if __name__ == "__main__":
    main()
