"""The physics-embedded VAE baseline of LD-DIM: optimise the VAE latent through the solver, no diffusion.

Lin & He (2025, arXiv:2512.22421) compare LD-DIM with a "physics-embedded VAE": the same kind of
convolutional VAE decoder, its latent optimised through the differentiable PDE solver. Here the decoder is
the very one LD-DIM uses (``DOMAIN-vae-lite``), so the two differ only in the diffusion prior. The latent
``w = z / latent_scale`` (unit variance under the VAE's prior) minimises
``data(decode(w)) + lam * mean(w^2) / 2``, the negative log density of the VAE's N(0, I) prior as a
penalty. The paper's own optimiser settings for this baseline could not be read; the defaults are
invbench's (Adam, lr and ``lam`` chosen on the ``val`` split: docs/studies/ld_dim.md).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

import torch

from invbench.core.solver import Reference
from solvers.ld_dim.latent_solver import LD_DIM, LatentSolver


class PhysicsVAE(LatentSolver):
    """Adam on the scaled VAE latent: data misfit + ``lam`` * Gaussian latent penalty."""

    name: ClassVar[str] = "vae"
    references: ClassVar[tuple[Reference, ...]] = (replace(LD_DIM, note="its physics-embedded VAE baseline"),)
    model: ClassVar[str] = "vae"
    defaults: ClassVar[dict[str, Any]] = {
        "weights": "auto",
        "lr": 0.1,
        "iterations": 300,
        "lam": 0.01,
        "inits": 1,
        "data_loss": "mean_l1",
    }
    family_defaults: ClassVar[dict[str, dict[str, Any]]] = {"darcy": {"data_loss": "task"}}

    def load(self, spec: str, device: torch.device) -> Any:
        """The verified, frozen autoencoder."""
        from invbench.nn.autoencoder.checkpoint import load_autoencoder

        return load_autoencoder(spec, device=device)

    def field(self, theta: torch.Tensor) -> torch.Tensor:
        """Decode the scaled latent."""
        return self.net.decode(theta * self.net.latent_scale)

    def penalty(self, theta: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """``mean(w^2) / 2``."""
        return 0.5 * (theta**2).mean()
