"""Atoms: bcc iron with vacancies and interstitials, its Finnis-Sinclair energy, relaxation, harmonic entropy and descriptors.

The lab's research case is a *synthetic analogue* of Lapointe et al., Phys. Rev.
Materials 4, 063802 (2020): formation entropies computed exactly (relaxation,
Hessian by automatic differentiation, diagonalisation: O(N^3)) and predicted
by a linear model on summed local descriptors (O(N)).

Units: energies in eV, lengths in angstrom, masses in amu, temperatures in K,
entropies in k_B. A structure keeps every lattice site of its supercell, vacant
sites masked (and interstitial atoms in spare sites appended to it), so that
the configurations of one supercell share array shapes and compiled functions.
"""

import time
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from threadpoolctl import threadpool_limits

LATTICE_CONSTANT = 2.8665  # angstrom, bcc iron of the Finnis-Sinclair potential
IRON_MASS = 55.845  # amu
BOLTZMANN = 8.617333262e-5  # eV / K
HBAR = 6.582119569e-16  # eV s
_OMEGA2_PER_EV_A2_AMU = 1.602176634e-19 / (1e-20 * 1.66053906660e-27)  # (rad/s)^2 per eV/angstrom^2/amu

# Finnis & Sinclair, Phil. Mag. A 50, 45 (1984), iron: E_i = 1/2 sum_j V(r_ij) - A sqrt(sum_j phi(r_ij)).
_D, _A, _BETA = 3.569745, 1.828905, 1.8
_C, _C0, _C1, _C2 = 3.40, 1.2371147, -0.3592185, -0.0385607
POTENTIAL_CUTOFF = max(_C, _D)
DESCRIPTOR_CUTOFF = 5.0
MIN_DISTANCE = 1.5  # angstrom: closer occupied sites are refused as overlapping


class Structure(NamedTuple):
    """A periodic supercell: every lattice site, which of them hold an atom, and the cell.

    positions: (S, 3) angstrom; vacant sites keep a position but carry no atom.
    occupied: (S,) bool.
    cell: (3, 3) angstrom, rows the periodic cell vectors.
    """

    positions: np.ndarray
    occupied: np.ndarray
    cell: np.ndarray

    @property
    def atoms(self) -> int:
        return int(np.sum(self.occupied))


class Neighbours(NamedTuple):
    """Every occupied site's occupied neighbours within a cutoff, periodic images included, padded to K per site.

    index: (S, K) int, the neighbour's site; shift: (S, K, 3) angstrom, the cell
    translation of its image; valid: (S, K) bool, False on padding. The vector
    from site i to its k-th neighbour is positions[index[i, k]] + shift[i, k] - positions[i].
    """

    index: np.ndarray
    shift: np.ndarray
    valid: np.ndarray


def bcc(repeats: int, strain=0.0, lattice_constant: float = LATTICE_CONSTANT) -> Structure:
    """A perfect bcc supercell of repeats^3 cubic cells (2 repeats^3 atoms), homogeneously strained.

    strain: a scalar (isotropic) or a symmetric (3, 3) strain tensor e; every
    position and cell vector x becomes (I + e) x.
    """
    repeats = int(repeats)
    if repeats < 1:
        raise ValueError(f"repeats must be a positive integer, got {repeats}.")
    strain = np.asarray(strain, dtype=float) * (np.eye(3) if np.ndim(strain) == 0 else 1.0)
    if strain.shape != (3, 3) or not np.allclose(strain, strain.T):
        raise ValueError(f"strain must be a scalar or a symmetric (3, 3) tensor, got {strain.tolist()}.")
    corners = np.stack(np.meshgrid(*[np.arange(repeats)] * 3, indexing="ij"), -1).reshape(-1, 3)
    sites = np.concatenate([corners, corners + 0.5]) * lattice_constant
    deformation = np.eye(3) + strain
    cell = repeats * lattice_constant * np.eye(3)
    return Structure(sites @ deformation.T, np.ones(len(sites), bool), cell @ deformation.T)


