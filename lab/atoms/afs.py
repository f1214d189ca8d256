"""AFS descriptors: angular Fourier series of each site's neighbourhood, invariant and local; their sum is extensive."""

import jax
import jax.numpy as jnp
import numpy as np

from lab.atoms.lattice import Structure, neighbours, pair_vectors, safe_norm

DESCRIPTOR_CUTOFF = 5.0  # angstrom
# Angular Fourier series descriptors: Gaussian radial functions g_n of the neighbour distances, times a smooth
# cutoff, and sums over neighbour pairs (j, k) of g_n(r_ij) g_n(r_ik) cos(l theta_jik); cos(l theta) is the
# Chebyshev polynomial T_l(cos theta).
RADIAL_CENTRES = np.linspace(2.0, DESCRIPTOR_CUTOFF, 8)  # angstrom
RADIAL_WIDTH = 0.4  # angstrom
ANGULAR_ORDERS = 5  # l = 0 .. 4


def _site_descriptor(vectors, mask):
    """One site's radial terms (n,) and angular terms (l, n) from its neighbour vectors (K, 3)."""
    r = safe_norm(vectors, mask)
    cutoff = jnp.where(mask & (r < DESCRIPTOR_CUTOFF), 0.5 * (jnp.cos(jnp.pi * r / DESCRIPTOR_CUTOFF) + 1.0), 0.0)
    weights = jnp.exp(-((r - RADIAL_CENTRES[:, None]) ** 2) / (2 * RADIAL_WIDTH**2)) * cutoff  # (n, K)
    unit = vectors / r[:, None]
    cosine = unit @ unit.T
    chebyshev = [jnp.ones_like(cosine), cosine]
    while len(chebyshev) < ANGULAR_ORDERS:
        chebyshev.append(2 * cosine * chebyshev[-1] - chebyshev[-2])
    angular = jnp.stack([jnp.einsum("nk,kj,nj->n", weights, t, weights) for t in chebyshev[:ANGULAR_ORDERS]])
    return jnp.concatenate([weights.sum(-1), angular.ravel()])


@jax.jit
def _descriptors(positions, occupied, near):
    vectors, pair = pair_vectors(positions, occupied, near)
    return jnp.where(occupied[:, None], jax.vmap(_site_descriptor)(vectors, pair), 0.0)


def descriptors(structure: Structure) -> np.ndarray:
    """(S, F) per-site descriptors, zero on vacant sites: F = n radial terms, then (l, n) angular terms.

    Invariant under rotation, translation and permutation of the atoms; their
    sum over sites is extensive. The first len(RADIAL_CENTRES) columns are the
    two-body (radial) terms alone.
    """
    dense = f"denser than relaxed iron (58 within {DESCRIPTOR_CUTOFF} angstrom): relax the structure first"
    near = neighbours(structure, DESCRIPTOR_CUTOFF, size=64, fix=dense)  # one width for all: one compilation
    return np.asarray(_descriptors(jnp.asarray(structure.positions), structure.occupied, near))
