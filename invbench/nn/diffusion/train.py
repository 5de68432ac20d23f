"""Train a diffusion prior: epsilon-prediction DDPM loss, Adam, EMA weights, resumable, with a progress bar.

Each step draws a fresh batch (:mod:`invbench.nn.sources`), maps it to model units, draws steps
``t ~ U{0..T-1}`` and noise from a generator seeded by ``(seed, step)``, and minimises
``|| eps_theta(sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, t) - eps ||^2`` (Ho et al. 2020). Because data
and noise depend only on ``(seed, step)`` and the optimiser and EMA state are saved, a resumed run
reproduces an uninterrupted one. The loop itself (Adam, warm-up, clipping, EMA, the resumable state every
``checkpoint_every`` steps, the progress bar) is the shared :class:`~invbench.nn.training.TrainingLoop`;
at each checkpoint the EMA weights are exported as a prior (:mod:`invbench.nn.diffusion.checkpoint`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from invbench.core.device import default_device
from invbench.nn.diffusion.checkpoint import write_checkpoint
from invbench.nn.diffusion.presets import Preset, get_preset
from invbench.nn.diffusion.prior import make_scheduler
from invbench.nn.normalize import DOMAINS, Normalization, normalization_for
from invbench.nn.sources import FieldSource, make_source
from invbench.nn.training import TrainingLoop, TrainResult, check_run, resumable_preset_config


def _noise_generator(seed: int, step: int) -> torch.Generator:
    words = np.random.SeedSequence([int(seed), int(step), 1]).generate_state(2, np.uint32)
    return torch.Generator().manual_seed(int(words[0]) << 31 | int(words[1]) >> 1)


def _run_config(
    domain: str, preset: Preset, norm: Normalization, source: FieldSource, seed: int
) -> dict[str, Any]:
    """What must not change across a resume (the step count may)."""
    return {
        "domain": domain,
        "preset": resumable_preset_config(preset),
        "normalization": norm.to_dict(),
        "data": source.spec(),
        "seed": seed,
    }


class _DiffusionTraining:
    """The DDPM loss and the prior export of a run (the shared TrainingLoop does the rest)."""

    def __init__(
        self, preset: Preset, out: Path, source: FieldSource, norm: Normalization, seed: int, name: str
    ) -> None:
        self.preset, self.out, self.source, self.norm, self.seed, self.name = (
            preset,
            out,
            source,
            norm,
            seed,
            name,
        )
        self.arch = preset.unet.diffusers_config(norm.model_shape)
        self.abar = make_scheduler(preset.schedule).alphas_cumprod.to(torch.float32)
        self.loop: TrainingLoop | None = None

    def loss(self, model: torch.nn.Module, step: int) -> torch.Tensor:
        """Epsilon-prediction loss of step ``step``'s batch (data and noise depend on the step only)."""
        device = next(model.parameters()).device
        x0 = self.norm.to_model_units(self.source.batch(step, self.preset.train.batch_size)).to(device)
        gen = _noise_generator(self.seed, step)
        t = torch.randint(0, self.abar.numel(), (x0.shape[0],), generator=gen).to(device)
        eps = torch.randn(x0.shape, generator=gen).to(device)
        ab = self.abar.to(device)[t].view(-1, 1, 1, 1)
        x_t = ab.sqrt() * x0 + (1.0 - ab).sqrt() * eps
        pred = model(x_t, t).sample
        return F.mse_loss(pred.float(), eps)

    def export(self, wall: float) -> dict[str, Any]:
        """Write the EMA weights as a prior checkpoint with the training record."""
        loop = self.loop
        assert loop is not None
        tr = self.preset.train
        training = {
            "preset": self.preset.name,
            "preset_config": self.preset.to_dict(),
            "preset_source": self.preset.source,
            "data": self.source.spec(),
            **tr.optimizer_record(),
            "loss": "mse(eps_pred, eps), t ~ U{0..T-1}",
            **loop.progress_record(self.seed, wall),
        }
        return write_checkpoint(
            self.out,
            loop.ema_state(),
            name=self.name,
            architecture_config=self.arch,
            normalization=self.norm,
            schedule=self.preset.schedule,
            training=training,
            dtype=tr.export_dtype,
            ema=True,
        )