def vacate(structure: Structure, sites) -> Structure:
    """The structure with the given sites emptied."""
    sites = np.asarray(sites, dtype=int).ravel()
    if np.any((sites < 0) | (sites >= len(structure.occupied))):
        raise ValueError(f"sites must be indices in [0, {len(structure.occupied)}), got {sites.tolist()}.")
    occupied = structure.occupied.copy()
    occupied[sites] = False
    return structure._replace(occupied=occupied)


def vacancy_cluster(structure: Structure, size: int, rng: np.random.Generator, compact: bool = True) -> np.ndarray:
    """`size` sites forming one cluster, grown from a random site.

    compact: each new site is drawn among the first and second neighbours of
    the cluster, favouring those with most vacant neighbours (as vacancies
    bind). Otherwise it is drawn uniformly among the sites within the
    descriptor's cutoff of the cluster (vacancies that share neighbours at
    every distance: more varied environments for the same size).
    """
    reach = 1.2 * LATTICE_CONSTANT if compact else DESCRIPTOR_CUTOFF  # shells at 0.87a and a; the third is at 1.41a
    near = neighbours(structure, reach, size=64)
    cluster = [int(rng.integers(len(structure.occupied)))]
    while len(cluster) < size:
        candidates = np.setdiff1d(near.index[cluster][near.valid[cluster]], cluster)
        weights = np.ones(len(candidates))
        if compact:
            contacts = np.array([np.isin(near.index[c][near.valid[c]], cluster).sum() for c in candidates])
            weights = np.exp(contacts - contacts.max())
        cluster.append(int(rng.choice(candidates, p=weights / weights.sum())))
    return np.array(cluster)


def interstitial_cluster(structure: Structure, size: int, rng: np.random.Generator) -> np.ndarray:
    """`size` sites for parallel dumbbells, grown from a random site, each new one a second neighbour (a apart)
    of the cluster: first neighbours are too close for two parallel dumbbells (their atoms would overlap)."""
    near = neighbours(structure, 1.05 * LATTICE_CONSTANT, size=16)
    distance = np.linalg.norm(structure.positions[near.index] + near.shift - structure.positions[:, None], axis=-1)
    second = near.valid & (distance > 0.95 * LATTICE_CONSTANT)
    cluster = [int(rng.integers(len(structure.occupied)))]
    while len(cluster) < size:
        cluster.append(int(rng.choice(np.setdiff1d(near.index[cluster][second[cluster]], cluster))))
    return np.array(cluster)


DUMBBELL_HALF_LENGTH = 1.0  # angstrom: a starting guess; relaxation finds the dumbbell's own length
JITTER = 0.05  # angstrom: random displacement of dumbbell atoms at the start (measured: 4 of 12 saddles without, 2 with)


def insert_dumbbells(structure: Structure, sites, direction, spare: int = 0) -> Structure:
    """Each of `sites` holding two atoms, x -+ DUMBBELL_HALF_LENGTH u along `direction` (the self-interstitial of
    bcc iron is a <110> dumbbell): one interstitial per site, the new atoms appended as sites.

    spare: the number of appended sites (at least len(sites)); the unused ones stay vacant, so that clusters of
    different sizes share one array shape (and one compilation).
    """
    sites = np.asarray(sites, dtype=int).ravel()
    spare = max(int(spare), len(sites))
    u = np.asarray(direction, float) / np.linalg.norm(direction)
    positions = np.array(structure.positions, float)
    added = np.repeat(positions[:1], spare, axis=0)  # vacant slots: their position is never used
    added[: len(sites)] = positions[sites] + DUMBBELL_HALF_LENGTH * u
    positions[sites] -= DUMBBELL_HALF_LENGTH * u
    occupied = np.concatenate([structure.occupied, np.arange(spare) < len(sites)])
    return Structure(np.concatenate([positions, added]), occupied, structure.cell)


