"""A tiny FWI diffusion prior (width 8, 32 x 32 fields padded to 34 x 34), trained briefly per session."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import pytest

from invbench.nn.diffusion.presets import Preset, ScheduleSpec, TrainSpec, UNetSpec
from invbench.nn.diffusion.train import train_prior

TINY_UNET = UNetSpec((8, 16), 1, (False, False), mid_attention=False, norm_num_groups=4, attention_head_dim=8)
FAST_FWI = {"observed_solver": "deepwave"}


def tiny_preset(steps: int = 60) -> Preset:
    train = TrainSpec(
        batch_size=8,
        lr=2e-3,
        steps=steps,
        ema_decay=0.9,
        ema_every=1,
        ema_start=5,
        checkpoint_every=steps,
        export_dtype="float32",
    )
    return Preset("tiny", TINY_UNET, ScheduleSpec(), train)


@pytest.fixture(scope="session")
def tiny_fwi_prior(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path of a tiny FWI prior checkpoint for 32 x 32 maps (FlatVel-A and CurveVel-A, 60 steps)."""
    out = tmp_path_factory.mktemp("priors") / "fwi-tiny.safetensors"
    train_prior(
        "fwi",
        tiny_preset(),
        out=out,
        field_shape=(32, 32),
        families=("FlatVel-A", "CurveVel-A"),
        seed=0,
        device="cpu",
    )
    return out


def tiny_env(budget: int = 100, **kwargs: object) -> gym.Env:
    """FWI-Tiny with deepwave-simulated observed data (fast), reset to test instance 1 with seed 0."""
    env = gym.make("invbench/FWI-Tiny-v0", budget=budget, **FAST_FWI, **kwargs)
    env.reset(seed=0, options={"index": 1})
    return env


def solve_tiny(
    solver_cls: type, prior: object, *, seed: int = 0, budget: int = 100, **params: object
) -> tuple:
    """Set up ``solver_cls(prior=prior, **params)`` on FWI-Tiny #1 and solve it.

    Returns:
        The environment, the solver, its estimate and its list of progress reports.
    """
    env = tiny_env(budget=budget)
    env.reset(seed=seed, options={"index": 1})
    solver = solver_cls(prior=str(prior), **params)
    assert solver.applies_to(env) is None
    solver.setup(env)
    progress: list = []
    est = solver.solve(env, callback=progress.append)
    return env, solver, est, progress
