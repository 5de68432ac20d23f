"""Train InversionNet on simulated pairs with the shared resumable loop; export safetensors + manifest.

The pairs come from ``invbench generate-pairs`` folders (one per family for a mixture), loaded into
memory (float16 data) by :class:`~invbench.data.pairs.PairSet`. The last ``held_out`` pairs (split evenly
over the folders, the last of each) are never trained on: every export records their MAE and RMSE in
normalised velocity units, the units invbench's leaderboard reports. Each epoch visits the training pairs
in a permutation drawn from ``SeedSequence([seed, epoch, 3])`` (:data:`STREAM`) in batches of
``batch_size`` (the last partial batch is dropped, as OpenFWI's ``drop_last``), so the batch of a step is
a function of ``(seed, step)`` alone and a resumed run sees exactly the batches an uninterrupted one
would. The loss is OpenFWI's L1 between the network's Tanh output and the normalised true velocity.

The optimiser is AdamW (OpenFWI's), which :class:`~invbench.nn.training.TrainingLoop` gets through one
overridden method; warm-up, clipping, EMA, bfloat16 autocast, saved states and warm restarts are the
loop's. The exported EMA weights get BatchNorm statistics of their own, from a pass over the first
:data:`CALIBRATION_BATCHES` training batches (:mod:`invbench.nn.batch_norm` says why the live model's
would be wrong). The manifest's training record holds the preset, the pairs (tasks, train indices,
PDE solves and the time their simulation took), steps, wall time and device.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from invbench.core.device import default_device
from invbench.data.pairs import PairSet
from invbench.nn.batch_norm import recalibrated_copy
from invbench.nn.training import TrainingLoop, TrainResult, check_run, resumable_preset_config
from invbench.nn.weights import write_weights
from solvers.inversionnet.presets import InversionNetPreset, get_preset
from solvers.inversionnet.transforms import DataTransform

ARCHITECTURE = "solvers.inversionnet.network:InversionNet"
KIND = "inversion-network"
CALIBRATION_BATCHES = 32
"""Training batches whose pass recomputes the exported BatchNorm statistics."""
HELD_OUT = 256
"""Pairs kept out of training by default (split over the folders)."""
STREAM = 3
"""Batch-order stream of InversionNet (:class:`~invbench.data.pairs.PairSet`)."""


class AdamWLoop(TrainingLoop):
    """The shared training loop with OpenFWI's optimiser, AdamW (decoupled weight decay)."""

    def __init__(self, *args: Any, weight_decay: float, **kwargs: Any) -> None:
        self.weight_decay = float(weight_decay)  # read by _optimizer, which the base __init__ calls
        super().__init__(*args, **kwargs)

    def _optimizer(self) -> torch.optim.Optimizer:
        return torch.optim.AdamW(
            self.model.parameters(),
            lr=self.spec.lr,
            betas=self.spec.adam_betas,
            weight_decay=self.weight_decay,
        )


class _Run:
    """The data stream, the loss and the export of one run (the loop does the rest)."""

    def __init__(
        self, preset: InversionNetPreset, data: PairSet, out: Path, seed: int, name: str,
        transform: DataTransform, arch: dict[str, Any],
    ) -> None:  # fmt: skip
        self.preset, self.data, self.out, self.seed, self.name = preset, data, out, int(seed), name
        self.transform, self.arch = transform, arch
        self.loop: AdamWLoop | None = None

    def loss(self, model: torch.nn.Module, step: int) -> torch.Tensor:
        device = next(model.parameters()).device
        idx = self.data.batch(step)
        x = self.transform.data(self.data.data[idx]).to(device)
        y = self.transform.label(self.data.velocity[idx]).to(device)
        return torch.mean(torch.abs(model(x).float() - y))

    def calibration_batches(self, device: torch.device) -> Iterator[torch.Tensor]:
        """Network inputs of the first :data:`CALIBRATION_BATCHES` batches of epoch 0 (training pairs)."""
        for step in range(min(CALIBRATION_BATCHES, self.data.steps_per_epoch)):
            yield self.transform.data(self.data.data[self.data.batch(step)]).to(device)

    def export_model(self, loop: TrainingLoop) -> torch.nn.Module:
        """The EMA weights with BatchNorm statistics of their own (:mod:`invbench.nn.batch_norm`)."""
        return recalibrated_copy(loop.ema, self.calibration_batches(loop.device))

    @torch.no_grad()
    def held_out_errors(self, model: torch.nn.Module) -> dict[str, float]:
        """MAE and RMSE of the held-out pairs in normalised velocity units (eval mode)."""
        held_idx = self.data.held_idx
        if not len(held_idx):
            return {}
        device = next(model.parameters()).device
        abs_err, sq_err, count = 0.0, 0.0, 0
        for chunk in held_idx.split(32):
            x = self.transform.data(self.data.data[chunk]).to(device)
            err = model(x).float().cpu() - self.transform.label(self.data.velocity[chunk])
            abs_err, sq_err, count = (
                abs_err + float(err.abs().sum()),
                sq_err + float((err**2).sum()),
                count + err.numel(),
            )
        return {"mae": abs_err / count, "rmse": float(np.sqrt(sq_err / count))}

    def export(self, wall: float) -> dict[str, Any]:
        loop = self.loop
        assert loop is not None
        tr = self.preset.train
        optimizer = tr.optimizer_record()
        optimizer["optimizer"].update({"name": "AdamW", "weight_decay": self.preset.weight_decay})
        model = self.export_model(loop)
        calibrated = min(CALIBRATION_BATCHES, self.data.steps_per_epoch) * tr.batch_size
        training = {
            "preset": self.preset.name,
            "preset_config": self.preset.to_dict(),
            "preset_source": self.preset.source,
            "data": self.data.summary(),
            "held_out": {"pairs": len(self.data.held_idx), "units": "normalised velocity (v - 3000) / 1500",
                         **self.held_out_errors(model)},
            "batch_norm": {"statistics": "recomputed for the EMA weights (torch.optim.swa_utils.update_bn)",
                           "training_pairs": calibrated},
            "epochs": round(loop.step / self.data.steps_per_epoch, 3),
            **optimizer,
            "loss": "mean |InversionNet(x) - (v - 3000) / 1500| (L1, OpenFWI's)",
            **loop.progress_record(self.seed, wall),
        }  # fmt: skip
        return write_weights(
            self.out,
            {k: v.detach().cpu() for k, v in model.state_dict().items()},
            name=self.name,
            kind=KIND,
            architecture=ARCHITECTURE,
            config=self.arch,
            training=training,
            dtype=tr.export_dtype,
            ema=tr.ema_decay > 0,
            extra={
                "task_family": "fwi",
                "transform": self.transform.to_dict(),
                "acquisition": self.data.acquisition,
            },
        )