def neighbours(structure: Structure, cutoff: float, size: int | None = None) -> Neighbours:
    """All occupied neighbours of every occupied site closer than `cutoff`, over every periodic image, padded to
    `size` (None: the smallest multiple of 8 that holds them, so that similar structures share one shape).

    In a cell wider than twice the cutoff each pair has one candidate image,
    the nearest; a narrower cell (where the minimum-image convention would
    silently drop neighbours) has every image within reach enumerated.
    Raises if two occupied sites overlap or a site has more than `size`
    neighbours.
    """
    positions, cell = np.asarray(structure.positions, float), np.asarray(structure.cell, float)
    fractional = positions @ np.linalg.inv(cell)
    wrap = np.floor(fractional)
    widths = np.abs(np.linalg.det(cell)) / np.linalg.norm(np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1)
    if np.all(widths > 2 * cutoff):
        found = _nearest_images(fractional - wrap, cell, cutoff)
    else:
        found = _every_image(positions - wrap @ cell, cell, cutoff, np.ceil(cutoff / widths).astype(int))
    sites = len(positions)
    i, j, image = found[:, 0], found[:, 1], found[:, 2:]
    shift = (image - wrap[j] + wrap[i]) @ cell
    distance = np.linalg.norm(positions[j] + shift - positions[i], axis=-1)
    keep = (distance < cutoff) & structure.occupied[i] & structure.occupied[j]  # a vacant site has no neighbours
    i, j, shift, distance = i[keep], j[keep], shift[keep], distance[keep]
    if np.any(distance < MIN_DISTANCE):
        k = np.argmin(distance)
        raise ValueError(
            f"atoms {i[k]} and {j[k]} overlap: {distance[k]:.3f} angstrom apart (below {MIN_DISTANCE}); "
            "check the positions (a site listed twice, or a periodic image on top of an atom)."
        )
    counts = np.bincount(i, minlength=sites)
    size = int(8 * max(1, np.ceil(counts.max() / 8))) if size is None else size
    if counts.max() > size:
        raise ValueError(f"a site has {counts.max()} neighbours within {cutoff} angstrom, more than size={size}: raise size.")
    order = np.lexsort((distance, i))
    i, j, shift = i[order], j[order], shift[order]
    slot = np.arange(len(i)) - np.concatenate([[0], np.cumsum(counts)[:-1]])[i]
    index = np.tile(np.arange(sites)[:, None], (1, size))
    padded_shift = np.zeros((sites, size, 3))
    valid = np.zeros((sites, size), bool)
    index[i, slot], padded_shift[i, slot], valid[i, slot] = j, shift, True
    return Neighbours(index, padded_shift, valid)


def _nearest_images(fractional, cell, cutoff):
    """(i, j, image) of the pairs closer than `cutoff` in a cell wider than twice the cutoff: the only
    candidate image of each pair is the nearest one (every fractional component below 1/2), so one
    (S, S) pass finds them all."""
    difference = fractional[None, :, :] - fractional[:, None, :]
    image = -np.rint(difference)
    squared = np.sum(((difference + image) @ cell) ** 2, axis=-1)
    np.fill_diagonal(squared, np.inf)
    i, j = np.nonzero(squared < cutoff**2 + 1e-9)
    return np.column_stack([i, j, image[i, j].astype(int)])


def _every_image(wrapped, cell, cutoff, reach):
    """(i, j, image) of the pairs closer than `cutoff` over every image within `reach` cells (any cell)."""
    images = np.stack(np.meshgrid(*[np.arange(-m, m + 1) for m in reach], indexing="ij"), -1).reshape(-1, 3)
    found = []
    norms = np.sum(wrapped**2, axis=1)
    for image in images:
        other = wrapped + image @ cell
        squared = norms[:, None] + np.sum(other**2, axis=1)[None, :] - 2 * wrapped @ other.T  # one matmul per image
        i, j = np.nonzero(squared < cutoff**2 + 1e-9)
        if not image.any():
            i, j = i[i != j], j[i != j]
        found.append(np.column_stack([i, j, np.broadcast_to(image, (len(i), 3))]))
    return np.concatenate(found)


