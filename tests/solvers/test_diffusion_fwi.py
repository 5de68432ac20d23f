"""Diffusion-regularised FWI (Wang, Huang & Alkhalifah 2023) on FWI-Tiny with a tiny prior."""

from __future__ import annotations

import numpy as np
import torch

from invbench.core.solver import load_solver_class
from invbench.registry import make
from invbench.tasks.fwi.metrics import velocity_metrics
from solvers.diffusion_fwi.solver import DiffusionFWI, gaussian_smooth, reverse_timesteps

from .conftest import solve_tiny


def _solve(prior, seed=0, budget=40, **params):
    env, _, est, progress = solve_tiny(DiffusionFWI, prior, seed=seed, budget=budget, **params)
    return env, est, [(p.info["t"], p.misfit) for p in progress]


def test_registered_and_skips():
    assert load_solver_class("diffusion-fwi") is DiffusionFWI
    reason = DiffusionFWI().applies_to(make("FWI-Tiny-v0", observed_solver="deepwave"))
    assert reason is not None and "fwi-lite" in reason
    assert "fwi tasks only" in DiffusionFWI().applies_to(make("Darcy-Tiny-v0"))


def test_helpers():
    assert reverse_timesteps(99, 100) == list(range(99, -1, -1))
    assert reverse_timesteps(99, 4) == [99, 66, 33, 0]
    assert reverse_timesteps(99, 1) == [0]
    g = torch.zeros(1, 1, 9, 9)
    g[0, 0, 4, 4] = 1.0
    s = gaussian_smooth(g, 1.0)
    assert abs(float(s.sum()) - 1.0) < 1e-5 and float(s[0, 0, 4, 4]) < 0.5
    torch.testing.assert_close(s, s.transpose(-1, -2))


def test_fits_the_budget_and_is_deterministic(tiny_fwi_prior):
    env, a, ts = _solve(tiny_fwi_prior, budget=40, fwi_iters=4)
    base = env.unwrapped
    assert base.counter.used == 40 and len(ts) == 20
    steps = sorted({t for t, _ in ts}, reverse=True)
    assert steps == reverse_timesteps(99, 5)
    assert a.shape == base.field_shape and a.min() >= 1500 and a.max() <= 4500
    _, b, ts_b = _solve(tiny_fwi_prior, budget=40, fwi_iters=4)
    np.testing.assert_array_equal(a, b)
    assert ts == ts_b


def test_lowers_the_model_error(tiny_fwi_prior):
    env, est, ts = _solve(tiny_fwi_prior, budget=60, fwi_iters=10)
    inst = env.unwrapped.instance
    assert velocity_metrics(est, inst.truth)["mae"] < velocity_metrics(inst.initial, inst.truth)["mae"]
    assert ts[-1][1] < ts[0][1]