def train_inversionnet(
    pairs: list[str | Path] | tuple[str | Path, ...],
    preset: str | InversionNetPreset = "lite",
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
    """Train (or continue training) InversionNet on pair folders and export its weights.

    Args:
        pairs: Folders made by ``invbench generate-pairs`` (one acquisition; e.g. one per family).
        preset: ``"lite"``, ``"paper"`` or an :class:`~solvers.inversionnet.presets.InversionNetPreset`.
        out: Weights path ``NAME.safetensors`` (manifest and the ``NAME.train/`` state go beside it).
        steps: Total optimiser steps (default: the preset's); a resumed run continues up to this count.
        seed: Seed of the initial weights and of the batch order.
        resume: Continue from ``NAME.train/`` (or, without it, warm-restart from the exported weights).
        device: ``"cpu"``, ``"cuda"``, ... (default: CUDA when available).
        name: Weights name in the manifest (default: the file stem).
        bf16: bfloat16 autocast (default: the preset's ``amp``).
        held_out: Pairs kept out of training for the manifest's held-out errors (split over folders).
        show_progress: Show a progress bar.
        console: A ``rich.console.Console`` for the bar.
        callback: Called as ``callback(step, loss)`` after every step.

    Raises:
        ValueError: Unknown preset, bad ``out`` or step count, unusable pairs, or a state that cannot be
            resumed (:class:`~invbench.nn.weights.WeightsError`).
    """
    from solvers.inversionnet.network import InversionNet

    preset = get_preset(preset) if isinstance(preset, str) else preset
    total, out = check_run(steps, preset.train, out)
    data = PairSet(
        list(pairs),
        time_decimation=preset.time_decimation,
        held_out=held_out,
        batch_size=preset.train.batch_size,
        seed=seed,
        stream=STREAM,
    )
    _, shots, times, receivers = data.data.shape
    acq = data.acquisition
    arch = preset.network_config(shots, times, receivers, (acq["nz"], acq["nx"]))
    transform = DataTransform(time_decimation=preset.time_decimation)
    run = _Run(preset, data, out, seed, name or out.stem, transform, arch)
    torch.manual_seed(seed)
    model = InversionNet(**arch)
    preset_config = resumable_preset_config(preset)
    config = {
        "preset": preset_config,
        "architecture": arch,
        "transform": transform.to_dict(),
        "pairs": [{k: s[k] for k in ("task", "start", "n", "time_decimation")} for s in data.pairs.summary()],
        "held_out": held_out,
        "seed": seed,
    }
    loop = AdamWLoop(
        model,
        run.loss,
        preset.train,
        out=out,
        config=config,
        device=torch.device(device) if device else default_device(),
        name=run.name,
        bf16=preset.train.amp if bf16 is None else bf16,
        weight_decay=preset.weight_decay,
    )
    run.loop = loop
    return loop.train(
        total, run.export, resume=resume, show_progress=show_progress, console=console, callback=callback
    )
