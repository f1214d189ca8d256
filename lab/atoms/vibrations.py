"""Vibrations: the Hessian of the energy by automatic differentiation, its modes, and the harmonic entropy."""

import jax
import jax.numpy as jnp
import numpy as np
from threadpoolctl import threadpool_limits

from lab.atoms.lattice import Structure, pair_vectors
from lab.atoms.potential import energy, force_norm, potential_neighbours, require_float64, site_energy
from lab.atoms.relaxation import NotAMinimum

IRON_MASS = 55.845  # amu
BOLTZMANN = 8.617333262e-5  # eV / K
HBAR = 6.582119569e-16  # eV s
_OMEGA2_PER_EV_A2_AMU = 1.602176634e-19 / (1e-20 * 1.66053906660e-27)  # (rad/s)^2 per eV/angstrom^2/amu


def hessian_product(positions, occupied, near):
    """v -> H v, the Hessian of the energy (flattened coordinates) times v: forward over reverse mode."""
    gradient = lambda flat: jax.grad(energy)(flat.reshape(positions.shape), occupied, near).ravel()
    return lambda v: jax.jvp(gradient, (positions.ravel(),), (v,))[1]


@jax.jit
def padded_hessian(positions, occupied, near):
    """(3S, 3S) Hessian of the energy over every site, assembled from each site's energy's own Hessian.

    A site's energy depends on its position and its K neighbours' only, so
    jax.hessian of it is a small (K + 1, 3, K + 1, 3) block; adding the blocks
    at their sites' coordinates (an image of a site adds to that site) costs
    O(S K^2) instead of 3S Hessian-vector products of the whole energy, O(S^2 K).
    """
    vectors, pair = pair_vectors(positions, occupied, near)
    local = jnp.concatenate([positions[:, None, :], positions[:, None, :] + vectors], axis=1)  # (S, K + 1, 3)
    site_hessian = jax.hessian(lambda x, pair, occupied: site_energy(x[0], x[1:], pair, occupied))
    blocks = jax.vmap(site_hessian)(local, pair, occupied)
    sites = jnp.concatenate([jnp.arange(len(occupied))[:, None], near.index], axis=1)
    coordinates = 3 * sites[:, :, None] + jnp.arange(3)  # (S, K + 1, 3)
    rows, columns = coordinates[:, :, :, None, None], coordinates[:, None, None, :, :]
    return jnp.zeros((positions.size, positions.size), positions.dtype).at[rows, columns].add(blocks)


def hessian(structure: Structure) -> np.ndarray:
    """(3N, 3N) Hessian (eV/angstrom^2) of the energy in the occupied atoms' coordinates, by automatic
    differentiation."""
    structure = require_float64("hessian", structure)
    near = potential_neighbours(structure, skin=0.0)
    full = np.asarray(padded_hessian(jnp.asarray(structure.positions), structure.occupied, near))
    keep = np.repeat(structure.occupied, 3)
    return full[np.ix_(keep, keep)]


def vibrational_eigenvalues(structure: Structure, tolerance: float = 1e-8) -> np.ndarray:
    """The 3N - 3 non-zero eigenvalues (eV/angstrom^2) of the Hessian of a relaxed structure, ascending.

    Raises NotAMinimum for a structure whose force norm exceeds `tolerance`
    (relax it first) or whose Hessian has a negative eigenvalue or other than
    three zero modes (a saddle point, or a floppy structure).
    """
    if np.count_nonzero(structure.occupied) < 2:  # its modes would be rounding, or none
        raise ValueError(f"vibrational_eigenvalues needs at least two atoms, got {np.count_nonzero(structure.occupied)}"
                         ": a lone atom and its periodic images move together, three translations and no vibration.")
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
    structure = require_float64("check_relaxed", structure)
    if not 0 < tolerance < np.inf:  # as relax refuses it: 0 or NaN read a relaxed structure as "not relaxed"
        raise ValueError(f"tolerance must be a positive force norm (eV/angstrom), got {tolerance!r}.")
    remaining = force_norm(structure, potential_neighbours(structure))
    if not remaining <= tolerance:
        raise NotAMinimum(f"the structure is not relaxed: force norm {remaining:.2e} eV/angstrom > {tolerance:.0e}; "
                          "relax it first (atoms.relax).")


ZERO_MODE = 1e-8  # an eigenvalue below this fraction of the largest is a zero mode (a translation), in rounding


def nonzero_modes(eigenvalues) -> np.ndarray:
    """The ascending eigenvalues without the three zero modes; NotAMinimum when there are negative or other zero
    modes."""
    eigenvalues = np.sort(_modes("eigenvalues", eigenvalues))
    small = ZERO_MODE * eigenvalues[-1]
    negative, zero = np.sum(eigenvalues < -small), np.sum(np.abs(eigenvalues) <= small)
    if negative or zero != 3:
        raise NotAMinimum(
            f"the structure is not a minimum: {negative} negative and {zero} zero Hessian eigenvalues "
            "(a minimum has none and three, the translations)."
        )
    return eigenvalues[3:]


