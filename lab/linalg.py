"""Dense factorisations (QR, SVD, symmetric eigendecomposition, solves) that vmap as a loop on the CPU.

jaxlib runs a vmapped LAPACK call on the CPU by splitting the batch over
XLA's intra-op thread pool and waiting for the parts. Two such calls running
at once can hold every thread of the pool while each waits for parts that no
thread is left to run: the program waits forever at 0 % CPU (on 2 cores, a
sweep over 1,200 generated regression problems did so in most fresh
processes). Each function here computes what its `jnp.linalg` namesake does;
under vmap on the CPU it calls LAPACK one matrix at a time in a loop
(`one_at_a_time`), elsewhere (GPU, TPU) it batches as
usual. They differentiate as their namesakes do (forward and reverse mode,
through `fn`'s own rules); a vmap of a derivative batches the
factorisations inside it again. Built on them, and used by `reference` and
`model_selection` alike: column norms without overflow, the numerical rank
measured on unit-norm columns, and least squares with or without a ridge
penalty, accurate whatever the columns' units.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.custom_batching import custom_vmap

from lab import _validate


def one_at_a_time(fn):
    """`fn` of arrays (pytrees), vmapped on the CPU as a loop over the batch (`lax.map`): every LAPACK call inside
    sees one matrix. Elsewhere (GPU, TPU) it batches as usual; called without vmap it is `fn` itself. One loop
    around a whole computation (a problem's generation, or its reference optimum and spectrum) compiles faster
    than one around each factorisation."""
    vmappable = custom_vmap(fn)

    @vmappable.def_vmap
    def rule(axis_size, in_batched, *args):
        flags = jax.tree.leaves(list(in_batched))  # one per array of `args`: has it the batch axis?

        def looped(*args):  # nested vmaps reach `vmappable` inside the loop, and loop again
            leaves, tree = jax.tree.flatten(list(args))

            def one(mapped):
                rest = iter(mapped)
                return vmappable(*jax.tree.unflatten(tree, [next(rest) if f else x for x, f in zip(leaves, flags)]))
            return jax.lax.map(one, [x for x, f in zip(leaves, flags) if f])

        def batched(*args):
            in_axes = tuple(jax.tree.map(lambda f: 0 if f else None, b) for b in in_batched)
            return jax.vmap(fn, in_axes=in_axes)(*args)

        out = jax.lax.platform_dependent(*args, cpu=looped, default=batched)
        return out, jax.tree.map(lambda _: True, out)

    # custom_vmap alone cannot be linearised (reverse mode fails): derivatives come from `fn` itself.
    differentiable = jax.custom_jvp(lambda *args: vmappable(*args))
    differentiable.defjvp(lambda primals, tangents: jax.jvp(fn, primals, tangents))
    return functools.wraps(fn)(differentiable)


def qr(a, mode: str = "reduced"):
    """jnp.linalg.qr(a, mode) of an (M, N) matrix."""
    return one_at_a_time(lambda m: jnp.linalg.qr(m, mode=mode))(a)


def svd(a, full_matrices: bool = True, compute_uv: bool = True):
    """jnp.linalg.svd(a, full_matrices, compute_uv) of an (M, N) matrix."""
    return one_at_a_time(lambda m: jnp.linalg.svd(m, full_matrices=full_matrices, compute_uv=compute_uv))(a)


def eigh(a):
    """Eigenvalues (ascending) and eigenvectors of a symmetric (N, N) matrix: jnp.linalg.eigh."""
    return one_at_a_time(lambda m: jnp.linalg.eigh(m))(a)


def eigvalsh(a):
    """Eigenvalues (ascending) of a symmetric (N, N) matrix: jnp.linalg.eigvalsh."""
    return one_at_a_time(lambda m: jnp.linalg.eigvalsh(m))(a)


def solve(a, b):
    """a^-1 b for a square (N, N) matrix and an (N,) vector: jnp.linalg.solve (LU)."""
    return one_at_a_time(jnp.linalg.solve)(a, b)


def solve_triangular(a, b, lower: bool = False):
    """a^-1 b for a triangular (N, N) matrix and an (N,) vector: jax.scipy.linalg.solve_triangular."""
    return one_at_a_time(lambda m, v: jax.scipy.linalg.solve_triangular(m, v, lower=lower))(a, b)


def column_norms(A):
    """||A[:, j]|| for each column of an (N, P) matrix, computed without overflow or underflow (max |a_ij| times the
    norm of the column divided by it); 1 for a zero column, so that A / column_norms(A) is safe."""
    A = _matrix(A)
    largest = jnp.max(jnp.abs(A), axis=0)
    largest = jnp.where(largest == 0, 1.0, largest)  # NaN stays NaN: a column with NaN has no norm
    norms = largest * jnp.linalg.norm(A / largest, axis=0)
    return jnp.where(norms == 0, 1.0, norms)


def _matrix(A):
    """A as an array, refused unless (N, P) (ValueError): these functions read its columns."""
    A = jnp.asarray(A)
    if A.ndim != 2:
        raise ValueError(f"A must be a matrix (N, P), got shape {A.shape}.")
    return A


def _system(A, y, penalty, positive: bool):
    """(A, y) checked for a least-squares solve: A (N, P), y (N,) (an (N, 1) column would broadcast to a (P, P)
    answer), and a concrete penalty >= 0 (> 0 where `positive`: the solve needs it)."""
    A, y = _matrix(A), jnp.asarray(y)
    if y.shape != A.shape[:1]:
        raise ValueError(f"y must have shape ({A.shape[0]},), one value per row of A, got {y.shape}"
                         + (": flatten it (y.ravel())." if y.size == A.shape[0] else "."))
    if penalty is not None and _validate.is_concrete(penalty):
        value = np.asarray(penalty)
        if value.ndim or not (value > 0 if positive else value >= 0):
            raise ValueError(f"penalty must be one number {'> 0' if positive else '>= 0'}, got {penalty!r}"
                             + (": for penalty 0 use solve_least_squares." if positive else "."))
    return A, y


def numerical_rank(A):
    """The numerical rank of an (N, P) matrix, scale-free (an int array; traceable): the singular values of A with
    unit-norm columns above max(N, P) eps times the largest, numpy.linalg.matrix_rank's rule after a column scaling
    that a change of units cannot affect (its raw rule would count an intercept beside a feature of 1e15 as 0)."""
    scaled = A / column_norms(A)
    tall = scaled if A.shape[0] >= A.shape[1] else scaled.T
    # The singular values of R (QR of the tall side) are A's: an SVD of a P x P matrix, not of an N x P one (whose
    # values-only SVD takes an N x N workspace on the CPU: 80 GB for N = 1e5).
    s = svd(qr(tall, mode="r"), compute_uv=False)
    return jnp.sum(s > max(A.shape) * jnp.finfo(A.dtype).eps * s[0])


def penalised_least_squares(A, y, penalty):
    """argmin ||y - A a||^2 + penalty ||a||^2 for an (N, P) matrix, an (N,) vector and penalty > 0 (ridge; the lab's
    mean scaling is penalty = N l2): the least-squares problem [A D^-1; sqrt(penalty) D^-1] b = [y; 0], b = D a, D the
    column norms, by Householder QR. Accurate whatever the columns' units, where an SVD of A resolves singular values
    only down to eps s_max (float32 features in units of 1e-10 lost the intercept at penalties of 1e-30)."""
    A, y = _system(A, y, penalty, positive=True)
    scales = column_norms(A)
    q, r = qr(jnp.concatenate([A / scales, jnp.diag(jnp.sqrt(penalty) / scales)]))
    return solve_triangular(r, q[: A.shape[0]].T @ y) / scales


def solve_least_squares(A, y, penalty=None):
    """argmin ||y - A a||^2 + penalty ||a||^2 (None: 0) for an (N, P) matrix, the minimum-norm one where the penalty
    is 0 and A is rank-deficient.

    A of full column rank (measured scale-free, `numerical_rank`): from A with unit-norm columns, by Householder QR
    (penalty 0) or `penalised_least_squares` (penalty > 0), accurate whatever the columns' units. Otherwise from A's
    SVD, a = V diag(1 / (s + penalty / s)) U^T y over the top rank(A) singular values (the others are rounding,
    which a penalty of 1e-30 would blow up), written so that s^2 never overflows. Where that SVD cannot resolve them
    (`resolves_minimum_norm` false: a duplicated column in units 1e4 beside one in 1e-4 in float32, 1e8 and 1e-8 in
    float64, puts a real singular value below its rounding, and its top rank(A) values kept a rounding direction, a
    fit 1e4 times worse than least squares), the fit comes from A with unit-norm columns instead: the least-squares
    solution of minimum norm in those columns' units, or with a penalty whichever of it and
    `penalised_least_squares` has the smaller objective (the latter's QR divides rounding by sqrt(penalty) along
    the null space: at tiny penalties the former is the minimiser to rounding), the residual taken through the
    kept singular directions. Under vmap over the penalty alone, the factorisations of A are computed once.
    """
    A, y = _system(A, y, penalty, positive=False)
    n, p = A.shape
    rank = numerical_rank(A)
    u, s, vt = svd(A, full_matrices=False)
    keep = (jnp.arange(s.size) < rank) & (s > 0)
    safe = jnp.where(keep, s, 1.0)
    by_svd = vt.T @ (jnp.where(keep, 1 / (safe + (0.0 if penalty is None else penalty) / safe), 0.0) * (u.T @ y))
    scales = column_norms(A)
    us, ss, vts = svd(A / scales, full_matrices=False)
    kept = (jnp.arange(ss.size) < rank) & (ss > 0)
    by_scaled_svd = vts.T @ (jnp.where(kept, 1 / jnp.where(kept, ss, 1.0), 0.0) * (us.T @ y)) / scales
    penalised = None if penalty is None else penalised_least_squares(A, y, jnp.where(penalty > 0, penalty, 1))
    if penalty is not None:
        # The residual through the kept singular directions of the unit-norm columns: a null-space part, however
        # large, changes no prediction there (rounding would count it, in cancelling products of large columns),
        # and the penalty sees it.
        fitted = lambda a: us @ (jnp.where(kept, ss, 0.0) * (vts @ (a * scales)))  # noqa: E731
        objective = lambda a: jnp.sum((y - fitted(a)) ** 2) + penalty * jnp.sum(a**2)  # noqa: E731
        by_scaled_svd = jnp.where((penalty > 0) & (objective(penalised) < objective(by_scaled_svd)), penalised,
                                  by_scaled_svd)
    deficient = jnp.where(_resolves(s, rank, A.shape), by_svd, by_scaled_svd)
    if n < p:
        return deficient
    q, r = qr(A / scales)
    by_qr = solve_triangular(r, q.T @ y) / scales
    if penalty is not None:  # traced: both fits, one kept
        by_qr = jnp.where(penalty > 0, penalised, by_qr)
    return jnp.where(rank == p, by_qr, deficient)


def resolves_minimum_norm(A):
    """Whether A's own SVD resolves its top rank(A) singular values (rank measured scale-free): the smallest of them
    above max(N, P) eps times the largest, where the minimum-norm least-squares solution can be computed in A's
    units (a bool array; traceable). False where the columns' units differ so much that a real direction lies below
    the SVD's rounding."""
    A = _matrix(A)
    tall = A if A.shape[0] >= A.shape[1] else A.T  # R's singular values are A's (see numerical_rank)
    return _resolves(svd(qr(tall, mode="r"), compute_uv=False), numerical_rank(A), A.shape)


def _resolves(s, rank, shape):
    smallest = s[jnp.clip(rank - 1, 0, s.size - 1)]
    return (rank == 0) | (smallest > max(shape) * jnp.finfo(s.dtype).eps * s[0])
