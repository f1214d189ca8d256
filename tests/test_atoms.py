"""The entropy research case's physics: potential, relaxation, Hessian, entropy, descriptors (issue 6)."""

import re
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lab import atoms
from tests import helpers

# the same lattice in another basis (c0 + c1, c1, c2)
SHEARED = atoms.bcc(2)._replace(cell=np.array([[1.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]) @ atoms.bcc(2).cell)
DOUBLED = atoms.Structure(  # two 54-atom cells side by side: perfect, but not a cubic supercell
    np.concatenate([atoms.bcc(3).positions, atoms.bcc(3).positions + atoms.bcc(3).cell[0]]),
    np.ones(108, bool),
    atoms.bcc(3).cell * np.array([[2.0], [1.0], [1.0]]),
)
STRAIN = np.array([[0.008, 0.003, -0.002], [0.003, -0.004, 0.005], [-0.002, 0.005, 0.002]])


def rattled(repeats=3, scale=0.05, seed=0):
    """A strained bcc cell with every atom displaced at random: no symmetry left to hide mistakes."""
    crystal = atoms.bcc(repeats, STRAIN)
    noise = np.random.default_rng(seed).normal(scale=scale, size=crystal.positions.shape)
    return crystal._replace(positions=crystal.positions + noise)


def total_energy(structure):
    near = atoms.potential_neighbours(structure)
    return float(atoms.energy(jnp.asarray(structure.positions), structure.occupied, near))


def rotation(seed=1):
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    return q * np.sign(np.linalg.det(q))


@pytest.fixture(scope="module")
def monovacancies():
    """Relaxed monovacancies in 54-, 128- and 250-atom cells, with the perfect cells' spectra."""
    result = {}
    for repeats in (3, 4, 5):
        perfect = atoms.bcc(repeats)
        relaxed = atoms.relax(atoms.vacate(perfect, [0]))
        result[repeats] = (relaxed, atoms.vibrational_eigenvalues(relaxed.structure),
                           atoms.perfect_eigenvalues(perfect))
    return result


def test_perfect_crystal_cohesive_energy_zero_forces_and_stable():
    crystal = atoms.bcc(3)
    cohesive = -float(total_energy(crystal)) / crystal.atoms
    assert cohesive == pytest.approx(4.28, abs=1e-3)  # Finnis-Sinclair's fit
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert re.search(r"cohesive\s+energy ([\d.]+) eV/atom", readme).group(1) == f"{cohesive:.3f}"
    assert atoms.force_norm(crystal, atoms.potential_neighbours(crystal)) < 1e-12
    eigenvalues = atoms.eigenvalues(atoms.hessian(crystal))
    scale = eigenvalues[-1]
    assert np.sum(np.abs(eigenvalues) < 1e-10 * scale) == 3  # the three translations
    assert eigenvalues[3] > 0.05 * scale  # and nothing soft or negative: bcc is stable for this potential
    assert len(atoms.vibrational_eigenvalues(crystal)) == 3 * 54 - 3


def test_energy_invariant_under_translation_and_rotation():
    structure = rattled()
    e = total_energy(structure)
    moved = structure._replace(positions=structure.positions + np.array([0.3, -1.7, 2.9]))
    q = rotation()
    turned = structure._replace(positions=structure.positions @ q.T, cell=structure.cell @ q.T)
    assert total_energy(moved) == pytest.approx(e, abs=1e-10)
    assert total_energy(turned) == pytest.approx(e, abs=1e-10)


def test_forces_match_finite_differences_of_the_energy():
    structure = rattled(seed=2)
    near = atoms.potential_neighbours(structure)
    force = np.asarray(atoms.forces(jnp.asarray(structure.positions), structure.occupied, near))
    h = 1e-5
    for atom, axis in [(0, 0), (7, 1), (31, 2)]:
        offset = np.zeros_like(structure.positions)
        offset[atom, axis] = h
        plus = atoms.energy(jnp.asarray(structure.positions + offset), structure.occupied, near)
        minus = atoms.energy(jnp.asarray(structure.positions - offset), structure.occupied, near)
        assert force[atom, axis] == pytest.approx(-float(plus - minus) / (2 * h), rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("structure", [
    atoms.vacate(rattled(seed=3), [5]),
    atoms.bcc(1, STRAIN),  # 2 sites: a site's own periodic images are among its neighbours
    atoms.vacate(atoms.bcc(2, STRAIN), [3]),  # several images of one site in a list
], ids=["54 sites", "2 sites", "16 sites"])
def test_hessian_equals_jax_hessian(structure):
    near = atoms.potential_neighbours(structure, skin=0.0)
    # one compilation
    dense = jax.jit(jax.hessian(atoms.energy))(jnp.asarray(structure.positions), structure.occupied, near)
    keep = np.repeat(structure.occupied, 3)
    size = structure.positions.size
    expected = np.asarray(dense).reshape(size, size)[np.ix_(keep, keep)]
    np.testing.assert_allclose(atoms.hessian(structure), expected, atol=1e-12)


def test_perfect_spectrum_by_bloch_equals_the_diagonalisation():
    crystal = atoms.bcc(3, STRAIN)
    np.testing.assert_allclose(atoms.perfect_eigenvalues(crystal), atoms.vibrational_eigenvalues(crystal), atol=1e-10)


def test_relaxed_vacancy_is_a_minimum(monovacancies):
    relaxed, eigenvalues, _ = monovacancies[4]
    assert relaxed.converged and relaxed.force_norm <= 1e-8
    assert atoms.force_norm(relaxed.structure, atoms.potential_neighbours(relaxed.structure)) <= 1e-8
    full = atoms.eigenvalues(atoms.hessian(relaxed.structure))
    assert np.sum(np.abs(full) < 1e-8 * full[-1]) == 3 and full[0] > -1e-8 * full[-1]
    assert len(eigenvalues) == 3 * 127 - 3 and eigenvalues[0] > 0


def test_divacancy_relaxes_to_a_minimum():
    crystal = atoms.bcc(4, STRAIN)
    relaxed = atoms.relax(atoms.vacate(crystal, atoms.vacancy_cluster(crystal, 2, np.random.default_rng(0))))
    assert relaxed.converged and relaxed.force_norm <= 1e-8
    assert len(atoms.vibrational_eigenvalues(relaxed.structure)) == 3 * 126 - 3


def test_formation_entropy_independent_of_temperature_and_mass(monovacancies):
    _, defect, perfect = monovacancies[4]
    reference = atoms.formation_entropy(defect, perfect)
    for temperature, mass in [(10.0, atoms.IRON_MASS), (3000.0, atoms.IRON_MASS), (300.0, 1.0), (77.0, 200.0)]:
        assert atoms.formation_entropy(defect, perfect, temperature, mass) == pytest.approx(reference, abs=1e-10)
    # the absolute entropy does depend on both: S grows by M ln(T2/T1) and by M/2 ln(m2/m1)
    modes = len(defect)
    assert atoms.harmonic_entropy(defect, 600.0) - atoms.harmonic_entropy(defect, 300.0) == pytest.approx(
        modes * np.log(2), rel=1e-12)
    assert atoms.harmonic_entropy(defect, 300.0, 4 * atoms.IRON_MASS) - atoms.harmonic_entropy(defect) == pytest.approx(
        modes * np.log(2), rel=1e-12)


def test_monovacancy_entropy_converges_with_cell_size(monovacancies):
    values = [atoms.formation_entropy(d, p) for _, d, p in (monovacancies[r] for r in (3, 4, 5))]
    # 1.63, 1.70, 1.73 k_B for 53, 127, 249 atoms: a finite-size trend that shrinks as the cell grows
    assert all(1.5 < v < 2.0 for v in values)
    assert abs(values[2] - values[1]) < 0.5 * abs(values[1] - values[0])


def test_descriptors_invariant_under_rotation_translation_and_permutation():
    structure = atoms.vacate(rattled(seed=4), [3, 10])
    reference = atoms.descriptors(structure).sum(0)
    q = rotation(seed=5)
    order = np.random.default_rng(6).permutation(54)
    variants = [
        structure._replace(positions=structure.positions + np.array([1.1, -0.4, 7.3])),
        structure._replace(positions=structure.positions @ q.T, cell=structure.cell @ q.T),
        structure._replace(positions=structure.positions[order], occupied=structure.occupied[order]),
    ]
    for variant in variants:
        np.testing.assert_allclose(atoms.descriptors(variant).sum(0), reference, rtol=1e-10, atol=1e-10)


def test_global_descriptor_is_extensive():
    """A cell built from two copies of a (rattled, vacant) cell has twice its descriptor, periodic images included."""
    cell = atoms.vacate(rattled(seed=7), [0])
    doubled = atoms.Structure(
        np.concatenate([cell.positions, cell.positions + cell.cell[0]]),
        np.concatenate([cell.occupied, cell.occupied]),
        cell.cell * np.array([[2.0], [1.0], [1.0]]),
    )
    np.testing.assert_allclose(atoms.descriptors(doubled).sum(0), 2 * atoms.descriptors(cell).sum(0), rtol=1e-10)


def test_small_cell_counts_every_periodic_image():
    """A 54-atom cell (8.6 angstrom) is narrower than twice the 5 angstrom cutoff: every site still sees its 58
    neighbours, so the per-atom descriptor equals that of a 128-atom cell (the minimum-image convention would not)."""
    small, large = atoms.descriptors(atoms.bcc(3)), atoms.descriptors(atoms.bcc(4))
    np.testing.assert_allclose(small.mean(0), large.mean(0), rtol=1e-12, atol=1e-12)
    assert atoms.neighbours(atoms.bcc(3), atoms.DESCRIPTOR_CUTOFF, size=64).valid.sum(1).min() == 58


def test_nearest_image_search_equals_enumerating_every_image():
    """In a cell wider than twice the cutoff, `neighbours` looks at each pair's nearest image only: it must find
    exactly the pairs, and the vectors, of a brute-force search over every image of the 27 nearest cells."""
    structure = rattled(repeats=5, seed=8)  # 14.3 angstrom: wider than twice the 5 angstrom cutoff
    cutoff, positions, cell = atoms.DESCRIPTOR_CUTOFF, structure.positions, structure.cell
    near = atoms.neighbours(structure, cutoff)
    i, slot = np.nonzero(near.valid)
    found = positions[near.index[i, slot]] + near.shift[i, slot] - positions[i]
    expected = []
    for image in np.stack(np.meshgrid(*[np.arange(-1, 2)] * 3, indexing="ij"), -1).reshape(-1, 3):
        vectors = positions[None, :, :] + image @ cell - positions[:, None, :]  # (S, S, 3): site i to image of j
        distance = np.linalg.norm(vectors, axis=-1)
        pairs = np.nonzero((distance < cutoff) & (distance > 0))
        expected.append(np.column_stack([pairs[0], vectors[pairs]]))
    expected, found = np.concatenate(expected), np.column_stack([i, found])
    assert len(found) == len(expected) > 250 * 50
    in_order = lambda rows: rows[np.lexsort(np.round(rows, 6).T[::-1])]  # by site, then vector
    np.testing.assert_allclose(in_order(found), in_order(expected), rtol=0, atol=1e-12)


def test_overlapping_atoms_are_refused():
    crystal = atoms.bcc(3)
    positions = crystal.positions.copy()
    positions[1] = positions[0] + 0.2
    with pytest.raises(ValueError, match="overlap"):
        atoms.relax(crystal._replace(positions=positions))


def test_unrelaxed_configuration_is_refused_by_the_entropy():
    unrelaxed = atoms.vacate(atoms.bcc(3), [0])
    with pytest.raises(atoms.NotAMinimum, match="not relaxed.*relax it first"):
        atoms.vibrational_eigenvalues(unrelaxed)


def test_saddle_point_is_refused():
    """Zero forces are not enough: bcc squeezed into a tall tetragonal cell keeps zero forces by symmetry but is
    unstable."""
    squeezed = atoms.bcc(3, np.diag([-0.075, -0.075, 0.15]))
    assert atoms.force_norm(squeezed, atoms.potential_neighbours(squeezed)) < 1e-12
    with pytest.raises(atoms.NotAMinimum, match="[1-9][0-9]* negative"):
        atoms.vibrational_eigenvalues(squeezed)


def test_relax_rebuilds_a_pair_list_that_missed_a_pair(monkeypatch):
    checks = iter([False, True])  # the first relaxation's pair list "misses" a pair; the second covers them all
    monkeypatch.setattr(atoms.relaxation, "_covers", lambda *args: next(checks))
    relaxed = atoms.relax(atoms.vacate(atoms.bcc(3), [0]))
    assert relaxed.converged and relaxed.force_norm <= 1e-8
    monkeypatch.setattr(atoms.relaxation, "_covers", lambda *args: False)
    with pytest.raises(atoms.NotAMinimum, match="skin"):
        atoms.relax(atoms.vacate(atoms.bcc(3), [0]))


def test_relax_refuses_float32():
    with jax.enable_x64(False):
        with pytest.raises(ValueError, match="float64"):
            atoms.relax(atoms.vacate(atoms.bcc(3), [0]))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: atoms.bcc(0), "repeats"),
        (lambda: atoms.bcc(3, np.array([[0.0, 0.01, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])), "symmetric"),
        (lambda: atoms.vacate(atoms.bcc(3), [54]), "sites"),
        (lambda: atoms.neighbours(atoms.bcc(3), 5.0, size=20), "raise size"),
        (lambda: atoms.descriptors(atoms.bcc(3, lattice_constant=2.0)), "denser than relaxed iron .* relax the"),
        (lambda: atoms.vibrational_eigenvalues(atoms.bcc(2), tolerance=0.0), "tolerance must be a positive force"),
        (lambda: atoms.perfect_eigenvalues(atoms.vacate(atoms.bcc(3), [0])), "perfect crystal"),
        (lambda: atoms.perfect_eigenvalues(DOUBLED), "repeats\\^3 cubic cells"),
        (lambda: atoms.perfect_eigenvalues(SHEARED), "not another basis of the same lattice"),  # NotAMinimum before
        (lambda: atoms.harmonic_entropy([0.0, 1.0, 2.0]), "positive"),
        (lambda: atoms.harmonic_entropy([1.0, 2.0], temperature=True), "temperature must be positive"),  # 1 K
        (lambda: atoms.harmonic_entropy([1.0, 2.0], temperature=np.array([300.0, 600.0])), "temperature"),
        (lambda: atoms.nonzero_modes(np.eye(6)), r"1-D array of Hessian eigenvalues, got shape \(6, 6\)"),
        (lambda: atoms.defect(2, 1, 0.0, 0), "rng must be a numpy Generator"),  # 'no attribute integers'
        (lambda: atoms.sample([(2, 1, 1)], 0.01, np.random.default_rng(0)), r"plan holds \(repeats, size, count"),
        (lambda: atoms.sample([(2, 1, -1, "compact")], 0.01, np.random.default_rng(0)), "count an integer >= 1"),
        (lambda: atoms.interstitial_cluster(atoms.bcc(2), 9, np.random.default_rng(0)),  # numpy's 'cannot be empty'
         "a cluster of size 9 does not fit in this cell of 16 sites: it stopped growing at 8"),
    ],
)
def test_bad_input_names_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_one_compilation_serves_every_configuration_of_a_cell_size():
    crystal = atoms.bcc(3, STRAIN)
    first = atoms.relax(atoms.vacate(crystal, [1])).structure
    atoms.hessian(first), atoms.descriptors(first)
    with helpers.lowerings() as lowered:  # relaxation, Hessian and descriptors: compiled once above
        for sites in ([2, 9], [4, 20, 30]):
            relaxed = atoms.relax(atoms.vacate(crystal, sites)).structure
            atoms.hessian(relaxed), atoms.descriptors(relaxed)
    assert lowered == []


