"""Tiny priors for fast tests: a two-level UNet of width 8 on 16 x 16 fields."""

from __future__ import annotations

import pytest
import torch
from diffusers import UNet2DModel

from invbench.nn.diffusion.checkpoint import write_checkpoint
from invbench.nn.diffusion.presets import Preset, ScheduleSpec, TrainSpec, UNetSpec
from invbench.nn.diffusion.prior import DiffusionPrior
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
