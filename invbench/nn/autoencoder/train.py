"""Train a field autoencoder: reconstruction + KL, on the shared resumable loop, exporting EMA weights.

Each step draws a fresh batch of procedural fields (:mod:`invbench.nn.sources`, a pure function of
``(seed, step)``), maps it to model units, samples the posterior with a generator seeded by
``(seed, step)`` and minimises ``mean((decode(z) - x)^2) + kl_weight * KL(q(z|x) || N(0, I)) / n_pixels``
(the KL summed over the latent and divided by the field's pixel count, so both terms are per pixel). A
resumed run therefore reproduces an uninterrupted one. At every checkpoint the EMA weights are exported
with the standard deviation of the posterior means of 256 held-out fields (a separate stream, so they
never enter training) as the latent scale, and the held-out reconstruction error.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from invbench.core.device import default_device
from invbench.nn.autoencoder.checkpoint import write_autoencoder
from invbench.nn.autoencoder.presets import VAEPreset, get_vae_preset
from invbench.nn.diffusion.presets import FWI_TRAINING_FAMILIES
from invbench.nn.normalize import DOMAINS, Normalization, normalization_for
from invbench.nn.sources import FieldSource, make_source
from invbench.nn.training import TrainingLoop, TrainResult, check_run, resumable_preset_config

HELD_OUT_FIELDS = 256
HELD_OUT_SEED_OFFSET = 1_000_003
"""Added to the training seed for the held-out stream (fields never drawn by training)."""


def _generator(seed: int, step: int) -> torch.Generator:
    words = np.random.SeedSequence([int(seed), int(step), 2]).generate_state(2, np.uint32)
    return torch.Generator().manual_seed(int(words[0]) << 31 | int(words[1]) >> 1)


def vae_loss(
    vae: torch.nn.Module, x: torch.Tensor, kl_weight: float, generator: torch.Generator
) -> torch.Tensor:
    """Per-pixel reconstruction error plus ``kl_weight`` times the per-pixel KL (module docstring)."""
    posterior = vae.encode(x).latent_dist
    noise = torch.randn(posterior.mean.shape, generator=generator).to(x.device)
    z = posterior.mean + posterior.std * noise
    recon = vae.decode(z).sample.float()
    kl = posterior.kl().float().mean() / float(x[0].numel())
    return torch.mean((recon - x) ** 2) + kl_weight * kl


class _AutoencoderTraining:
    """The loss and the export of a run (the shared TrainingLoop does the rest)."""

    def __init__(
        self, preset: VAEPreset, out: Path, source: FieldSource, held_out: np.ndarray, norm: Normalization,
        seed: int, name: str,
    ) -> None:  # fmt: skip
        self.preset, self.out, self.source, self.norm, self.seed, self.name = (
            preset,
            out,
            source,
            norm,
            seed,
            name,
        )
        self.held_out = held_out
        self.arch = preset.vae.diffusers_config(norm.model_shape)
        f = preset.vae.downsampling
        self.latent_shape = (preset.vae.latent_channels, norm.model_shape[0] // f, norm.model_shape[1] // f)
        self.loop: TrainingLoop | None = None

    def loss(self, model: torch.nn.Module, step: int) -> torch.Tensor:
        device = next(model.parameters()).device
        x = self.norm.to_model_units(self.source.batch(step, self.preset.train.batch_size)).to(device)
        return vae_loss(model, x, self.preset.vae.kl_weight, _generator(self.seed, step))

    @torch.no_grad()
    def held_out_stats(self, vae: torch.nn.Module) -> dict[str, float]:
        """Latent scale and reconstruction error of the held-out fields (posterior means, no sampling)."""
        device = next(vae.parameters()).device
        means, sq_err = [], 0.0
        for chunk in np.array_split(self.held_out, max(1, len(self.held_out) // 32)):
            x = self.norm.to_model_units(chunk).to(device)
            mean = vae.encode(x).latent_dist.mean
            recon = vae.decode(mean).sample
            means.append(mean.float().cpu())
            sq_err += float(((recon - x) ** 2).sum())
        z = torch.cat(means)
        n_pixels = self.held_out.size
        return {"latent_std": float(z.std()), "rmse_model_units": float(np.sqrt(sq_err / n_pixels))}

    def export(self, wall: float) -> dict[str, Any]:
        loop = self.loop
        assert loop is not None
        tr = self.preset.train
        stats = self.held_out_stats(loop.ema)
        training = {
            "preset": self.preset.name,
            "preset_config": self.preset.to_dict(),
            "preset_source": self.preset.source,
            "data": self.source.spec(),
            "held_out": {"fields": len(self.held_out), "seed": self.seed + HELD_OUT_SEED_OFFSET, **stats},
            **tr.optimizer_record(),
            "loss": "mse(decode(z), x) + kl_weight * KL(q(z|x) || N(0, I)) / pixels, z ~ q(z|x)",
            "kl_weight": self.preset.vae.kl_weight,
            **loop.progress_record(self.seed, wall),
        }  # fmt: skip
        return write_autoencoder(
            self.out,
            loop.ema_state(),
            name=self.name,
            architecture_config=self.arch,
            normalization=self.norm,
            latent_shape=self.latent_shape,
            latent_scale=stats["latent_std"],
            training=training,
            dtype=tr.export_dtype,
            ema=True,
        )


def train_autoencoder(
    domain: str,
    preset: str | VAEPreset = "lite",
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
    """Train (or continue training) a field autoencoder and export its EMA weights.

    Args:
        domain: ``"fwi"``, ``"darcy-grf"`` or ``"darcy-bimaterial"``.
        preset: ``"lite"``, ``"paper"`` or a :class:`~invbench.nn.autoencoder.presets.VAEPreset`.
        out: Weights path ``NAME.safetensors`` (manifest and the ``NAME.train/`` state go beside it).
        steps: Total optimiser steps (default: the preset's); a resumed run continues up to this count.
        seed: Seed of the initial weights, the data stream and the posterior noise.
        resume: Continue from ``NAME.train/`` when it exists. Without it an existing state is an error.
        device: ``"cpu"``, ``"cuda"``, ... (default: CUDA when available).
        name: Weights name in the manifest (default: the file stem).
        bf16: bfloat16 autocast (default: the preset's ``amp``).
        show_progress: Show a progress bar.
        console: A ``rich.console.Console`` for the bar.
        callback: Called as ``callback(step, loss)`` after every step.

    Raises:
        ValueError: Unknown domain or preset, a bad ``out`` or step count, or a training state that cannot
            be resumed (:class:`~invbench.nn.weights.WeightsError`).
    """
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r} (domains: {', '.join(DOMAINS)})")
    preset = get_vae_preset(preset) if isinstance(preset, str) else preset
    total, out = check_run(steps, preset.train, out)
    norm = normalization_for(domain)
    families = FWI_TRAINING_FAMILIES if domain == "fwi" else None
    source = make_source(domain, seed=seed, field_shape=norm.field_shape, families=families)
    held = make_source(
        domain, seed=seed + HELD_OUT_SEED_OFFSET, field_shape=norm.field_shape, families=families
    )
    run = _AutoencoderTraining(
        preset, out, source, held.batch(0, HELD_OUT_FIELDS), norm, seed, name or out.stem
    )
    from diffusers import AutoencoderKL

    torch.manual_seed(seed)
    model = AutoencoderKL(**run.arch)
    preset_config = resumable_preset_config(preset)
    config = {
        "domain": domain,
        "preset": preset_config,
        "normalization": norm.to_dict(),
        "data": source.spec(),
        "seed": seed,
    }
    loop = TrainingLoop(
        model,
        run.loss,
        preset.train,
        out=out,
        config=config,
        device=torch.device(device) if device else default_device(),
        name=run.name,
        bf16=preset.train.amp if bf16 is None else bf16,
    )
    run.loop = loop
    return loop.train(
        total, run.export, resume=resume, show_progress=show_progress, console=console, callback=callback
    )