def test_a_cluster_keeps_its_shape_in_another_cell():
    grown = atoms.bcc(4)
    shape = atoms.cluster_offsets(grown, atoms.vacancy_cluster(grown, 6, np.random.default_rng(2)))
    for cell in (grown, atoms.bcc(6)):
        placed = atoms.place(cell, shape)
        assert len(set(placed.tolist())) == 6 and placed[0] == 0
        np.testing.assert_allclose(atoms.cluster_offsets(cell, placed), shape, atol=1e-12)
    with pytest.raises(ValueError, match="do not fit"):
        atoms.place(atoms.bcc(6, 0.01), shape)  # a strained lattice: the offsets miss its sites


def test_an_interstitial_dumbbell_relaxes_to_a_minimum_in_arrays_of_a_fixed_shape():
    perfect = atoms.bcc(4)
    one = atoms.insert_dumbbells(perfect, [5], [1, 1, 0], spare=4)
    two = atoms.insert_dumbbells(perfect, atoms.interstitial_cluster(perfect, 2, np.random.default_rng(0)), [1, -1, 0],
                                 spare=4)
    assert one.positions.shape == two.positions.shape == (132, 3) and (one.atoms, two.atoms) == (129, 130)
    relaxed = atoms.relax(one)
    assert relaxed.converged and relaxed.force_norm <= 1e-8
    modes = atoms.vibrational_eigenvalues(relaxed.structure)  # raises unless 3 zero modes and none negative
    assert len(modes) == 3 * 129 - 3
    assert 1.0 < atoms.formation_entropy(modes, atoms.perfect_eigenvalues(perfect)) < 4.0
    with pytest.raises(ValueError, match="kind"):
        atoms.defect(4, 1, 0.0, np.random.default_rng(0), kind="antisite")


