"""Benchmarks of the Darcy solver at 64 x 64: forward + adjoint beside a plain spsolve of the same system.

Run with ``pytest tests/benchmarks/test_bench_darcy.py --benchmark-only`` (skipped by the default addopts).
Nothing here asserts on time; the numbers are recorded by pytest-benchmark.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse.linalg as spla
import torch

from invbench.data.darcy_fields import grf_log_k
from invbench.physics.darcy.solver import DarcyProblem, assemble, darcy_solve

N = 64


@pytest.fixture(scope="module")
def log_k() -> np.ndarray:
    return grf_log_k(1, 0, n=N)


@pytest.mark.benchmark(group="darcy-64")
def test_forward_adjoint_64(benchmark, log_k):
    """One differentiable solve (assemble, SuperLU factorise, solve) + backward (adjoint solve, gradient)."""
    problem = DarcyProblem(n=N)
    lk = torch.tensor(log_k, requires_grad=True)
    w = torch.from_numpy(np.random.default_rng(1).standard_normal((1, N, N)))

    def run() -> torch.Tensor:
        lk.grad = None
        loss = torch.sum((darcy_solve(lk, problem) - w) ** 2)
        loss.backward()
        return lk.grad

    grad = benchmark(run)
    assert grad.shape == (1, N, N) and torch.isfinite(grad).all()


@pytest.mark.benchmark(group="darcy-64")
def test_spsolve_64(benchmark, log_k):
    """Reference: scipy.sparse.linalg.spsolve of the same assembled system (forward only, default options)."""
    a, rhs = assemble(log_k[0], DarcyProblem(n=N))
    u = benchmark(spla.spsolve, a, rhs)
    assert u.shape == (N * N,)


@pytest.mark.benchmark(group="darcy-64")
def test_assemble_64(benchmark, log_k):
    """Assembly alone (vectorised values on a cached CSC pattern)."""
    a, _ = benchmark(assemble, log_k[0], DarcyProblem(n=N))
    assert a.nnz == 5 * N * N - 4 * N
