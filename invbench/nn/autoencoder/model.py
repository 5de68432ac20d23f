"""A trained field autoencoder: physical fields to latents and back, differentiably."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from invbench.nn.normalize import Normalization


class FieldAutoencoder:
    """A frozen ``AutoencoderKL`` with the normalisation of its domain.

    ``encode`` maps physical fields (m/s or log k) to the posterior mean of the latent, ``decode`` maps
    latents back to physical fields (padding cropped); both are differentiable in their input, so a solver
    can optimise a latent through ``decode`` and the task's PDE operator. ``latent_scale`` is the standard
    deviation of the training latents: a latent diffusion model sees ``z / latent_scale`` (Rombach et al.
    2022's scale factor), which has unit variance.

    Args:
        vae: The diffusers ``AutoencoderKL`` (eval mode, frozen).
        normalization: The domain's field normalisation.
        manifest: The weights manifest.
    """

    def __init__(self, vae: torch.nn.Module, normalization: Normalization, manifest: dict[str, Any]) -> None:
        self.vae, self.normalization, self.manifest = vae, normalization, manifest
        self.latent_scale = float(manifest.get("latent", {}).get("scale", 1.0))

    @property
    def device(self) -> torch.device:
        """Device of the weights."""
        return next(self.vae.parameters()).device

    @property
    def name(self) -> str:
        """The weights' name."""
        return str(self.manifest.get("name", ""))

    @property
    def domain(self) -> str:
        """The domain the autoencoder was trained on."""
        return self.normalization.domain

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        """``(channels, h, w)`` of one latent."""
        return tuple(int(v) for v in self.manifest["latent"]["shape"])  # type: ignore[return-value]

    def to(self, device: torch.device | str) -> FieldAutoencoder:
        """Move the weights."""
        self.vae.to(device)
        return self

    def encode(self, field: np.ndarray | torch.Tensor, *, sample: bool = False) -> torch.Tensor:
        """Latents of physical fields ``(B, 1, H, W)`` (posterior means, or samples with ``sample``)."""
        x = self.normalization.to_model_units(field, device=self.device)
        posterior = self.vae.encode(x).latent_dist
        return posterior.sample() if sample else posterior.mean

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Physical fields ``(B, 1, H, W)`` of latents ``(B, C, h, w)``; differentiable in ``z``."""
        if z.ndim != 4 or tuple(z.shape[1:]) != self.latent_shape:
            raise ValueError(
                f"latents must be (B, {', '.join(map(str, self.latent_shape))}), got {tuple(z.shape)}"
            )
        x = self.vae.decode(z.to(self.device)).sample
        return self.normalization.from_model_units(x)

    def __repr__(self) -> str:
        return f"FieldAutoencoder({self.name!r}, domain={self.domain!r}, latent={self.latent_shape})"
