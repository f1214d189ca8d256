"""Defects: clusters of vacancies or dumbbell interstitials in a strained supercell, relaxed and measured
(exact formation entropy and summed descriptors)."""

import time
from typing import NamedTuple

import numpy as np

from lab import _validate
from lab.atoms.afs import DESCRIPTOR_CUTOFF, descriptors
from lab.atoms.lattice import (
    LATTICE_CONSTANT, Structure, bcc, cluster_offsets, neighbours, place, random_strain, vacate,
)
from lab.atoms.relaxation import NotAMinimum, relax
from lab.atoms.vibrations import eigenvalues, formation_entropy, hessian, nonzero_modes, perfect_eigenvalues


def vacancy_cluster(structure: Structure, size: int, rng: np.random.Generator, compact: bool = True) -> np.ndarray:
    """`size` sites forming one cluster, grown from a random site.

    compact: each new site is drawn among the first and second neighbours of
    the cluster, favouring those with most vacant neighbours (as vacancies
    bind). Otherwise it is drawn uniformly among the sites within the
    descriptor's cutoff of the cluster (vacancies that share neighbours at
    every distance: more varied environments for the same size).
    """
    _check_size(size, len(structure.occupied))
    _validate.generator("rng", rng)
    reach = 1.2 * LATTICE_CONSTANT if compact else DESCRIPTOR_CUTOFF  # shells at 0.87a and a; the third is at 1.41a
    near = neighbours(structure, reach, size=64)
    cluster = [int(rng.integers(len(structure.occupied)))]
    while len(cluster) < size:
        candidates = np.setdiff1d(near.index[cluster][near.valid[cluster]], cluster)
        _check_growing(candidates, size, cluster, structure)
        weights = np.ones(len(candidates))
        if compact:
            contacts = np.array([np.isin(near.index[c][near.valid[c]], cluster).sum() for c in candidates])
            weights = np.exp(contacts - contacts.max())
        cluster.append(int(rng.choice(candidates, p=weights / weights.sum())))
    return np.array(cluster)


def interstitial_cluster(structure: Structure, size: int, rng: np.random.Generator) -> np.ndarray:
    """`size` sites for parallel dumbbells, grown from a random site, each new one a second neighbour (a apart)
    of the cluster: first neighbours are too close for two parallel dumbbells (their atoms would overlap)."""
    _check_size(size, len(structure.occupied))
    _validate.generator("rng", rng)
    near = neighbours(structure, 1.05 * LATTICE_CONSTANT, size=16)
    distance = np.linalg.norm(structure.positions[near.index] + near.shift - structure.positions[:, None], axis=-1)
    second = near.valid & (distance > 0.95 * LATTICE_CONSTANT)
    cluster = [int(rng.integers(len(structure.occupied)))]
    while len(cluster) < size:
        candidates = np.setdiff1d(near.index[cluster][second[cluster]], cluster)
        _check_growing(candidates, size, cluster, structure)
        cluster.append(int(rng.choice(candidates)))
    return np.array(cluster)


def _check_growing(candidates, size, cluster, structure):
    """ValueError where a cluster cannot grow to `size` in this cell (every site it could take is taken)."""
    if len(candidates) == 0:
        raise ValueError(f"a cluster of size {size} does not fit in this cell of {len(structure.occupied)} sites: it "
                         f"stopped growing at {len(cluster)}. Use a larger cell (more repeats) or a smaller size.")


def _check_size(size, sites):
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 1 <= size <= sites:
        raise ValueError(f"size must be an integer from 1 to the {sites} sites of the cell, got {size!r}.")


DUMBBELL_HALF_LENGTH = 1.0  # angstrom: a starting guess; relaxation finds the dumbbell's own length
# angstrom: random displacement of dumbbell atoms at the start (measured: 4 of 12 saddles without, 2 with)
JITTER = 0.05


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


