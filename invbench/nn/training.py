"""One resumable training loop for every learned part: Adam, warm-up, clipping, EMA, bf16, state, progress.

A method supplies its network, a loss ``loss(model, step) -> scalar`` (drawing its own batch for that
step; a loss that depends only on the step makes a resumed run reproduce an uninterrupted one) and an
``export(wall_time_s) -> manifest`` that writes its weights (:mod:`invbench.nn.weights`). The loop
owns the rest: Adam with linear learning-rate warm-up, global gradient-norm clipping, an EMA copy of
the weights (a copy until ``ema_start``, then ``ema = decay * ema + (1 - decay) * model`` every
``ema_every`` steps), optional bfloat16 autocast, the training state every ``checkpoint_every`` steps
(:mod:`invbench.nn.train_state`, resumable), and a rich progress bar (loss, steps/s, samples/s) that
falls back to one log line per saved state when output is not a terminal.

Two ways to resume. The full state (``NAME.train/``: weights, EMA and Adam moments in float32, about
16 bytes per parameter) continues a run exactly, but is too large to commit. Where only the exported
weights travel (a new machine with what landed), a *warm restart* continues from them instead: the
manifest records the run configuration, the step count, the wall time and a coarse loss curve, so
:meth:`TrainingLoop.resume_or_start` can load the exported EMA weights into both the network and its EMA
copy, keep the step count (the data stream goes on where it stopped) and rebuild Adam's moments from
zero over a short learning-rate re-warm-up (:data:`WARM_RESTART_STEPS`). That run no longer reproduces an
uninterrupted one bit for bit; the manifest says how many warm restarts it went through.

What every method's ``train_*`` function shares lives here too: :func:`check_run` validates the step count
and the output path, :meth:`TrainingLoop.progress_record` gives the fields every export's training record
holds, and :meth:`TrainingLoop.train` resumes (or starts) and runs, returning a :class:`TrainResult`.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from invbench.nn.train_state import load_state, save_state, state_dir
from invbench.nn.weights import WeightsError

FINAL_LOSS_WINDOW = 100
"""Steps averaged into the ``final_loss`` a manifest records."""

LOSS_CURVE_EVERY = 100
"""Steps per point of the coarse loss curve a manifest keeps (means of consecutive windows)."""

WARM_RESTART_STEPS = 200
"""Learning-rate re-warm-up after a warm restart, while Adam's moment estimates rebuild."""

Loss = Callable[[torch.nn.Module, int], torch.Tensor]
Export = Callable[[float], dict[str, Any]]


@dataclass(frozen=True)
class TrainSpec:
    """Optimisation settings.

    Attributes:
        batch_size: Fields per step.
        lr: Adam learning rate (after warm-up).
        steps: Default number of optimiser steps.
        warmup_steps: Linear learning-rate warm-up.
        adam_betas: Adam betas.
        grad_clip: Global gradient-norm clip (0 disables it).
        ema_decay: EMA decay per EMA update.
        ema_every: Optimiser steps between EMA updates.
        ema_start: Steps before the EMA starts averaging (until then it copies the weights).
        checkpoint_every: Steps between saved training states and exported checkpoints.
        amp: bfloat16 autocast of the loss (a method may restrict it to CUDA).
        export_dtype: dtype of the exported weights (``"float16"`` or ``"float32"``).
    """

    batch_size: int
    lr: float
    steps: int
    warmup_steps: int = 0
    adam_betas: tuple[float, float] = (0.9, 0.99)
    grad_clip: float = 1.0
    ema_decay: float = 0.995
    ema_every: int = 10
    ema_start: int = 100
    checkpoint_every: int = 1000
    amp: bool = False
    export_dtype: str = "float32"

    def optimizer_record(self) -> dict[str, Any]:
        """The optimiser and EMA settings, as a manifest's training record states them."""
        return {
            "batch_size": self.batch_size,
            "optimizer": {
                "name": "Adam",
                "lr": self.lr,
                "betas": list(self.adam_betas),
                "warmup_steps": self.warmup_steps,
                "grad_clip": self.grad_clip,
            },
            "ema": {"decay": self.ema_decay, "every": self.ema_every, "start": self.ema_start},
        }


