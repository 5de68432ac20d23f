"""Train a diffusion prior: epsilon-prediction DDPM loss, Adam, EMA weights, resumable, with a progress bar.

Each step draws a fresh batch (:mod:`invbench.nn.sources`), maps it to model units, draws steps
``t ~ U{0..T-1}`` and noise from a generator seeded by ``(seed, step)``, and minimises
``|| eps_theta(sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, t) - eps ||^2`` (Ho et al. 2020). Because data
and noise depend only on ``(seed, step)`` and the optimiser and EMA state are saved, a resumed run
reproduces an uninterrupted one. Every ``checkpoint_every`` steps (and at the end) the training state is
saved (:mod:`invbench.nn.train_state`) and the EMA weights are exported as a prior checkpoint
(:mod:`invbench.nn.weights`).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
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
from invbench.nn.train_state import load_state, save_state, state_dir
from invbench.nn.weights import WeightsError

FINAL_LOSS_WINDOW = 100


@dataclass
class TrainResult:
    """What a training run produced.

    Attributes:
        checkpoint: Path of the exported ``.safetensors`` (its manifest is beside it).
        manifest: The exported manifest.
        losses: Per-step training losses over the whole run (including steps before a resume).
        start_step: Step the run (re)started from.
        step: Steps completed.
        steps_per_second: Throughput of this session.
        wall_time: Seconds of this session.
    """

    checkpoint: Path
    manifest: dict[str, Any]
    losses: list[float]
    start_step: int
    step: int
    steps_per_second: float
    wall_time: float


def _noise_generator(seed: int, step: int) -> torch.Generator:
    words = np.random.SeedSequence([int(seed), int(step), 1]).generate_state(2, np.uint32)
    return torch.Generator().manual_seed(int(words[0]) << 31 | int(words[1]) >> 1)


def _run_config(
    domain: str, preset: Preset, norm: Normalization, source: FieldSource, seed: int
) -> dict[str, Any]:
    """What must not change across a resume (the step count may)."""
    p = preset.to_dict()
    p["train"].pop("steps")
    return {
        "domain": domain,
        "preset": p,
        "normalization": norm.to_dict(),
        "data": source.spec(),
        "seed": seed,
    }


def _log_checkpoint(console: Any, trainer: Any, total: int, elapsed: float, start: int) -> None:
    """One plain line per saved state, for logs (a progress bar draws nothing when output is redirected)."""
    rate = (trainer.step - start) / max(elapsed, 1e-9)
    loss = float(np.mean(trainer.losses[-50:]))
    console.print(
        f"{trainer.name}: step {trainer.step}/{total}, loss {loss:.4f}, {rate:.2f} steps/s, state saved",
        highlight=False,
    )


def _make_progress(console: Any | None) -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold blue]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"),
        TextColumn("{task.fields[rate]} steps/s"),
        TextColumn("{task.fields[fps]} fields/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


class _Trainer:
    """One training session (setup, resume, loop, save); see :func:`train_prior`."""

    def __init__(
        self,
        domain: str,
        preset: Preset,
        out: Path,
        source: FieldSource,
        norm: Normalization,
        seed: int,
        device: torch.device,
        name: str,
    ) -> None:
        from diffusers import UNet2DModel

        self.domain, self.preset, self.out, self.source, self.norm = domain, preset, out, source, norm
        self.seed, self.device, self.name = seed, device, name
        self.arch = preset.unet.diffusers_config(norm.model_shape)
        torch.manual_seed(seed)
        self.model = UNet2DModel(**self.arch).to(device).train()
        self.ema = copy.deepcopy(self.model).eval().requires_grad_(False)
        tr = preset.train
        self.opt = torch.optim.Adam(self.model.parameters(), lr=tr.lr, betas=tr.adam_betas)
        self.abar = make_scheduler(preset.schedule).alphas_cumprod.to(device=device, dtype=torch.float32)
        self.config = _run_config(domain, preset, norm, source, seed)
        self.step = 0
        self.losses: list[float] = []
        self.wall_before = 0.0
        self.amp = tr.amp and device.type == "cuda"

    def resume_or_start(self, resume: bool) -> None:
        folder = state_dir(self.out)
        if (folder / "state.json").exists():
            if not resume:
                raise WeightsError(
                    f"{folder}: a training state exists; pass --resume to continue it, or delete the folder "
                    "to start over"
                )
            self.model.cpu()
            self.ema.cpu()
            self.opt = torch.optim.Adam(
                self.model.parameters(), lr=self.preset.train.lr, betas=self.preset.train.adam_betas
            )
            self.step, self.losses, meta = load_state(
                folder, model=self.model, ema=self.ema, optimizer=self.opt, config=self.config
            )
            self.model.to(self.device)
            self.ema.to(self.device)
            for st in self.opt.state.values():
                for k, v in st.items():
                    if isinstance(v, torch.Tensor) and k != "step":
                        st[k] = v.to(self.device)
            self.wall_before = float(meta.get("wall_time_s", 0.0))

    def train_step(self) -> float:
        tr = self.preset.train
        x0 = self.norm.to_model_units(self.source.batch(self.step, tr.batch_size)).to(self.device)
        gen = _noise_generator(self.seed, self.step)
        t = torch.randint(0, self.abar.numel(), (x0.shape[0],), generator=gen).to(self.device)
        eps = torch.randn(x0.shape, generator=gen).to(self.device)
        ab = self.abar[t].view(-1, 1, 1, 1)
        x_t = ab.sqrt() * x0 + (1.0 - ab).sqrt() * eps
        lr = tr.lr * min(1.0, (self.step + 1) / tr.warmup_steps) if tr.warmup_steps else tr.lr
        for group in self.opt.param_groups:
            group["lr"] = lr
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.amp):
            pred = self.model(x_t, t).sample
        loss = F.mse_loss(pred.float(), eps)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if tr.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), tr.grad_clip)
        self.opt.step()
        self.step += 1
        self._update_ema()
        value = float(loss.detach())
        self.losses.append(value)
        return value

    @torch.no_grad()
    def _update_ema(self) -> None:
        tr = self.preset.train
        if self.step % tr.ema_every:
            return
        decay = 0.0 if self.step <= tr.ema_start else tr.ema_decay
        for e, p in zip(self.ema.parameters(), self.model.parameters(), strict=True):
            e.lerp_(p, 1.0 - decay)
        for e, b in zip(self.ema.buffers(), self.model.buffers(), strict=True):
            e.copy_(b)

    def final_loss(self) -> float | None:
        tail = self.losses[-FINAL_LOSS_WINDOW:]
        return float(np.mean(tail)) if tail else None

    def save(self, wall: float) -> dict[str, Any]:
        save_state(
            state_dir(self.out),
            step=self.step,
            model=self.model,
            ema=self.ema,
            optimizer=self.opt,
            losses=self.losses,
            config=self.config,
            extra={"wall_time_s": wall, "name": self.name},
        )
        tr = self.preset.train
        training = {
            "preset": self.preset.name,
            "preset_config": self.preset.to_dict(),
            "preset_source": self.preset.source,
            "data": self.source.spec(),
            "steps": self.step,
            "batch_size": tr.batch_size,
            "optimizer": {
                "name": "Adam",
                "lr": tr.lr,
                "betas": list(tr.adam_betas),
                "warmup_steps": tr.warmup_steps,
                "grad_clip": tr.grad_clip,
            },
            "ema": {"decay": tr.ema_decay, "every": tr.ema_every, "start": tr.ema_start},
            "loss": "mse(eps_pred, eps), t ~ U{0..T-1}",
            "final_loss": self.final_loss(),
            "final_loss_window": min(FINAL_LOSS_WINDOW, len(self.losses)),
            "seed": self.seed,
            "device": str(self.device),
            "amp_bf16": self.amp,
            "wall_time_s": round(wall, 1),
        }
        ema_state = {k: v.detach().cpu() for k, v in self.ema.state_dict().items()}
        return write_checkpoint(
            self.out,
            ema_state,
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
        show_progress: Show a rich progress bar (loss, steps/s, fields/s).
        console: A ``rich.console.Console`` for the bar.
        callback: Called as ``callback(step, loss)`` after every step.

    Returns:
        A :class:`TrainResult`.

    Raises:
        ValueError: Unknown domain or preset, bad data folders, or a training state that cannot be resumed
            (:class:`~invbench.nn.weights.WeightsError`).
    """
    if domain not in DOMAINS:
        raise ValueError(f"unknown domain {domain!r} (domains: {', '.join(DOMAINS)})")
    preset = get_preset(preset) if isinstance(preset, str) else preset
    total = int(steps if steps is not None else preset.train.steps)
    if total < 1:
        raise ValueError(f"steps must be at least 1, got {total}")
    out = Path(out)
    if out.suffix != ".safetensors":
        raise ValueError(f"--out must end in .safetensors, got {out}")
    norm = normalization_for(domain, field_shape)
    source = make_source(
        domain, seed=seed, field_shape=norm.field_shape, families=families or preset.fwi_families, data=data
    )
    dev = torch.device(device) if device else default_device()
    trainer = _Trainer(domain, preset, out, source, norm, seed, dev, name or out.stem)
    trainer.resume_or_start(resume)
    start = trainer.step
    if start > total:
        raise ValueError(f"the saved state is at step {start}, beyond the requested {total} steps")
    t0 = time.perf_counter()
    every = preset.train.checkpoint_every
    manifest: dict[str, Any] | None = None
    bar = _make_progress(console) if show_progress else None
    job = None
    if bar is not None:
        bar.start()
        job = bar.add_task(f"{trainer.name}", total=total, completed=start, loss="-", rate="-", fps="-")
    try:
        while trainer.step < total:
            loss = trainer.train_step()
            if callback is not None:
                callback(trainer.step, loss)
            if bar is not None:
                rate = (trainer.step - start) / max(time.perf_counter() - t0, 1e-9)
                smooth = np.mean(trainer.losses[-50:])
                bar.update(
                    job,
                    completed=trainer.step,
                    loss=f"{smooth:.4f}",
                    rate=f"{rate:.2f}",
                    fps=f"{rate * preset.train.batch_size:.1f}",
                )
            if trainer.step % every == 0 and trainer.step < total:
                manifest = trainer.save(trainer.wall_before + time.perf_counter() - t0)
                if bar is not None and not bar.console.is_terminal:
                    _log_checkpoint(bar.console, trainer, total, time.perf_counter() - t0, start)
    finally:
        if bar is not None:
            bar.stop()
    wall = time.perf_counter() - t0
    manifest = trainer.save(trainer.wall_before + wall)
    done = trainer.step - start
    return TrainResult(out, manifest, trainer.losses, start, trainer.step, done / wall if done else 0.0, wall)
