"""The seismic and velocity transforms both WaveDiffusion stages apply to their training pairs.

The pairs themselves, their held-out split and batch order are the data-driven methods' shared
:class:`invbench.data.pairs.PairSet`; each stage reads them in its own stream.
"""

from __future__ import annotations

from typing import Any

from solvers.wavediffusion.transforms import SeismicTransform, VelocityTransform, pick_shots


def transforms_for(
    acquisition: dict[str, Any],
    *,
    channels: int,
    time_samples: int,
    receivers: int,
    velocity_size: int,
    time_decimation: int,
) -> tuple[SeismicTransform, VelocityTransform]:
    """The seismic and velocity transforms of a preset for one acquisition (its shots, velocity range)."""
    shots = pick_shots(len(acquisition["src_x"]), channels)
    return SeismicTransform(shots, time_samples, receivers, time_decimation), VelocityTransform(velocity_size)
