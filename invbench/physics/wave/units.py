"""The velocity range of the wave tasks and OpenFWI's normalisations (velocity, seismic data), defined once.

OpenFWI (Deng et al. 2022) draws every velocity map from 1500-4500 m/s and reports errors in
normalised units ``v_n = (v - 3000) / 1500``, which map that range to [-1, 1]. The FWI environment's
spaces, the data generators, the real-file loader, the propagator's stability bound, the metrics and
the diffusion prior's normalisation all read these constants. The data-driven methods (InversionNet,
WaveDiffusion) read OpenFWI's seismic-data normalisation from here too (:func:`log_transform`,
:data:`DATA_MIN`, :data:`DATA_MAX`).
"""

from __future__ import annotations

import math
from typing import Any

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


# Seismic data: OpenFWI's input normalisation of data-driven networks (InversionNet, WaveDiffusion).
OPENFWI_DATA_RANGE = {
    "FlatVel-A": (-26.95, 52.77),
    "CurveVel-A": (-27.11, 55.10),
    "FlatFault-A": (-26.10, 50.86),
    "CurveFault-A": (-26.48, 52.32),
}
"""``data_min``, ``data_max`` of OpenFWI's ``dataset_config.json`` for the four families of the mixture."""
DATA_MIN = min(lo for lo, _ in OPENFWI_DATA_RANGE.values())
DATA_MAX = max(hi for _, hi in OPENFWI_DATA_RANGE.values())


def log_transform(x: torch.Tensor | float, k: float = 1.0) -> Any:
    """OpenFWI's ``log_transform``: ``sign(x) log1p(|k x|)``."""
    if isinstance(x, torch.Tensor):
        return torch.sign(x) * torch.log1p(torch.abs(k * x))
    return math.copysign(math.log1p(abs(k * x)), x)
