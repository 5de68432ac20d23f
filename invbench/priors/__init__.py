"""Generative priors shared by the solvers: denoising diffusion models over parameter fields.

``load_prior("fwi-lite")`` loads a verified checkpoint (safetensors + JSON manifest) as a
:class:`~invbench.priors.prior.DiffusionPrior`; ``invbench train-prior`` trains one
(:mod:`invbench.priors.train`). Names are imported lazily, so ``import invbench.priors`` stays cheap
(diffusers loads only when a prior is used).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "DiffusionPrior": "invbench.priors.prior",
    "load_prior": "invbench.priors.checkpoint",
    "PriorCheckpointError": "invbench.priors.checkpoint",
    "shipped_checkpoints": "invbench.priors.checkpoint",
    "Normalization": "invbench.priors.normalize",
    "normalization_for": "invbench.priors.normalize",
    "get_preset": "invbench.priors.presets",
    "train_prior": "invbench.priors.train",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'invbench.priors' has no attribute {name!r}")
