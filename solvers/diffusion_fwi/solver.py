"""Diffusion-regularised FWI: FWI updates inserted into reverse diffusion (Wang, Huang & Alkhalifah 2023).

Reference: F. Wang, X. Huang, T. Alkhalifah, "A prior regularized full waveform inversion using generative
diffusion models", IEEE Transactions on Geoscience and Remote Sensing 61, 4509011 (2023). A diffusion
model pretrained on velocity maps is adapted to the observations by running FWI inside its sampling
process. What this module follows, and its own choices where the paper leaves room:

* the reverse process starts from the environment's initial model diffused to ``t_start = 99`` (the
  paper's 100 reverse steps, ``t = 99 .. 0``), not from pure noise;
* at each reverse step the prior predicts the clean map ``x0_hat`` (clipped to [-1, 1]) and the sample
  moves to the previous step (DDIM update, ``eta = 1``: DDPM-like ancestral noise by default);
* the new sample's physical part then gets ``fwi_iters = 10`` Adam iterations (lr 0.01, in normalised
  units) on the mean L1 data misfit, with the gradient smoothed by a Gaussian of ``smooth_sigma`` cells
  (our choice: 1 cell) before the update; the result replaces the sample;
* the final estimate is the map after the last step (``t = 0``).

Budget: every FWI iteration costs one forward + one adjoint solve. When ``steps * fwi_iters`` iterations
do not fit the task's budget, the number of reverse steps is reduced (evenly spaced steps from
``t_start`` to 0, DDIM-style skipping) so that every step keeps its ``fwi_iters`` iterations; the solver
always stops when fewer than two solves remain.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F

from invbench.core.data_loss import data_terms
from invbench.core.solver import Progress, ProgressCallback, Reference
from invbench.nn.diffusion.prior_solver import PriorSolver, solver_generator


def gaussian_smooth(g: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian smoothing of ``(B, 1, H, W)`` with reflect padding (``sigma`` in cells)."""
    if sigma <= 0:
        return g
    radius = max(1, math.ceil(3.0 * sigma))
    r = torch.arange(-radius, radius + 1, dtype=g.dtype, device=g.device)
    k = torch.exp(-0.5 * (r / sigma) ** 2)
    k = k / k.sum()
    h, w = g.shape[-2:]
    pad_w, pad_h = min(radius, w - 1), min(radius, h - 1)
    out = F.pad(g, (pad_w, pad_w, 0, 0), mode="reflect") if pad_w else g
    out = F.conv2d(out, k[radius - pad_w : radius + pad_w + 1].view(1, 1, 1, -1))
    out = F.pad(out, (0, 0, pad_h, pad_h), mode="reflect") if pad_h else out
    return F.conv2d(out, k[radius - pad_h : radius + pad_h + 1].view(1, 1, -1, 1))


def reverse_timesteps(t_start: int, n_steps: int) -> list[int]:
    """``n_steps`` distinct steps evenly spaced from ``t_start`` down to 0 (both included when n > 1)."""
    n_steps = max(1, min(int(n_steps), t_start + 1))
    if n_steps == 1:
        return [0]
    ts = np.round(np.linspace(t_start, 0, n_steps)).astype(int)
    return [int(t) for t in ts]


class DiffusionFWI(PriorSolver):
    """Reverse diffusion from the noised initial model with FWI (Adam, L1) updates at every step."""

    name: ClassVar[str] = "diffusion-fwi"
    references: ClassVar[tuple[Reference, ...]] = (
        Reference(
            'F. Wang, X. Huang, T. Alkhalifah, "A prior regularized full waveform inversion using '
            'generative diffusion models", IEEE Trans. Geosci. Remote Sens. 61, 4509011 (2023); '
            "arXiv:2306.12776",
            "https://arxiv.org/abs/2306.12776",
        ),
    )
    families: ClassVar[tuple[str, ...] | None] = ("fwi",)
    defaults: ClassVar[dict[str, Any]] = {
        "prior": "auto",
        "t_start": 99,
        "steps": 100,
        "fwi_iters": 10,
        "lr": 0.01,
        "smooth_sigma": 1.0,
        "eta": 1.0,
        "data_loss": "mean_l1",
    }

    def solve(self, env: gym.Env, *, callback: ProgressCallback | None = None) -> np.ndarray:
        """Run the reverse process with FWI updates until done or the budget is spent."""
        prior = self._prepare(env)
        base = env.unwrapped
        p = self.params
        t_start = min(int(p["t_start"]), prior.num_train_timesteps - 1)
        fwi_iters = max(1, int(p["fwi_iters"]))
        affordable = base.counter.remaining // (2 * fwi_iters)
        ts = reverse_timesteps(t_start, min(int(p["steps"]), max(affordable, 1)))
        gen = solver_generator(env, prior.device)
        norm = prior.normalization
        lo = max(-1.0, (base.field_low - norm.center) / norm.scale)
        hi = min(1.0, (base.field_high - norm.center) / norm.scale)
        sigma, eta, lr = float(p["smooth_sigma"]), float(p["eta"]), float(p["lr"])

        x0_init = prior.to_model_units(base.instance.initial[None]).clamp(lo, hi)
        noise = torch.randn(x0_init.shape, generator=gen, device=gen.device, dtype=x0_init.dtype)
        x = prior.add_noise(x0_init, noise, ts[0])
        estimate = base.instance.initial.astype(np.float32)
        it = 0
        for i, t in enumerate(ts):
            if base.counter.remaining < 2:
                break
            t_prev = ts[i + 1] if i + 1 < len(ts) else -1
            with torch.no_grad():
                x0_hat = prior.x0(x, t, clip=True)
                eps_hat = prior.eps_from_x0(x, x0_hat, t)
                ab = float(prior.alpha_bar(t))
                ab_prev = float(prior.alpha_bar(t_prev)) if t_prev >= 0 else 1.0
                var = (1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev) if t_prev >= 0 else 0.0
                s = eta * math.sqrt(max(var, 0.0))
                z = torch.randn(x.shape, generator=gen, device=gen.device, dtype=x.dtype)
                x = ab_prev**0.5 * x0_hat + math.sqrt(max(1 - ab_prev - s * s, 0.0)) * eps_hat + s * z
            # FWI on the physical part of the new sample (normalised units), padding kept as it is.
            mu = x.clamp(lo, hi).requires_grad_(True)
            opt = torch.optim.Adam([mu], lr=lr)
            for _ in range(fwi_iters):
                if base.counter.remaining < 2:
                    break
                field = prior.from_model_units(mu).clamp(base.field_low, base.field_high)
                data, rel = data_terms(env, field, p["data_loss"])
                opt.zero_grad()
                data.backward()
                assert mu.grad is not None
                with torch.no_grad():
                    mu.grad.copy_(gaussian_smooth(mu.grad, sigma))
                opt.step()
                with torch.no_grad():
                    mu.clamp_(lo, hi)
                it += 1
                if callback is not None:
                    info = {**base.current_info(), "data_loss": float(data.detach()), "t": t}
                    callback(Progress(iteration=it, misfit=rel, info=info))
            x = mu.detach()
            with torch.no_grad():
                estimate = prior.from_model_units(x)[0].cpu().numpy().astype(np.float32)
        return np.clip(estimate, base.field_low, base.field_high)
