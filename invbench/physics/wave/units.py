"""The velocity range of the wave tasks and OpenFWI's normalisation, defined once.

OpenFWI (Deng et al. 2022) draws every velocity map from 1500-4500 m/s and reports errors in
normalised units ``v_n = (v - 3000) / 1500``, which map that range to [-1, 1]. The FWI environment's
spaces, the data generators, the real-file loader, the propagator's stability bound, the metrics and
the diffusion prior's normalisation all read these constants.
"""

from __future__ import annotations

import numpy as np
import torch

V_MIN = 1500.0
"""Slowest velocity of any map, m/s."""
V_MAX = 4500.0
"""Fastest velocity of any map, m/s."""
V_CENTER = (V_MIN + V_MAX) / 2
"""Velocity that normalises to 0, m/s."""
V_SCALE = (V_MAX - V_MIN) / 2
"""Half the range: one normalised unit in m/s (multiply a normalised MAE by it for m/s)."""


def normalize_velocity(v: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """Map velocities in m/s to OpenFWI normalised units ``(v - V_CENTER) / V_SCALE``."""
    return (v - V_CENTER) / V_SCALE


def denormalize_velocity(vn: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
    """Inverse of :func:`normalize_velocity`."""
    return vn * V_SCALE + V_CENTER
