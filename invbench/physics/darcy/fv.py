"""Cell-centred finite-volume discretisation of steady Darcy flow.

Solves ``-div(k grad u) = f`` on the unit square with an ``n x n`` grid of square cells of side ``h = 1/n``.
Arrays are indexed ``[row, column] = [y, x]``: ``u[i, j]`` is the head at
``(x, y) = ((j + 1/2) h, (i + 1/2) h)``, so column 0 touches the left boundary ``x = 0`` and row 0 the bottom
boundary ``y = 0``.

The scheme is the two-point flux approximation. Integrating over cell ``P`` gives, for every cell,

    sum over faces F of P:  T_F (u_P - u_F) = f_P h^2,

where for an interior face ``u_F`` is the neighbour's head and ``T_F = 2 k_P k_N / (k_P + k_N)`` (the harmonic
mean of the two conductivities; face length ``h`` over centre distance ``h``), and for a Dirichlet boundary
face ``u_F`` is the prescribed head and ``T_F = 2 k_P`` (the cell's own ``k``, face length ``h`` over
half-cell distance ``h/2``). No-flow faces contribute nothing. The resulting matrix is symmetric positive
definite whenever at least one face is Dirichlet. This module is backend-agnostic where it can be: the
transmissibility helpers use only slicing and arithmetic, so they accept numpy arrays and torch tensors with
any leading batch dimensions.

Boundary conditions (``DarcyProblem.bc``):

* ``"dirichlet0"``: ``u = 0`` on the whole boundary, source ``f = 1`` by default (Li et al. 2020, FNO
  Darcy; PDEBench).
* ``"head_drop"``: ``u = head_left`` at ``x = 0``, ``u = head_right`` at ``x = 1``, no flow through
  ``y = 0`` and ``y = 1``; source ``f = 0`` by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
import torch

from invbench.physics.darcy.sparse import csc_from_parts

BoundaryCondition = Literal["dirichlet0", "head_drop"]
_BCS: tuple[str, ...] = ("dirichlet0", "head_drop")


@dataclass(frozen=True)
class DarcyProblem:
    """Specification of a steady Darcy problem on the unit square.

    Attributes:
        n: Number of cells per side (the grid is ``n x n``, cell size ``1/n``).
        bc: ``"dirichlet0"`` (zero head on the whole boundary) or ``"head_drop"`` (fixed heads left and right,
            no flow top and bottom).
        source: Uniform source term ``f``. ``None`` (the default) resolves to 1.0 for ``"dirichlet0"`` and 0.0
            for ``"head_drop"``; after construction it is always a float.
        head_left: Prescribed head at ``x = 0`` for ``"head_drop"`` (ignored otherwise).
        head_right: Prescribed head at ``x = 1`` for ``"head_drop"`` (ignored otherwise).
    """

    n: int = 64
    bc: BoundaryCondition = "dirichlet0"
    source: float | None = None
    head_left: float = 1.0
    head_right: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.n, bool) or not isinstance(self.n, (int, np.integer)) or self.n < 2:
            raise ValueError(f"DarcyProblem.n must be an integer >= 2, got {self.n!r}")
        if self.bc not in _BCS:
            raise ValueError(f"DarcyProblem.bc must be one of {_BCS}, got {self.bc!r}")
        source = (1.0 if self.bc == "dirichlet0" else 0.0) if self.source is None else float(self.source)
        if not np.isfinite(source) or not np.isfinite(self.head_left) or not np.isfinite(self.head_right):
            raise ValueError("DarcyProblem.source, head_left and head_right must be finite")
        object.__setattr__(self, "n", int(self.n))
        object.__setattr__(self, "source", source)

    @property
    def h(self) -> float:
        """Cell size ``1/n``."""
        return 1.0 / self.n


def cell_centres(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of the cell centres of an ``n x n`` grid on the unit square.

    Args:
        n: Number of cells per side.

    Returns:
        ``(x, y)``, two float64 arrays of shape ``(n, n)`` indexed ``[row, column]``:
        ``x[i, j] = (j + 1/2)/n`` and ``y[i, j] = (i + 1/2)/n``.
    """
    c = (np.arange(n, dtype=np.float64) + 0.5) / n
    x, y = np.meshgrid(c, c, indexing="xy")
    return x, y


