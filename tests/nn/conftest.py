"""Tiny priors for fast tests: a two-level UNet of width 8 on 16 x 16 fields."""

from __future__ import annotations

import pytest
import torch
from diffusers import UNet2DModel

from invbench.nn.autoencoder.checkpoint import write_autoencoder
from invbench.nn.autoencoder.presets import VAESpec
from invbench.nn.diffusion.checkpoint import write_checkpoint
from invbench.nn.diffusion.presets import Preset, ScheduleSpec, TrainSpec, UNetSpec
from invbench.nn.diffusion.prior import DiffusionPrior
from invbench.nn.latent_diffusion.checkpoint import write_latent_diffusion
from invbench.nn.normalize import normalization_for

TINY_UNET = UNetSpec((8, 16), 1, (False, False), mid_attention=False, norm_num_groups=4, attention_head_dim=8)


def tiny_preset(**train: object) -> Preset:
    spec = {
        "batch_size": 16,
        "lr": 2e-3,
        "steps": 60,
        "warmup_steps": 0,
        "ema_decay": 0.9,
        "ema_every": 1,
        "ema_start": 5,
        "checkpoint_every": 10,
        "export_dtype": "float32",
    } | train
    return Preset("tiny", TINY_UNET, ScheduleSpec(), TrainSpec(**spec))


def tiny_prior(domain: str = "darcy-grf", shape: tuple[int, int] = (16, 16), seed: int = 0) -> DiffusionPrior:
    norm = normalization_for(domain, shape)
    torch.manual_seed(seed)
    unet = UNet2DModel(**TINY_UNET.diffusers_config(norm.model_shape))
    return DiffusionPrior(unet, norm, ScheduleSpec())


def write_tiny_checkpoint(
    path, *, domain="darcy-grf", shape=(16, 16), seed=0, steps=0, dtype="float32"
) -> tuple[DiffusionPrior, dict]:
    """Write a tiny prior as a checkpoint at ``path`` (``NAME.safetensors``); return it and its manifest."""
    prior = tiny_prior(domain, shape, seed=seed)
    manifest = write_checkpoint(
        path,
        prior.unet.state_dict(),
        name=path.stem,
        architecture_config=TINY_UNET.diffusers_config(prior.model_shape),
        normalization=prior.normalization,
        schedule=ScheduleSpec(),
        training={"preset": "tiny", "steps": steps, "final_loss": None},
        dtype=dtype,
    )
    return prior, manifest


@pytest.fixture
def prior() -> DiffusionPrior:
    return tiny_prior()


TINY_VAE = VAESpec((8, 8), 1, 2, norm_num_groups=4)
TINY_LDM_UNET = UNetSpec((8,), 1, (False,), mid_attention=False, norm_num_groups=4, attention_head_dim=8)


def write_tiny_autoencoder(path, *, domain="darcy-grf", shape=(16, 16), seed=0):
    """Write an untrained tiny autoencoder (one downsampling, 2 latent channels) for ``shape`` fields."""
    from diffusers import AutoencoderKL

    norm = normalization_for(domain, shape)
    arch = TINY_VAE.diffusers_config(norm.model_shape)
    torch.manual_seed(seed)
    vae = AutoencoderKL(**arch)
    f = TINY_VAE.downsampling
    latent = (TINY_VAE.latent_channels, norm.model_shape[0] // f, norm.model_shape[1] // f)
    return write_autoencoder(
        path, vae.state_dict(), name=path.stem, architecture_config=arch, normalization=norm,
        latent_shape=latent, latent_scale=0.5, training={"preset": "tiny", "steps": 3, "device": "cpu"},
    )  # fmt: skip


def write_tiny_latent_diffusion(path, autoencoder_path, *, seed=0):
    """Write an untrained tiny latent diffusion model on the autoencoder at ``autoencoder_path``."""
    import json

    from invbench.nn.weights import weights_record

    ae = json.loads(autoencoder_path.with_suffix(".json").read_text())
    c, h, w = ae["latent"]["shape"]
    arch = TINY_LDM_UNET.diffusers_config((h, w), channels=c)
    torch.manual_seed(seed)
    unet = UNet2DModel(**arch)
    return write_latent_diffusion(
        path, unet.state_dict(), name=path.stem, architecture_config=arch, domain=ae["domain"],
        schedule=ScheduleSpec(), autoencoder=weights_record(autoencoder_path),
        training={"preset": "tiny", "steps": 2, "device": "cpu"},
    )  # fmt: skip