def fake_defect(sites, vacancies, entropy):
    """A Defect with only what the fits read: its cell's lattice sites, vacancies and entropy."""
    return atoms.Defect(sites=sites, vacancies=vacancies, interstitials=0, strain=None, entropy=entropy,
                        descriptor=None, average=None, seconds={}, structure=None)


def test_dilute_fit_recovers_a_plus_b_over_n():
    dilute, slope, k = 2.5, -8.0, 3
    row = [fake_defect(n, k, k * (dilute + slope / n)) for n in (128, 250, 432, 686, 1024)]
    fit = atoms.dilute_fit(row, k)
    assert fit["dilute"] == pytest.approx(dilute, rel=1e-12) and fit["slope"] == pytest.approx(slope, rel=1e-10)
    assert fit["largest_minus_432"] == pytest.approx(slope / 1024 - slope / 432, rel=1e-10)
    assert atoms.dilute_fit(row[:2], k)["largest_minus_432"] is None  # no 432-site cell measured


def test_dilute_fit_refuses_a_count_its_defects_do_not_hold_or_a_single_cell():
    """dilute_fit(row of pairs, 1) returned twice the dilute value and slope; one cell, a line through one point."""
    row = [fake_defect(n, 2, 2 * (2.5 - 8.0 / n)) for n in (128, 250, 432)]
    with pytest.raises(ValueError, match=r"row's defects hold \[2\] vacancies, not vacancies = 1"):
        atoms.dilute_fit(row, 1)
    with pytest.raises(ValueError, match=r"at least two sizes, got sites \[128\]"):
        atoms.dilute_fit(row[:1] * 2, 2)
    with pytest.raises(ValueError, match="vacancies must be an integer >= 1"):
        atoms.dilute_fit(row, 0)


