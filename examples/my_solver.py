"""A user's own solver: steepest descent with a fixed step, run through invbench unchanged.

Nothing in invbench needs editing to benchmark it::

    invbench run --task FWI-Tiny-v0 --solver examples.my_solver:MySolver -p iterations=20

(``module:Class`` is imported from ``sys.path`` or the current directory). To give it a short name,
publish it from your package as an entry point::

    [project.entry-points."invbench.solvers"]
    my-sd = "examples.my_solver:MySolver"

The solver only drives the environment: ``env.step(field)`` returns the data misfit of the field
and its gradient (one forward + one adjoint PDE solve), and the episode ends (``truncated``) when
the budget of PDE solves is spent.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from invbench.core.solver import Progress, ProgressCallback, Solver


class MySolver(Solver):
    """Steepest descent in normalised units, each step moving the largest cell by ``step``."""

    name: ClassVar[str] = "my-steepest-descent"
    defaults: ClassVar[dict[str, Any]] = {"step": 0.02, "iterations": 50}
    family_defaults: ClassVar[dict[str, dict[str, Any]]] = {"darcy": {"step": 0.05}}

    def solve(self, env: gym.Env, *, callback: ProgressCallback | None = None) -> np.ndarray:
        """Take ``iterations`` normalised gradient steps, or as many as the budget allows."""
        p = self.resolve_params(env)
        base = env.unwrapped  # field_center/field_scale normalise any task's field to O(1)
        c, s = base.field_center, base.field_scale
        mu = (base.instance.initial.astype(np.float64) - c) / s
        lo, hi = (base.field_low - c) / s, (base.field_high - c) / s
        for it in range(1, int(p["iterations"]) + 1):
            obs, _, _, truncated, info = env.step((mu * s + c).astype(np.float32))
            g = obs["gradient"].astype(np.float64) * s
            mu = np.clip(mu - p["step"] * g / max(np.abs(g).max(), 1e-30), lo, hi)
            if callback is not None:
                callback(Progress(iteration=it, misfit=float(obs["misfit"][0]), info=info))
            if truncated:
                break
        return np.clip(mu * s + c, base.field_low, base.field_high).astype(np.float32)
