"""Atoms, the research case: bcc iron with vacancies and interstitials, its Finnis-Sinclair energy, relaxation,
harmonic entropy and descriptors.

The lab's research case is a *synthetic analogue* of Lapointe et al., Phys. Rev.
Materials 4, 063802 (2020): formation entropies computed exactly (relaxation,
Hessian by automatic differentiation, diagonalisation: O(N^3)) and predicted
by a linear model on summed local descriptors (O(N)).

Units: energies in eV, lengths in angstrom, masses in amu, temperatures in K,
entropies in k_B. A structure keeps every lattice site of its supercell, vacant
sites masked (and interstitial atoms in spare sites appended to it), so that
the configurations of one supercell share array shapes and compiled functions.

One module per idea: lattice (supercells, neighbour lists), potential (Finnis-Sinclair
energy and forces), relaxation (L-BFGS to a minimum), vibrations (Hessian, modes, harmonic
entropy), afs (angular Fourier series descriptors), defects (clusters, relaxed and measured; sampled by plan; the
same cluster in larger cells).
The package re-exports their public names: `from lab import atoms; atoms.bcc(4)`.
"""

from lab.atoms.lattice import (
    LATTICE_CONSTANT, MIN_DISTANCE, Neighbours, Structure, bcc, cluster_offsets, neighbours, pair_vectors,
    place, random_strain, safe_norm, vacate,
)
from lab.atoms.potential import (
    POTENTIAL_CUTOFF, energy, force_norm, forces, potential_neighbours, site_energy,
)
from lab.atoms.relaxation import (
    NotAMinimum, REBUILDS, Relaxation, relax,
)
from lab.atoms.vibrations import (
    BOLTZMANN, HBAR, IRON_MASS, check_relaxed, eigenvalues, formation_entropy, harmonic_entropy, hessian,
    hessian_product, nonzero_modes, perfect_eigenvalues, vibrational_eigenvalues,
)
from lab.atoms.afs import (
    ANGULAR_ORDERS, DESCRIPTOR_CUTOFF, RADIAL_CENTRES, RADIAL_WIDTH, descriptors,
)
from lab.atoms.defects import (
    DUMBBELL_HALF_LENGTH, Defect, EXACT_STAGES, JITTER, STAGES, cost_by_size, defect, dilute_fit, in_larger_cells,
    insert_dumbbells, interstitial_cluster, measure, sample, table, vacancy_cluster,
)

__all__ = [
    "LATTICE_CONSTANT", "MIN_DISTANCE", "Neighbours", "Structure", "bcc", "cluster_offsets", "neighbours",
    "pair_vectors", "place", "random_strain", "safe_norm", "vacate", "POTENTIAL_CUTOFF", "energy", "force_norm",
    "forces", "potential_neighbours", "site_energy", "NotAMinimum", "REBUILDS", "Relaxation", "relax",
    "BOLTZMANN", "HBAR", "IRON_MASS", "check_relaxed", "eigenvalues", "formation_entropy", "harmonic_entropy",
    "hessian", "hessian_product", "nonzero_modes", "perfect_eigenvalues", "vibrational_eigenvalues",
    "ANGULAR_ORDERS", "DESCRIPTOR_CUTOFF", "RADIAL_CENTRES", "RADIAL_WIDTH", "descriptors",
    "DUMBBELL_HALF_LENGTH", "Defect", "EXACT_STAGES", "JITTER", "STAGES", "cost_by_size", "defect", "dilute_fit",
    "in_larger_cells", "insert_dumbbells", "interstitial_cluster", "measure", "sample", "table",
    "vacancy_cluster",
]