def test_the_entropy_refuses_spectra_holding_the_translations_or_stacked(monovacancies):
    """The three zero modes rounded to 6e-15..2e-14 (positive) were summed as modes: S_f = 53.3 for 1.55; a stack of
    two spectra was summed as one, its count that of its rows."""
    _, modes, perfect = monovacancies[3]
    with_translations = np.r_[6e-15, 9.8e-15, 1.8e-14, modes]
    with pytest.raises(ValueError, match="none below 1e-08 times the largest"):
        atoms.formation_entropy(with_translations, perfect)
    with pytest.raises(ValueError, match=r"defect_modes must be a non-empty 1-D array .* got shape \(2, "):
        atoms.formation_entropy(np.stack([modes, modes]), perfect)


def test_the_same_cluster_in_larger_cells_keeps_its_shape_and_the_monovacancy_is_each_cells(monovacancies):
    by_size = atoms.in_larger_cells((1, 2), (3, 4), np.random.default_rng(0), grown_in=4)
    assert list(by_size) == [1, 2] and [(d.sites, d.vacancies) for d in by_size[1]] == [(54, 1), (128, 1)]
    for defect, repeats in zip(by_size[1], (3, 4)):
        _, modes, perfect = monovacancies[repeats]
        assert defect.entropy == pytest.approx(atoms.formation_entropy(modes, perfect), abs=1e-6)
    apart = []  # the divacancy's shape: the same vector between its sites in both cells
    for defect, repeats in zip(by_size[2], (3, 4)):
        cell = atoms.bcc(repeats)
        vacant = np.flatnonzero(~defect.structure.occupied[:defect.sites])
        offsets = atoms.cluster_offsets(cell, vacant)
        apart.append(sorted(np.abs(offsets[1] - offsets[0]).round(9).tolist()))
    assert apart[0] == apart[1] and 0 < np.linalg.norm(apart[0]) < 5.0


