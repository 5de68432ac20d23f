"""Plain gradient FWI with Adam, driven through the environment's ``step``.

Defaults follow the plain-FWI baseline released with RED-DiffEq (Shan et al. 2025): Adam on the
velocity in OpenFWI's normalised units ``(v - 3000) / 1500`` with learning rate 0.03, cosine
annealing of the learning rate over 300 iterations, the iterate clamped to [-1, 1] after every
update, and the environment's initial model (sigma = 10 smoothed by default). The misfit (L2 or
L1) is the task's. The environment reports the gradient of the *relative* misfit; RED-DiffEq
minimises the mean misfit, which differs by a constant factor, and Adam's update is invariant to
such a factor (up to its epsilon), so the iterates match.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch

from invbench.metrics import V_CENTER, V_SCALE
from invbench.solver import Progress, ProgressCallback, Solver


class AdamFWI(Solver):
    """Unregularised gradient inversion with Adam and cosine learning-rate annealing."""

    name: ClassVar[str] = "adam"
    defaults: ClassVar[dict[str, Any]] = {"lr": 0.03, "iterations": 300}

    def applies_to(self, env: gym.Env) -> str | None:
        """Applies to every FWI task (any environment with a velocity action)."""
        from invbench.envs.fwi import FWIEnv

        return None if isinstance(env.unwrapped, FWIEnv) else "adam (FWI) only applies to FWI tasks"

    def solve(self, env: gym.Env, *, callback: ProgressCallback | None = None) -> np.ndarray:
        """Run Adam until the iteration count or the PDE-solve budget is reached."""
        base = env.unwrapped
        inst = base.instance
        mu = torch.tensor((inst.initial - V_CENTER) / V_SCALE, dtype=torch.float64, requires_grad=True)
        iterations = int(self.params["iterations"])
        opt = torch.optim.Adam([mu], lr=float(self.params["lr"]))
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=iterations)
        for it in range(1, iterations + 1):
            if base.counter.remaining < 2:
                break
            action = (mu.detach().numpy() * V_SCALE + V_CENTER).astype(np.float32)
            obs, _, _, truncated, info = env.step(action)
            opt.zero_grad()
            mu.grad = torch.from_numpy(obs["gradient"].astype(np.float64) * V_SCALE)
            opt.step()
            sched.step()
            with torch.no_grad():
                mu.clamp_(-1.0, 1.0)
            if callback is not None:
                callback(Progress(iteration=it, misfit=float(obs["misfit"][0]), info=info))
            if truncated:
                break
        estimate = (mu.detach().numpy() * V_SCALE + V_CENTER).astype(np.float32)
        return np.clip(estimate, base.field_low, base.field_high)
