"""LD-DIM: differentiable inversion in the latent space of a latent diffusion model (Lin & He 2025).

Reference: Z. Lin, Q. He, "Differentiable inverse modeling with physics-constrained latent diffusion for
heterogeneous subsurface parameter fields", arXiv:2512.22421. The paper couples a latent diffusion model,
trained in the latent space of a convolutional VAE, with a differentiable finite-volume solver (adjoint
gradients plus reverse-mode autodiff) and inverts directly in the latent space. Only its abstract could be
read here, so how the diffusion prior enters the inversion is open; both natural readings are implemented
(``mode``) and the default was chosen on the ``val`` split (docs/studies/ld_dim.md):

* ``mode="noise"``: optimise the initial noise ``x_T`` of a deterministic DDIM sampler (``ddim_steps``
  steps, eta = 0); the field is the decoded output of the sampler, gradients flow through every sampler
  step. ``lam`` weights ``mean(x_T^2) / 2``, which keeps the noise in the Gaussian's typical region.
* ``mode="red"``: optimise the scaled latent ``w`` itself with a RED-style regulariser from the latent
  diffusion model, ``mean(stopgrad(eps_theta(w_t, t) - eps) * w)`` at ``t ~ U{t_min..t_max}`` (the
  regulariser of RED-DiffEq and RED-diff, Mardani et al. 2023, in the latent space).

In both, each iteration costs one forward and one adjoint PDE solve through the environment's counted
operator; the decoder is the VAE's (the same one the ``vae`` baseline uses).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from invbench.core.solver import Reference
from solvers.ld_dim.latent_solver import LD_DIM, LatentSolver

MODES = ("noise", "red")


class LDDIM(LatentSolver):
    """LD-DIM: Adam on DDIM noise (``noise``) or on the latent with a diffusion regulariser (``red``)."""

    name: ClassVar[str] = "ld-dim"
    references: ClassVar[tuple[Reference, ...]] = (LD_DIM,)
    model: ClassVar[str] = "ldm"
    defaults: ClassVar[dict[str, Any]] = {
        "weights": "auto",
        "mode": "noise",
        "ddim_steps": 10,
        "lr": 0.05,
        "iterations": 300,
        "lam": 0.01,
        "t_min": 20,
        "t_max": 500,
        "inits": 1,
        "data_loss": "mean_l1",
    }
    family_defaults: ClassVar[dict[str, dict[str, Any]]] = {"darcy": {"data_loss": "task"}}

    def load(self, spec: str, device: torch.device) -> Any:
        """The verified, frozen latent diffusion model with its autoencoder."""
        from invbench.nn.latent_diffusion.checkpoint import load_latent_diffusion

        return load_latent_diffusion(spec, device=device)

    def check_params(self) -> None:
        """Also check ``mode``, ``ddim_steps`` and the ``t`` range."""
        super().check_params()
        p = self.params
        if p["mode"] not in MODES:
            raise ValueError(f"{self.name}: mode must be one of {MODES}, got {p['mode']!r}")
        T = self.net.num_train_timesteps if self.net is not None else 1000
        if not isinstance(p["ddim_steps"], int) or not 1 <= p["ddim_steps"] <= T:
            raise ValueError(
                f"{self.name}: ddim_steps must be an integer in [1, {T}], got {p['ddim_steps']!r}"
            )
        if not (
            isinstance(p["t_min"], int) and isinstance(p["t_max"], int) and 0 <= p["t_min"] <= p["t_max"] < T
        ):
            raise ValueError(
                f"{self.name}: need integers 0 <= t_min <= t_max < {T}, got {p['t_min']}, {p['t_max']}"
            )

    def field(self, theta: torch.Tensor) -> torch.Tensor:
        """Decode the DDIM output of the noise (``noise``) or the latent itself (``red``)."""
        if self.params["mode"] == "noise":
            w = self.net.ddim(theta, int(self.params["ddim_steps"]), grad=torch.is_grad_enabled())
            return self.net.decode(w)
        return self.net.decode(theta)

    def penalty(self, theta: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """``mean(x_T^2) / 2`` (``noise``) or the latent RED regulariser (``red``)."""
        if self.params["mode"] == "noise":
            return 0.5 * (theta**2).mean()
        p = self.params
        t = int(torch.randint(int(p["t_min"]), int(p["t_max"]) + 1, (1,), generator=gen, device=gen.device))
        eps = torch.randn(theta.shape, generator=gen, device=gen.device, dtype=theta.dtype)
        with torch.no_grad():
            grad = self.net.eps(self.net.add_noise(theta.detach(), eps, t), t) - eps
        return (grad * theta).mean()
