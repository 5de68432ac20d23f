"""WaveDiffusion's input maps: seismic data and velocity maps to the networks' [-1, 1] grids, and back.

WaveDiffusion (Wang et al., ICML 2025) resizes velocity maps from 70 x 70 to 64 x 64 and seismic data to
3 channels x 1024 time samples x 64 receivers after a log transform, and normalises both to [-1, 1].
How this repository's data reach that shape (the paper's text gives the target, not the mapping):

* **Shots to channels.** invbench's OpenFWI acquisition records 5 shots; the paper's input has 3
  channels. Interpolating between shots would mix gathers of different source positions, so
  :func:`pick_shots` keeps whole shots, evenly spaced: the outer two and the centre one (indices
  0, 2, 4 of 5; the Tiny acquisition's 3 shots are kept as they are).
* **Time.** Observed data and training pairs are first decimated to the preset's time step
  (:func:`invbench.data.pairs.decimate_time`, anti-aliased), then resized linearly in time: ``paper``
  reads 1 ms data (1000 samples resized to 1024, the paper's size), ``lite`` 4 ms data (250 samples to
  256; the 15 Hz data carry nothing above 62 Hz, docs/inversionnet.md).
* **Receivers.** 70 receivers are resized linearly to 64 (Tiny: 32 to 64).
* **Amplitudes.** OpenFWI's ``sign(d) log1p(|d|)`` and its min-max map to [-1, 1] with the envelope of
  the four A families' data bounds (the constants InversionNet uses, defined once in
  :mod:`solvers.inversionnet.transforms`); not clipped, as OpenFWI does not clip.
* **Velocity.** OpenFWI's ``(v - 3000) / 1500`` (:mod:`invbench.physics.wave.units`), resized bilinearly
  (anti-aliased when shrinking) to 64 x 64; estimates are resized back to the task's grid and clipped
  to its velocity range.

The normalisation is affine and linear interpolation weights sum to one, so normalising before or after
resizing gives the same result; missing traces (zeroed in the observed data) become the normalised value
of zero amplitude, and :meth:`SeismicTransform.receiver_weights` resizes the trace mask the same way so
that a distance to the observed data can ignore them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from invbench.physics.wave.units import DATA_MAX, DATA_MIN, V_CENTER, V_SCALE, log_transform


def pick_shots(n_shots: int, channels: int) -> tuple[int, ...]:
    """``channels`` shot indices evenly spaced over ``n_shots`` shots, first and last included.

    Raises:
        ValueError: Fewer shots than channels, or a non-positive count.
    """
    if channels < 1 or n_shots < channels:
        raise ValueError(f"cannot pick {channels} channels from {n_shots} shots")
    if channels == 1:
        return (n_shots // 2,)
    return tuple(int(i) for i in np.round(np.linspace(0, n_shots - 1, channels)).astype(int))


@dataclass(frozen=True)
class SeismicTransform:
    """Decimated seismic data ``(B, shots, time, receivers)`` -> network input ``(B, C, T, R)`` in [-1, 1].

    Attributes:
        shots: Shot indices kept, one per channel (:func:`pick_shots`).
        time_samples: ``T``, samples per trace after resizing (paper: 1024).
        receivers: ``R``, traces per shot after resizing (paper: 64).
        time_decimation: The data are decimated by this factor (from the acquisition's step) first.
        data_min: Raw amplitude mapped, after the log transform, to -1.
        data_max: Raw amplitude mapped to 1.
    """

    shots: tuple[int, ...]
    time_samples: int
    receivers: int
    time_decimation: int
    data_min: float = DATA_MIN
    data_max: float = DATA_MAX

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SeismicTransform:
        """Inverse of :meth:`to_dict` (manifests store lists)."""
        return cls(**{**d, "shots": tuple(int(s) for s in d["shots"])})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (manifests)."""
        return {**asdict(self), "shots": list(self.shots)}

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(C, T, R)`` of one transformed record."""
        return (len(self.shots), self.time_samples, self.receivers)

    def __call__(self, d: torch.Tensor) -> torch.Tensor:
        """Network input of decimated data ``d`` ``(B, shots, time, receivers)``, float32.

        Raises:
            ValueError: ``d`` is not 4-D or lacks a shot the transform keeps.
        """
        if d.ndim != 4 or d.shape[1] <= max(self.shots):
            raise ValueError(
                f"seismic data must be (B, shots > {max(self.shots)}, time, receivers), got {tuple(d.shape)}"
            )
        lo, hi = log_transform(self.data_min), log_transform(self.data_max)
        x = (log_transform(d[:, list(self.shots)].float()) - lo) / (hi - lo) * 2.0 - 1.0
        return F.interpolate(
            x, size=(self.time_samples, self.receivers), mode="bilinear", align_corners=False
        )

    def receiver_weights(self, mask: torch.Tensor) -> torch.Tensor:
        """The receiver mask ``(n_receivers,)`` resized like the data's receiver axis: ``(R,)`` in [0, 1]."""
        m = mask.reshape(1, 1, -1).float()
        return F.interpolate(m, size=self.receivers, mode="linear", align_corners=False).reshape(-1)


@dataclass(frozen=True)
class VelocityTransform:
    """Velocity maps in m/s <-> the velocity branch's ``(B, 1, size, size)`` grid in [-1, 1].

    Attributes:
        size: Side of the network's square map (paper: 64).
        low: Slowest velocity an estimate may take, m/s (the task's range).
        high: Fastest velocity, m/s.
    """

    size: int
    low: float = V_CENTER - V_SCALE
    high: float = V_CENTER + V_SCALE

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (manifests)."""
        return asdict(self)

    def __call__(self, v: torch.Tensor) -> torch.Tensor:
        """Network input of velocity ``(B, 1, nz, nx)`` m/s: normalised, resized to ``size``."""
        x = (v.float() - V_CENTER) / V_SCALE
        return F.interpolate(
            x, size=(self.size, self.size), mode="bilinear", align_corners=False, antialias=True
        )

    def to_field(self, y: torch.Tensor, shape: tuple[int, int]) -> torch.Tensor:
        """Velocity ``(B, 1, nz, nx)`` m/s of network output ``y``, resized to ``shape`` and clipped."""
        x = F.interpolate(y.float(), size=tuple(shape), mode="bilinear", align_corners=False, antialias=True)
        return (x * V_SCALE + V_CENTER).clamp(self.low, self.high)
