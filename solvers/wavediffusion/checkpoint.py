"""Loading WaveDiffusion's weights: stage 1 with its transforms, and observed data to its input.

Stage 1 is one :class:`~solvers.wavediffusion.network.WaveVQ` in the invbench weights format
(:mod:`invbench.nn.weights`, kind ``wavediffusion-stage1``); its manifest adds the seismic and velocity
transforms and the acquisition it was trained for. Shipped weights live in
``solvers/wavediffusion/weights/`` and load by name.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import torch

from invbench.data.pairs import decimate_time
from solvers.wavediffusion.network import WaveVQ
from solvers.wavediffusion.transforms import SeismicTransform, VelocityTransform

STAGE1_KIND = "wavediffusion-stage1"
STAGE1_SECTIONS = ("seismic_transform", "velocity_transform", "acquisition")


def stage1_name(preset: str = "lite") -> str:
    """Name of the shipped stage-1 weights of a preset (``fwi-wavediffusion-stage1-lite``)."""
    return f"fwi-wavediffusion-stage1-{preset}"


def train_hint() -> str:
    """The commands that make the default weights."""
    return (
        "make pairs with `invbench generate-pairs --task FWI-CurveVel-A-v0 --n N --out pairs/CurveVel-A` "
        "(one folder per family), train stage 1 with `invbench train --model wavediffusion-stage1 --pairs "
        "pairs/CurveVel-A ... --preset lite`, then stage 2 with `invbench train --model wavediffusion-ldm "
        "--autoencoder fwi-wavediffusion-stage1-lite.safetensors --pairs pairs/CurveVel-A ... --preset lite`"
        " (docs/wavediffusion.md)"
    )


def read_kind(spec: str, kind: str) -> dict[str, Any]:
    """The manifest of weights ``spec`` after checking they are of ``kind`` (no tensors are read).

    Raises:
        WeightsError: Missing, unreadable or of another kind.
    """
    from invbench.nn.shipped import resolve_checkpoint
    from invbench.nn.weights import WeightsError, checkpoint_paths, read_manifest

    try:
        manifest = read_manifest(checkpoint_paths(resolve_checkpoint(spec))[1])
    except (OSError, json.JSONDecodeError) as e:
        raise WeightsError(f"{spec}: unreadable manifest ({e})") from e
    if manifest.get("kind") != kind:
        raise WeightsError(f"{spec!r} is a {manifest.get('kind')!r} checkpoint, not {kind!r}")
    return manifest


@dataclass
class Stage1:
    """A loaded stage 1: the frozen network, its transforms and its manifest.

    Attributes:
        model: The network (eval mode, no gradients).
        seismic: Observed (decimated) data -> the seismic branch's input.
        velocity: Velocity maps <-> the velocity branch's grid.
        manifest: The weights' manifest.
        spec: Where the weights were loaded from (path or shipped name).
    """

    model: WaveVQ
    seismic: SeismicTransform
    velocity: VelocityTransform
    manifest: dict[str, Any]
    spec: str

    @property
    def acquisition(self) -> dict[str, Any]:
        """The acquisition the weights were trained for."""
        return self.manifest["acquisition"]

    @property
    def device(self) -> torch.device:
        """Device of the weights."""
        return next(self.model.parameters()).device

    def seismic_input(self, data: torch.Tensor, dt: float) -> torch.Tensor:
        """Network input ``(B, C, T, R)`` of raw data ``(B, shots, time, receivers)`` sampled at ``dt``.

        The data are decimated in time as the training pairs were (anti-aliased,
        :func:`~invbench.data.pairs.decimate_time`), then transformed.
        """
        d = decimate_time(data.float(), self.seismic.time_decimation, dt)
        return self.seismic(d.to(self.device))


def load_stage1(spec: str, device: torch.device | str | None = None) -> Stage1:
    """Load and verify stage-1 weights (sha256, architecture, sections) by path or shipped name.

    Raises:
        WeightsError: Missing, corrupted, of another kind, or lacking the transform sections.
    """
    from invbench.nn.weights import load_module

    read_kind(spec, STAGE1_KIND)
    model, manifest = load_module(spec, device, required=STAGE1_SECTIONS)
    seismic = SeismicTransform.from_dict(manifest["seismic_transform"])
    velocity = VelocityTransform(**manifest["velocity_transform"])
    return Stage1(model, seismic, velocity, manifest, str(spec))  # type: ignore[arg-type]
