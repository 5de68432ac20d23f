"""Diffusion priors in the invbench weights format (:mod:`invbench.nn.weights`).

A prior's manifest adds three sections to the generic ones: ``schedule`` (the noise schedule,
:class:`~invbench.nn.diffusion.presets.ScheduleSpec`, epsilon prediction), ``domain`` and
``normalization`` (:class:`~invbench.nn.normalize.Normalization`); its architecture is
``diffusers:UNet2DModel``. :func:`load_prior` checks them against each other and returns a frozen
:class:`~invbench.nn.diffusion.prior.DiffusionPrior`. Priors shipped with invbench load by name
(``load_prior("fwi-lite")``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from invbench.nn.diffusion.presets import ScheduleSpec
from invbench.nn.normalize import Normalization
from invbench.nn.weights import WeightsError, load_module, write_weights

KIND = "diffusion"
ARCHITECTURE = "diffusers:UNet2DModel"
PRIOR_SECTIONS = ("schedule", "normalization", "domain")


def write_checkpoint(
    path: str | Path,
    state: dict[str, torch.Tensor],
    *,
    name: str,
    architecture_config: dict[str, Any],
    normalization: Normalization,
    schedule: ScheduleSpec,
    training: dict[str, Any],
    dtype: str = "float32",
    ema: bool = True,
) -> dict[str, Any]:
    """Write a prior's ``NAME.safetensors`` and manifest ``NAME.json``.

    Args:
        path: Either file of the pair (or the stem).
        state: The UNet's ``state_dict``.
        name: Prior name (recorded in the manifest).
        architecture_config: ``UNet2DModel`` constructor arguments.
        normalization: The domain normalisation.
        schedule: The noise schedule.
        training: Training record (preset, data, steps, final loss, device, wall time, ...).
        dtype: Stored dtype of floating-point weights.
        ema: Whether ``state`` holds EMA weights.

    Returns:
        The manifest written.
    """
    extra = {
        "schedule": {
            "num_train_timesteps": schedule.num_train_timesteps,
            "beta_schedule": schedule.beta_schedule,
            "beta_start": schedule.beta_start,
            "beta_end": schedule.beta_end,
            "prediction_type": "epsilon",
        },
        "domain": normalization.domain,
        "normalization": normalization.to_dict(),
    }
    return write_weights(
        path,
        state,
        name=name,
        kind=KIND,
        architecture=ARCHITECTURE,
        config=architecture_config,
        training=training,
        dtype=dtype,
        ema=ema,
        extra=extra,
        packages=("diffusers",),
    )


def load_prior(path_or_name: str | Path, device: torch.device | str | None = None) -> Any:
    """Load a verified :class:`~invbench.nn.diffusion.prior.DiffusionPrior`.

    Args:
        path_or_name: ``NAME.safetensors`` / ``NAME.json`` path, or a shipped name (``"fwi-lite"``).
        device: Target device (default: CUDA when available, else CPU). Weights are cast to float32.

    Returns:
        The prior, in eval mode with frozen weights.

    Raises:
        WeightsError: The checkpoint is missing, unsafe, corrupted or inconsistent.
    """
    from invbench.nn.diffusion.prior import DiffusionPrior

    unet, manifest = load_module(path_or_name, device=device, required=PRIOR_SECTIONS)
    where = f"{path_or_name} (manifest)"
    try:
        normalization = Normalization.from_dict(manifest["normalization"])
        keys = ("num_train_timesteps", "beta_schedule", "beta_start", "beta_end")
        schedule = ScheduleSpec(**{k: manifest["schedule"][k] for k in keys})
    except (KeyError, TypeError, ValueError) as exc:
        raise WeightsError(f"{where}: bad manifest ({exc})") from exc
    if manifest["domain"] != normalization.domain:
        raise WeightsError(f"{where}: manifest domain and normalization domain differ")
    if list(manifest["architecture"]["config"].get("sample_size", [])) != list(normalization.model_shape):
        raise WeightsError(f"{where}: network sample_size does not match the normalization")
    return DiffusionPrior(unet, normalization, schedule, manifest)
