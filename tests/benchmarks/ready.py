"""Shared set-up of the benchmarks: an environment reset on one test instance and a solver set up on it."""

from __future__ import annotations

import gymnasium as gym
import pytest

from invbench.core.solver import Solver, load_solver_class
from invbench.registry import make


def reset_env(task: str) -> gym.Env:
    """The environment of ``task``, reset on test instance #0 with seed 0."""
    env = make(task)
    env.reset(seed=0, options={"split": "test", "index": 0})
    return env


def ready(task: str, name: str, **params: object) -> tuple[gym.Env, Solver]:
    """``name`` built with ``params`` and set up on :func:`reset_env` (skips where it does not apply)."""
    env = reset_env(task)
    solver = load_solver_class(name)(**params)
    reason = solver.applies_to(env)
    if reason is not None:
        pytest.skip(reason)
    solver.setup(env)
    return env, solver
