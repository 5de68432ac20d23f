"""Field autoencoders in the invbench weights format (:mod:`invbench.nn.weights`).

An autoencoder's manifest adds ``domain``, ``normalization`` (:class:`~invbench.nn.normalize.Normalization`)
and ``latent`` (``shape``: channels, h, w of one latent; ``scale``: the standard deviation of the training
latents) to the generic sections; its architecture is ``diffusers:AutoencoderKL``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from invbench.nn.autoencoder.model import FieldAutoencoder
from invbench.nn.normalize import Normalization
from invbench.nn.weights import WeightsError, load_module, write_weights

KIND = "autoencoder"
ARCHITECTURE = "diffusers:AutoencoderKL"
SECTIONS = ("domain", "normalization", "latent")


def write_autoencoder(
    path: str | Path,
    state: dict[str, torch.Tensor],
    *,
    name: str,
    architecture_config: dict[str, Any],
    normalization: Normalization,
    latent_shape: tuple[int, int, int],
    latent_scale: float,
    training: dict[str, Any],
    dtype: str = "float32",
    ema: bool = True,
) -> dict[str, Any]:
    """Write an autoencoder's ``NAME.safetensors`` and manifest ``NAME.json``.

    Args:
        path: Either file of the pair (or the stem).
        state: The ``AutoencoderKL``'s ``state_dict``.
        name: Weights name.
        architecture_config: ``AutoencoderKL`` constructor arguments.
        normalization: The domain normalisation.
        latent_shape: ``(channels, h, w)`` of one latent.
        latent_scale: Standard deviation of the training latents (> 0).
        training: Training record (preset, data, steps, losses, device, wall time, ...).
        dtype: Stored dtype of floating-point weights.
        ema: Whether ``state`` holds EMA weights.

    Returns:
        The manifest written.
    """
    if not latent_scale > 0:
        raise ValueError(f"latent_scale must be > 0, got {latent_scale}")
    extra = {
        "domain": normalization.domain,
        "normalization": normalization.to_dict(),
        "latent": {"shape": [int(v) for v in latent_shape], "scale": float(latent_scale)},
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


def load_autoencoder(path_or_name: str | Path, device: torch.device | str | None = None) -> FieldAutoencoder:
    """Load a verified, frozen :class:`~invbench.nn.autoencoder.model.FieldAutoencoder`.

    Args:
        path_or_name: ``NAME.safetensors`` / ``NAME.json`` path, or a shipped name (``"darcy-grf-vae-lite"``).
        device: Target device (default: CUDA when available, else CPU).

    Raises:
        WeightsError: The weights are missing, unsafe, corrupted or inconsistent.
    """
    vae, manifest = load_module(path_or_name, device=device, required=SECTIONS)
    where = f"{path_or_name} (manifest)"
    if manifest.get("kind") != KIND:
        raise WeightsError(f"{where}: kind is {manifest.get('kind')!r}, not an autoencoder")
    try:
        normalization = Normalization.from_dict(manifest["normalization"])
        shape = tuple(int(v) for v in manifest["latent"]["shape"])
        scale = float(manifest["latent"]["scale"])
    except (KeyError, TypeError, ValueError) as exc:
        raise WeightsError(f"{where}: bad manifest ({exc})") from exc
    if manifest["domain"] != normalization.domain:
        raise WeightsError(f"{where}: manifest domain and normalization domain differ")
    if (
        len(shape) != 3
        or shape[0] != manifest["architecture"]["config"].get("latent_channels")
        or not scale > 0
    ):
        raise WeightsError(f"{where}: latent shape {shape} or scale {scale} do not match the architecture")
    return FieldAutoencoder(vae, normalization, manifest)
