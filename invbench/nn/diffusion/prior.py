"""The diffusion prior the solvers share: a noise-predicting UNet, its noise schedule and its units.

Notation (DDPM, Ho et al. 2020): ``x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps`` with
``abar_t = prod_{s <= t} (1 - beta_s)``, ``t`` in ``0 .. T-1``. Every tensor method works on batches in
model units ``(B, 1, H', W')`` (see :mod:`invbench.nn.normalize`), on the prior's device; ``t`` is an
int (same step for the whole batch) or a ``(B,)`` integer tensor. The network's weights are frozen, but
gradients flow through :meth:`DiffusionPrior.eps` to its input, for solvers that need them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from diffusers import DDIMScheduler, DDPMScheduler, UNet2DModel
from diffusers.utils.torch_utils import randn_tensor

from invbench.nn.diffusion.presets import ScheduleSpec
from invbench.nn.normalize import Normalization


def sigmoid_betas(
    num_train_timesteps: int, start: float = -3.0, end: float = 3.0, tau: float = 1.0
) -> np.ndarray:
    """The sigmoid schedule of denoising-diffusion-pytorch (the schedule RED-DiffEq's release trains with).

    ``abar(s)`` follows a rescaled, flipped sigmoid of ``s in [0, 1]``; betas come from consecutive ratios,
    clipped to [0, 0.999].

    Returns:
        ``(T,)`` float64 betas.
    """
    s = np.linspace(0.0, 1.0, num_train_timesteps + 1)

    def sig(z: np.ndarray | float) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=np.float64)))

    v_start, v_end = sig(start / tau), sig(end / tau)
    abar = (v_end - sig((s * (end - start) + start) / tau)) / (v_end - v_start)
    abar = abar / abar[0]
    return np.clip(1.0 - abar[1:] / abar[:-1], 0.0, 0.999)


def scheduler_kwargs(schedule: ScheduleSpec) -> dict[str, Any]:
    """Keyword arguments shared by the diffusers DDPM and DDIM schedulers of a :class:`ScheduleSpec`.

    Epsilon prediction, predicted ``x0`` clipped to [-1, 1].
    """
    kwargs: dict[str, Any] = {
        "num_train_timesteps": schedule.num_train_timesteps,
        "prediction_type": "epsilon",
        "clip_sample": True,
        "clip_sample_range": 1.0,
    }
    if schedule.beta_schedule == "linear":
        kwargs.update(beta_schedule="linear", beta_start=schedule.beta_start, beta_end=schedule.beta_end)
    else:
        kwargs["trained_betas"] = sigmoid_betas(schedule.num_train_timesteps).tolist()
    return kwargs


def make_scheduler(schedule: ScheduleSpec) -> DDPMScheduler:
    """The diffusers DDPM scheduler of a :class:`ScheduleSpec` (its ``alphas_cumprod`` is the prior's)."""
    return DDPMScheduler(**scheduler_kwargs(schedule))


class DiffusionPrior:
    """A trained denoising diffusion model over one domain's parameter fields.

    Args:
        unet: A diffusers ``UNet2DModel`` predicting the noise (one channel in and out).
        normalization: The domain's physical <-> model-unit map.
        schedule: The noise schedule the network was trained with.
        manifest: The checkpoint manifest, when loaded from one (kept for provenance).

    Example:
        >>> prior = load_prior("fwi-lite")  # doctest: +SKIP
        >>> x0 = prior.to_model_units(v)  # (B, 1, 70, 70) m/s -> (B, 1, 72, 72)
        >>> eps = torch.randn_like(x0)
        >>> x_t = prior.add_noise(x0, eps, 500)
        >>> x0_hat = prior.x0(x_t, 500)  # clipped to [-1, 1]
    """

    def __init__(
        self,
        unet: UNet2DModel,
        normalization: Normalization,
        schedule: ScheduleSpec,
        manifest: dict[str, Any] | None = None,
    ) -> None:
        self.unet = unet.eval().requires_grad_(False)
        self.normalization = normalization
        self.schedule = schedule
        self.manifest = manifest or {}
        self.scheduler = make_scheduler(schedule)
        self._abar = self.scheduler.alphas_cumprod.to(torch.float32)
        self._abar = self._abar.to(self.device)

    # ----------------------------------------------------------------- properties
    @property
    def device(self) -> torch.device:
        """Device of the network weights."""
        return next(self.unet.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        """Data type of the network weights."""
        return next(self.unet.parameters()).dtype

    @property
    def num_train_timesteps(self) -> int:
        """``T``: valid steps are ``0 .. T-1``."""
        return self.schedule.num_train_timesteps

    @property
    def domain(self) -> str:
        """``"fwi"``, ``"darcy-grf"`` or ``"darcy-bimaterial"``."""
        return self.normalization.domain

    @property
    def model_shape(self) -> tuple[int, int]:
        """Spatial shape in model units (with padding)."""
        return self.normalization.model_shape

    @property
    def field_shape(self) -> tuple[int, int]:
        """Spatial shape of physical fields."""
        return self.normalization.field_shape

    def to(self, device: torch.device | str) -> DiffusionPrior:
        """Move the prior to ``device`` (in place) and return it."""
        self.unet.to(device)
        self._abar = self._abar.to(device)
        return self

    # ----------------------------------------------------------------- units
    def to_model_units(self, field: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Physical fields ``(B, 1, H, W)`` -> model units ``(B, 1, H', W')`` on the prior's device."""
        return self.normalization.to_model_units(field, device=self.device)

    def from_model_units(self, x: torch.Tensor) -> torch.Tensor:
        """Model units ``(B, 1, H', W')`` -> physical fields ``(B, 1, H, W)`` (padding cropped)."""
        return self.normalization.from_model_units(x)

    # ----------------------------------------------------------------- schedule
    def _steps(self, t: int | torch.Tensor, batch: int) -> torch.Tensor:
        tt = torch.as_tensor(t, device=self.device)
        if tt.is_floating_point() or tt.is_complex():
            raise TypeError(f"diffusion steps must be integers, got dtype {tt.dtype}")
        tt = tt.long()
        if tt.ndim == 0:
            tt = tt.expand(batch)
        if tt.shape != (batch,):
            raise ValueError(f"t must be an int or a ({batch},) tensor, got shape {tuple(tt.shape)}")
        if bool(((tt < 0) | (tt >= self.num_train_timesteps)).any()):
            raise ValueError(
                f"diffusion steps must lie in [0, {self.num_train_timesteps}), got {tt.tolist()}"
            )
        return tt

    def alpha_bar(self, t: int | torch.Tensor) -> torch.Tensor:
        """``abar_t`` (float32, on the prior's device), of the same shape as ``t``."""
        tt = torch.as_tensor(t, device=self.device)
        flat = self._steps(tt.reshape(-1), tt.numel())
        return self._abar[flat].reshape(tt.shape)

    def _ab(self, t: int | torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self._abar[self._steps(t, x.shape[0])].to(x.dtype).view(-1, *([1] * (x.ndim - 1)))

    # ----------------------------------------------------------------- denoiser
    def eps(self, x_t: torch.Tensor, t: int | torch.Tensor) -> torch.Tensor:
        """Predicted noise ``eps_theta(x_t, t)``, same shape and dtype as ``x_t``."""
        self._check(x_t)
        out = self.unet(x_t.to(self.dtype), self._steps(t, x_t.shape[0])).sample
        return out.to(x_t.dtype)

    def x0(self, x_t: torch.Tensor, t: int | torch.Tensor, clip: bool = True) -> torch.Tensor:
        """Predicted clean field ``(x_t - sqrt(1 - abar) eps_theta) / sqrt(abar)``, clipped to [-1, 1].

        Clipping is on by default; with ``clip=False`` this exactly inverts :meth:`add_noise` for the
        predicted noise.
        """
        ab = self._ab(t, x_t)
        x0 = (x_t - (1.0 - ab).sqrt() * self.eps(x_t, t)) / ab.sqrt()
        return x0.clamp(-1.0, 1.0) if clip else x0

    def eps_from_x0(self, x_t: torch.Tensor, x0: torch.Tensor, t: int | torch.Tensor) -> torch.Tensor:
        """The noise that maps ``x0`` to ``x_t``: ``(x_t - sqrt(abar) x0) / sqrt(1 - abar)``."""
        ab = self._ab(t, x_t)
        return (x_t - ab.sqrt() * x0) / (1.0 - ab).sqrt()

    def add_noise(self, x0: torch.Tensor, eps: torch.Tensor, t: int | torch.Tensor) -> torch.Tensor:
        """The forward process ``sqrt(abar) x0 + sqrt(1 - abar) eps``."""
        ab = self._ab(t, x0)
        return ab.sqrt() * x0 + (1.0 - ab).sqrt() * eps

    # ----------------------------------------------------------------- sampling
    @torch.no_grad()
    def sample(
        self,
        n: int,
        *,
        steps: int = 50,
        eta: float = 0.0,
        generator: torch.Generator | None = None,
        units: str = "physical",
    ) -> torch.Tensor:
        """Draw fields with DDIM (Song et al. 2021) through diffusers' ``DDIMScheduler``.

        Timesteps are spaced "trailing" (the first step is ``T - 1``, pure noise); each step clips the
        predicted ``x0`` to [-1, 1] and re-derives the noise from it; the last step returns the clipped
        ``x0``.

        Args:
            n: Number of fields.
            steps: DDIM steps (at most ``T``).
            eta: 0 for deterministic DDIM, 1 for DDPM-like ancestral noise.
            generator: Torch generator for the initial noise (and the noise of ``eta > 0``).
            units: ``"physical"`` for ``(n, 1, H, W)`` fields, ``"model"`` for ``(n, 1, H', W')``.

        Returns:
            The samples on the prior's device.
        """
        if units not in ("physical", "model"):
            raise ValueError(f"units must be 'physical' or 'model', got {units!r}")
        if not 1 <= steps <= self.num_train_timesteps:
            raise ValueError(f"steps must lie in [1, {self.num_train_timesteps}], got {steps}")
        ddim = DDIMScheduler(
            **scheduler_kwargs(self.schedule),
            timestep_spacing="trailing",
            set_alpha_to_one=True,
            steps_offset=0,
        )
        ddim.set_timesteps(steps, device=self.device)
        shape = (int(n), 1, *self.model_shape)
        x = randn_tensor(shape, generator=generator, device=self.device, dtype=torch.float32)
        for t in ddim.timesteps:
            eps = self.eps(x, int(t))
            x = ddim.step(eps, t, x, eta=eta, use_clipped_model_output=True, generator=generator).prev_sample
        return self.from_model_units(x) if units == "physical" else x

    def _check(self, x: torch.Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != 1 or tuple(x.shape[-2:]) != self.model_shape:
            raise ValueError(
                f"expected (B, 1, {self.model_shape[0]}, {self.model_shape[1]}) in model units, "
                f"got {tuple(x.shape)} (use to_model_units for physical fields)"
            )

    def __repr__(self) -> str:
        name = self.manifest.get("name", "unnamed")
        return (
            f"DiffusionPrior({name!r}, domain={self.domain!r}, model_shape={self.model_shape}, "
            f"T={self.num_train_timesteps}, device={self.device})"
        )
