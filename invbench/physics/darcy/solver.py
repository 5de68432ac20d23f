"""Differentiable steady Darcy flow solver: ``-div(k grad u) = f`` on the unit square.

The discretisation (cell-centred finite volumes, two-point fluxes with harmonic averaging) lives in
:mod:`invbench.physics.darcy.fv`; this module adds the solvers and the adjoint gradient, and re-exports the
public names, so ``from invbench.physics.darcy.solver import ...`` is all a user needs.

Parameterisation: the unknown is the natural log of the conductivity, ``log_k``, per cell. With
``A(k) u = b(k)`` and a loss ``L(u)``, the adjoint field solves ``A lambda = dL/du`` (``A`` is symmetric, so
the forward factorisation is reused) and

    dL/dlog_k = -lambda^T d(A u - b)/dlog_k,

which, written per face, is ``-sum_F dT_F/dlog_k (lambda_P - lambda_N)(u_P - u_N)`` over interior faces with
``dT/dlog k_P = T k_N / (k_P + k_N)`` for the harmonic mean ``T = 2 k_P k_N / (k_P + k_N)``, plus
``-lambda_P T_F (u_P - g_F)`` over Dirichlet faces (``T_F = 2 k_P``). Everything is vectorised over cells.

Backends: ``"scipy"`` factorises each instance with SuperLU (``splu`` in symmetric mode without pivoting,
on a minimum-degree order of ``A + A^T`` cached per grid size; see :mod:`invbench.physics.darcy.sparse`) and
reuses the factors for the adjoint solve. ``"torch"`` uses the batched block-Cholesky solver of
:mod:`invbench.physics.darcy.blocktri` (see its docstring for why), which runs on any device. ``"auto"``
picks ``"scipy"`` for CPU tensors and ``"torch"`` otherwise. Both compute in float64 and return the input's
dtype.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from invbench.physics.darcy.blocktri import BlockTridiagFactor, factorize
from invbench.physics.darcy.fv import (
    BoundaryCondition,
    DarcyProblem,
    assemble,
    boundary_terms,
    cell_centres,
    check_log_k,
    diagonal,
    face_transmissibilities,
    flux_balance,
    log_conductivity,
    source_term,
)
from invbench.physics.darcy.sparse import SparseFactors

__all__ = [
    "Backend",
    "BoundaryCondition",
    "DarcyProblem",
    "assemble",
    "cell_centres",
    "darcy_solve",
    "face_transmissibilities",
    "flux_balance",
    "log_conductivity",
    "log_k_gradient",
    "solve_head",
]

Backend = Literal["auto", "scipy", "torch"]


def log_k_gradient(k: Any, u: Any, lam: Any, problem: DarcyProblem) -> Any:
    """Gradient of a loss with respect to ``log k`` from the forward and adjoint fields.

    Works on numpy arrays and torch tensors alike, with any leading batch dimensions.

    Args:
        k: Conductivity, shape ``(..., n, n)``.
        u: Forward head, shape ``(..., n, n)``.
        lam: Adjoint field (solution of ``A lam = dL/du``), shape ``(..., n, n)``.
        problem: The Darcy problem.

    Returns:
        ``dL/dlog_k``, shape ``(..., n, n)``.
    """
    tx, ty = face_transmissibilities(k)
    bdiag, brhs = boundary_terms(k, problem)
    grad = -lam * (bdiag * u - brhs)
    gx = (
        (lam[..., :, :-1] - lam[..., :, 1:])
        * (u[..., :, :-1] - u[..., :, 1:])
        * tx
        / (k[..., :, :-1] + k[..., :, 1:])
    )
    grad[..., :, :-1] -= gx * k[..., :, 1:]
    grad[..., :, 1:] -= gx * k[..., :, :-1]
    gy = (
        (lam[..., :-1, :] - lam[..., 1:, :])
        * (u[..., :-1, :] - u[..., 1:, :])
        * ty
        / (k[..., :-1, :] + k[..., 1:, :])
    )
    grad[..., :-1, :] -= gy * k[..., 1:, :]
    grad[..., 1:, :] -= gy * k[..., :-1, :]
    return grad


def _scipy_factor_solve(
    k: np.ndarray, problem: DarcyProblem, rhs: np.ndarray
) -> tuple[np.ndarray, SparseFactors]:
    """Factorise each instance with SuperLU and solve; ``k`` and ``rhs`` have shape ``(B, n, n)``."""
    tx, ty = face_transmissibilities(k)
    bdiag, _ = boundary_terms(k, problem)
    factors = SparseFactors(diagonal(tx, ty, bdiag), tx, ty)
    return factors.solve(rhs), factors


def solve_head(log_k: np.ndarray, problem: DarcyProblem, source: np.ndarray | None = None) -> np.ndarray:
    """Solve the Darcy problem in numpy (no autograd), one SuperLU factorisation per field.

    Args:
        log_k: Log-conductivity, shape ``(n, n)`` or ``(B, n, n)`` with ``n == problem.n``.
        problem: The Darcy problem.
        source: Optional source field ``f`` at the cell centres, shape ``(n, n)``, overriding
            ``problem.source``.

    Returns:
        The head at the cell centres, float64, with the shape of ``log_k``.

    Raises:
        ValueError: On a bad shape or non-finite values.
    """
    single = np.ndim(log_k) == 2
    lk = check_log_k(np.asarray(log_k)[None] if single else log_k, problem.n, batched=True)
    k = np.exp(lk)
    rhs = source_term(problem, source) + boundary_terms(k, problem)[1]
    u, _ = _scipy_factor_solve(k, problem, rhs)
    return u[0] if single else u


class _DarcySolve(torch.autograd.Function):
    """``u = A(exp(log_k))^{-1} b(exp(log_k))``; the adjoint backward reuses the forward factors."""

    @staticmethod
    def forward(ctx: Any, log_k: torch.Tensor, problem: DarcyProblem, backend: str) -> torch.Tensor:
        ctx.problem = problem
        ctx.backend = backend
        if backend == "scipy":
            k = np.exp(log_k.detach().to("cpu", torch.float64).numpy())
            rhs = source_term(problem) + boundary_terms(k, problem)[1]
            u, ctx.factors = _scipy_factor_solve(k, problem, rhs)
            ctx.k, ctx.u = k, u
            return torch.tensor(u, device=log_k.device, dtype=log_k.dtype)  # a copy: ctx.u stays intact
        k = torch.exp(log_k.detach().to(torch.float64))
        tx, ty = face_transmissibilities(k)
        bdiag, brhs = boundary_terms(k, problem)
        factor = factorize(diagonal(tx, ty, bdiag), tx, ty)
        rhs = brhs + torch.as_tensor(source_term(problem), dtype=k.dtype, device=k.device)
        u = factor.solve(rhs)
        ctx.factors, ctx.k, ctx.u = factor, k, u
        return u.to(dtype=log_k.dtype, copy=True)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_u: torch.Tensor) -> tuple[torch.Tensor | None, None, None]:
        if not ctx.needs_input_grad[0]:
            return None, None, None
        if ctx.backend == "scipy":
            lam = ctx.factors.solve(grad_u.detach().to("cpu", torch.float64).numpy())
            grad = log_k_gradient(ctx.k, ctx.u, lam, ctx.problem)
            return torch.from_numpy(grad).to(device=grad_u.device, dtype=grad_u.dtype), None, None
        factor: BlockTridiagFactor = ctx.factors
        lam_t = factor.solve(grad_u.detach().to(torch.float64))
        grad_t = log_k_gradient(ctx.k, ctx.u, lam_t, ctx.problem)
        return grad_t.to(dtype=grad_u.dtype), None, None


def _check_tensor(log_k: torch.Tensor, n: int) -> None:
    if not isinstance(log_k, torch.Tensor):
        raise TypeError(f"log_k must be a torch.Tensor, got {type(log_k).__name__}")
    if log_k.ndim != 3:
        raise ValueError(f"log_k must have shape (B, n, n), got {log_k.ndim} dims {tuple(log_k.shape)}")
    if log_k.shape[0] < 1 or log_k.shape[1] != n or log_k.shape[2] != n:
        raise ValueError(f"log_k must have shape (B, {n}, {n}) with B >= 1, got {tuple(log_k.shape)}")
    if not log_k.is_floating_point():
        raise ValueError(f"log_k must be a floating-point tensor, got {log_k.dtype}")
    if not bool(torch.isfinite(log_k).all()):
        raise ValueError("log_k contains non-finite values (nan or inf)")


def darcy_solve(
    log_k: torch.Tensor, problem: DarcyProblem | None = None, *, backend: Backend = "auto"
) -> torch.Tensor:
    """Differentiable Darcy solve: hydraulic head at the cell centres for a batch of log-conductivity fields.

    Args:
        log_k: Natural log of the conductivity, shape ``(B, n, n)``, floating point, indexed ``[y, x]``.
        problem: The Darcy problem; ``None`` means ``DarcyProblem(n=log_k.shape[-1])`` (zero head, ``f = 1``).
        backend: ``"scipy"`` (SuperLU on CPU), ``"torch"`` (batched block Cholesky on the tensor's device), or
            ``"auto"`` (``"scipy"`` for CPU tensors, ``"torch"`` otherwise).

    Returns:
        The head ``u``, shape ``(B, n, n)``, same dtype and device as ``log_k``. ``u.backward`` (or
        ``torch.autograd.grad``) gives ``dL/dlog_k`` by one adjoint solve per instance on the forward factors.

    Raises:
        TypeError: If ``log_k`` is not a tensor.
        ValueError: On a wrong shape, non-floating dtype, non-finite values or an unknown backend.
    """
    if problem is None:
        n = log_k.shape[-1] if isinstance(log_k, torch.Tensor) and log_k.ndim >= 1 else 64
        problem = DarcyProblem(n=n)
    _check_tensor(log_k, problem.n)
    if backend == "auto":
        backend = "scipy" if log_k.device.type == "cpu" else "torch"
    if backend not in ("scipy", "torch"):
        raise ValueError(f"backend must be 'auto', 'scipy' or 'torch', got {backend!r}")
    return _DarcySolve.apply(log_k, problem, backend)
