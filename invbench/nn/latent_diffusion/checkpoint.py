"""Latent diffusion models in the invbench weights format (:mod:`invbench.nn.weights`).

A latent diffusion model's manifest adds ``domain``, ``schedule`` (:class:`~invbench.nn.diffusion.presets.
ScheduleSpec`) and ``autoencoder`` (the name and weights hash of the autoencoder whose latents it models) to
the generic sections. Loading finds that autoencoder beside the model's file or among the shipped weights,
and refuses one whose hash differs: a latent model is meaningless with another autoencoder.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from invbench.nn.autoencoder.checkpoint import load_autoencoder
from invbench.nn.diffusion.presets import ScheduleSpec
from invbench.nn.latent_diffusion.model import LatentDiffusion
from invbench.nn.weights import WeightsError, checkpoint_paths, load_module, write_weights

KIND = "latent-diffusion"
ARCHITECTURE = "diffusers:UNet2DModel"
SECTIONS = ("domain", "schedule", "autoencoder")


def write_latent_diffusion(
    path: str | Path,
    state: dict[str, torch.Tensor],
    *,
    name: str,
    architecture_config: dict[str, Any],
    domain: str,
    schedule: ScheduleSpec,
    autoencoder: dict[str, Any],
    training: dict[str, Any],
    dtype: str = "float32",
    ema: bool = True,
) -> dict[str, Any]:
    """Write a latent diffusion model's ``NAME.safetensors`` and manifest ``NAME.json``.

    Args:
        path: Either file of the pair (or the stem).
        state: The ``UNet2DModel``'s ``state_dict``.
        name: Weights name.
        architecture_config: ``UNet2DModel`` constructor arguments.
        domain: The field domain.
        schedule: The noise schedule.
        autoencoder: :func:`~invbench.nn.weights.weights_record` of the autoencoder (name, sha256, ...).
        training: Training record.
        dtype: Stored dtype of floating-point weights.
        ema: Whether ``state`` holds EMA weights.

    Returns:
        The manifest written.
    """
    extra = {
        "domain": domain,
        "schedule": asdict(schedule),
        "autoencoder": {"name": autoencoder["name"], "sha256": autoencoder["sha256"]},
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


def _autoencoder_spec(model_path: Path, name: str) -> str:
    """The autoencoder ``name`` beside the model's file if it is there, else the shipped name."""
    beside = model_path.with_name(f"{name}.safetensors")
    return str(beside) if beside.is_file() else name


def load_latent_diffusion(
    path_or_name: str | Path,
    device: torch.device | str | None = None,
    *,
    autoencoder: str | Path | None = None,
) -> LatentDiffusion:
    """Load a verified, frozen :class:`LatentDiffusion` with its autoencoder.

    Args:
        path_or_name: ``NAME.safetensors`` / ``NAME.json`` path, or a shipped name (``"darcy-grf-ldm-lite"``).
        device: Target device (default: CUDA when available, else CPU).
        autoencoder: The autoencoder (path or shipped name); default: the one the manifest names, beside
            the model's file or shipped.

    Raises:
        WeightsError: Missing, unsafe or corrupted weights, a bad manifest, or an autoencoder other than
            the one the model was trained on.
    """
    from invbench.nn.shipped import resolve_checkpoint

    unet, manifest = load_module(path_or_name, device=device, required=SECTIONS)
    where = f"{path_or_name} (manifest)"
    if manifest.get("kind") != KIND:
        raise WeightsError(f"{where}: kind is {manifest.get('kind')!r}, not a latent diffusion model")
    try:
        schedule = ScheduleSpec(**manifest["schedule"])
        wanted = manifest["autoencoder"]
        own_path = checkpoint_paths(resolve_checkpoint(path_or_name))[0]
        spec = autoencoder or _autoencoder_spec(own_path, wanted["name"])
    except (KeyError, TypeError, ValueError) as exc:
        raise WeightsError(f"{where}: bad manifest ({exc})") from exc
    ae = load_autoencoder(spec, device=next(unet.parameters()).device)
    if ae.manifest["weights"]["sha256"] != wanted["sha256"]:
        raise WeightsError(
            f"{where}: trained on autoencoder {wanted['name']!r} (sha256 {wanted['sha256'][:12]}...), "
            f"but {spec} has sha256 {ae.manifest['weights']['sha256'][:12]}..."
        )
    if ae.domain != manifest["domain"] or unet.config.in_channels != ae.latent_shape[0]:
        raise WeightsError(f"{where}: domain or latent channels differ from autoencoder {spec}")
    return LatentDiffusion(unet, ae, schedule, manifest, autoencoder_spec=str(spec))
