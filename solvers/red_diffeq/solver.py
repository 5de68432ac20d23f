"""RED-DiffEq: regularisation by denoising with a diffusion prior (Shan, Zhu, Lin & Lu 2025).

Reference: S. Shan, M. Zhu, Y. Lin, L. Lu, "RED-DiffEq: Regularization by denoising diffusion models for
solving inverse PDE problems with application to full waveform inversion", arXiv:2509.21659; released
code github.com/lu-group/red-diffeq (``red_diffeq/regularization/diffusion.py``: class ``RED_DiffEq``;
``red_diffeq/regularization/base.py``: ``RegularizationMethod(use_time_weight=False,
sigma_x0=0.0001)``; ``red_diffeq/core/inversion.py`` and ``red_diffeq/core/losses.py``).

The variable ``mu`` is the field in the prior's model units (FWI: ``(v - 3000) / 1500`` in [-1, 1]),
padded to the prior's size (70 x 70 -> 72 x 72); only the physical part enters the PDE. Each
iteration, following the released defaults:

1. ``x = mu + sigma_x0 * n`` with ``sigma_x0 = 1e-4`` (the same ``x`` feeds physics and prior);
2. data term: the mean L1 misfit over the observed entries of the task's processed data (low-cut
   filter, missing traces masked), through the counted, differentiable ``env.unwrapped.operator``
   (one forward + one adjoint solve per iteration);
3. ``t ~ U{0, ..., T-1}`` afresh, ``x_t = sqrt(abar_t) x + sqrt(1 - abar_t) eps``; the prior predicts
   ``x0`` (clipped to [-1, 1]) and the noise is re-derived from it, ``eps_hat``;
4. regulariser ``mean(w(t) * stopgrad(eps_hat - eps) * x)``, whose gradient is
   ``w(t) (eps_hat - eps) / N`` (N = entries of ``x``); ``w = 1`` by default, or
   ``sqrt((1 - abar_t) / abar_t)`` with ``time_weight=True``;
5. loss ``data + lam * reg`` with ``lam = 0.75``, Adam (lr 0.03), cosine annealing over the
   iterations (300), ``mu`` clamped to [-1, 1] after every step; the environment's initial model.

Options beyond the release: ``t_schedule="descending"`` walks ``t`` linearly from ``T - 1`` down to 0
over the iterations, as RED-diff does (Mardani, Song, Kautz & Vahdat 2023, "A variational perspective on
solving inverse problems with diffusion models", arXiv:2305.04391). ``data_loss="task"`` uses the
task's relative misfit instead of the mean L1 (the Darcy default: head data have no published mean-loss
convention). λ for Darcy is 0.3, tuned on the ``val`` split by the rule the Darcy baselines follow
(``docs/baselines.md``): of the grid {0, 0.01, 0.03, 0.1, 0.3, 0.75, 2, 5}, the lowest val MAE averaged
over ``Darcy-GRF-v0`` and ``Darcy-Bimaterial-v0`` (instances 0-4 each, shipped lite priors; README,
"RED-DiffEq on Darcy"). GRF alone prefers 0.75, Bimaterial alone 0.01-0.03.

On models wider than the prior (FWI ``"wide"`` acquisition, 70 x 190 with a 70 x 70 prior), the
regulariser is applied on overlapping square windows that share ``t`` and ``eps``
(:mod:`solvers.red_diffeq.windows`), as RED-DiffEq's domain-decomposition experiments do.

The prior is a checkpoint path or the name of a shipped checkpoint (``prior="auto"``: ``fwi-lite``,
``darcy-grf-lite`` or ``darcy-bimaterial-lite`` by the task's domain); when it is not installed,
:meth:`REDDiffEq.applies_to` says so and the harness records a skip.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch

from baselines.gradient import RED_DIFFEQ
from invbench.core.data_loss import data_terms
from invbench.core.solver import Progress, ProgressCallback, Reference
from invbench.nn.diffusion.prior_solver import PriorSolver, solver_generator

T_SCHEDULES = ("random", "descending")


# --------------------------------------------------------------------------- RED-DiffEq


def time_weight(prior: Any, t: int) -> float:
    """``w(t) = sqrt((1 - abar_t) / abar_t)`` (the released ``use_time_weight`` option)."""
    ab = float(prior.alpha_bar(int(t)))
    return math.sqrt((1.0 - ab) / ab)


def red_regularizer(
    prior: Any, x: torch.Tensor, t: int, eps: torch.Tensor, *, weight: float = 1.0
) -> torch.Tensor:
    """RED-DiffEq's regulariser ``mean(w * stopgrad(eps_hat - eps) * x)`` of ``x`` (model units).

    ``eps_hat`` is the noise re-derived from the prior's clipped ``x0`` prediction at
    ``x_t = sqrt(abar_t) x + sqrt(1 - abar_t) eps``. Its gradient with respect to ``x`` is
    ``w (eps_hat - eps) / x.numel()``; no gradient flows through the network.
    """
    with torch.no_grad():
        x_t = prior.add_noise(x.detach(), eps, t)
        x0 = prior.x0(x_t, t, clip=True)
        eps_hat = prior.eps_from_x0(x_t, x0, t)
        g = weight * (eps_hat - eps)
    return (g * x).mean()


class REDDiffEq(PriorSolver):
    """RED-DiffEq (Shan et al. 2025): Adam on data misfit + λ · diffusion-denoising regulariser."""

    name: ClassVar[str] = "red-diffeq"
    references: ClassVar[tuple[Reference, ...]] = (
        RED_DIFFEQ,
        Reference(
            "lu-group/red-diffeq (released code)",
            "https://github.com/lu-group/red-diffeq",
            "the code it follows",
        ),
    )
    allow_wider: ClassVar[bool] = True
    defaults: ClassVar[dict[str, Any]] = {
        "prior": "auto",
        "lr": 0.03,
        "iterations": 300,
        "lam": 0.75,
        "sigma_x0": 1e-4,
        "time_weight": False,
        "t_schedule": "random",
        "data_loss": "mean_l1",
        "window_overlap": 0.5,
    }
    family_defaults: ClassVar[dict[str, dict[str, Any]]] = {"darcy": {"data_loss": "task", "lam": 0.3}}

    def _timestep(self, it: int, iterations: int, gen: torch.Generator, n_t: int) -> int:
        schedule = self.params["t_schedule"]
        if schedule == "random":
            return int(torch.randint(0, n_t, (1,), generator=gen, device=gen.device).item())
        if schedule == "descending":
            frac = (it - 1) / max(iterations - 1, 1)
            return round((n_t - 1) * (1.0 - frac))
        raise ValueError(f"{self.name}: t_schedule must be one of {T_SCHEDULES}, got {schedule!r}")

    def regularizer(self, x: torch.Tensor, t: int, eps: torch.Tensor) -> torch.Tensor:
        """The (weighted) regulariser of the padded variable ``x``; windows when wider than the prior."""
        prior = self.prior
        w = time_weight(prior, t) if self.params["time_weight"] else 1.0
        if tuple(x.shape[-2:]) == tuple(prior.model_shape):
            return red_regularizer(prior, x, t, eps, weight=w)
        from solvers.red_diffeq.windows import windowed_regularizer

        return windowed_regularizer(prior, x, t, eps, weight=w, overlap=float(self.params["window_overlap"]))

    def _to_model(self, field: np.ndarray) -> torch.Tensor:
        """Physical ``(1, H, W)`` -> model units ``(1, 1, H', W'')`` (wide fields padded like the prior)."""
        norm = self.prior.normalization
        x = (
            torch.as_tensor(field, dtype=torch.float32, device=self.prior.device)[None] - norm.center
        ) / norm.scale
        if norm.pad:
            x = torch.nn.functional.pad(x, (norm.pad,) * 4, mode="constant", value=norm.pad_value)
        return x

    def _to_physical(self, x: torch.Tensor) -> torch.Tensor:
        norm = self.prior.normalization
        p = norm.pad
        if p:
            x = x[..., p:-p, p:-p]
        return x * norm.scale + norm.center

    def solve(self, env: gym.Env, *, callback: ProgressCallback | None = None) -> np.ndarray:
        """Run RED-DiffEq until the iteration count or the PDE-solve budget is reached."""
        prior = self._prepare(env)
        base = env.unwrapped
        p = self.params
        norm = prior.normalization
        lo = max(-1.0, (base.field_low - norm.center) / norm.scale)
        hi = min(1.0, (base.field_high - norm.center) / norm.scale)
        gen = solver_generator(env, prior.device)
        mu = self._to_model(base.instance.initial).clamp(lo, hi).requires_grad_(True)
        iterations = int(p["iterations"])
        lam, sigma_x0 = float(p["lam"]), float(p["sigma_x0"])
        opt = torch.optim.Adam([mu], lr=float(p["lr"]))
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(iterations, 1))
        n_t = int(prior.num_train_timesteps)
        for it in range(1, iterations + 1):
            if base.counter.remaining < 2:
                break
            noise = torch.randn(mu.shape, generator=gen, device=gen.device, dtype=mu.dtype)
            x = mu + sigma_x0 * noise
            field = self._to_physical(x).clamp(base.field_low, base.field_high)
            data, rel = data_terms(env, field, p["data_loss"])
            t = self._timestep(it, iterations, gen, n_t)
            eps = torch.randn(mu.shape, generator=gen, device=gen.device, dtype=mu.dtype)
            reg = self.regularizer(x, t, eps)
            loss = data.to(mu.device) + lam * reg
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            with torch.no_grad():
                mu.clamp_(lo, hi)
            if callback is not None:
                info = {
                    **base.current_info(),
                    "data_loss": float(data.detach()),
                    "regularizer": float(reg.detach()),
                    "t": t,
                }
                callback(Progress(iteration=it, misfit=rel, info=info))
        with torch.no_grad():
            estimate = self._to_physical(mu.detach())[0].cpu().numpy().astype(np.float32)
        return np.clip(estimate, base.field_low, base.field_high)
