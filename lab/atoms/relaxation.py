"""Relaxation: the atoms at fixed cell to a minimum of the energy, with optax's L-BFGS, pair lists rebuilt as they
move."""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lab.atoms.lattice import Neighbours, Structure
from lab.atoms.potential import energy, potential_neighbours, require_float64


class NotAMinimum(ValueError):
    """A configuration that is not at a minimum of the energy: unrelaxed, a saddle point or floppy."""


class Relaxation(NamedTuple):
    """A relaxed structure, the norm of its remaining forces (eV/angstrom), the steps taken, and whether it
    converged."""

    structure: Structure
    force_norm: float
    steps: int
    converged: bool


REBUILDS = 10  # pair lists per relaxation at most: an interstitial cluster can rearrange far from its start


def relax(structure: Structure, tolerance: float = 1e-8, max_steps: int = 2000) -> Relaxation:
    """Relax the atoms at fixed cell with optax's L-BFGS (zoom line search) until the force norm is below `tolerance`.

    The pair list is built with a 0.3 angstrom skin and checked afterwards:
    if the atoms moved so far that a pair within the potential's cutoff is
    missing, it is rebuilt and the relaxation continues from there (REBUILDS
    times at most). Raises NotAMinimum when it keeps moving or collapses
    atoms onto each other (a stale pair list let it into a wrong energy).
    """
    structure = require_float64("relax", structure)
    if not 0 < tolerance < np.inf:
        raise ValueError(f"tolerance must be a positive force norm (eV/angstrom), got {tolerance!r}.")
    if isinstance(max_steps, bool) or not isinstance(max_steps, (int, np.integer)) or max_steps < 1:
        raise ValueError(f"max_steps must be an integer >= 1, got {max_steps!r}.")
    if not np.all(np.isfinite(structure.positions)):
        raise ValueError("structure.positions holds NaN or infinite values: build the structure again.")
    total = 0
    for _ in range(REBUILDS):
        near = potential_neighbours(structure)
        positions, norm, steps = _relax(jnp.asarray(structure.positions), structure.occupied, near, tolerance,
                                        max_steps)
        relaxed, total = structure._replace(positions=np.asarray(positions)), total + int(steps)
        try:
            needed = potential_neighbours(relaxed, skin=0.0)
        except ValueError as overlap:  # the pair list went stale and the relaxation ran into a wrong energy
            raise NotAMinimum(f"the relaxation collapsed atoms: {overlap}") from None
        if _covers(near, needed, relaxed):
            return Relaxation(relaxed, float(norm), total, bool(norm <= tolerance))
        structure = relaxed
    raise NotAMinimum("the relaxation keeps moving atoms beyond the pair list's skin: the configuration is unstable.")


def _covers(near: Neighbours, needed: Neighbours, structure: Structure) -> bool:
    """True when every pair of `needed` (site, site, cell translation) is in `near` (both hold occupied pairs only)."""
    def pairs(n):
        translation = np.rint(n.shift[n.valid] @ np.linalg.inv(structure.cell)).astype(int)
        return set(zip(np.nonzero(n.valid)[0], n.index[n.valid], *translation.T))
    return pairs(needed) <= pairs(near)


@jax.jit
def _relax(positions, occupied, near, tolerance, max_steps):
    value = lambda x: energy(x, occupied, near)
    optimizer = optax.lbfgs()
    value_and_grad = optax.value_and_grad_from_state(value)

    def step(carry):
        x, state, _, steps = carry
        e, g = value_and_grad(x, state=state)
        with jax.numpy_dtype_promotion("standard"):  # optax's L-BFGS mixes dtypes (lab.descent.OPTAX_PROMOTION)
            updates, state = optimizer.update(g, state, x, value=e, grad=g, value_fn=value)
        x = optax.apply_updates(x, updates)
        # the line search's gradient at x
        return x, state, jnp.linalg.norm(optax.tree_utils.tree_get(state, "grad")), steps + 1

    def going(carry):
        return (carry[2] > tolerance) & (carry[3] < max_steps)

    start = (positions, optimizer.init(positions), jnp.linalg.norm(jax.grad(value)(positions)), 0)
    x, _, norm, steps = jax.lax.while_loop(going, step, start)
    return x, norm, steps