@lru_cache(maxsize=32)
def dirichlet_faces(n: int, bc: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-cell count of Dirichlet boundary faces and sum of their prescribed unit heads.

    Args:
        n: Number of cells per side.
        bc: Boundary condition name.

    Returns:
        ``(count, left_mask)``: ``count[i, j]`` is the number of Dirichlet faces of cell ``(i, j)`` (0 to 2),
        and ``left_mask`` is 1.0 on cells touching ``x = 0`` and 0.0 elsewhere (used for ``head_drop``). Both
        are read-only float64 arrays of shape ``(n, n)``.
    """
    count = np.zeros((n, n))
    left = np.zeros((n, n))
    count[:, 0] += 1.0
    count[:, -1] += 1.0
    if bc == "dirichlet0":
        count[0, :] += 1.0
        count[-1, :] += 1.0
    left[:, 0] = 1.0
    count.flags.writeable = False
    left.flags.writeable = False
    return count, left


def face_transmissibilities(k: Any) -> tuple[Any, Any]:
    """Harmonic-mean transmissibilities of the interior faces.

    Works on numpy arrays and torch tensors alike (slicing and arithmetic only).

    Args:
        k: Conductivity, shape ``(..., n, n)``, strictly positive.

    Returns:
        ``(tx, ty)``: ``tx`` of shape ``(..., n, n-1)`` for the faces between columns ``j`` and ``j+1``, and
        ``ty`` of shape ``(..., n-1, n)`` for the faces between rows ``i`` and ``i+1``.
    """
    kl, kr = k[..., :, :-1], k[..., :, 1:]
    kb, kt = k[..., :-1, :], k[..., 1:, :]
    return 2.0 * kl * kr / (kl + kr), 2.0 * kb * kt / (kb + kt)


def boundary_terms(k: Any, problem: DarcyProblem) -> tuple[Any, Any]:
    """Dirichlet boundary contributions to the diagonal and to the right-hand side.

    Args:
        k: Conductivity, shape ``(..., n, n)`` (numpy array or torch tensor).
        problem: The Darcy problem.

    Returns:
        ``(bdiag, brhs)`` of shape ``(..., n, n)``: the sum of ``2 k_P`` over the Dirichlet faces of each
        cell, and the sum of ``2 k_P g`` with ``g`` the prescribed head on those faces.
    """
    count, left = dirichlet_faces(problem.n, problem.bc)
    two_k = 2.0 * k
    bdiag = two_k * _like(count, k)
    if problem.bc == "dirichlet0":
        return bdiag, two_k * 0.0
    ghead = problem.head_left * left + problem.head_right * left[:, ::-1]
    return bdiag, two_k * _like(ghead, k)


def _like(const: np.ndarray, ref: Any) -> Any:
    """Return a numpy constant in the backend of ``ref`` (torch on its device and dtype, or numpy)."""
    if not isinstance(ref, torch.Tensor):
        return const
    return torch.tensor(const, dtype=ref.dtype, device=ref.device)


def diagonal(tx: Any, ty: Any, bdiag: Any) -> Any:
    """Diagonal of the finite-volume matrix: boundary terms plus the incident interior transmissibilities."""
    d = bdiag.clone() if hasattr(bdiag, "clone") else bdiag.copy()
    d[..., :, :-1] += tx
    d[..., :, 1:] += tx
    d[..., :-1, :] += ty
    d[..., 1:, :] += ty
    return d


def check_log_k(log_k: np.ndarray, n: int | None = None, *, batched: bool = False) -> np.ndarray:
    """Validate a log-conductivity array and return it as float64.

    Args:
        log_k: Log-conductivity, shape ``(n, n)`` (or ``(B, n, n)`` when ``batched``).
        n: Expected grid size, or ``None`` to accept any square grid.
        batched: Whether a leading batch dimension is expected.

    Returns:
        The array as contiguous float64.

    Raises:
        ValueError: On a wrong number of dimensions, a non-square or wrongly sized grid, or non-finite values.
    """
    arr = np.asarray(log_k)
    ndim = 3 if batched else 2
    shape_txt = "(B, n, n)" if batched else "(n, n)"
    if arr.ndim != ndim:
        raise ValueError(f"log_k must have shape {shape_txt}, got an array with {arr.ndim} dims {arr.shape}")
    if arr.shape[-1] != arr.shape[-2] or (n is not None and arr.shape[-1] != n):
        want = f"n = {n}" if n is not None else "a square grid"
        raise ValueError(f"log_k must have shape {shape_txt} with {want}, got {arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating) and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"log_k must be real-valued, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError("log_k contains non-finite values (nan or inf)")
    return arr


def log_conductivity(k: np.ndarray) -> np.ndarray:
    """Convert a conductivity field to log-conductivity, checking that it is finite and strictly positive.

    Args:
        k: Conductivity, any shape.

    Returns:
        ``log(k)`` as float64.

    Raises:
        ValueError: If ``k`` has non-finite or non-positive entries.
    """
    arr = np.asarray(k, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError("conductivity k contains non-finite values (nan or inf)")
    if np.any(arr <= 0.0):
        raise ValueError(f"conductivity k must be strictly positive, got min {arr.min():.3g}")
    return np.log(arr)


def assemble(
    log_k: np.ndarray, problem: DarcyProblem, source: np.ndarray | None = None
) -> tuple[sp.csc_matrix, np.ndarray]:
    """Assemble the finite-volume system ``A u = rhs`` for one conductivity field.

    The sparsity pattern is cached per grid size; each call only computes the values (vectorised).

    Args:
        log_k: Natural log of the conductivity, shape ``(n, n)`` with ``n == problem.n``.
        problem: The Darcy problem.
        source: Optional source field ``f`` at the cell centres, shape ``(n, n)``, overriding
            ``problem.source``.

    Returns:
        ``(A, rhs)``: ``A`` is an ``(n*n, n*n)`` symmetric positive definite ``scipy.sparse.csc_matrix`` and
        ``rhs`` an ``(n*n,)`` float64 vector; unknowns are the cell heads flattened row-major
        (``index = i * n + j``).

    Raises:
        ValueError: On bad ``log_k`` or ``source`` shape or non-finite values.
    """
    n = problem.n
    lk = check_log_k(log_k, n)
    k = np.exp(lk)
    tx, ty = face_transmissibilities(k)
    bdiag, brhs = boundary_terms(k, problem)
    a = csc_from_parts(diagonal(tx, ty, bdiag), tx, ty)
    return a, (source_term(problem, source) + brhs).ravel()


def source_term(problem: DarcyProblem, source: np.ndarray | None = None) -> np.ndarray:
    """Integrated source ``f h^2`` per cell, shape ``(n, n)``.

    Args:
        problem: The Darcy problem (its uniform ``source`` is used when ``source`` is ``None``).
        source: Optional source field at the cell centres, shape ``(n, n)``.

    Returns:
        The float64 array ``f * h**2``.

    Raises:
        ValueError: If ``source`` has the wrong shape or non-finite values.
    """
    n = problem.n
    if source is None:
        return np.full((n, n), float(problem.source) * problem.h**2)
    f = np.asarray(source, dtype=np.float64)
    if f.shape != (n, n):
        raise ValueError(f"source must have shape ({n}, {n}), got {f.shape}")
    if not np.all(np.isfinite(f)):
        raise ValueError("source contains non-finite values (nan or inf)")
    return f * problem.h**2


def flux_balance(
    log_k: np.ndarray, u: np.ndarray, problem: DarcyProblem, source: np.ndarray | None = None
) -> tuple[float, float]:
    """Net outflow through the Dirichlet boundary and the integral of the source.

    For a discrete solution the two agree to round-off (local conservation summed over all cells: the interior
    fluxes cancel in pairs).

    Args:
        log_k: Log-conductivity, shape ``(n, n)``.
        u: Head at the cell centres, shape ``(n, n)``.
        problem: The Darcy problem.
        source: Optional source field overriding ``problem.source``, shape ``(n, n)``.

    Returns:
        ``(outflow, source_integral)``: the total flux ``sum T_F (u_P - g_F)`` leaving through the Dirichlet
        faces, and ``sum f h^2`` (the source integrated over the domain).

    Raises:
        ValueError: On bad shapes or non-finite values.
    """
    k = np.exp(check_log_k(log_k, problem.n))
    uu = np.asarray(u, dtype=np.float64)
    if uu.shape != (problem.n, problem.n):
        raise ValueError(f"u must have shape ({problem.n}, {problem.n}), got {uu.shape}")
    bdiag, brhs = boundary_terms(k, problem)
    return float(np.sum(bdiag * uu - brhs)), float(np.sum(source_term(problem, source)))