def train_prior(
    domain: str,
    preset: str | Preset = "lite",
    *,
    out: str | Path,
    steps: int | None = None,
    data: list[Path] | None = None,
    families: tuple[str, ...] | None = None,
    field_shape: tuple[int, int] | None = None,
    seed: int = 0,
    resume: bool = False,
    device: str | torch.device | None = None,
    name: str | None = None,
    bf16: bool | None = None,
    show_progress: bool = False,
    console: Any | None = None,
    callback: Callable[[int, float], None] | None = None,
) -> TrainResult:
    """Train (or continue training) a diffusion prior and export its EMA weights as a checkpoint.

    Args:
        domain: ``"fwi"``, ``"darcy-grf"`` or ``"darcy-bimaterial"``.
        preset: ``"lite"``, ``"paper"`` or a :class:`~invbench.nn.diffusion.presets.Preset`.
        out: Checkpoint path ``NAME.safetensors`` (manifest ``NAME.json`` and state folder ``NAME.train/``
            go beside it).
        steps: Total optimiser steps (default: the preset's); a resumed run continues up to this count.
        data: Folders of real OpenFWI files (FWI only); default: fresh procedural fields every batch.
        families: FWI families for procedural training (default: the preset's).
        field_shape: Physical field shape (default 70 x 70 for FWI, 64 x 64 for Darcy).
        seed: Seed of the initial weights, the data stream and the noise.
        resume: Continue from ``NAME.train/`` when it exists (otherwise start fresh). Without it an
            existing training state is an error.
        device: ``"cpu"``, ``"cuda"``, ... (default: CUDA when available).
        name: Checkpoint name in the manifest (default: the file stem).
        bf16: bfloat16 autocast of the loss. ``None`` (default): the preset's ``amp`` on CUDA, off on
            the CPU; ``True`` on a CPU with AVX-512 BF16 roughly halves a step of the lite UNet
            (``docs/priors/training-throughput.md``). Recorded in the manifest (``amp_bf16``).
        show_progress: Show a rich progress bar (loss, steps/s, fields/s).
        console: A ``rich.console.Console`` for the bar.
        callback: Called as ``callback(step, loss)`` after every step.

    Returns:
        A :class:`~invbench.nn.training.TrainResult`.

    Raises:
        ValueError: Unknown domain or preset, bad data folders, or a training state that cannot be resumed
            (:class:`~invbench.nn.weights.WeightsError`).
    """
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r} (domains: {', '.join(DOMAINS)})")
    preset = get_preset(preset) if isinstance(preset, str) else preset
    total, out = check_run(steps, preset.train, out)
    norm = normalization_for(domain, field_shape)
    source = make_source(
        domain, seed=seed, field_shape=norm.field_shape, families=families or preset.fwi_families, data=data
    )
    dev = torch.device(device) if device else default_device()
    from diffusers import UNet2DModel

    run = _DiffusionTraining(preset, out, source, norm, seed, name or out.stem)
    torch.manual_seed(seed)
    model = UNet2DModel(**run.arch)
    loop = TrainingLoop(
        model,
        run.loss,
        preset.train,
        out=out,
        config=_run_config(domain, preset, norm, source, seed),
        device=dev,
        name=run.name,
        # The presets' amp was validated on GPUs; on the CPU bf16 is an explicit choice.
        bf16=(preset.train.amp and dev.type == "cuda") if bf16 is None else bool(bf16),
    )
    run.loop = loop
    return loop.train(
        total, run.export, resume=resume, show_progress=show_progress, console=console, callback=callback
    )
