"""OpenFWI's input and output transforms of InversionNet, and the decimation the network was trained at.

Input (OpenFWI ``transforms.py``: ``LogTransform`` then ``MinMaxNormalize``): ``x = sign(d) log1p(|d|)``,
then mapped linearly so that the log-transformed ``data_min`` and ``data_max`` become -1 and 1. OpenFWI
takes those bounds per data set from its ``dataset_config.json``; trained on a mixture of FlatVel-A,
CurveVel-A, FlatFault-A and CurveFault-A, invbench uses the envelope of those four data sets' bounds
(:data:`DATA_MIN`, :data:`DATA_MAX`). invbench's simulated data have OpenFWI's amplitude scale (the
reference scheme is OpenFWI's; deepwave is aligned to it), so the same bounds apply. Values outside them
are not clipped (OpenFWI does not clip either).

Output: the network's Tanh output is OpenFWI's normalised velocity ``(v - 3000) / 1500``
(``MinMaxNormalize(1500, 4500)``), the units invbench reports metrics in.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch

from invbench.physics.wave.units import DATA_MAX, DATA_MIN, V_CENTER, V_SCALE, log_transform

__all__ = ["DATA_MAX", "DATA_MIN", "DataTransform", "log_transform"]


@dataclass(frozen=True)
class DataTransform:
    """Seismic data -> network input, and network output -> velocity (module docstring).

    Attributes:
        data_min: Data value mapped (after the log transform) to -1.
        data_max: Data value mapped to 1.
        k: Scale inside the log transform (OpenFWI's ``--k``, default 1).
        time_decimation: The network reads data decimated by this factor in time
            (:func:`invbench.data.pairs.decimate_time`).
    """

    data_min: float = DATA_MIN
    data_max: float = DATA_MAX
    k: float = 1.0
    time_decimation: int = 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for manifests)."""
        return asdict(self)

    def data(self, d: torch.Tensor) -> torch.Tensor:
        """Network input of data ``d`` (any shape, already decimated), in float32."""
        lo, hi = log_transform(self.data_min, self.k), log_transform(self.data_max, self.k)
        x = log_transform(d.float(), self.k)
        return (x - lo) / (hi - lo) * 2.0 - 1.0

    @staticmethod
    def velocity(y: torch.Tensor) -> torch.Tensor:
        """Velocity in m/s of the network's normalised output."""
        return y * V_SCALE + V_CENTER

    @staticmethod
    def label(v: torch.Tensor) -> torch.Tensor:
        """Normalised training target of a velocity in m/s."""
        return (v.float() - V_CENTER) / V_SCALE