def _pair_vectors(positions, occupied, near: Neighbours):
    """(S, K, 3) vectors to each neighbour and (S, K) mask of pairs of two occupied sites."""
    vectors = positions[near.index] + near.shift - positions[:, None, :]
    return vectors, near.valid & occupied[:, None] & occupied[near.index]


def _safe_norm(vectors, mask):
    """|v| where mask, 1 elsewhere: a zero vector under sqrt would give NaN gradients."""
    return jnp.sqrt(jnp.where(mask, jnp.sum(vectors**2, -1), 1.0))


def _site_energy(centre, around, pair, occupied):
    """Finnis-Sinclair energy (eV) of one site from its position (3,), its neighbours' (K, 3) and the (K,) mask of
    occupied pairs: 1/2 sum_j V(r_ij) - A sqrt(rho_i); zero on a vacant site."""
    r = _safe_norm(around - centre, pair)
    repulsion = jnp.sum(jnp.where(pair & (r < _C), (r - _C) ** 2 * (_C0 + _C1 * r + _C2 * r**2), 0.0))
    density = jnp.sum(jnp.where(pair & (r < _D), (r - _D) ** 2 + _BETA * (r - _D) ** 3 / _D, 0.0))
    has_density = density > 0  # an isolated or vacant site: sqrt(0) has an infinite derivative
    embedding = jnp.where(has_density, jnp.sqrt(jnp.where(has_density, density, 1.0)), 0.0)
    return jnp.where(occupied, 0.5 * repulsion - _A * embedding, 0.0)


def energy(positions, occupied, near: Neighbours):
    """Finnis-Sinclair energy (eV) of the occupied sites; `near` must hold every pair within POTENTIAL_CUTOFF."""
    vectors, pair = _pair_vectors(positions, occupied, near)
    return jnp.sum(jax.vmap(_site_energy)(positions, positions[:, None, :] + vectors, pair, occupied))


forces = jax.jit(lambda positions, occupied, near: -jax.grad(energy)(positions, occupied, near))


def force_norm(structure: Structure, near: Neighbours) -> float:
    """The Euclidean norm of all forces (eV/angstrom)."""
    return float(jnp.linalg.norm(forces(structure.positions, structure.occupied, near)))


class Relaxation(NamedTuple):
    """A relaxed structure, the norm of its remaining forces (eV/angstrom), the steps taken, and whether it converged."""

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
    if jnp.result_type(float) != jnp.float64:
        raise ValueError("relax needs float64 (a force norm of 1e-8 is below float32's rounding): "
                         "call jax.config.update('jax_enable_x64', True) first.")
    total = 0
    for _ in range(REBUILDS):
        near = potential_neighbours(structure)
        positions, norm, steps = _relax(jnp.asarray(structure.positions), structure.occupied, near, tolerance, max_steps)
        relaxed, total = structure._replace(positions=np.asarray(positions)), total + int(steps)
        try:
            needed = potential_neighbours(relaxed, skin=0.0)
        except ValueError as overlap:  # the pair list went stale and the relaxation ran into a wrong energy
            raise NotAMinimum(f"the relaxation collapsed atoms: {overlap}") from None
        if _covers(near, needed, relaxed):
            return Relaxation(relaxed, float(norm), total, bool(norm <= tolerance))
        structure = relaxed
    raise NotAMinimum("the relaxation keeps moving atoms beyond the pair list's skin: the configuration is unstable.")


def potential_neighbours(structure: Structure, skin: float = 0.3) -> Neighbours:
    """The pairs the potential needs (within its cutoff plus `skin`): 14 per site in bcc, padded to 16."""
    return neighbours(structure, POTENTIAL_CUTOFF + skin)


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
        updates, state = optimizer.update(g, state, x, value=e, grad=g, value_fn=value)
        x = optax.apply_updates(x, updates)
        return x, state, jnp.linalg.norm(optax.tree_utils.tree_get(state, "grad")), steps + 1  # the line search's gradient at x

    def going(carry):
        return (carry[2] > tolerance) & (carry[3] < max_steps)

    start = (positions, optimizer.init(positions), jnp.linalg.norm(jax.grad(value)(positions)), 0)
    x, _, norm, steps = jax.lax.while_loop(going, step, start)
    return x, norm, steps