def test_sample_keeps_the_minima_and_names_the_rejected(monkeypatch):
    from lab.atoms import defects

    calls = []

    def every_other(repeats, size, strain, rng, kind):
        calls.append((repeats, size, kind))
        assert strain.shape == (3, 3) and np.allclose(strain, strain.T) and 0 < np.abs(strain).max() <= 0.01
        if len(calls) % 2 == 0:
            raise atoms.NotAMinimum("a saddle")
        return fake_defect(2 * repeats**3, size, float(len(calls)))

    monkeypatch.setattr(defects, "defect", every_other)
    found, rejected = atoms.sample([(3, 2, 3, "compact"), (4, 1, 1, "spread")], 0.01, np.random.default_rng(0))
    assert calls == [(3, 2, "compact")] * 3 + [(4, 1, "spread")]
    assert [d.entropy for d in found] == [1.0, 3.0] and rejected == ["54 sites, 2 defects (compact): a saddle",
                                                                    "128 sites, 1 defects (spread): a saddle"]


def test_cost_by_size_is_the_median_of_each_stage_per_cell_and_exact_sums_the_exact_stages():
    from types import SimpleNamespace

    def timed(sites, atoms_, seconds):
        return fake_defect(sites, 1, 0.0)._replace(structure=SimpleNamespace(atoms=atoms_),
                                                   seconds=dict(zip(atoms.STAGES, seconds)))

    cost = atoms.cost_by_size([timed(128, 127, (9.0, 9.0, 9.0, 9.0)), timed(54, 53, (1.0, 2.0, 3.0, 0.5)),
                               timed(128, 126, (1.0, 1.0, 1.0, 1.0)), timed(128, 127, (2.0, 3.0, 4.0, 0.1))])
    assert cost["atoms"] == [53.0, 127.0] and cost["relax"] == [1.0, 2.0] and cost["descriptor"] == [0.5, 1.0]
    assert cost["exact"] == [6.0, 2.0 + 3.0 + 4.0]  # the medians' sum, the descriptor left out