@dataclass
class LoopResult:
    """What a session of :meth:`TrainingLoop.run` did.

    Attributes:
        manifest: The manifest of the last export.
        losses: Per-step losses of the whole run (including steps before a resume).
        start_step: Step the session (re)started from.
        step: Steps completed.
        steps_per_second: Throughput of this session.
        wall_time: Seconds of this session.
    """

    manifest: dict[str, Any]
    losses: list[float] = field(default_factory=list)
    start_step: int = 0
    step: int = 0
    steps_per_second: float = 0.0
    wall_time: float = 0.0


@dataclass
class TrainResult:
    """What a method's training run produced: its exported weights and how the session went.

    Attributes:
        checkpoint: Path of the exported ``.safetensors`` (its manifest is beside it).
        manifest: The manifest of the last export.
        losses: Per-step losses of the whole run (including steps before a resume).
        start_step: Step the session (re)started from.
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

    @classmethod
    def from_loop(cls, checkpoint: Path, done: LoopResult) -> TrainResult:
        """The result of a session that exported to ``checkpoint`` and ended as ``done``."""
        return cls(
            checkpoint,
            done.manifest,
            done.losses,
            done.start_step,
            done.step,
            done.steps_per_second,
            done.wall_time,
        )


def check_run(steps: int | None, spec: TrainSpec, out: str | Path) -> tuple[int, Path]:
    """The total step count of a run and its output path, validated.

    Args:
        steps: Total optimiser steps, or ``None`` for the preset's (``spec.steps``).
        spec: The preset's optimisation settings.
        out: The exported weights' path.

    Returns:
        ``(total, out)``, with ``out`` as a :class:`~pathlib.Path`.

    Raises:
        ValueError: Fewer than one step, or ``out`` does not end in ``.safetensors``.
    """
    total = int(steps if steps is not None else spec.steps)
    if total < 1:
        raise ValueError(f"steps must be at least 1, got {total}")
    out = Path(out)
    if out.suffix != ".safetensors":
        raise ValueError(f"--out must end in .safetensors, got {out}")
    return total, out


def resumable_preset_config(preset: Any) -> dict[str, Any]:
    """``preset.to_dict()`` without its step count: what must not change across a resume.

    A resumed run may train for more steps than the first stretch, so the total is left out of the
    configuration :meth:`TrainingLoop.resume_or_start` compares.
    """
    config = preset.to_dict()
    config["train"].pop("steps")
    return config


class TrainingLoop:
    """Train ``model`` on ``loss`` with the settings of ``spec`` (see the module docstring).

    Args:
        model: The network (moved to ``device``, put in train mode).
        loss: ``loss(model, step)``: the scalar loss of the batch of ``step``.
        spec: Optimisation, EMA and checkpoint settings.
        out: The exported weights' path; the training state lives beside it (``NAME.train/``).
        config: What must not change across a resume (checked when resuming).
        device: Where to train.
        name: Shown on the progress bar and in log lines.
        bf16: bfloat16 autocast of ``loss``.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        loss: Loss,
        spec: TrainSpec,
        *,
        out: Path,
        config: dict[str, Any],
        device: torch.device,
        name: str,
        bf16: bool = False,
    ) -> None:
        self.model = model.to(device).train()
        self.ema = copy.deepcopy(self.model).eval().requires_grad_(False)
        self.loss_fn, self.spec, self.out, self.config = loss, spec, Path(out), config
        self.device, self.name, self.bf16 = device, name, bool(bf16)
        self.opt = self._optimizer()
        self.step = 0
        self.losses: list[float] = []
        self.wall_before = 0.0
        self.curve_before: list[float] = []
        self.warm_restarts: list[int] = []
        self.rewarm_from: int | None = None

    def _optimizer(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.model.parameters(), lr=self.spec.lr, betas=self.spec.adam_betas)

    def resume_or_start(self, resume: bool) -> None:
        """Load the saved state when there is one and ``resume`` is set.

        Raises:
            WeightsError: A state exists but ``resume`` is off, or it does not match ``config``.
        """
        folder = state_dir(self.out)
        if not (folder / "state.json").exists():
            if resume:
                self._warm_restart()
            return
        if not resume:
            raise WeightsError(
                f"{folder}: a training state exists; pass --resume to continue it, or delete the folder "
                "to start over"
            )
        self.model.cpu()
        self.ema.cpu()
        self.opt = self._optimizer()
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
        self.curve_before = [float(x) for x in meta.get("loss_curve_before", [])]
        self.warm_restarts = [int(x) for x in meta.get("warm_restarts", [])]
        self.rewarm_from = self.warm_restarts[-1] if self.warm_restarts else None

    def _warm_restart(self) -> None:
        """Continue from the exported weights and their manifest when no full state exists.

        Raises:
            WeightsError: The exported manifest belongs to another run configuration, or the weights
                do not match the network.
        """
        from invbench.nn.train_state import _flatten
        from invbench.nn.weights import read_weights

        manifest_path = self.out.with_suffix(".json")
        if not self.out.is_file() or not manifest_path.is_file():
            return
        manifest, state, _ = read_weights(self.out)
        record = manifest.get("training") or {}
        saved = record.get("run_config")
        if saved is None:
            raise WeightsError(
                f"{manifest_path}: these weights do not record their run configuration, so they cannot be "
                "continued; train to another --out"
            )
        now, before = _flatten(json.loads(json.dumps(self.config))), _flatten(saved)
        changed = sorted(k for k in set(now) | set(before) if now.get(k) != before.get(k))
        if changed:
            diffs = "; ".join(f"{k}: saved {before.get(k)!r}, now {now.get(k)!r}" for k in changed[:8])
            raise WeightsError(f"{manifest_path}: cannot resume: the run configuration changed ({diffs})")
        weights = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
        self.model.load_state_dict(weights)
        self.ema.load_state_dict(weights)
        self.step = int(record["steps"])
        self.wall_before = float(record.get("wall_time_s", 0.0))
        self.curve_before = [float(x) for x in record.get("loss_curve", [])]
        self.warm_restarts = [int(x) for x in record.get("warm_restarts", [])] + [self.step]
        self.rewarm_from = self.step
        self.opt = self._optimizer()

    def loss_curve(self) -> list[float]:
        """Mean loss per :data:`LOSS_CURVE_EVERY` steps over the whole run (warm restarts included)."""
        tail = self.losses
        points = [
            float(np.mean(tail[i : i + LOSS_CURVE_EVERY])) for i in range(0, len(tail), LOSS_CURVE_EVERY)
        ]
        return self.curve_before + [round(p, 6) for p in points]

    def run_record(self) -> dict[str, Any]:
        """What a manifest needs so a warm restart can continue the run (see the module docstring)."""
        return {
            "run_config": json.loads(json.dumps(self.config)),
            "loss_curve": self.loss_curve(),
            "loss_curve_every": LOSS_CURVE_EVERY,
            "warm_restarts": list(self.warm_restarts),
        }

    def progress_record(self, seed: int, wall: float) -> dict[str, Any]:
        """The fields every export's training record holds: progress, where it ran, :meth:`run_record`.

        Args:
            seed: The run's seed.
            wall: Wall time of the whole run so far, seconds.
        """
        return {
            "steps": self.step,
            "final_loss": self.final_loss(),
            "final_loss_window": min(FINAL_LOSS_WINDOW, len(self.losses)),
            "seed": seed,
            "device": str(self.device),
            "threads": torch.get_num_threads(),
            "amp_bf16": self.bf16,
            **self.run_record(),
            "wall_time_s": round(wall, 1),
        }

    def _learning_rate(self) -> float:
        tr = self.spec
        lr = tr.lr * min(1.0, (self.step + 1) / tr.warmup_steps) if tr.warmup_steps else tr.lr
        if self.rewarm_from is not None:
            lr *= min(1.0, (self.step - self.rewarm_from + 1) / WARM_RESTART_STEPS)
        return lr

    def train_step(self) -> float:
        """One optimiser step (warm-up, autocast, clipping, EMA); returns its loss."""
        tr = self.spec
        lr = self._learning_rate()
        for group in self.opt.param_groups:
            group["lr"] = lr
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            loss = self.loss_fn(self.model, self.step)
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
        tr = self.spec
        if self.step % tr.ema_every:
            return
        decay = 0.0 if self.step <= tr.ema_start else tr.ema_decay
        for e, p in zip(self.ema.parameters(), self.model.parameters(), strict=True):
            e.lerp_(p, 1.0 - decay)
        for e, b in zip(self.ema.buffers(), self.model.buffers(), strict=True):
            e.copy_(b)

    def final_loss(self) -> float | None:
        """Mean loss of the last :data:`FINAL_LOSS_WINDOW` steps."""
        tail = self.losses[-FINAL_LOSS_WINDOW:]
        return float(np.mean(tail)) if tail else None

    def ema_state(self) -> dict[str, torch.Tensor]:
        """The EMA weights on the CPU (what a method exports)."""
        return {k: v.detach().cpu() for k, v in self.ema.state_dict().items()}

    def save_state(self, wall: float) -> None:
        """Write the resumable training state."""
        save_state(
            state_dir(self.out),
            step=self.step,
            model=self.model,
            ema=self.ema,
            optimizer=self.opt,
            losses=self.losses,
            config=self.config,
            extra={
                "wall_time_s": wall,
                "name": self.name,
                "loss_curve_before": self.curve_before,
                "warm_restarts": self.warm_restarts,
            },
        )

    def run(
        self,
        total: int,
        export: Export,
        *,
        show_progress: bool = False,
        console: Any | None = None,
        callback: Callable[[int, float], None] | None = None,
    ) -> LoopResult:
        """Train up to ``total`` steps, saving the state and exporting every ``checkpoint_every`` steps.

        Args:
            total: Steps of the whole run (a resumed run continues up to it).
            export: Writes the weights given the run's wall time so far; returns the manifest.
            show_progress: Show a progress bar.
            console: A ``rich.console.Console`` for the bar.
            callback: Called as ``callback(step, loss)`` after every step.

        Raises:
            ValueError: The saved state is beyond ``total``.
        """
        start = self.step
        if start > total:
            raise ValueError(f"the saved state is at step {start}, beyond the requested {total} steps")
        t0 = time.perf_counter()
        bar = _make_progress(console) if show_progress else None
        job = None
        if bar is not None:
            bar.start()
            job = bar.add_task(self.name, total=total, completed=start, loss="-", rate="-", fps="-")
        try:
            while self.step < total:
                loss = self.train_step()
                if callback is not None:
                    callback(self.step, loss)
                if bar is not None:
                    rate = (self.step - start) / max(time.perf_counter() - t0, 1e-9)
                    bar.update(
                        job,
                        completed=self.step,
                        loss=f"{np.mean(self.losses[-50:]):.4f}",
                        rate=f"{rate:.2f}",
                        fps=f"{rate * self.spec.batch_size:.1f}",
                    )
                if self.step % self.spec.checkpoint_every == 0 and self.step < total:
                    wall = self.wall_before + time.perf_counter() - t0
                    self.save_state(wall)
                    export(wall)
                    if bar is not None and not bar.console.is_terminal:
                        self._log_line(bar.console, total, time.perf_counter() - t0, start)
        finally:
            if bar is not None:
                bar.stop()
        wall = time.perf_counter() - t0
        self.save_state(self.wall_before + wall)
        manifest = export(self.wall_before + wall)
        done = self.step - start
        return LoopResult(manifest, self.losses, start, self.step, done / wall if done else 0.0, wall)

    def train(
        self,
        total: int,
        export: Export,
        *,
        resume: bool,
        show_progress: bool = False,
        console: Any | None = None,
        callback: Callable[[int, float], None] | None = None,
    ) -> TrainResult:
        """Resume (or start, see :meth:`resume_or_start`) and :meth:`run` up to ``total`` steps.

        Args:
            total: Steps of the whole run (a resumed run continues up to it).
            export: Writes the weights to ``out`` given the run's wall time so far; returns the manifest.
            resume: Continue the saved state (or warm-restart from the exported weights).
            show_progress: Show a progress bar.
            console: A ``rich.console.Console`` for the bar.
            callback: Called as ``callback(step, loss)`` after every step.

        Raises:
            WeightsError: A state exists but ``resume`` is off, or it cannot be resumed.
            ValueError: The saved state is beyond ``total``.
        """
        self.resume_or_start(resume)
        done = self.run(total, export, show_progress=show_progress, console=console, callback=callback)
        return TrainResult.from_loop(self.out, done)

    def _log_line(self, console: Any, total: int, elapsed: float, start: int) -> None:
        """One plain line per saved state, for logs (a progress bar draws nothing when redirected)."""
        rate = (self.step - start) / max(elapsed, 1e-9)
        loss = float(np.mean(self.losses[-50:]))
        console.print(
            f"{self.name}: step {self.step}/{total}, loss {loss:.4f}, {rate:.2f} steps/s, state saved",
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
        TextColumn("{task.fields[fps]} samples/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )
