"""Latent diffusion models over the latents of a field autoencoder (LD-DIM's prior).

:mod:`.presets` (architecture and training), :mod:`.model` (:class:`LatentDiffusion`: noise prediction,
DDIM sampling, differentiable in the initial noise), :mod:`.checkpoint` (the weights format) and
:mod:`.train` (DDPM training on encoded fields).
"""

from invbench.nn.latent_diffusion.checkpoint import load_latent_diffusion, write_latent_diffusion
from invbench.nn.latent_diffusion.model import LatentDiffusion
from invbench.nn.latent_diffusion.presets import LDMPreset, get_ldm_preset

__all__ = [
    "LDMPreset",
    "LatentDiffusion",
    "get_ldm_preset",
    "load_latent_diffusion",
    "write_latent_diffusion",
]
