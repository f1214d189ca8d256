"""The Finnis-Sinclair potential of iron: energy, forces, and the pair list it needs."""

import jax
import jax.numpy as jnp
import numpy as np

from lab.atoms.lattice import Neighbours, Structure, neighbours, pair_vectors, safe_norm

# Finnis & Sinclair, Phil. Mag. A 50, 45 (1984), iron: E_i = 1/2 sum_j V(r_ij) - A sqrt(sum_j phi(r_ij)).
_D, _A, _BETA = 3.569745, 1.828905, 1.8
_C, _C0, _C1, _C2 = 3.40, 1.2371147, -0.3592185, -0.0385607
POTENTIAL_CUTOFF = max(_C, _D)


def require_float64(what: str, structure):
    """`structure` with float64 positions (float32 ones, exactly widened); ValueError unless JAX computes in float64:
    a force norm of 1e-8, and the Hessian's modes down to 1e-8 of its largest, are below float32's rounding (in
    float32 a perfect crystal read as 'not a minimum', and optax's line search crashed on float32 positions)."""
    if jnp.result_type(float) != jnp.float64:
        raise ValueError(f"{what} needs float64 (a force norm of 1e-8 is below float32's rounding): "
                         "call jax.config.update('jax_enable_x64', True) first.")
    positions = np.asarray(structure.positions)
    if np.issubdtype(positions.dtype, np.floating) and positions.dtype != np.float64:
        return structure._replace(positions=positions.astype(np.float64))
    return structure


def site_energy(centre, around, pair, occupied):
    """Finnis-Sinclair energy (eV) of one site from its position (3,), its neighbours' (K, 3) and the (K,) mask of
    occupied pairs: 1/2 sum_j V(r_ij) - A sqrt(rho_i); zero on a vacant site."""
    r = safe_norm(around - centre, pair)
    repulsion = jnp.sum(jnp.where(pair & (r < _C), (r - _C) ** 2 * (_C0 + _C1 * r + _C2 * r**2), 0.0))
    density = jnp.sum(jnp.where(pair & (r < _D), (r - _D) ** 2 + _BETA * (r - _D) ** 3 / _D, 0.0))
    has_density = density > 0  # an isolated or vacant site: sqrt(0) has an infinite derivative
    embedding = jnp.where(has_density, jnp.sqrt(jnp.where(has_density, density, 1.0)), 0.0)
    return jnp.where(occupied, 0.5 * repulsion - _A * embedding, 0.0)


def energy(positions, occupied, near: Neighbours):
    """Finnis-Sinclair energy (eV) of the occupied sites; `near` must hold every pair within POTENTIAL_CUTOFF."""
    vectors, pair = pair_vectors(positions, occupied, near)
    return jnp.sum(jax.vmap(site_energy)(positions, positions[:, None, :] + vectors, pair, occupied))


forces = jax.jit(lambda positions, occupied, near: -jax.grad(energy)(positions, occupied, near))


def force_norm(structure: Structure, near: Neighbours) -> float:
    """The Euclidean norm of all forces (eV/angstrom)."""
    return float(jnp.linalg.norm(forces(structure.positions, structure.occupied, near)))


def potential_neighbours(structure: Structure, skin: float = 0.3) -> Neighbours:
    """The pairs the potential needs (within its cutoff plus `skin`): 14 per site in bcc, padded to 16."""
    return neighbours(structure, POTENTIAL_CUTOFF + skin)