def test_without_float64_the_vibrations_say_so_instead_of_blaming_the_crystal():
    """In float32 a perfect crystal read as 'not a minimum: 2 zero eigenvalues', a relaxed one as 'not relaxed'."""
    crystal = atoms.bcc(2)
    with jax.enable_x64(False):
        for call, name in ((atoms.hessian, "hessian"), (atoms.perfect_eigenvalues, "perfect_eigenvalues"),
                           (atoms.check_relaxed, "check_relaxed")):
            with pytest.raises(ValueError, match=f"^{name} needs float64"):
                call(crystal)


def test_float32_positions_are_widened_not_read_as_a_saddle_or_crashed_on():
    """With float64 on, float32 positions made the Hessian float32: a perfect crystal read as 'not a minimum' (3
    negative eigenvalues), and relax crashed inside optax's line search (a probe's finding). They are widened exactly
    (the rounded sites then carry forces of 5e-6 eV/angstrom against the float64 cell: relax them)."""
    crystal = atoms.bcc(2)
    narrow = crystal._replace(positions=crystal.positions.astype(np.float32))
    widened = crystal._replace(positions=narrow.positions.astype(np.float64))
    np.testing.assert_array_equal(atoms.perfect_eigenvalues(narrow), atoms.perfect_eigenvalues(widened))
    np.testing.assert_array_equal(atoms.hessian(narrow), atoms.hessian(widened))
    vacancy = atoms.relax(atoms.vacate(narrow, [0]))
    assert vacancy.converged and vacancy.structure.positions.dtype == np.float64


@pytest.mark.parametrize("structure", [atoms.vacate(atoms.bcc(1), [0]), atoms.vacate(atoms.bcc(2), list(range(1, 16)))],
                         ids=["bcc(1)", "bcc(2) emptied but one"])
def test_a_lone_atom_has_no_vibrations_to_measure_and_says_so(structure):
    """Its Hessian is zero: bcc(1)'s rounding read as 'not a minimum: 1 negative eigenvalue', bcc(2)'s as [] (and a
    message about 'the Hessian or a stack' further on)."""
    with pytest.raises(ValueError, match="at least two atoms, got 1"):
        atoms.vibrational_eigenvalues(structure)
