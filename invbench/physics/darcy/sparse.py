"""Sparse-matrix plumbing for the Darcy CPU path: a cached CSC pattern, a cached fill-reducing order, SuperLU.

The 5-point matrix has the same sparsity pattern for every conductivity field and both boundary
conditions (boundary terms only touch the diagonal). So the pattern, and a fill-reducing ordering of it, are
computed once per grid size; each assembly is then a single gather of the values into CSC order, and each
factorisation skips the ordering step. Measured at 64 x 64 this saves roughly 15% of the SuperLU time, which
dominates a solve.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

_SPLU_KW: dict[str, Any] = {"diag_pivot_thresh": 0.0, "options": {"SymmetricMode": True}}


def _readonly(*arrays: np.ndarray) -> None:
    for a in arrays:
        a.flags.writeable = False


@lru_cache(maxsize=16)
def fill_reducing_order(n: int) -> np.ndarray:
    """Minimum-degree ordering (SuperLU's ``MMD_AT_PLUS_A``) of the ``n x n`` 5-point pattern.

    The ordering is structural, so it is computed once on a matrix with placeholder values.

    Args:
        n: Grid size.

    Returns:
        ``perm``, a read-only int array of length ``n*n``: new unknown ``j`` is the old (row-major) unknown
        ``perm[j]``.
    """
    idx = np.arange(n * n).reshape(n, n)
    rows, cols = _coo(idx)
    vals = np.where(rows == cols, 5.0, -1.0)
    a = sp.csc_matrix((vals, (rows, cols)), shape=(n * n, n * n))
    lu = spla.splu(a, permc_spec="MMD_AT_PLUS_A", **_SPLU_KW)
    perm = np.argsort(lu.perm_c)
    _readonly(perm)
    return perm


def _coo(label: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """COO rows and columns in the value layout ``[diag, -tx, -tx, -ty, -ty]``, for cell labels ``label``."""
    rows = [label.ravel(), label[:, :-1].ravel(), label[:, 1:].ravel(), label[:-1].ravel(), label[1:].ravel()]
    cols = [label.ravel(), label[:, 1:].ravel(), label[:, :-1].ravel(), label[1:].ravel(), label[:-1].ravel()]
    return np.concatenate(rows), np.concatenate(cols)


@lru_cache(maxsize=32)
def _csc_pattern(n: int, permuted: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSC pattern of the 5-point matrix and the gather ``order`` from the value layout to CSC data."""
    label = np.arange(n * n).reshape(n, n)
    if permuted:
        label = np.argsort(fill_reducing_order(n)).reshape(n, n)  # new label of each old unknown
    rows, cols = _coo(label)
    order = np.lexsort((rows, cols))
    indices = rows[order].astype(np.int32)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(cols, minlength=n * n))]).astype(np.int32)
    _readonly(order, indices, indptr)
    return order, indices, indptr


def csc_from_parts(
    diag: np.ndarray, tx: np.ndarray, ty: np.ndarray, *, permuted: bool = False
) -> sp.csc_matrix:
    """Build the sparse matrix from its diagonal and interior transmissibilities (one instance).

    Args:
        diag: Diagonal in grid layout, shape ``(n, n)``.
        tx: x-face transmissibilities, shape ``(n, n - 1)``.
        ty: y-face transmissibilities, shape ``(n - 1, n)``.
        permuted: Return ``P A P^T`` in the fill-reducing order of :func:`fill_reducing_order` instead of the
            row-major order.

    Returns:
        The ``(n*n, n*n)`` CSC matrix, built on the cached pattern (no sorting or duplicate summing).
    """
    n = diag.shape[-1]
    mtx, mty = -tx.ravel(), -ty.ravel()
    values = np.concatenate([diag.ravel(), mtx, mtx, mty, mty])
    order, indices, indptr = _csc_pattern(n, permuted)
    return sp.csc_matrix((values[order], indices, indptr), shape=(n * n, n * n), copy=False)


class SparseFactors:
    """SuperLU factors of a batch of Darcy matrices, in the cached fill-reducing order.

    Args:
        diag: Diagonals, shape ``(B, n, n)``.
        tx: x-face transmissibilities, shape ``(B, n, n - 1)``.
        ty: y-face transmissibilities, shape ``(B, n - 1, n)``.
    """

    def __init__(self, diag: np.ndarray, tx: np.ndarray, ty: np.ndarray) -> None:
        self.perm = fill_reducing_order(diag.shape[-1])
        # Symmetric mode without pivoting: stable for this SPD matrix, and the ordering is kept as given.
        self.lus = [
            spla.splu(csc_from_parts(d, x, y, permuted=True), permc_spec="NATURAL", **_SPLU_KW)
            for d, x, y in zip(diag, tx, ty, strict=True)
        ]

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """Solve ``A x = rhs`` (also the adjoint solve, ``A`` being symmetric) for every instance.

        Args:
            rhs: Right-hand sides in grid layout, shape ``(B, n, n)``.

        Returns:
            Solutions, float64, shape ``(B, n, n)``.
        """
        flat = rhs.reshape(rhs.shape[0], -1)
        out = np.empty(flat.shape)
        for b, lu in enumerate(self.lus):
            out[b, self.perm] = lu.solve(np.ascontiguousarray(flat[b, self.perm], dtype=np.float64))
        return out.reshape(rhs.shape)
