"""Plain gradient inversion with Adam, driven through the environment's ``step``.

Defaults follow the plain-FWI baseline released with RED-DiffEq (Shan et al. 2025): Adam on the
field in normalised units (for FWI OpenFWI's ``(v - 3000) / 1500``) with learning rate 0.03,
cosine annealing of the learning rate over 300 iterations, the iterate clamped to the task's range
after every update, and the environment's initial model (sigma = 10 smoothed for FWI). The misfit
is the task's by default (``data_loss="task"``): the environment reports the gradient of the
*relative* misfit; RED-DiffEq minimises the mean misfit, which differs by a constant factor, and Adam's
update is invariant to such a factor (up to its epsilon), so for the same norm the iterates match.
RED-DiffEq's released code minimises the mean *L1* misfit for every method (``red_diffeq/core/losses.py``);
``data_loss="mean_l1"`` does the same here, through the environment's counted operator
(:mod:`invbench.core.data_loss`), so its baselines can be run as released on tasks scored with L2. On other
tasks (Darcy) the same optimiser runs on the task's normalised field
(``env.unwrapped.field_center/field_scale``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch

from invbench.core.data_loss import check_data_loss, data_terms
from invbench.core.solver import Progress, ProgressCallback, Reference, Solver

Penalty = Callable[[torch.Tensor], torch.Tensor]

RED_DIFFEQ = Reference(
    'S. Shan, M. Zhu, Y. Lin, L. Lu, "RED-DiffEq: Regularization by denoising diffusion models for solving '
    'inverse PDE problems with application to full waveform inversion", arXiv:2509.21659 (2025)',
    "https://arxiv.org/abs/2509.21659",
)
"""RED-DiffEq's paper; its released baselines (plain, Tikhonov and TV FWI) set the baselines' defaults."""


def adam_inversion(
    env: gym.Env,
    *,
    lr: float,
    iterations: int,
    penalty: Penalty | None = None,
    lam: float = 0.0,
    data_loss: str = "task",
    callback: ProgressCallback | None = None,
) -> np.ndarray:
    """Adam on ``J(m) + lam * penalty(mu)`` in normalised units; the loop every Adam baseline shares.

    ``mu = (m - field_center) / field_scale`` starts from the environment's initial model; each
    iteration gets the data loss's gradient (one forward and one adjoint solve: from ``env.step`` for
    the task's misfit, or by backpropagating through the counted operator for ``mean_l1``), adds the
    gradient of ``lam * penalty(mu)`` (computed here, no PDE solve), takes an Adam step, anneals the
    learning rate (cosine over ``iterations``) and clamps ``mu`` to the task's range. It stops at
    ``iterations``, when the budget cannot pay for another step, or when the environment truncates.

    Args:
        env: The environment, reset to the instance to solve.
        lr: Adam's initial learning rate.
        iterations: Iterations (also the cosine annealing period).
        penalty: Regulariser of the normalised field; ``None`` for plain gradient inversion.
        lam: Weight of ``penalty`` against the data loss.
        data_loss: ``"task"`` (the relative misfit ``env.step`` reports) or ``"mean_l1"`` (see
            :mod:`invbench.core.data_loss`).
        callback: Called after every iteration (the regulariser's value is added to ``info``).

    Returns:
        The final estimate in physical units, clipped to the task's range.

    Raises:
        ValueError: For an unknown ``data_loss``.
    """
    check_data_loss("adam_inversion", data_loss)
    base = env.unwrapped
    c, s = float(base.field_center), float(base.field_scale)
    lo, hi = (base.field_low - c) / s, (base.field_high - c) / s
    mu = torch.tensor((base.instance.initial - c) / s, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([mu], lr=float(lr))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(int(iterations), 1))
    for it in range(1, int(iterations) + 1):
        if base.counter.remaining < 2:
            break
        opt.zero_grad()
        if data_loss == "task":
            action = (mu.detach().numpy() * s + c).astype(np.float32)
            obs, _, _, truncated, info = env.step(action)
            mu.grad = torch.from_numpy(obs["gradient"].astype(np.float64) * s)
            misfit = float(obs["misfit"][0])
        else:
            loss, misfit = data_terms(env, (mu.to(torch.float32) * s + c)[None], data_loss)
            loss.backward()
            truncated, info = False, {**base.current_info(), "data_loss": float(loss.detach())}
        reg = None
        if penalty is not None:
            reg = lam * penalty(mu)
            reg.backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            mu.clamp_(lo, hi)
        if callback is not None:
            if reg is not None:
                info = {**info, "regularizer": float(reg.detach())}
            callback(Progress(iteration=it, misfit=misfit, info=info))
        if truncated:
            break
    estimate = (mu.detach().numpy() * s + c).astype(np.float32)
    return np.clip(estimate, base.field_low, base.field_high)


class AdamFWI(Solver):
    """Unregularised gradient inversion with Adam and cosine learning-rate annealing."""

    name: ClassVar[str] = "adam"
    references: ClassVar[tuple[Reference, ...]] = (
        Reference(
            'A. Tarantola, "Inversion of seismic reflection data in the acoustic approximation", '
            "Geophysics 49(8), 1259-1266 (1984)",
            "https://doi.org/10.1190/1.1441754",
            "FWI as misfit minimisation by gradients",
        ),
        Reference(
            'D. P. Kingma, J. Ba, "Adam: a method for stochastic optimization", ICLR (2015)',
            "https://arxiv.org/abs/1412.6980",
            "the optimiser",
        ),
        replace(RED_DIFFEQ, note="defaults: its plain-FWI baseline"),
    )
    defaults: ClassVar[dict[str, Any]] = {"lr": 0.03, "iterations": 300, "data_loss": "task"}

    def solve(self, env: gym.Env, *, callback: ProgressCallback | None = None) -> np.ndarray:
        """Run Adam until the iteration count or the PDE-solve budget is reached."""
        self.resolve_params(env)
        return adam_inversion(
            env,
            lr=float(self.params["lr"]),
            iterations=int(self.params["iterations"]),
            data_loss=check_data_loss(self.name, self.params["data_loss"]),
            callback=callback,
        )
