"""Train WaveDiffusion's stage 1 on simulated pairs with the shared resumable loop; export weights + manifest.

The loss of a batch (seismic data ``s`` and velocity maps ``v``, both transformed to [-1, 1]): each branch
encodes its modality (``h_s``, ``h_v``), the shared codebook quantises both (``z_s``, ``z_v``), and both
decoders reconstruct their modality from both latents,

    L = w_s (|D_s(z_s) - s| + |D_s(z_v) - s|) + w_v (|D_v(z_s) - v| + |D_v(z_v) - v|)
        + VQ(h_s) + VQ(h_v) + w_l mean((h_s - h_v)^2),

with mean absolute errors, ``VQ`` the codebook plus ``beta``-weighted commitment loss of diffusers'
quantiser, and the last term pulling the two encoders' latents together. The paper adds a perceptual
loss and a discriminator (VQGAN-style); this stage leaves both out (see :mod:`solvers.wavediffusion.presets`).

Every export records, on the held-out pairs: stage 1 used as inversion (``D_v(z_s)`` resized to the task's
grid, clipped: the ``wavediffusion-stage1`` estimate) as MAE and RMSE in normalised velocity units, the
seismic reconstruction error ``|D_s(z_s) - s|``, and how many codebook entries their latents use.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from invbench.core.device import default_device
from invbench.data.pairs import PairSet
from invbench.nn.training import TrainingLoop, TrainResult, check_run, resumable_preset_config
from invbench.nn.weights import write_weights
from invbench.physics.wave.units import V_CENTER, V_SCALE
from solvers.wavediffusion.data import transforms_for
from solvers.wavediffusion.network import WaveVQ
from solvers.wavediffusion.presets import Stage1Preset, get_stage1_preset

ARCHITECTURE = "solvers.wavediffusion.network:WaveVQ"
KIND = "wavediffusion-stage1"
HELD_OUT = 256
"""Pairs kept out of training by default (split over the folders)."""
STREAM = 11
"""Batch-order stream of stage 1 (:class:`~invbench.data.pairs.PairSet`)."""


def stage1_loss(model: WaveVQ, s: torch.Tensor, v: torch.Tensor, preset: Stage1Preset) -> torch.Tensor:
    """The stage-1 loss of transformed seismic data ``s`` and velocity maps ``v`` (module docstring)."""
    h_s, h_v = model.encode_seismic(s), model.encode_velocity(v)
    z_s, vq_s, _ = model.quantize(h_s)
    z_v, vq_v, _ = model.quantize(h_v)
    seismic = sum(torch.mean(torch.abs(model.decode_seismic(z).float() - s)) for z in (z_s, z_v))
    velocity = sum(torch.mean(torch.abs(model.decode_velocity(z).float() - v)) for z in (z_s, z_v))
    agree = F.mse_loss(h_s.float(), h_v.float())
    return (
        preset.seismic_weight * seismic
        + preset.velocity_weight * velocity
        + vq_s
        + vq_v
        + preset.latent_weight * agree
    )


class _Stage1Run:
    """The data stream, the loss and the export of one run (the loop does the rest)."""

    def __init__(
        self, preset: Stage1Preset, data: PairSet, out: Path, seed: int, name: str, arch: dict[str, Any]
    ) -> None:
        self.preset, self.data, self.out, self.seed, self.name, self.arch = (
            preset,
            data,
            out,
            seed,
            name,
            arch,
        )
        self.seismic, self.velocity = transforms_for(
            data.acquisition,
            channels=preset.seismic_channels,
            time_samples=preset.seismic_time,
            receivers=preset.receivers,
            velocity_size=preset.velocity_size,
            time_decimation=preset.time_decimation,
        )
        self.loop: TrainingLoop | None = None

    def inputs(self, idx: torch.Tensor, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Transformed seismic data and velocity maps of pairs ``idx``."""
        s = self.seismic(self.data.data[idx].float()).to(device)
        v = self.velocity(self.data.velocity[idx]).to(device)
        return s, v

    def loss(self, model: torch.nn.Module, step: int) -> torch.Tensor:
        device = next(model.parameters()).device
        s, v = self.inputs(self.data.batch(step), device)
        return stage1_loss(model, s, v, self.preset)  # type: ignore[arg-type]

    @torch.no_grad()
    def held_out(self, model: WaveVQ) -> dict[str, Any]:
        """Held-out errors (module docstring); empty without held-out pairs."""
        idx = self.data.held_idx
        if not len(idx):
            return {}
        device = next(model.parameters()).device
        shape = tuple(self.data.velocity.shape[-2:])
        abs_v = sq_v = abs_s = 0.0
        n_v = n_s = 0
        codes: set[int] = set()
        for chunk in idx.split(16):
            s, _ = self.inputs(chunk, device)
            z, _, indices = model.quantize(model.encode_seismic(s))
            truth = (self.data.velocity[chunk] - V_CENTER) / V_SCALE
            est = (self.velocity.to_field(model.decode_velocity(z), shape).cpu() - V_CENTER) / V_SCALE
            err = est - truth
            abs_v, sq_v, n_v = abs_v + float(err.abs().sum()), sq_v + float((err**2).sum()), n_v + err.numel()
            rec = model.decode_seismic(z).float() - s
            abs_s, n_s = abs_s + float(rec.abs().sum()), n_s + rec.numel()
            codes.update(int(c) for c in indices.unique())
        return {
            "pairs": len(idx),
            "units": "normalised velocity (v - 3000) / 1500 on the task's grid; seismic in network units",
            "mae": abs_v / n_v,
            "rmse": float(np.sqrt(sq_v / n_v)),
            "seismic_mae": abs_s / n_s,
            "codebook_entries_used": len(codes),
        }

    def export(self, wall: float) -> dict[str, Any]:
        loop = self.loop
        assert loop is not None
        tr = self.preset.train
        training = {
            "preset": self.preset.name,
            "preset_config": self.preset.to_dict(),
            "preset_source": self.preset.source,
            "data": self.data.summary(),
            "held_out": self.held_out(loop.ema),  # type: ignore[arg-type]
            "epochs": round(loop.step / self.data.steps_per_epoch, 3),
            **tr.optimizer_record(),
            "loss": "L1 self- and cross-reconstruction of both modalities + VQ losses + latent agreement "
            "(no perceptual loss, no discriminator)",
            **loop.progress_record(self.seed, wall),
        }
        return write_weights(
            self.out,
            loop.ema_state(),
            name=self.name,
            kind=KIND,
            architecture=ARCHITECTURE,
            config=self.arch,
            training=training,
            dtype=tr.export_dtype,
            ema=tr.ema_decay > 0,
            extra={
                "task_family": "fwi",
                "seismic_transform": self.seismic.to_dict(),
                "velocity_transform": self.velocity.to_dict(),
                "acquisition": self.data.acquisition,
            },
            packages=("diffusers",),
        )


