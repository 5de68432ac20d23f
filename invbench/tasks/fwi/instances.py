"""Pieces of an FWI instance: noise, missing traces and initial models.

The initial-model options follow the RED-DiffEq / InverseBench protocol for ``smooth`` (the true
model Gaussian-smoothed with sigma = 10 cells); ``linear`` and ``homogeneous`` are weaker starts
that also use only coarse information from the true model (its top- and bottom-row means, or its
mean), stated here so that results are comparable.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

INITIAL_MODELS = ("smooth", "linear", "homogeneous")
NOISE_TYPES = ("gaussian", "laplace")


def initial_model(truth: np.ndarray, kind: str, *, sigma: float = 10.0) -> np.ndarray:
    """An initial velocity model derived from the true one.

    Args:
        truth: True velocity ``(1, nz, nx)`` in m/s.
        kind: ``"smooth"`` (Gaussian smoothing with ``sigma`` cells, scipy's default reflect
            boundary), ``"linear"`` (a 1D ramp in depth from the true top-row mean to the true
            bottom-row mean), or ``"homogeneous"`` (the true model's mean everywhere).
        sigma: Smoothing width in cells for ``"smooth"``.

    Returns:
        The initial model, same shape and dtype float32.
    """
    v = truth[0].astype(np.float64)
    if kind == "smooth":
        out = gaussian_filter(v, sigma=sigma)
    elif kind == "linear":
        ramp = np.linspace(v[0].mean(), v[-1].mean(), v.shape[0])
        out = np.repeat(ramp[:, None], v.shape[1], axis=1)
    elif kind == "homogeneous":
        out = np.full_like(v, v.mean())
    else:
        raise ValueError(f"unknown initial model {kind!r}; expected one of {INITIAL_MODELS}")
    return out[None].astype(np.float32)


def add_noise(clean: np.ndarray, level: float, kind: str, rng: np.random.Generator) -> np.ndarray:
    """Add zero-mean noise with standard deviation ``level`` times the RMS of the clean data.

    Args:
        clean: Clean data, any shape.
        level: Noise standard deviation relative to the data RMS (0 = no noise).
        kind: ``"gaussian"`` or ``"laplace"`` (Laplace scale chosen so the std matches).
        rng: Random generator (seeded per instance).

    Returns:
        The noisy data (float32).
    """
    if level < 0:
        raise ValueError(f"noise level must be >= 0, got {level}")
    if level == 0:
        return clean.astype(np.float32)
    std = level * float(np.sqrt(np.mean(clean.astype(np.float64) ** 2)))
    if kind == "gaussian":
        noise = rng.normal(0.0, std, size=clean.shape)
    elif kind == "laplace":
        noise = rng.laplace(0.0, std / np.sqrt(2.0), size=clean.shape)
    else:
        raise ValueError(f"unknown noise type {kind!r}; expected one of {NOISE_TYPES}")
    return (clean + noise).astype(np.float32)


def receiver_mask(n_receivers: int, missing: int, rng: np.random.Generator) -> np.ndarray:
    """A 0/1 receiver mask with ``missing`` receivers removed at random (same for all shots)."""
    if not 0 <= missing < n_receivers:
        raise ValueError(f"missing traces must be in [0, {n_receivers}), got {missing}")
    mask = np.ones(n_receivers, dtype=np.float32)
    if missing:
        mask[rng.choice(n_receivers, size=missing, replace=False)] = 0.0
    return mask
