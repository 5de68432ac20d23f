"""Tests for the finite-volume Darcy solver and its adjoint gradient."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse.linalg as spla
import torch

from invbench.physics.darcy.fv import face_transmissibilities
from invbench.physics.darcy.solver import (
    DarcyProblem,
    assemble,
    cell_centres,
    darcy_solve,
    flux_balance,
    log_conductivity,
    solve_head,
)
from invbench.physics.darcy.sparse import csc_from_parts, fill_reducing_order

BCS = ("dirichlet0", "head_drop")
PI = np.pi


def _random_log_k(shape: tuple[int, ...], seed: int = 0, scale: float = 1.0) -> np.ndarray:
    return scale * np.random.default_rng(seed).standard_normal(shape)


# --- manufactured solution ----------------------------------------------------------------------------------


def _k(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.exp(0.5 * np.sin(2 * PI * x) * np.cos(PI * y) + 0.3 * x)


def _grad_k(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    k = _k(x, y)
    return k * (PI * np.cos(2 * PI * x) * np.cos(PI * y) + 0.3), k * (
        -0.5 * PI * np.sin(2 * PI * x) * np.sin(PI * y)
    )


def _manufactured(bc: str, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact solution and source f = -div(k grad u) for each boundary condition."""
    s, c = np.sin, np.cos
    if bc == "dirichlet0":  # u = 0 on the whole boundary
        u = s(PI * x) * s(PI * y)
        ux, uy = PI * c(PI * x) * s(PI * y), PI * s(PI * x) * c(PI * y)
        lap = -2 * PI**2 * u
    else:  # u(0, y) = 1, u(1, y) = 0, du/dy = 0 at y = 0 and y = 1
        u = 1 - x + s(PI * x) * c(PI * y)
        ux, uy = -1 + PI * c(PI * x) * c(PI * y), -PI * s(PI * x) * s(PI * y)
        lap = -2 * PI**2 * s(PI * x) * c(PI * y)
    kx, ky = _grad_k(x, y)
    return u, -(_k(x, y) * lap + kx * ux + ky * uy)


@pytest.mark.parametrize("bc", BCS)
def test_second_order_convergence(bc):
    errors = []
    for n in (16, 32, 64, 128):
        x, y = cell_centres(n)
        u_exact, f = _manufactured(bc, x, y)
        u = solve_head(np.log(_k(x, y)), DarcyProblem(n=n, bc=bc), source=f)
        errors.append((np.sqrt(np.mean((u - u_exact) ** 2)), np.max(np.abs(u - u_exact))))
    e = np.array(errors)
    orders = np.log2(e[:-1] / e[1:])
    assert np.all(orders[:, 0] > 1.95), orders  # discrete L2
    assert np.all(orders[:, 1] > 1.9), orders  # max norm
    assert e[-1, 0] < 1e-4


def test_linear_head_drop_is_exact():
    """Constant k, no source: the scheme reproduces u = 1 - x exactly, boundary cells included."""
    n = 10
    x, _ = cell_centres(n)
    u = solve_head(np.full((n, n), 0.7), DarcyProblem(n=n, bc="head_drop"))
    np.testing.assert_allclose(u, 1.0 - x, rtol=0, atol=1e-13)


# --- adjoint gradient ---------------------------------------------------------------------------------------


def _loss_np(u: np.ndarray, w: np.ndarray) -> float:
    return float(np.sum(w * u) + 0.5 * np.sum(u**2))


