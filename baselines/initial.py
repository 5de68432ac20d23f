"""``initial``: no inversion at all -- the task's initial model returned as the estimate.

The floor every method must beat: it spends no PDE solve, so its scores are those of the starting
model the task hands to every solver (for FWI, the truth smoothed with a Gaussian of ``smooth_sigma``
cells, as in RED-DiffEq's experiments; for Darcy, the family's mean log-conductivity).
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from invbench.core.solver import ProgressCallback, Solver


class InitialModel(Solver):
    """Return ``env.unwrapped.instance.initial`` unchanged (zero PDE solves)."""

    name: ClassVar[str] = "initial"
    defaults: ClassVar[dict[str, Any]] = {}

    def solve(self, env: gym.Env, *, callback: ProgressCallback | None = None) -> np.ndarray:
        """The instance's initial model, as a float32 copy."""
        return np.array(env.unwrapped.instance.initial, dtype=np.float32, copy=True)