class Defect(NamedTuple):
    """A relaxed cluster of vacancies or interstitials in a strained supercell, with its exact formation entropy
    and its descriptors. sites: the perfect supercell's lattice sites.

    strain: e (3, 3), the cell over iron's cubic one at rest, (repeats LATTICE_CONSTANT)(I + e): relative to the
    potential's equilibrium, whatever lattice constant built the perfect cell (bcc(2, lattice_constant=2.9) is
    strained by 1.2 %).
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
    lattice = len(perfect.occupied)
    if len(unrelaxed.occupied) < lattice or not np.allclose(unrelaxed.cell, perfect.cell):
        raise ValueError(f"unrelaxed must be a defective copy of perfect (its cell, its {lattice} lattice sites "
                         "first): build it from perfect with vacate or insert_dumbbells.")
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
    repeats = round((lattice / 2) ** (1 / 3))
    return Defect(
        sites=lattice,
        vacancies=int(np.sum(~relaxed.structure.occupied[:lattice])),
        interstitials=int(np.sum(relaxed.structure.occupied[lattice:])),
        # bcc's cell is the cubic one times (I + e)
        strain=np.asarray(perfect.cell) / (repeats * LATTICE_CONSTANT) - np.eye(3),
        entropy=formation_entropy(modes, perfect_modes),
        descriptor=summed - len(modes) / len(perfect_modes) * perfect_summed,
        average=summed / relaxed.structure.atoms - perfect_summed / perfect.atoms,
        seconds=seconds,
        structure=relaxed.structure,
    )


def table(defects, field: str) -> np.ndarray:
    """One field of every defect (a number or a vector: `Defect`'s entropy, vacancies, descriptor, ...), stacked into
    a float array: (count,) or (count, D)."""
    return np.array([getattr(d, field) for d in defects], dtype=float)


def sample(plan, strain: float, rng: np.random.Generator) -> tuple[list[Defect], list[str]]:
    """The defects of a `plan` of (repeats, size, count, kind): `count` clusters of `size` defects of `kind` (see
    `defect`) in cells of 2 repeats^3 sites, each strained by `random_strain(rng, strain)`; and the messages of
    those that do not relax to a minimum (NotAMinimum), which are left out: (found, rejected)."""
    _validate.generator("rng", rng)
    for entry in plan:
        if len(entry) != 4 or isinstance(entry[2], bool) or not isinstance(entry[2], (int, np.integer)) or entry[2] < 1:
            raise ValueError(f"plan holds (repeats, size, count, kind) entries, count an integer >= 1; got {entry!r}.")
    found, rejected = [], []
    for repeats, size, count, kind in plan:
        for _ in range(count):
            try:
                found.append(defect(repeats, size, random_strain(rng, strain), rng, kind))
            except NotAMinimum as error:
                rejected.append(f"{2 * repeats**3} sites, {size} defects ({kind}): {error}")
    return found, rejected


def in_larger_cells(sizes, repeats, rng: np.random.Generator, grown_in: int = 6) -> dict[int, list[Defect]]:
    """{size: [Defect in each cell of `repeats`]}: one compact vacancy cluster of each of `sizes`, grown in a
    bcc(grown_in) cell, the same shape placed in unstrained cells of each `repeats`, so that only the cell's
    size changes (the finite-size effect)."""
    grown = bcc(grown_in)
    shapes = {k: cluster_offsets(grown, vacancy_cluster(grown, k, rng)) for k in sizes}
    cells = [bcc(r) for r in repeats]
    return {k: [measure(cell, vacate(cell, place(cell, shape))) for cell in cells] for k, shape in shapes.items()}


def dilute_fit(row, vacancies: int, reference_sites: int = 432) -> dict:
    """S_f / k = dilute + slope / N fitted by least squares over the defects of `row` (N their cells' lattice
    sites, k = `vacancies`), and S_f / k in the largest cell minus that in a cell of `reference_sites`, under the
    key "largest_minus_{reference_sites}" (None unless both were measured): how far a periodic cell of N sites
    sits from the dilute limit."""
    if isinstance(vacancies, bool) or not isinstance(vacancies, (int, np.integer)) or vacancies < 1:
        raise ValueError(f"vacancies must be an integer >= 1, the clusters' size, got {vacancies!r}.")
    counted = sorted({d.vacancies for d in row})
    if counted != [vacancies]:  # S_f / k with another k: a fit off by k'/k
        raise ValueError(f"row's defects hold {counted} vacancies, not vacancies = {vacancies}: fit one cluster size "
                         "at a time, with its own count.")
    n = np.array([d.sites for d in row], float)
    if len(set(n)) < 2:
        sites = sorted(set(n.astype(int).tolist()))
        raise ValueError(f"dilute_fit needs the cluster in cells of at least two sizes, got sites {sites}: a line "
                         "through one point is no fit.")
    per_vacancy = np.array([d.entropy for d in row]) / vacancies
    slope, dilute = np.polyfit(1 / n, per_vacancy, 1)
    by_sites = dict(zip(n, per_vacancy))
    return {"dilute": float(dilute), "slope": float(slope),
            f"largest_minus_{int(reference_sites)}": float(by_sites[n.max()] - by_sites[float(reference_sites)])
            if float(reference_sites) in by_sites else None}


STAGES = ("relax", "hessian", "diagonalise", "descriptor")  # the timed stages of `measure`
EXACT_STAGES = ("relax", "hessian", "diagonalise")  # those of the exact entropy


def cost_by_size(defects) -> dict:
    """Median seconds of each of STAGES per cell size, and of the exact entropy's ("exact", their sum), beside
    the median atoms per size ("atoms"): lists in increasing cell size. The median drops the first
    configuration's compilation."""
    sizes = sorted(set(d.sites for d in defects))
    cost = {"atoms": [float(np.median([d.structure.atoms for d in defects if d.sites == s])) for s in sizes]}
    for stage in STAGES:
        cost[stage] = [float(np.median([d.seconds[stage] for d in defects if d.sites == s])) for s in sizes]
    cost["exact"] = [sum(cost[stage][i] for stage in EXACT_STAGES) for i in range(len(sizes))]
    return cost