def train_stage1(
    pairs: list[str | Path] | tuple[str | Path, ...],
    preset: str | Stage1Preset = "lite",
    *,
    out: str | Path,
    steps: int | None = None,
    seed: int = 0,
    resume: bool = False,
    device: str | torch.device | None = None,
    name: str | None = None,
    bf16: bool | None = None,
    held_out: int = HELD_OUT,
    show_progress: bool = False,
    console: Any | None = None,
    callback: Callable[[int, float], None] | None = None,
) -> TrainResult:
    """Train (or continue training) WaveDiffusion's stage 1 on pair folders and export its weights.

    Args:
        pairs: Folders made by ``invbench generate-pairs`` (one acquisition; e.g. one per family).
        preset: ``"lite"``, ``"paper"`` or a :class:`~solvers.wavediffusion.presets.Stage1Preset`.
        out: Weights path ``NAME.safetensors`` (manifest and the ``NAME.train/`` state go beside it).
        steps: Total optimiser steps (default: the preset's); a resumed run continues up to this count.
        seed: Seed of the initial weights and of the batch order.
        resume: Continue from ``NAME.train/`` (or, without it, warm-restart from the exported weights).
        device: ``"cpu"``, ``"cuda"``, ... (default: CUDA when available).
        name: Weights name in the manifest (default: the file stem).
        bf16: bfloat16 autocast (default: the preset's ``amp``).
        held_out: Pairs kept out of training, for the held-out errors (split over folders).
        show_progress: Show a progress bar.
        console: A ``rich.console.Console`` for the bar.
        callback: Called as ``callback(step, loss)`` after every step.

    Raises:
        ValueError: Unknown preset, bad ``out`` or step count, unusable pairs, or a state that cannot be
            resumed (:class:`~invbench.nn.weights.WeightsError`).
    """
    preset = get_stage1_preset(preset) if isinstance(preset, str) else preset
    total, out = check_run(steps, preset.train, out)
    data = PairSet(
        list(pairs),
        time_decimation=preset.time_decimation,
        held_out=held_out,
        batch_size=preset.train.batch_size,
        seed=seed,
        stream=STREAM,
    )
    arch = preset.network_config()
    run = _Stage1Run(preset, data, out, seed, name or out.stem, arch)
    torch.manual_seed(seed)
    model = WaveVQ(**arch)
    preset_config = resumable_preset_config(preset)
    config = {
        "preset": preset_config,
        "architecture": arch,
        "seismic_transform": run.seismic.to_dict(),
        "pairs": [{k: s[k] for k in ("task", "start", "n", "time_decimation")} for s in data.pairs.summary()],
        "held_out": held_out,
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
