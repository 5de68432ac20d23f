"""Train a latent diffusion model: the DDPM loss on the scaled latents of a frozen autoencoder.

Each step draws a fresh batch of procedural fields (:mod:`invbench.nn.sources`, a pure function of
``(seed, step)``), encodes them with the frozen autoencoder (posterior means, divided by its latent scale),
draws ``t ~ U{0..T-1}`` and noise from a generator seeded by ``(seed, step)`` and minimises
``|| eps_theta(sqrt(abar_t) w0 + sqrt(1 - abar_t) eps, t) - eps ||^2`` (Ho et al. 2020; in a latent space,
Rombach et al. 2022). The shared :class:`~invbench.nn.training.TrainingLoop` does Adam, warm-up, EMA,
the resumable state and the progress bar; every checkpoint exports the EMA weights with the hash of the
autoencoder, so the model never loads beside another one.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from invbench.core.device import default_device
from invbench.nn.autoencoder.checkpoint import load_autoencoder
from invbench.nn.autoencoder.model import FieldAutoencoder
from invbench.nn.diffusion.presets import FWI_TRAINING_FAMILIES
from invbench.nn.latent_diffusion.checkpoint import write_latent_diffusion
from invbench.nn.latent_diffusion.model import latent_scheduler_kwargs, unet_eps
from invbench.nn.latent_diffusion.presets import LDMPreset, get_ldm_preset
from invbench.nn.sources import FieldSource, make_source
from invbench.nn.training import TrainingLoop, TrainResult, check_run, resumable_preset_config
from invbench.nn.weights import weights_record


def _noise_generator(seed: int, step: int) -> torch.Generator:
    words = np.random.SeedSequence([int(seed), int(step), 3]).generate_state(2, np.uint32)
    return torch.Generator().manual_seed(int(words[0]) << 31 | int(words[1]) >> 1)


class _LatentTraining:
    """The latent DDPM loss and the export of a run (the shared TrainingLoop does the rest)."""

    def __init__(
        self, preset: LDMPreset, out: Path, source: FieldSource, ae: FieldAutoencoder,
        ae_record: dict[str, Any], seed: int, name: str,
    ) -> None:  # fmt: skip
        self.preset, self.out, self.source, self.ae, self.ae_record = preset, out, source, ae, ae_record
        self.seed, self.name = seed, name
        c, h, w = ae.latent_shape
        self.arch = preset.unet.diffusers_config((h, w), channels=c)
        from diffusers import DDPMScheduler

        self.abar = DDPMScheduler(**latent_scheduler_kwargs(preset.schedule)).alphas_cumprod.to(torch.float32)
        self.loop: TrainingLoop | None = None

    @torch.no_grad()
    def latents(self, step: int) -> torch.Tensor:
        """Scaled latents of step ``step``'s batch."""
        fields = torch.as_tensor(self.source.batch(step, self.preset.train.batch_size))
        return self.ae.encode(fields) / self.ae.latent_scale

    def loss(self, model: torch.nn.Module, step: int) -> torch.Tensor:
        device = next(model.parameters()).device
        w0 = self.latents(step).float().to(device)
        gen = _noise_generator(self.seed, step)
        t = torch.randint(0, self.abar.numel(), (w0.shape[0],), generator=gen).to(device)
        eps = torch.randn(w0.shape, generator=gen).to(device)
        ab = self.abar.to(device)[t].view(-1, 1, 1, 1)
        pred = unet_eps(model, ab.sqrt() * w0 + (1.0 - ab).sqrt() * eps, t).sample
        return F.mse_loss(pred.float(), eps)

    def export(self, wall: float) -> dict[str, Any]:
        loop = self.loop
        assert loop is not None
        tr = self.preset.train
        training = {
            "preset": self.preset.name,
            "preset_config": self.preset.to_dict(),
            "preset_source": self.preset.source,
            "data": self.source.spec(),
            "latents": "posterior means of the autoencoder / latent_scale",
            **tr.optimizer_record(),
            "loss": "mse(eps_pred, eps), t ~ U{0..T-1}, on scaled latents",
            **loop.progress_record(self.seed, wall),
        }
        return write_latent_diffusion(
            self.out,
            loop.ema_state(),
            name=self.name,
            architecture_config=self.arch,
            domain=self.ae.domain,
            schedule=self.preset.schedule,
            autoencoder=self.ae_record,
            training=training,
            dtype=tr.export_dtype,
            ema=True,
        )


def train_latent_diffusion(
    autoencoder: str | Path,
    preset: str | LDMPreset = "lite",
    *,
    out: str | Path,
    steps: int | None = None,
    seed: int = 0,
    resume: bool = False,
    device: str | torch.device | None = None,
    name: str | None = None,
    bf16: bool | None = None,
    show_progress: bool = False,
    console: Any | None = None,
    callback: Callable[[int, float], None] | None = None,
) -> TrainResult:
    """Train (or continue training) a latent diffusion model on an autoencoder's latents.

    Args:
        autoencoder: The trained autoencoder (path or shipped name); its domain is the model's.
        preset: ``"lite"``, ``"paper"`` or an :class:`~invbench.nn.latent_diffusion.presets.LDMPreset`.
        out: Weights path ``NAME.safetensors`` (manifest and the ``NAME.train/`` state go beside it).
        steps: Total optimiser steps (default: the preset's); a resumed run continues up to this count.
        seed: Seed of the initial weights, the data stream and the noise.
        resume: Continue from ``NAME.train/`` when it exists. Without it an existing state is an error.
        device: ``"cpu"``, ``"cuda"``, ... (default: CUDA when available).
        name: Weights name in the manifest (default: the file stem).
        bf16: bfloat16 autocast (default: the preset's ``amp``).
        show_progress: Show a progress bar.
        console: A ``rich.console.Console`` for the bar.
        callback: Called as ``callback(step, loss)`` after every step.

    Raises:
        ValueError: A missing or corrupt autoencoder (:class:`~invbench.nn.weights.WeightsError`), an unknown
            preset, a bad ``out`` or step count, or a training state that cannot be resumed.
    """
    preset = get_ldm_preset(preset) if isinstance(preset, str) else preset
    total, out = check_run(steps, preset.train, out)
    dev = torch.device(device) if device else default_device()
    ae = load_autoencoder(autoencoder, device=dev)
    record = weights_record(autoencoder)
    families = FWI_TRAINING_FAMILIES if ae.domain == "fwi" else None
    source = make_source(ae.domain, seed=seed, field_shape=ae.normalization.field_shape, families=families)
    run = _LatentTraining(preset, out, source, ae, record, seed, name or out.stem)
    from diffusers import UNet2DModel

    torch.manual_seed(seed)
    model = UNet2DModel(**run.arch)
    preset_config = resumable_preset_config(preset)
    config = {
        "autoencoder": {"name": record["name"], "sha256": record["sha256"]},
        "preset": preset_config,
        "data": source.spec(),
        "seed": seed,
    }
    loop = TrainingLoop(
        model,
        run.loss,
        preset.train,
        out=out,
        config=config,
        device=dev,
        name=run.name,
        bf16=preset.train.amp if bf16 is None else bf16,
    )
    run.loop = loop
    return loop.train(
        total, run.export, resume=resume, show_progress=show_progress, console=console, callback=callback
    )
