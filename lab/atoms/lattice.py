"""Lattice: periodic supercells of bcc iron, vacant sites, neighbour lists over periodic images, cluster shapes."""

from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

LATTICE_CONSTANT = 2.8665  # angstrom, bcc iron of the Finnis-Sinclair potential
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
    if isinstance(repeats, bool) or not isinstance(repeats, (int, np.integer)) or repeats < 1:
        raise ValueError(f"repeats must be a positive integer, got {repeats!r}.")  # 2.7 was read as 2
    if isinstance(lattice_constant, bool) or not 0 < np.asarray(lattice_constant, float).item() < np.inf:
        raise ValueError(f"lattice_constant must be a positive length in angstrom, got {lattice_constant!r}.")
    strain = np.asarray(strain, dtype=float) * (np.eye(3) if np.ndim(strain) == 0 else 1.0)
    if strain.shape != (3, 3) or not np.allclose(strain, strain.T):
        raise ValueError(f"strain must be a scalar or a symmetric (3, 3) tensor, got {strain.tolist()}.")
    if np.linalg.det(np.eye(3) + strain) <= 0:
        raise ValueError(f"strain {strain.tolist()} collapses or inverts the cell (det(I + e) <= 0).")
    corners = np.stack(np.meshgrid(*[np.arange(repeats)] * 3, indexing="ij"), -1).reshape(-1, 3)
    sites = np.concatenate([corners, corners + 0.5]) * lattice_constant
    deformation = np.eye(3) + strain
    cell = repeats * lattice_constant * np.eye(3)
    return Structure(sites @ deformation.T, np.ones(len(sites), bool), cell @ deformation.T)


def vacate(structure: Structure, sites) -> Structure:
    """The structure with the given sites (integer indices) emptied."""
    sites = np.asarray(sites)
    if sites.size and not np.issubdtype(sites.dtype, np.integer):  # a boolean mask would read as sites 0 and 1
        raise ValueError(f"sites must be integer indices of sites, got dtype {sites.dtype}: for a boolean mask, "
                         "pass np.flatnonzero(mask).")
    sites = sites.astype(int).ravel()
    if np.any((sites < 0) | (sites >= len(structure.occupied))):
        raise ValueError(f"sites must be indices in [0, {len(structure.occupied)}), got {sites.tolist()}.")
    occupied = structure.occupied.copy()
    occupied[sites] = False
    return structure._replace(occupied=occupied)


def _checked(structure: Structure):
    """positions (S, 3) and cell (3, 3) as finite floats, occupied (S,) bool, the cell of non-zero volume:
    ValueError."""
    positions, cell = np.asarray(structure.positions, float), np.asarray(structure.cell, float)
    occupied = np.asarray(structure.occupied)
    if positions.ndim != 2 or positions.shape[1] != 3 or occupied.shape != positions.shape[:1] or cell.shape != (3, 3):
        raise ValueError(f"a Structure holds positions (S, 3), occupied (S,) and cell (3, 3); got {positions.shape}, "
                         f"{occupied.shape} and {cell.shape}.")
    if occupied.dtype != bool:
        raise ValueError(f"occupied must be a boolean mask over the sites, got dtype {occupied.dtype}.")
    for name, value in (("positions", positions), ("cell", cell)):
        if not np.all(np.isfinite(value)):
            raise ValueError(f"the structure's {name} hold NaN or infinite values at "
                             f"{np.argwhere(~np.isfinite(value))[:3].tolist()}.")
    volume = abs(np.linalg.det(cell))
    if not volume > 1e-9 * np.prod(np.linalg.norm(cell, axis=1)):
        raise ValueError(f"the cell's rows are linearly dependent (volume {volume:g} angstrom^3): no periodic lattice.")
    return positions, cell


def neighbours(structure: Structure, cutoff: float, size: int | None = None, fix: str = "raise size") -> Neighbours:
    """All occupied neighbours of every occupied site closer than `cutoff`, over every periodic image, padded to
    `size` (None: the smallest multiple of 8 that holds them, so that similar structures share one shape). `fix`:
    what the error says to do where a site has more than `size` (a caller's words where size is not the user's).

    In a cell wider than twice the cutoff each pair has one candidate image,
    the nearest; a narrower cell (where the minimum-image convention would
    silently drop neighbours) has every image within reach enumerated.
    Raises if two occupied sites overlap, a site has more than `size`
    neighbours, or the structure is not finite, not of shapes (S, 3), (S,),
    (3, 3) or of a flat cell.
    """
    positions, cell = _checked(structure)
    if not (np.isfinite(cutoff) and cutoff > 0):
        raise ValueError(f"cutoff must be a positive distance in angstrom, got {cutoff!r}.")
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
        raise ValueError(f"a site has {counts.max()} neighbours within {cutoff} angstrom, "
                         f"more than size={size}: {fix}.")
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


def pair_vectors(positions, occupied, near: Neighbours):
    """(S, K, 3) vectors to each neighbour and (S, K) mask of pairs of two occupied sites."""
    vectors = positions[near.index] + near.shift - positions[:, None, :]
    return vectors, near.valid & occupied[:, None] & occupied[near.index]


def safe_norm(vectors, mask):
    """|v| where mask, 1 elsewhere: a zero vector under sqrt would give NaN gradients."""
    return jnp.sqrt(jnp.where(mask, jnp.sum(vectors**2, -1), 1.0))


def random_strain(rng: np.random.Generator, scale: float = 0.01) -> np.ndarray:
    """A symmetric (3, 3) strain tensor with entries uniform in [-scale, scale]."""
    e = rng.uniform(-scale, scale, (3, 3))
    return np.triu(e) + np.triu(e, 1).T


def cluster_offsets(structure: Structure, sites) -> np.ndarray:
    """(k, 3) vectors from the first of `sites` to each of them (nearest periodic image), angstrom:
    a cluster's shape."""
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
        raise ValueError("the offsets do not fit this cell's sites: use a cell of the same lattice, "
                         "wide enough for the cluster.")
    return sites
