"""The default torch device, chosen in one place: CUDA when present, else the CPU."""

from __future__ import annotations

import torch


def default_device() -> torch.device:
    """``cuda`` when a GPU is visible to torch, otherwise ``cpu``."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``device`` as a :class:`torch.device`; ``None`` or ``"auto"`` picks :func:`default_device`.

    Raises:
        ValueError: ``cuda`` was asked for but no GPU is visible, or the name is not a device.
    """
    if device is None or device == "auto":
        return default_device()
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"unknown device {device!r} (use cpu, cuda, cuda:N or auto)") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but torch sees no CUDA GPU")
    return dev
