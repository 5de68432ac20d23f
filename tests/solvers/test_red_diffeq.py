"""RED-DiffEq on FWI-Tiny with a tiny, briefly trained prior."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from invbench.core.solver import load_solver_class
from invbench.nn.diffusion.checkpoint import load_prior
from invbench.registry import make
from invbench.tasks.fwi.metrics import velocity_metrics
from solvers.red_diffeq.solver import REDDiffEq, red_regularizer, time_weight
from solvers.red_diffeq.windows import window_starts, windowed_regularizer

from .conftest import FAST_FWI, solve_tiny, tiny_env


def _solve(prior, seed=0, budget=100, **params):
    env, solver, est, progress = solve_tiny(REDDiffEq, prior, seed=seed, budget=budget, **params)
    return env, solver, est, [p.misfit for p in progress]


def test_registered_and_named():
    assert load_solver_class("red-diffeq") is REDDiffEq


def test_missing_checkpoint_is_a_skip_reason():
    env = make("FWI-Tiny-v0", **FAST_FWI)
    reason = REDDiffEq(prior="no-such-prior").applies_to(env)
    assert reason is not None and "no trained prior checkpoint 'no-such-prior'" in reason
    assert "invbench train-prior" in reason
    # The default is the domain's shipped lite prior; either it is missing or it covers 70 x 70 maps.
    default_reason = REDDiffEq().applies_to(env)
    assert default_reason is not None and "fwi-lite" in default_reason
    darcy_reason = REDDiffEq().applies_to(make("Darcy-Tiny-v0"))
    assert darcy_reason is not None and "darcy-grf-lite" in darcy_reason
    assert REDDiffEq().resolve_params(env)["prior"] == "fwi-lite"


def test_a_prior_of_another_shape_or_domain_is_refused(tiny_fwi_prior):
    darcy = make("Darcy-Tiny-v0")
    assert "domain 'fwi'" in REDDiffEq(prior=str(tiny_fwi_prior)).applies_to(darcy)
    env = make("FWI-FlatVel-A-v0")
    assert "32 x 32" in REDDiffEq(prior=str(tiny_fwi_prior)).applies_to(env)


def test_runs_within_budget_and_stops_cleanly(tiny_fwi_prior):
    env, solver, est, misfits = _solve(tiny_fwi_prior, budget=11, iterations=300)
    base = env.unwrapped
    assert len(misfits) == 5 and base.counter.used == 10 <= base.budget
    assert est.shape == base.field_shape and est.min() >= 1500 and est.max() <= 4500
    (record,) = solver.weights()
    assert len(record["sha256"]) == len(record["manifest_sha256"]) == 64
    assert record["training"]["steps"] >= 1 and record["name"]


def test_deterministic_under_a_seed(tiny_fwi_prior):
    _, _, a, ma = _solve(tiny_fwi_prior, iterations=4)
    _, _, b, mb = _solve(tiny_fwi_prior, iterations=4)
    np.testing.assert_array_equal(a, b)
    assert ma == mb
    _, _, c, _ = _solve(tiny_fwi_prior, seed=1, iterations=4)
    assert not np.array_equal(a, c)


def test_lowers_the_model_error(tiny_fwi_prior):
    # The prior has seen 60 training steps only; the released lambda = 0.75 is kept.
    env, _, est, misfits = _solve(tiny_fwi_prior, iterations=30)
    inst = env.unwrapped.instance
    assert velocity_metrics(est, inst.truth)["mae"] < velocity_metrics(inst.initial, inst.truth)["mae"]
    assert misfits[-1] < misfits[0]


def test_time_weight_and_descending_schedule_run(tiny_fwi_prior):
    ts = []
    env = tiny_env(budget=100)
    solver = REDDiffEq(prior=str(tiny_fwi_prior), iterations=3, time_weight=True, t_schedule="descending")
    solver.setup(env)
    solver.solve(env, callback=lambda p: ts.append(p.info["t"]))
    assert ts == [999, 500, 0]


def _eps_hat(prior, x, t, eps):
    ab = float(prior.alpha_bar(t))
    x_t = ab**0.5 * x + (1 - ab) ** 0.5 * eps
    e = prior.eps(x_t, t)
    x0 = ((x_t - (1 - ab) ** 0.5 * e) / ab**0.5).clamp(-1, 1)
    return (x_t - ab**0.5 * x0) / (1 - ab) ** 0.5


@pytest.mark.parametrize("t", [0, 400, 999])
def test_regularizer_gradient_is_stopgrad_residual_over_n(tiny_fwi_prior, t):
    prior = load_prior(tiny_fwi_prior, device="cpu")
    g = torch.Generator().manual_seed(t)
    x = (torch.rand(1, 1, *prior.model_shape, generator=g) * 2 - 1).requires_grad_(True)
    eps = torch.randn(x.shape, generator=g)
    red_regularizer(prior, x, t, eps).backward()
    with torch.no_grad():
        expected = (_eps_hat(prior, x, t, eps) - eps) / x.numel()
    tol = 1e-4 * float(expected.abs().max())  # eps_hat - eps cancels in float32 at large t
    assert tol > 0
    torch.testing.assert_close(x.grad, expected, rtol=1e-4, atol=tol)
    x.grad = None
    w = time_weight(prior, t)
    red_regularizer(prior, x, t, eps, weight=w).backward()
    torch.testing.assert_close(x.grad, w * expected, rtol=1e-4, atol=w * tol)


def test_windows_cover_the_field_and_reduce_to_the_plain_regularizer(tiny_fwi_prior):
    assert window_starts(192, 72, 0.5) == [0, 36, 72, 108, 120]
    assert window_starts(72, 72, 0.5) == [0]
    prior = load_prior(tiny_fwi_prior, device="cpu")
    h, w = prior.model_shape
    g = torch.Generator().manual_seed(0)
    x = (torch.rand(1, 1, h, w, generator=g) * 2 - 1).requires_grad_(True)
    eps = torch.randn(x.shape, generator=g)
    torch.testing.assert_close(windowed_regularizer(prior, x, 10, eps), red_regularizer(prior, x, 10, eps))
    # Two windows overlapping by half: the shared columns get the mean of both windows' residuals.
    wide = (torch.rand(1, 1, h, w + w // 2, generator=g) * 2 - 1).requires_grad_(True)
    eps_w = torch.randn(wide.shape, generator=g)
    windowed_regularizer(prior, wide, 10, eps_w).backward()
    with torch.no_grad():
        left = _eps_hat(prior, wide[..., :w], 10, eps_w[..., :w]) - eps_w[..., :w]
        s = w // 2
        right = _eps_hat(prior, wide[..., s:], 10, eps_w[..., s:]) - eps_w[..., s:]
        expected = torch.zeros_like(wide)
        expected[..., :s] = left[..., :s]
        expected[..., s:w] = 0.5 * (left[..., s:] + right[..., : w - s])
        expected[..., w:] = right[..., w - s :]
    torch.testing.assert_close(wide.grad, expected / wide.numel(), rtol=1e-4, atol=1e-9)


def test_wider_model_than_the_prior_runs(tiny_fwi_prior):
    acq = {
        "nz": 32,
        "nx": 56,
        "dx": 10.0,
        "dt": 1e-3,
        "nt": 300,
        "src_x": [0, 28, 55],
        "src_z": 1,
        "rec_x": list(range(56)),
        "rec_z": 1,
        "freq": 15.0,
    }
    env = gym.make("invbench/FWI-Tiny-v0", acquisition=acq, budget=6, **FAST_FWI)
    env.reset(seed=0, options={"index": 0})
    solver = REDDiffEq(prior=str(tiny_fwi_prior), iterations=3)
    assert solver.applies_to(env) is None
    solver.setup(env)
    est = solver.solve(env)
    assert est.shape == (1, 32, 56) and env.unwrapped.counter.used == 6


def test_registered_wide_task_runs_with_the_shipped_prior_in_windows():
    """FWI-Wide-CurveVel-A (70 x 190), 70 x 70 fwi-lite prior: RED-DiffEq tiles it, diffusion-FWI skips."""
    env = make("FWI-Wide-CurveVel-A-v0")
    assert load_solver_class("diffusion-fwi")().applies_to(env) == (
        "prior 'fwi-lite' covers 70 x 70 fields, the task's are 70 x 190"
    )
    solver = REDDiffEq(iterations=2)
    assert solver.applies_to(env) is None
    env.reset(seed=0, options={"index": 0})
    solver.setup(env)
    assert tuple(solver.prior.normalization.model_shape) == (72, 72)
    est = solver.solve(env)
    initial = env.unwrapped.instance.initial
    assert est.shape == initial.shape == (1, 70, 190) and np.isfinite(est).all()
    assert env.unwrapped.counter.used == 4
    moved = np.abs(est - initial)
    assert moved[..., :70].max() > 1.0 and moved[..., -70:].max() > 1.0  # both ends of the model moved


@pytest.mark.parametrize("solver", ["red-diffeq", "diffusion-fwi"])
def test_harness_records_a_skip_without_a_prior_and_runs_with_one(solver, tiny_fwi_prior):
    from invbench.harness.cells import plan_cells
    from invbench.harness.execute import run_cell
    from invbench.harness.suites import get_suite

    def cell(params):
        (c,) = plan_cells(
            get_suite("smoke"), tasks=["FWI-Tiny-v0"], solvers=[solver], instances=1, user_params=params
        )
        return c

    skipped = run_cell(cell({solver: {"prior": "no-such-prior"}})).row
    assert skipped["status"] == "skipped" and "no-such-prior" in skipped["reason"]
    short = {"iterations": 2} if solver == "red-diffeq" else {"steps": 1, "fwi_iters": 2}
    done = run_cell(cell({solver: {"prior": str(tiny_fwi_prior), **short}})).row
    assert done["status"] == "done", done.get("reason")
    assert done["pde_solves"] == 4 and "fwi-tiny" in done["checkpoint_hashes"]


def test_darcy_uses_the_priors_units_and_the_task_misfit(tmp_path):
    from invbench.nn.diffusion.train import train_prior

    from .conftest import tiny_preset

    out = tmp_path / "grf.safetensors"
    train_prior("darcy-grf", tiny_preset(steps=5), out=out, field_shape=(16, 16), seed=0, device="cpu")
    env = make("Darcy-Tiny-v0", budget=8)
    env.reset(seed=0, options={"index": 0})
    solver = REDDiffEq(prior=str(out), iterations=10)
    assert solver.applies_to(env) is None
    assert solver.resolve_params(env)["data_loss"] == "task"
    assert solver.params["lam"] == 0.3  # tuned on Darcy val (README); FWI keeps the released 0.75
    assert REDDiffEq().resolve_params(make("FWI-Tiny-v0"))["lam"] == 0.75
    solver.setup(env)
    misfits = []
    est = solver.solve(env, callback=lambda p: misfits.append(p.misfit))
    assert len(misfits) == 4 and env.unwrapped.counter.used == 8
    assert est.shape == (1, 16, 16) and np.all(np.isfinite(est))
    bimaterial = make("Darcy-Tiny-v0", family="Bimaterial")
    assert "darcy-bimaterial-lite" in REDDiffEq().applies_to(bimaterial)