@pytest.mark.parametrize("backend", ["scipy", "torch"])
@pytest.mark.parametrize("bc", BCS)
def test_gradient_matches_central_differences(bc, backend):
    n = 10
    problem = DarcyProblem(n=n, bc=bc)
    log_k = _random_log_k((2, n, n), seed=1)
    w = _random_log_k((2, n, n), seed=2)
    lk = torch.tensor(log_k, requires_grad=True)
    u = darcy_solve(lk, problem, backend=backend)
    (torch.sum(torch.from_numpy(w) * u) + 0.5 * torch.sum(u**2)).backward()
    grad = lk.grad.numpy()

    eps = 1e-5
    cells = [(0, 0, 0), (0, 0, n - 1), (1, n - 1, 4), (1, 5, 5), (0, 3, 7), (1, 9, 0)]
    for b, i, j in cells:
        plus, minus = log_k[b].copy(), log_k[b].copy()
        plus[i, j] += eps
        minus[i, j] -= eps
        fd = (_loss_np(solve_head(plus, problem), w[b]) - _loss_np(solve_head(minus, problem), w[b])) / (
            2 * eps
        )
        assert abs(grad[b, i, j] - fd) <= 1e-4 * abs(fd), (b, i, j, grad[b, i, j], fd)

    # Directional derivative along a random direction, all cells at once.
    d = _random_log_k((2, n, n), seed=3)
    fp = _loss_np(solve_head(log_k + eps * d, problem), w)
    fm = _loss_np(solve_head(log_k - eps * d, problem), w)
    fd = (fp - fm) / (2 * eps)
    assert abs(np.sum(grad * d) - fd) <= 1e-4 * abs(fd)


@pytest.mark.parametrize("backend", ["scipy", "torch"])
@pytest.mark.parametrize("bc", BCS)
def test_gradcheck(bc, backend):
    lk = torch.tensor(_random_log_k((2, 5, 5), seed=4), requires_grad=True)
    problem = DarcyProblem(n=5, bc=bc)
    # fast_mode (random directions) keeps the torch path cheap on CPU, where tiny LAPACK calls are slow.
    fast = backend == "torch"
    assert torch.autograd.gradcheck(lambda t: darcy_solve(t, problem, backend=backend), (lk,), fast_mode=fast)


# --- operator properties ------------------------------------------------------------------------------------


@pytest.mark.parametrize("bc", BCS)
def test_operator_symmetric_positive_definite(bc):
    n = 8
    a, _ = assemble(_random_log_k((n, n), seed=5, scale=2.0), DarcyProblem(n=n, bc=bc))
    assert a.shape == (n * n, n * n)
    assert (a != a.T).nnz == 0  # exact symmetry
    assert np.linalg.eigvalsh(a.toarray()).min() > 0.0


@pytest.mark.parametrize(
    ("bc", "source"), [("dirichlet0", None), ("dirichlet0", -2.5), ("head_drop", None), ("head_drop", 3.0)]
)
def test_flux_balance(bc, source):
    n = 24
    problem = DarcyProblem(n=n, bc=bc, source=source)
    log_k = _random_log_k((n, n), seed=6)
    u = solve_head(log_k, problem)
    outflow, source_integral = flux_balance(log_k, u, problem)
    expected = {None: 1.0 if bc == "dirichlet0" else 0.0}.get(source, source)
    assert source_integral == pytest.approx(expected, abs=1e-14)
    k = np.exp(log_k)
    scale = np.sum(2 * k[:, [0, -1]] * np.abs(u[:, [0, -1]])) + 1.0  # size of the individual boundary fluxes
    assert abs(outflow - source_integral) <= 1e-12 * scale


