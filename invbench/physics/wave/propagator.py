"""The inversion propagator: 2D constant-density acoustics on deepwave, aligned with OpenFWI's data.

:class:`AcousticPropagator` runs deepwave's scalar propagator (compiled C/CUDA kernels, a C-PML
absorbing boundary on all four sides, no free surface) for a batch of velocity models and all
their shots in one call, and is differentiable with respect to the velocity through deepwave's
hand-written adjoint.

Its output is in the convention of the reference solver (:mod:`invbench.physics.wave.reference`,
OpenFWI's own scheme), so that observed data from the reference and predictions from deepwave can
be compared directly. Both solvers use the same interior stencil (2nd order in time, 4th order in
space) and the same source scaling ``(v dt)**2``; they differ in three ways that are aligned here:

* **sign**: deepwave adds ``-(v dt)**2 f`` for a source amplitude ``f``, OpenFWI adds
  ``+(v dt)**2 w``; deepwave is therefore driven with ``f = -w``;
* **time**: deepwave's sample ``n`` is the field *before* the ``n``-th update (it holds the sources
  up to ``n - 1``), OpenFWI's sample ``n`` is the field *after* it (sources up to ``n``);
  deepwave is therefore run for ``nt + 1`` steps and its first sample dropped;
* **time step**: deepwave sub-steps whenever ``dt`` exceeds its conservative Courant number (0.6;
  OpenFWI runs at 0.64 at 4500 m/s), resampling the data; the Courant number is raised to what the model needs
  (up to the stencil's stability limit) so that deepwave steps exactly at ``dt``, like OpenFWI.

No amplitude scale is needed. What remains is the boundary (a 20-cell C-PML against OpenFWI's
120-cell sponge): on FlatVel-A maps the two agree to 0.17 % relative L2 (median over 60 maps; 90 %
of maps below 0.4 %). Maps with a fast top layer (above about 2700 m/s) are the exception, up to
3 %: there OpenFWI's sponge lets late energy through its outer (periodic) edge, which a PML does
not; the reference with a 240-cell sponge agrees with deepwave to 0.06 % on such a map.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import torch

from invbench.core.device import default_device
from invbench.physics.wave.acquisition import Acquisition
from invbench.physics.wave.units import V_MAX
from invbench.physics.wave.wavelet import ricker

DEFAULT_MAX_VEL = V_MAX
"""Default velocity bound (m/s) for deepwave's CFL and PML set-up: the top of OpenFWI's range."""


def _deepwave() -> ModuleType:
    import deepwave  # imported lazily: only this module loads deepwave

    return deepwave


def check_velocity(v: Any, acq: Acquisition) -> None:
    """Raise a clear ``ValueError`` unless ``v`` is a valid batch of velocity models for ``acq``.

    Args:
        v: Candidate velocity models; must be a floating-point tensor of shape
            ``(B, 1, nz, nx)`` with ``B >= 1``, finite and strictly positive (m/s).
        acq: The acquisition the models are for.

    Raises:
        ValueError: Describing the first problem found.
    """
    if not isinstance(v, torch.Tensor):
        raise ValueError(f"velocity must be a torch.Tensor of shape (B, 1, nz, nx), got {type(v).__name__}")
    expected = (1, acq.nz, acq.nx)
    if v.ndim != 4 or tuple(v.shape[1:]) != expected or v.shape[0] < 1:
        raise ValueError(
            f"velocity must have shape (B, 1, {acq.nz}, {acq.nx}) (batch, channel, depth, x), "
            f"got {tuple(v.shape)}"
        )
    if not v.is_floating_point():
        raise ValueError(f"velocity must be a floating-point tensor, got dtype {v.dtype}")
    vd = v.detach()
    if not bool(torch.isfinite(vd).all()):
        raise ValueError("velocity contains NaN or infinite values")
    if not bool((vd > 0).all()):
        raise ValueError(f"velocity must be strictly positive (m/s), got minimum {float(vd.min()):g}")


class AcousticPropagator:
    """Batched, differentiable acoustic forward operator on deepwave, in OpenFWI's convention.

    Example:
        >>> prop = AcousticPropagator(OPENFWI)
        >>> d = prop(v)  # v: (B, 1, 70, 70) m/s -> d: (B, 5, 1000, 70)

    Args:
        acq: Acquisition geometry, time sampling and source frequency.
        device: Where to simulate. ``None`` (the default) simulates on the device of ``v`` when it
            is an accelerator and on :func:`default_device` otherwise. The data are returned on
            the device of ``v`` either way, and gradients flow back to it.
        pml_width: Width of deepwave's C-PML, in cells, on every side (no free surface).
        accuracy: Spatial order of the finite differences (2, 4, 6 or 8); 4 matches OpenFWI.
        max_vel: Velocity (m/s) deepwave builds its PML and time step for; the model's own
            maximum is used where it is higher. Keeping it fixed keeps the discretisation, and
            so the misfit, identical across the iterations of an inversion and the model gradient
            exact. ``None`` always uses the model's maximum.
    """

    def __init__(
        self,
        acq: Acquisition,
        *,
        device: torch.device | str | None = None,
        pml_width: int = 20,
        accuracy: int = 4,
        max_vel: float | None = DEFAULT_MAX_VEL,
    ) -> None:
        if accuracy not in (2, 4, 6, 8):
            raise ValueError(f"accuracy must be 2, 4, 6 or 8, got {accuracy}")
        if pml_width < 1:
            raise ValueError(f"pml_width must be at least 1 cell (absorbing on all sides), got {pml_width}")
        if max_vel is not None and not max_vel > 0:
            raise ValueError(f"max_vel must be positive, got {max_vel}")
        self.acq = acq
        self.device = torch.device(device) if device is not None else None
        self.pml_width = int(pml_width)
        self.accuracy = int(accuracy)
        self.max_vel = max_vel
        self._geometry_cache: dict[tuple[Any, ...], tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(grid={self.acq.nz}x{self.acq.nx}, shots={self.acq.n_shots}, "
            f"nt={self.acq.nt}, pml_width={self.pml_width}, accuracy={self.accuracy}, "
            f"max_vel={self.max_vel}, device={self.device})"
        )

    def _shots(self, shots: Sequence[int] | None) -> list[int]:
        n = self.acq.n_shots
        if shots is None:
            return list(range(n))
        idx = [int(s) for s in shots]
        if not idx or min(idx) < -n or max(idx) >= n:
            raise ValueError(f"shots must be a non-empty sequence of indices in [0, {n}), got {list(shots)}")
        return [s % n for s in idx]

    def _compute_device(self, v: torch.Tensor) -> torch.device:
        if self.device is not None:
            return self.device
        return v.device if v.device.type != "cpu" else default_device()

    def _courant_number(self, max_vel: float) -> float | None:
        """Courant number that lets deepwave step at ``dt`` whenever the stencil is stable there."""
        acq = self.acq
        needed = acq.dt * max_vel * math.sqrt(2.0) / acq.dx
        critical = _deepwave().discretisation.critical_courant_number(self.accuracy, propagator="scalar")
        default = _deepwave().DEFAULT_COURANT_NUMBER
        if needed <= default or needed > critical:
            return None  # deepwave's default: one step per sample, or sub-steps when it must
        return min(needed * (1.0 + 1e-9), critical)  # margin: never round up to two sub-steps

    def _geometry(
        self, b: int, shot_idx: tuple[int, ...], dev: torch.device, dtype: torch.dtype
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Source and receiver locations and source amplitudes of B models x the shots.

        Built once per (batch size, shots, device, dtype) and reused: an inversion calls the
        propagator hundreds of times with the same geometry. deepwave only reads them.
        """
        key = (b, shot_idx, str(dev), dtype)
        cached = self._geometry_cache.get(key)
        if cached is not None:
            return cached
        acq = self.acq
        s, r, nt = len(shot_idx), acq.n_receivers, acq.nt
        src_x = torch.tensor([acq.src_x[i] for i in shot_idx], device=dev)
        src_loc = torch.stack([torch.full_like(src_x, acq.src_z), src_x], dim=-1)  # (S, 2)
        src_loc = src_loc[:, None, :].repeat(b, 1, 1)  # (B*S, 1, 2)
        rec_x = torch.tensor(acq.rec_x, device=dev)
        rec_loc = torch.stack([torch.full_like(rec_x, acq.rec_z), rec_x], dim=-1)  # (R, 2)
        rec_loc = rec_loc[None].expand(b * s, r, 2).contiguous()  # (B*S, R, 2)
        # Sign: deepwave injects -(v dt)^2 f, OpenFWI +(v dt)^2 w, so f = -w.
        wavelet = -ricker(acq.freq, acq.dt, nt + 1, dtype=dtype).to(dev)
        amplitudes = wavelet.expand(b * s, 1, nt + 1)  # (B*S, 1, nt+1)
        if len(self._geometry_cache) >= 8:  # a few batch sizes at most; never grow without bound
            self._geometry_cache.clear()
        self._geometry_cache[key] = (src_loc, rec_loc, amplitudes)
        return src_loc, rec_loc, amplitudes

    def forward(self, v: torch.Tensor, *, shots: Sequence[int] | None = None) -> torch.Tensor:
        """Simulate the seismic data of a batch of velocity models.

        Args:
            v: Velocity models, shape ``(B, 1, nz, nx)`` in m/s; may require grad.
            shots: Indices of the shots to simulate (default: all ``acq.n_shots``).

        Returns:
            Data of shape ``(B, S, nt, R)`` (batch, shot, time, receiver), in the dtype and on the
            device of ``v``, differentiable with respect to ``v``.

        Raises:
            ValueError: If ``v`` or ``shots`` is invalid (checked before deepwave runs).
        """
        check_velocity(v, self.acq)
        shot_idx = self._shots(shots)
        acq = self.acq
        dev = self._compute_device(v)
        b, s, r, nt = v.shape[0], len(shot_idx), acq.n_receivers, acq.nt

        # One model per shot, even for B = 1: deepwave sums a shared model's gradient over shots in its
        # own order, autograd sums repeated models' in another, so only this form makes an instance's
        # gradient the same whether it is simulated alone or in a batch (measured: equally fast).
        models = v.to(dev)[:, 0].repeat_interleave(s, dim=0)  # (B*S, nz, nx), model-major
        src_loc, rec_loc, amplitudes = self._geometry(b, tuple(shot_idx), dev, v.dtype)
        v_max = float(v.detach().max())
        max_vel = v_max if self.max_vel is None else max(self.max_vel, v_max)
        out = _deepwave().scalar(
            models,
            acq.dx,
            acq.dt,
            source_amplitudes=amplitudes,
            source_locations=src_loc,
            receiver_locations=rec_loc,
            accuracy=self.accuracy,
            pml_width=self.pml_width,
            pml_freq=acq.freq,
            max_vel=max_vel,
            courant_number=self._courant_number(max_vel),
        )
        rec = out.receiver_amplitudes  # (B*S, R, nt+1), deepwave order
        # Time: deepwave's sample n+1 is OpenFWI's sample n.
        data = rec[..., 1:].reshape(b, s, r, nt).transpose(-1, -2)  # (B, S, nt, R)
        return data.to(v.device)

    __call__ = forward


def simulate(
    v: torch.Tensor, acq: Acquisition, *, shots: Sequence[int] | None = None, **kw: Any
) -> torch.Tensor:
    """Functional form of :class:`AcousticPropagator`.

    Args:
        v: Velocity models, shape ``(B, 1, nz, nx)`` in m/s.
        acq: Acquisition.
        shots: Indices of the shots to simulate (default: all).
        **kw: Keyword arguments of :class:`AcousticPropagator` (``device``, ``pml_width``,
            ``accuracy``, ``max_vel``).

    Returns:
        Data of shape ``(B, S, nt, R)``, differentiable with respect to ``v``.
    """
    return AcousticPropagator(acq, **kw)(v, shots=shots)
