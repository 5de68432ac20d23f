"""Generative priors shared by the solvers: denoising diffusion models over parameter fields.

``load_prior("fwi-lite")`` loads a verified checkpoint (safetensors + JSON manifest) as a
:class:`~invbench.nn.diffusion.prior.DiffusionPrior`; ``invbench train-prior`` trains one
(:mod:`invbench.nn.diffusion.train`). Names are imported lazily, so ``import invbench.nn.diffusion``
stays cheap (diffusers loads only when a prior is used).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "DiffusionPrior": "invbench.nn.diffusion.prior",
    "load_prior": "invbench.nn.diffusion.checkpoint",
    "WeightsError": "invbench.nn.weights",
    "shipped_checkpoints": "invbench.nn.shipped",
    "Normalization": "invbench.nn.normalize",
    "normalization_for": "invbench.nn.normalize",
    "get_preset": "invbench.nn.diffusion.presets",
    "train_prior": "invbench.nn.diffusion.train",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'invbench.nn.diffusion' has no attribute {name!r}")