def _hessian_column(positions, occupied, near):
    """v -> H v, the Hessian of the energy (flattened coordinates) times v: forward over reverse mode."""
    gradient = lambda flat: jax.grad(energy)(flat.reshape(positions.shape), occupied, near).ravel()
    return lambda v: jax.jvp(gradient, (positions.ravel(),), (v,))[1]


@jax.jit
def _padded_hessian(positions, occupied, near):
    """(3S, 3S) Hessian of the energy over every site, assembled from each site's energy's own Hessian.

    A site's energy depends on its position and its K neighbours' only, so
    jax.hessian of it is a small (K + 1, 3, K + 1, 3) block; adding the blocks
    at their sites' coordinates (an image of a site adds to that site) costs
    O(S K^2) instead of 3S Hessian-vector products of the whole energy, O(S^2 K).
    """
    vectors, pair = _pair_vectors(positions, occupied, near)
    local = jnp.concatenate([positions[:, None, :], positions[:, None, :] + vectors], axis=1)  # (S, K + 1, 3)
    site_hessian = jax.hessian(lambda x, pair, occupied: _site_energy(x[0], x[1:], pair, occupied))
    blocks = jax.vmap(site_hessian)(local, pair, occupied)
    sites = jnp.concatenate([jnp.arange(len(occupied))[:, None], near.index], axis=1)
    coordinates = 3 * sites[:, :, None] + jnp.arange(3)  # (S, K + 1, 3)
    rows, columns = coordinates[:, :, :, None, None], coordinates[:, None, None, :, :]
    return jnp.zeros((positions.size, positions.size), positions.dtype).at[rows, columns].add(blocks)


def hessian(structure: Structure) -> np.ndarray:
    """(3N, 3N) Hessian (eV/angstrom^2) of the energy in the occupied atoms' coordinates, by automatic differentiation."""
    near = potential_neighbours(structure, skin=0.0)
    full = np.asarray(_padded_hessian(jnp.asarray(structure.positions), structure.occupied, near))
    keep = np.repeat(structure.occupied, 3)
    return full[np.ix_(keep, keep)]


class NotAMinimum(ValueError):
    """A configuration that is not at a minimum of the energy: unrelaxed, a saddle point or floppy."""


def vibrational_eigenvalues(structure: Structure, tolerance: float = 1e-8) -> np.ndarray:
    """The 3N - 3 non-zero eigenvalues (eV/angstrom^2) of the Hessian of a relaxed structure, ascending.

    Raises NotAMinimum for a structure whose force norm exceeds `tolerance`
    (relax it first) or whose Hessian has a negative eigenvalue or other than
    three zero modes (a saddle point, or a floppy structure).
    """
    check_relaxed(structure, tolerance)
    return nonzero_modes(eigenvalues(hessian(structure)))


def eigenvalues(matrix) -> np.ndarray:
    """Ascending eigenvalues of a symmetric matrix, on one BLAS thread.

    OpenBLAS's threads collapse when the other cores are busy (measured on 2
    cores: a 750 x 750 eigvalsh from 0.05 s on one thread to 0.9-7 s on two
    under load); one thread is steady.
    """
    with threadpool_limits(1, user_api="blas"):
        return np.linalg.eigvalsh(matrix)


def check_relaxed(structure: Structure, tolerance: float = 1e-8):
    """NotAMinimum unless the force norm (eV/angstrom) is at most `tolerance`."""
    remaining = force_norm(structure, potential_neighbours(structure))
    if not remaining <= tolerance:
        raise NotAMinimum(f"the structure is not relaxed: force norm {remaining:.2e} eV/angstrom > {tolerance:.0e}; relax it first (atoms.relax).")