def harmonic_entropy(eigenvalues, temperature: float = 300.0, mass: float = IRON_MASS) -> float:
    """Classical harmonic vibrational entropy, in k_B: sum_j [ln(k_B T / (hbar omega_j)) + 1],
    omega_j = sqrt(lambda_j / m).

    eigenvalues: the non-zero Hessian eigenvalues (eV/angstrom^2); mass in amu; temperature in K.
    """
    eigenvalues = _modes("eigenvalues", eigenvalues)
    if not np.all(eigenvalues > ZERO_MODE * eigenvalues.max()):  # an empty set gave 0.0; the translations ~1e-14
        raise ValueError("harmonic_entropy needs the positive (non-zero) eigenvalues only, none below "
                         f"{ZERO_MODE:g} times the largest (the translations, in rounding): pass "
                         "vibrational_eigenvalues(...) or nonzero_modes(...).")
    for name, value in (("temperature", temperature), ("mass", mass)):
        if isinstance(value, (bool, np.bool_)) or np.ndim(value) != 0 or not 0 < value < np.inf:
            raise ValueError(f"{name} must be positive and finite (K, amu), got {value!r}.")  # -inf or NaN entropy
    omega = np.sqrt(eigenvalues / mass * _OMEGA2_PER_EV_A2_AMU)
    return float(np.sum(np.log(BOLTZMANN * temperature / (HBAR * omega)) + 1.0))


def formation_entropy(defect_modes, perfect_modes, temperature: float = 300.0, mass: float = IRON_MASS) -> float:
    """S_f = S_defect - (M_defect / M_perfect) S_perfect, in k_B, from the two structures' non-zero eigenvalues.

    With M = 3N - 3 the number of non-zero modes, temperature, mass and units
    cancel exactly: S_f = -1/2 sum_d ln lambda + (M_d / M_p) 1/2 sum_p ln lambda.
    """
    defect_modes, perfect_modes = _modes("defect_modes", defect_modes), _modes("perfect_modes", perfect_modes)
    ratio = len(defect_modes) / len(perfect_modes)
    return (harmonic_entropy(defect_modes, temperature, mass)
            - ratio * harmonic_entropy(perfect_modes, temperature, mass))


def perfect_eigenvalues(structure: Structure) -> np.ndarray:
    """The 3N - 3 non-zero Hessian eigenvalues of a perfect (strained) bcc supercell, exactly, in O(N^2).

    A perfect crystal is invariant under its lattice translations, so its
    Hessian is block-circulant: its eigenvalues are those of the 3 x 3
    dynamical matrices D(k) = sum_j Phi(0, j) exp(i k . (x_j - x_0)) at the
    N wave vectors k of the supercell, with Phi(0, j) the Hessian's first
    three rows (three Hessian-vector products). The diagonalisation of the
    full (3N, 3N) matrix, O(N^3), gives the same numbers (tested).
    """
    structure = require_float64("perfect_eigenvalues", structure)
    if not np.all(structure.occupied):
        raise ValueError("perfect_eigenvalues needs a perfect crystal (every site occupied); "
                         "use vibrational_eigenvalues for a defect.")
    repeats = round((len(structure.occupied) / 2) ** (1 / 3))
    fractional = structure.positions @ np.linalg.inv(structure.cell) * 2 * repeats
    cell = np.asarray(structure.cell)
    cubic = np.allclose(cell, cell.T, atol=1e-9 * np.abs(cell).max())  # repeats a (I + e), e symmetric: the k below
    if (2 * repeats**3 != len(structure.occupied) or not cubic
            or not np.allclose(fractional, np.rint(fractional), atol=1e-6)):
        raise ValueError("perfect_eigenvalues needs a bcc supercell of repeats^3 cubic cells with atoms on their sites "
                         "(atoms.bcc: its cell repeats a (I + e), e a symmetric strain, not another basis of the same "
                         "lattice); use vibrational_eigenvalues otherwise.")
    near = potential_neighbours(structure, skin=0.0)
    rows = np.asarray(_first_rows(jnp.asarray(structure.positions), structure.occupied, near)).reshape(3, -1, 3)
    # Wave vectors k = 2 pi cell^-1 m, m over one copy of Z^3 modulo bcc's reciprocal lattice: (2n, n, n) values.
    m = np.stack(np.meshgrid(np.arange(2 * repeats), np.arange(repeats), np.arange(repeats), indexing="ij"),
                 -1).reshape(-1, 3)
    k = 2 * np.pi * m @ np.linalg.inv(structure.cell).T
    phase = np.exp(1j * k @ (structure.positions - structure.positions[0]).T)  # (N, N)
    dynamical = np.einsum("ks,asb->kab", phase, rows)
    return nonzero_modes(np.linalg.eigvalsh(dynamical).ravel())  # k = 0 carries the three translations


@jax.jit
def _first_rows(positions, occupied, near):
    """The Hessian's first three rows (equal to its first three columns): site 0's force constants."""
    return jax.vmap(hessian_product(positions, occupied, near))(jnp.eye(positions.size, dtype=positions.dtype)[:3])


def _modes(name, eigenvalues) -> np.ndarray:
    """A non-empty 1-D array of finite eigenvalues (a stack of spectra was summed as one, its count its rows')."""
    eigenvalues = np.asarray(eigenvalues, dtype=float)
    if eigenvalues.ndim != 1 or eigenvalues.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array of Hessian eigenvalues, got shape {eigenvalues.shape}: "
                         "one structure's spectrum (eigenvalues(hessian(...)), not the Hessian or a stack).")
    if not np.all(np.isfinite(eigenvalues)):
        raise ValueError(f"{name} holds NaN or infinite values: the Hessian was not finite (a collapsed structure?).")
    return eigenvalues
