"""Per-domain maps between physical parameter fields and the diffusion prior's model units in [-1, 1].

A prior sees ``x = (field - center) / scale``, padded by ``pad`` cells on every side with the constant
``pad_value`` (in model units). The constants, chosen so that (almost) all training mass lies in [-1, 1]:

* ``fwi``: ``(v - 3000) / 1500``, the OpenFWI normalisation of :mod:`invbench.tasks.fwi.metrics` (1500-4500
  m/s maps to [-1, 1] exactly). The 70 x 70 maps are zero-padded by one cell to 72 x 72 as RED-DiffEq does
  (Shan et al. 2025, arXiv:2509.21659; ``diffusion_pad`` in ``red_diffeq/utils/diffusion_utils.py`` of
  github.com/lu-group/red-diffeq: ``F.pad(x, (1, 1, 1, 1), "constant", 0)``), so a UNet with three
  downsamplings sees 72 -> 36 -> 18 -> 9. We pad with 0 in model units (3000 m/s) both when training and
  when the prior is used, as RED-DiffEq's inversion code does. (Their training script pads maps scaled to
  [0, 1] with 0 before the diffusion wrapper maps them to [-1, 1], i.e. with -1 = 1500 m/s; the border is
  cropped away in every use, and one consistent value for training and use is what matters.)
* ``darcy-grf``: ``log k / 5``. GRF log-conductivity has mean 0 and spatial std 1, but the per-pixel std
  of the Neumann (cosine) expansion varies from 0.54 at the centre to 1.6 at the corners; in 4,000 draws at
  64 x 64, ``|log k| > 4`` held for 6e-4 of the pixels and touched 5.9 % of the fields, ``|log k| > 5``
  for 6e-5 of the pixels and 0.9 % of the fields (largest 6.6; 7.25 in 20,000 draws). Scale 5 keeps
  ~all mass in [-1, 1] while wasting little of the range; training data are not clipped (the prior's x0
  clip acts only on its predictions).
* ``darcy-bimaterial``: ``(log k - log 6) / log 2``: the phases ``log 3`` and ``log 12`` map to exactly -1
  and +1 (the environment's ``field_center`` and ``field_scale``).

Fields are ``(batch, 1, H, W)`` (``(batch, H, W)`` is accepted and gets the channel axis).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from invbench.physics.wave.units import V_CENTER, V_SCALE

DOMAINS: tuple[str, ...] = ("fwi", "darcy-grf", "darcy-bimaterial")


@dataclass(frozen=True)
class Normalization:
    """How one domain's physical fields map to the prior's model units.

    Attributes:
        domain: One of :data:`DOMAINS`.
        units: The physical quantity (``"velocity_m_per_s"`` or ``"log_k"``).
        center: Subtracted from the physical field.
        scale: Divides the centred field.
        field_shape: Physical field shape ``(H, W)``.
        pad: Cells of constant padding on every side.
        pad_value: The padding value, in model units.
    """

    domain: str
    units: str
    center: float
    scale: float
    field_shape: tuple[int, int]
    pad: int = 0
    pad_value: float = 0.0

    def __post_init__(self) -> None:
        if self.domain not in DOMAINS:
            raise ValueError(f"unknown domain {self.domain!r} (domains: {', '.join(DOMAINS)})")
        if not (math.isfinite(self.scale) and self.scale > 0 and math.isfinite(self.center)):
            raise ValueError(f"need finite center and scale > 0, got {self.center}, {self.scale}")
        if self.pad < 0 or len(self.field_shape) != 2 or min(self.field_shape) < 1:
            raise ValueError(f"bad pad {self.pad} or field shape {self.field_shape}")
        object.__setattr__(self, "field_shape", (int(self.field_shape[0]), int(self.field_shape[1])))

    @property
    def model_shape(self) -> tuple[int, int]:
        """Spatial shape the network sees: the field shape plus the padding."""
        return self.field_shape[0] + 2 * self.pad, self.field_shape[1] + 2 * self.pad

    def to_model_units(
        self, field: np.ndarray | torch.Tensor, *, device: torch.device | str | None = None
    ) -> torch.Tensor:
        """Normalise and pad physical fields.

        Args:
            field: ``(B, 1, H, W)`` or ``(B, H, W)`` in physical units (m/s or log k), numpy or torch.
            device: Device of the result (default: the tensor's own, or CPU for numpy input).

        Returns:
            ``(B, 1, H + 2 pad, W + 2 pad)`` float32 tensor in model units. Differentiable for torch input.

        Raises:
            ValueError: A shape other than the domain's field shape.
        """
        x = torch.as_tensor(field, device=device)
        if not x.is_floating_point():
            x = x.float()
        x = self._with_channel(x, self.field_shape, "physical field")
        x = (x.to(torch.float32) - self.center) / self.scale
        if self.pad:
            x = F.pad(x, (self.pad,) * 4, mode="constant", value=self.pad_value)
        return x

    def from_model_units(self, x: torch.Tensor) -> torch.Tensor:
        """Crop the padding and map model units back to physical units.

        Args:
            x: ``(B, 1, H + 2 pad, W + 2 pad)`` (or without the channel axis) in model units.

        Returns:
            ``(B, 1, H, W)`` in physical units (not clipped). Differentiable.

        Raises:
            ValueError: A shape other than the model shape.
        """
        x = self._with_channel(torch.as_tensor(x), self.model_shape, "model-unit tensor")
        if self.pad:
            p = self.pad
            x = x[..., p:-p, p:-p]
        return x * self.scale + self.center

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (for checkpoint manifests)."""
        d = asdict(self)
        d["field_shape"] = list(self.field_shape)
        d["model_shape"] = list(self.model_shape)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Normalization:
        """Inverse of :meth:`to_dict` (extra keys such as ``model_shape`` are checked, not stored)."""
        keys = ("domain", "units", "center", "scale", "field_shape", "pad", "pad_value")
        missing = [k for k in keys if k not in d]
        if missing:
            raise ValueError(f"normalization is missing {missing}")
        norm = cls(**{k: (tuple(d[k]) if k == "field_shape" else d[k]) for k in keys})
        if "model_shape" in d and tuple(d["model_shape"]) != norm.model_shape:
            raise ValueError(f"model_shape {d['model_shape']} does not match field shape and padding")
        return norm

    @staticmethod
    def _with_channel(x: torch.Tensor, shape: tuple[int, int], what: str) -> torch.Tensor:
        if x.ndim == 3:
            x = x[:, None]
        if x.ndim != 4 or x.shape[1] != 1 or tuple(x.shape[-2:]) != shape:
            raise ValueError(f"{what} must be (B, 1, {shape[0]}, {shape[1]}), got {tuple(x.shape)}")
        return x


def normalization_for(domain: str, field_shape: tuple[int, int] | None = None) -> Normalization:
    """The normalisation of a domain (module docstring), optionally for another field shape.

    Args:
        domain: ``"fwi"``, ``"darcy-grf"`` or ``"darcy-bimaterial"``.
        field_shape: Physical field shape; default ``(70, 70)`` for FWI and ``(64, 64)`` for Darcy. FWI
            fields are padded by one cell whatever their shape.

    Returns:
        The :class:`Normalization`.

    Raises:
        ValueError: Unknown domain.
    """
    if domain == "fwi":
        return Normalization("fwi", "velocity_m_per_s", V_CENTER, V_SCALE, field_shape or (70, 70), 1, 0.0)
    if domain == "darcy-grf":
        return Normalization("darcy-grf", "log_k", 0.0, 5.0, field_shape or (64, 64))
    if domain == "darcy-bimaterial":
        return Normalization(
            "darcy-bimaterial", "log_k", math.log(6.0), math.log(2.0), field_shape or (64, 64)
        )
    raise ValueError(f"unknown domain {domain!r} (domains: {', '.join(DOMAINS)})")