def nonzero_modes(eigenvalues) -> np.ndarray:
    """The ascending eigenvalues without the three zero modes; NotAMinimum when there are negative or other zero modes."""
    eigenvalues = np.sort(eigenvalues)
    small = 1e-8 * eigenvalues[-1]
    negative, zero = np.sum(eigenvalues < -small), np.sum(np.abs(eigenvalues) <= small)
    if negative or zero != 3:
        raise NotAMinimum(
            f"the structure is not a minimum: {negative} negative and {zero} zero Hessian eigenvalues "
            "(a minimum has none and three, the translations)."
        )
    return eigenvalues[3:]


def harmonic_entropy(eigenvalues, temperature: float = 300.0, mass: float = IRON_MASS) -> float:
    """Classical harmonic vibrational entropy, in k_B: sum_j [ln(k_B T / (hbar omega_j)) + 1], omega_j = sqrt(lambda_j / m).

    eigenvalues: the non-zero Hessian eigenvalues (eV/angstrom^2); mass in amu; temperature in K.
    """
    eigenvalues = np.asarray(eigenvalues)
    if not np.all(eigenvalues > 0):
        raise ValueError("harmonic_entropy needs the positive (non-zero) eigenvalues only: pass vibrational_eigenvalues(...).")
    omega = np.sqrt(eigenvalues / mass * _OMEGA2_PER_EV_A2_AMU)
    return float(np.sum(np.log(BOLTZMANN * temperature / (HBAR * omega)) + 1.0))


def formation_entropy(defect_modes, perfect_modes, temperature: float = 300.0, mass: float = IRON_MASS) -> float:
    """S_f = S_defect - (M_defect / M_perfect) S_perfect, in k_B, from the two structures' non-zero eigenvalues.

    With M = 3N - 3 the number of non-zero modes, temperature, mass and units
    cancel exactly: S_f = -1/2 sum_d ln lambda + (M_d / M_p) 1/2 sum_p ln lambda.
    """
    ratio = len(defect_modes) / len(perfect_modes)
    return harmonic_entropy(defect_modes, temperature, mass) - ratio * harmonic_entropy(perfect_modes, temperature, mass)


# Angular Fourier series descriptors: Gaussian radial functions g_n of the neighbour distances, times a smooth
# cutoff, and sums over neighbour pairs (j, k) of g_n(r_ij) g_n(r_ik) cos(l theta_jik); cos(l theta) is the
# Chebyshev polynomial T_l(cos theta).
RADIAL_CENTRES = np.linspace(2.0, DESCRIPTOR_CUTOFF, 8)  # angstrom
RADIAL_WIDTH = 0.4  # angstrom
ANGULAR_ORDERS = 5  # l = 0 .. 4


def _site_descriptor(vectors, mask):
    """One site's radial terms (n,) and angular terms (l, n) from its neighbour vectors (K, 3)."""
    r = _safe_norm(vectors, mask)
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
    vectors, pair = _pair_vectors(positions, occupied, near)
    return jnp.where(occupied[:, None], jax.vmap(_site_descriptor)(vectors, pair), 0.0)


def descriptors(structure: Structure) -> np.ndarray:
    """(S, F) per-site descriptors, zero on vacant sites: F = n radial terms, then (l, n) angular terms.

    Invariant under rotation, translation and permutation of the atoms; their
    sum over sites is extensive. The first len(RADIAL_CENTRES) columns are the
    two-body (radial) terms alone.
    """
    near = neighbours(structure, DESCRIPTOR_CUTOFF, size=64)
    return np.asarray(_descriptors(jnp.asarray(structure.positions), structure.occupied, near))


