"""Train WaveDiffusion's stage 2 on a frozen stage 1's latents of simulated pairs; export weights + manifest.

The frozen stage 1 encodes every pair's seismic data once (quantised latents of the seismic encoder: what
the refinement starts from, :mod:`solvers.wavediffusion.refine`), and their standard deviation becomes the
latent scale (``w = z_q / scale``). Each step takes the batch of :class:`~invbench.data.pairs.PairSet` (a
function of ``(seed, step)``), draws ``t ~ U{0..T-1}`` and noise from a generator seeded by
``(seed, step)``, and minimises the paper's L1 loss ``|eps_theta(sqrt(abar_t) w + sqrt(1 - abar_t) eps, t)
- eps|`` (WaveDiffusion, Wang et al., ICML 2025; DDPM's noise prediction, Ho et al. 2020). The shared
:class:`~invbench.nn.training.TrainingLoop` does Adam, warm-up, EMA, the resumable state and the progress
bar. Every export records the same loss on the held-out pairs (fixed ``t`` and noise), the stage 1 it
belongs to (name and sha256) and the pairs' cost.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from invbench.core.device import default_device
from invbench.data.pairs import PairSet
from invbench.nn.latent_diffusion.model import unet_eps
from invbench.nn.training import TrainingLoop, TrainResult, check_run, resumable_preset_config
from invbench.nn.weights import weights_record
from solvers.wavediffusion.checkpoint import Stage1, load_stage1
from solvers.wavediffusion.ldm import make_scheduler, write_ldm
from solvers.wavediffusion.presets import LDMPreset, get_ldm_preset
from solvers.wavediffusion.train_stage1 import HELD_OUT

STREAM = 12
"""Batch-order stream of stage 2 (:class:`~invbench.data.pairs.PairSet`)."""


def _generator(seed: int, step: int, stream: int = 3) -> torch.Generator:
    words = np.random.SeedSequence([int(seed), int(step), stream]).generate_state(2, np.uint32)
    return torch.Generator().manual_seed(int(words[0]) << 31 | int(words[1]) >> 1)


@torch.no_grad()
def encode_pairs(stage1: Stage1, data: PairSet, chunk: int = 32) -> torch.Tensor:
    """Quantised seismic latents ``(N, C, h, w)`` of every pair, float32 on the CPU."""
    out = []
    for i in range(0, len(data.data), chunk):
        s = stage1.seismic(data.data[i : i + chunk].float().to(stage1.device))
        out.append(stage1.model.latent(s).float().cpu())
    return torch.cat(out)


class _LDMRun:
    """The latent stream, the loss and the export of one run (the loop does the rest)."""

    def __init__(
        self,
        preset: LDMPreset,
        data: PairSet,
        stage1: Stage1,
        latents: torch.Tensor,
        scale: float,
        out: Path,
        seed: int,
        name: str,
        encode_s: float,
    ) -> None:
        self.preset, self.data, self.stage1, self.out, self.seed, self.name = (
            preset,
            data,
            stage1,
            out,
            seed,
            name,
        )
        self.latents, self.scale, self.encode_s = latents, float(scale), encode_s
        c, h, w = stage1.model.latent_shape
        self.arch = preset.unet.diffusers_config((h, w), channels=c)
        self.abar = make_scheduler(preset.schedule).alphas_cumprod.to(torch.float32)
        self.loop: TrainingLoop | None = None

    def _l1(self, model: torch.nn.Module, w0: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        device = next(model.parameters()).device
        t = torch.randint(0, self.abar.numel(), (w0.shape[0],), generator=gen)
        eps = torch.randn(w0.shape, generator=gen)
        ab = self.abar[t].view(-1, 1, 1, 1)
        noisy = (ab.sqrt() * w0 + (1.0 - ab).sqrt() * eps).to(device)
        pred = unet_eps(model, noisy, t.to(device)).sample
        return torch.mean(torch.abs(pred.float() - eps.to(device)))

    def loss(self, model: torch.nn.Module, step: int) -> torch.Tensor:
        w0 = self.latents[self.data.batch(step)] / self.scale
        return self._l1(model, w0, _generator(self.seed, step))

    @torch.no_grad()
    def held_out(self, model: torch.nn.Module) -> dict[str, Any]:
        """The training loss on the held-out pairs with fixed steps and noise (eval mode)."""
        idx = self.data.held_idx
        if not len(idx):
            return {}
        gen = _generator(self.seed, 0, stream=4)
        losses = [float(self._l1(model, self.latents[c] / self.scale, gen)) * len(c) for c in idx.split(32)]
        return {"pairs": len(idx), "l1_eps": sum(losses) / len(idx)}

    def export(self, wall: float) -> dict[str, Any]:
        loop = self.loop
        assert loop is not None
        tr = self.preset.train
        training = {
            "preset": self.preset.name,
            "preset_config": self.preset.to_dict(),
            "preset_source": self.preset.source,
            "data": self.data.summary(),
            "latents": "quantised seismic-encoder latents of the training pairs / latent scale",
            "latent_encoding_s": round(self.encode_s, 1),
            "held_out": self.held_out(loop.ema),
            "epochs": round(loop.step / self.data.steps_per_epoch, 3),
            **tr.optimizer_record(),
            "loss": "mean |eps_theta(x_t, t) - eps| (L1, the paper's), t ~ U{0..T-1}",
            **loop.progress_record(self.seed, wall),
        }
        return write_ldm(
            self.out,
            loop.ema_state(),
            name=self.name,
            unet_config=self.arch,
            schedule=self.preset.schedule,
            latent_scale=self.scale,
            stage1=self.stage1,
            training=training,
            dtype=tr.export_dtype,
            ema=tr.ema_decay > 0,
        )


def train_ldm(
    autoencoder: str | Path,
    pairs: list[str | Path] | tuple[str | Path, ...],
    preset: str | LDMPreset = "lite",
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
    """Train (or continue training) WaveDiffusion's latent diffusion model and export its weights.

    Args:
        autoencoder: The trained stage 1 (path or shipped name).
        pairs: Folders made by ``invbench generate-pairs``, in stage 1's acquisition.
        preset: ``"lite"``, ``"paper"`` or an :class:`~solvers.wavediffusion.presets.LDMPreset`.
        out: Weights path ``NAME.safetensors`` (manifest and the ``NAME.train/`` state go beside it).
        steps: Total optimiser steps (default: the preset's); a resumed run continues up to this count.
        seed: Seed of the initial weights, the batch order and the noise.
        resume: Continue from ``NAME.train/`` (or, without it, warm-restart from the exported weights).
        device: ``"cpu"``, ``"cuda"``, ... (default: CUDA when available).
        name: Weights name in the manifest (default: the file stem).
        bf16: bfloat16 autocast (default: the preset's ``amp``).
        held_out: Pairs kept out of training, for the held-out loss (split over folders).
        show_progress: Show a progress bar.
        console: A ``rich.console.Console`` for the bar.
        callback: Called as ``callback(step, loss)`` after every step.

    Raises:
        ValueError: Unknown preset, bad ``out`` or step count, unusable pairs, pairs of another
            acquisition than stage 1's, or a state that cannot be resumed
            (:class:`~invbench.nn.weights.WeightsError`, which missing stage-1 weights also raise).
    """
    from diffusers import UNet2DModel

    preset = get_ldm_preset(preset) if isinstance(preset, str) else preset
    total, out = check_run(steps, preset.train, out)
    dev = torch.device(device) if device else default_device()
    stage1 = load_stage1(str(autoencoder), dev)
    data = PairSet(
        list(pairs),
        time_decimation=stage1.seismic.time_decimation,
        held_out=held_out,
        batch_size=preset.train.batch_size,
        seed=seed,
        stream=STREAM,
    )
    if data.acquisition != stage1.acquisition:
        raise ValueError(f"the pairs' acquisition differs from the one stage 1 {autoencoder} was trained for")
    t0 = time.perf_counter()
    latents = encode_pairs(stage1, data)
    encode_s = time.perf_counter() - t0
    scale = float(latents[data.train_idx].std())
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError(
            f"stage 1 {autoencoder} gives every training pair the same latent (no spread to model)"
        )
    record = weights_record(stage1.spec)
    run = _LDMRun(preset, data, stage1, latents, scale, out, seed, name or out.stem, encode_s)
    torch.manual_seed(seed)
    model = UNet2DModel(**run.arch)
    preset_config = resumable_preset_config(preset)
    config = {
        "preset": preset_config,
        "architecture": run.arch,
        "autoencoder_sha256": record["sha256"],
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
        device=dev,
        name=run.name,
        bf16=preset.train.amp if bf16 is None else bf16,
    )
    run.loop = loop
    return loop.train(
        total, run.export, resume=resume, show_progress=show_progress, console=console, callback=callback
    )