def test_assemble_matches_solve_head_and_spsolve():
    problem = DarcyProblem(n=16)
    log_k = _random_log_k((16, 16), seed=7)
    a, rhs = assemble(log_k, problem)
    u_ref = spla.spsolve(a, rhs).reshape(16, 16)
    np.testing.assert_allclose(solve_head(log_k, problem), u_ref, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(np.sum(rhs), 1.0)  # f = 1 integrated over the unit square, zero boundary head


def test_permuted_pattern_is_symmetric_permutation():
    n = 9
    problem = DarcyProblem(n=n)
    log_k = _random_log_k((n, n), seed=10)
    a, _ = assemble(log_k, problem)
    perm = fill_reducing_order(n)
    assert np.array_equal(np.sort(perm), np.arange(n * n))
    k = np.exp(log_k)
    tx, ty = face_transmissibilities(k)
    d = a.diagonal().reshape(n, n)
    ap = csc_from_parts(d, tx, ty, permuted=True)
    assert abs(ap - a[perm][:, perm]).max() == 0.0


def test_output_does_not_alias_saved_state():
    lk = torch.tensor(_random_log_k((1, 8, 8), seed=11), requires_grad=True)
    u = darcy_solve(lk, DarcyProblem(n=8))
    (g_ref,) = torch.autograd.grad(u.sum(), lk, retain_graph=True)
    with torch.no_grad():
        u.mul_(3.0)  # must not change what the backward pass uses
    (g,) = torch.autograd.grad(u.sum(), lk)
    torch.testing.assert_close(g, g_ref)


# --- backends -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bc", BCS)
def test_scipy_and_torch_backends_agree(bc):
    n = 16
    problem = DarcyProblem(n=n, bc=bc)
    w = torch.from_numpy(_random_log_k((3, n, n), seed=8))
    results = []
    for backend in ("scipy", "torch"):
        lk = torch.tensor(_random_log_k((3, n, n), seed=9, scale=1.5), requires_grad=True)
        u = darcy_solve(lk, problem, backend=backend)
        torch.sum(w * u).backward()
        results.append((u.detach(), lk.grad))
    (u_s, g_s), (u_t, g_t) = results
    torch.testing.assert_close(u_t, u_s, rtol=1e-10, atol=1e-13)
    torch.testing.assert_close(g_t, g_s, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("backend", ["auto", "scipy", "torch"])
def test_dtype_preserved_and_default_problem(backend):
    lk = torch.zeros(2, 8, 8, dtype=torch.float32, requires_grad=True)
    u = darcy_solve(lk, backend=backend)
    assert u.dtype == torch.float32 and u.shape == (2, 8, 8)
    u.sum().backward()
    assert lk.grad.dtype == torch.float32
    ref = solve_head(np.zeros((8, 8)), DarcyProblem(n=8))
    np.testing.assert_allclose(u[1].detach().numpy(), ref, rtol=1e-6)


def test_cell_centres():
    x, y = cell_centres(4)
    np.testing.assert_allclose(x[0], [0.125, 0.375, 0.625, 0.875])
    np.testing.assert_allclose(y[:, 0], [0.125, 0.375, 0.625, 0.875])
    assert np.all(x[:, 1] == 0.375)


# --- input validation ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (torch.full((1, 8, 8), float("nan")), "non-finite"),
        (torch.full((1, 8, 8), float("inf")), "non-finite"),
        (torch.zeros(8, 8), "shape"),
        (torch.zeros(1, 1, 8, 8), "shape"),
        (torch.zeros(1, 8, 6), "shape"),
        (torch.zeros(1, 6, 6), "shape"),
        (torch.zeros(0, 8, 8), "shape"),
        (torch.zeros(1, 8, 8, dtype=torch.int64), "floating"),
    ],
)
def test_darcy_solve_rejects_bad_input(bad, match):
    with pytest.raises(ValueError, match=match):
        darcy_solve(bad, DarcyProblem(n=8))


def test_other_bad_inputs():
    problem = DarcyProblem(n=8)
    with pytest.raises(TypeError):
        darcy_solve(np.zeros((1, 8, 8)), problem)
    with pytest.raises(ValueError, match="backend"):
        darcy_solve(torch.zeros(1, 8, 8), problem, backend="cuda")
    with pytest.raises(ValueError, match="bc"):
        DarcyProblem(bc="neumann")
    with pytest.raises(ValueError, match="n"):
        DarcyProblem(n=1)
    with pytest.raises(ValueError, match="shape"):
        assemble(np.zeros((8, 9)), problem)
    with pytest.raises(ValueError, match="shape"):
        assemble(np.zeros((1, 8, 8)), problem)
    with pytest.raises(ValueError, match="non-finite"):
        assemble(np.full((8, 8), np.nan), problem)
    with pytest.raises(ValueError, match="shape"):
        solve_head(np.zeros((8, 8)), problem, source=np.ones((4, 4)))
    with pytest.raises(ValueError, match="positive"):
        log_conductivity(np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="positive"):
        log_conductivity(np.array([1.0, -2.0]))
    with pytest.raises(ValueError, match="non-finite"):
        log_conductivity(np.array([np.inf]))
    np.testing.assert_allclose(log_conductivity(np.array([1.0, np.e])), [0.0, 1.0])