def perfect_eigenvalues(structure: Structure) -> np.ndarray:
    """The 3N - 3 non-zero Hessian eigenvalues of a perfect (strained) bcc supercell, exactly, in O(N^2).

    A perfect crystal is invariant under its lattice translations, so its
    Hessian is block-circulant: its eigenvalues are those of the 3 x 3
    dynamical matrices D(k) = sum_j Phi(0, j) exp(i k . (x_j - x_0)) at the
    N wave vectors k of the supercell, with Phi(0, j) the Hessian's first
    three rows (three Hessian-vector products). The diagonalisation of the
    full (3N, 3N) matrix, O(N^3), gives the same numbers (tested).
    """
    if not np.all(structure.occupied):
        raise ValueError("perfect_eigenvalues needs a perfect crystal (every site occupied); use vibrational_eigenvalues for a defect.")
    repeats = round((len(structure.occupied) / 2) ** (1 / 3))
    fractional = structure.positions @ np.linalg.inv(structure.cell) * 2 * repeats
    if 2 * repeats**3 != len(structure.occupied) or not np.allclose(fractional, np.rint(fractional), atol=1e-6):
        raise ValueError("perfect_eigenvalues needs a bcc supercell of repeats^3 cubic cells with atoms on their sites (atoms.bcc); "
                         "use vibrational_eigenvalues otherwise.")
    near = potential_neighbours(structure, skin=0.0)
    rows = np.asarray(_first_rows(jnp.asarray(structure.positions), structure.occupied, near)).reshape(3, -1, 3)
    # Wave vectors k = 2 pi cell^-1 m, m over one copy of Z^3 modulo bcc's reciprocal lattice: (2n, n, n) values.
    m = np.stack(np.meshgrid(np.arange(2 * repeats), np.arange(repeats), np.arange(repeats), indexing="ij"), -1).reshape(-1, 3)
    k = 2 * np.pi * m @ np.linalg.inv(structure.cell).T
    phase = np.exp(1j * k @ (structure.positions - structure.positions[0]).T)  # (N, N)
    dynamical = np.einsum("ks,asb->kab", phase, rows)
    return nonzero_modes(np.linalg.eigvalsh(dynamical).ravel())  # k = 0 carries the three translations


@jax.jit
def _first_rows(positions, occupied, near):
    """The Hessian's first three rows (equal to its first three columns): site 0's force constants."""
    return jax.vmap(_hessian_column(positions, occupied, near))(jnp.eye(positions.size, dtype=positions.dtype)[:3])


class Defect(NamedTuple):
    """A relaxed cluster of vacancies or interstitials in a strained supercell, with its exact formation entropy
    and its descriptors. sites: the perfect supercell's lattice sites.

    entropy: S_f in k_B. descriptor: the summed descriptor referenced like the
    entropy, D_d - (M_d / M_p) D_p (extensive). average: the per-atom mean
    descriptor's change, D_d / N_d - D_p / N_p (not extensive, a control).
    seconds: time of each stage (relax, hessian, diagonalise, descriptor).
    structure: the relaxed structure.
    """

    sites: int
    vacancies: int
    interstitials: int
    strain: np.ndarray
    entropy: float
    descriptor: np.ndarray
    average: np.ndarray
    seconds: dict
    structure: Structure


def random_strain(rng: np.random.Generator, scale: float = 0.01) -> np.ndarray:
    """A symmetric (3, 3) strain tensor with entries uniform in [-scale, scale]."""
    e = rng.uniform(-scale, scale, (3, 3))
    return np.triu(e) + np.triu(e, 1).T


def defect(repeats: int, size: int, strain, rng: np.random.Generator, kind: str = "compact") -> Defect:
    """Build, relax and measure one cluster of `size` defects in a strained bcc supercell; NotAMinimum when it does
    not relax to a minimum.

    kind: "compact" or "spread" vacancies (see `vacancy_cluster`), or "interstitial": parallel <110> dumbbells
    in a random direction (see `interstitial_cluster`), their atoms displaced by JITTER at random, with 24
    appended sites whatever the size (up to 24), so that interstitial clusters of one cell share array shapes.
    """
    perfect = bcc(repeats, strain)
    if kind == "interstitial":
        direction = rng.permutation([1.0, rng.choice([-1.0, 1.0]), 0.0])
        sites = interstitial_cluster(perfect, size, rng)
        start = insert_dumbbells(perfect, sites, direction, spare=24)
        moved = np.concatenate([sites, len(perfect.occupied) + np.arange(size)])  # both atoms of every dumbbell
        positions = start.positions.copy()
        positions[moved] += rng.normal(0.0, JITTER, (len(moved), 3))  # a symmetric start relaxes to saddles
        return measure(perfect, start._replace(positions=positions))
    if kind not in ("compact", "spread"):
        raise ValueError(f'kind must be "compact", "spread" or "interstitial", got {kind!r}.')
    return measure(perfect, vacate(perfect, vacancy_cluster(perfect, size, rng, kind == "compact")))


def measure(perfect: Structure, unrelaxed: Structure) -> Defect:
    """Relax a defective copy of a perfect bcc supercell (its lattice sites first, any added ones after), and
    measure S_f and the descriptors, timing each stage. Raises NotAMinimum when it does not relax to a minimum.
    """
    seconds = {}
    clock = time.perf_counter()
    relaxed = relax(unrelaxed)
    if not relaxed.converged:
        raise NotAMinimum(f"no convergence: force norm {relaxed.force_norm:.1e} after {relaxed.steps} L-BFGS steps.")
    seconds["relax"], clock = time.perf_counter() - clock, time.perf_counter()
    matrix = hessian(relaxed.structure)
    seconds["hessian"], clock = time.perf_counter() - clock, time.perf_counter()
    modes = nonzero_modes(eigenvalues(matrix))
    seconds["diagonalise"], clock = time.perf_counter() - clock, time.perf_counter()
    summed = descriptors(relaxed.structure).sum(0)
    seconds["descriptor"] = time.perf_counter() - clock
    perfect_modes, perfect_summed = perfect_eigenvalues(perfect), descriptors(perfect).sum(0)
    lattice = len(perfect.occupied)
    repeats = round((lattice / 2) ** (1 / 3))
    return Defect(
        sites=lattice,
        vacancies=int(np.sum(~relaxed.structure.occupied[:lattice])),
        interstitials=int(np.sum(relaxed.structure.occupied[lattice:])),
        strain=np.asarray(perfect.cell) / (repeats * LATTICE_CONSTANT) - np.eye(3),  # bcc's cell is the cubic one times (I + e)
        entropy=formation_entropy(modes, perfect_modes),
        descriptor=summed - len(modes) / len(perfect_modes) * perfect_summed,
        average=summed / relaxed.structure.atoms - perfect_summed / perfect.atoms,
        seconds=seconds,
        structure=relaxed.structure,
    )


def cluster_offsets(structure: Structure, sites) -> np.ndarray:
    """(k, 3) vectors from the first of `sites` to each of them (nearest periodic image), angstrom: a cluster's shape."""
    fractional = (structure.positions[sites] - structure.positions[sites[0]]) @ np.linalg.inv(structure.cell)
    return (fractional - np.rint(fractional)) @ structure.cell


def place(structure: Structure, offsets) -> np.ndarray:
    """The sites at the first site's position plus each offset (periodically): a cluster's shape in another cell.

    Raises if an offset does not land on a site, or the cluster does not fit (two offsets on one site).
    """
    target = (structure.positions[0] + np.asarray(offsets, float)) @ np.linalg.inv(structure.cell)
    fractional = structure.positions @ np.linalg.inv(structure.cell)
    difference = target[:, None, :] - fractional[None, :, :]
    distance = np.linalg.norm((difference - np.rint(difference)) @ structure.cell, axis=-1)
    sites = np.argmin(distance, axis=1)
    if np.max(distance[np.arange(len(sites)), sites]) > 1e-6 or len(set(sites.tolist())) < len(sites):
        raise ValueError("the offsets do not fit this cell's sites: use a cell of the same lattice, wide enough for the cluster.")
    return sites
