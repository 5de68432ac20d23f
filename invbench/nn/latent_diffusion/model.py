"""A trained latent diffusion model: noise prediction on scaled latents, DDIM sampling and decoding.

The model works on ``w = z / latent_scale`` (unit variance), where ``z`` is the autoencoder's latent.
Predicted clean latents are not clipped (latents have no fixed range, unlike fields in model units).
:meth:`LatentDiffusion.ddim` runs the deterministic DDIM sampler from a given initial noise and keeps the
graph when asked, so a solver can optimise that noise through the sampler, the decoder and the PDE.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from diffusers import DDIMScheduler, UNet2DModel

from invbench.nn.autoencoder.model import FieldAutoencoder
from invbench.nn.diffusion.presets import ScheduleSpec
from invbench.nn.diffusion.prior import scheduler_kwargs


def latent_scheduler_kwargs(schedule: ScheduleSpec) -> dict[str, Any]:
    """The diffusers scheduler arguments of a schedule, without clipping of the predicted latent."""
    kwargs = scheduler_kwargs(schedule)
    kwargs["clip_sample"] = False
    return kwargs


def unet_eps(unet: torch.nn.Module, w_t: torch.Tensor, t: torch.Tensor) -> Any:
    """Run a ``UNet2DModel`` on latents whose sides its downsamplings need not divide.

    A UNet with ``L`` levels halves the latent ``L - 1`` times, so its sides must be multiples of
    ``2 ** (L - 1)``: FWI's 72 x 72 model grid gives an 18 x 18 latent, which a three-level UNet cannot
    take. The latent is zero-padded (zero is its mean) symmetrically up to the next multiple and the
    prediction cropped back, in training and in sampling alike, so the model only ever answers for the
    real latent cells.

    Args:
        unet: The network (its ``config.block_out_channels`` fixes the number of levels).
        w_t: Noisy scaled latents ``(B, C, h, w)``.
        t: Diffusion steps ``(B,)``.

    Returns:
        The network's output object with ``.sample`` cropped to ``(B, C, h, w)``.
    """
    multiple = 2 ** (len(unet.config.block_out_channels) - 1)
    h, w = w_t.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if not ph and not pw:
        return unet(w_t, t)
    top, left = ph // 2, pw // 2
    out = unet(F.pad(w_t, (left, pw - left, top, ph - top)), t)
    out.sample = out.sample[..., top : top + h, left : left + w]
    return out


class LatentDiffusion:
    """A frozen noise-predicting UNet over an autoencoder's scaled latents.

    Args:
        unet: A diffusers ``UNet2DModel`` with the latent's channels in and out.
        autoencoder: The autoencoder whose latents it models.
        schedule: The noise schedule it was trained with.
        manifest: The checkpoint manifest (provenance).
        autoencoder_spec: Where the autoencoder was loaded from (path or shipped name).
    """

    def __init__(
        self,
        unet: UNet2DModel,
        autoencoder: FieldAutoencoder,
        schedule: ScheduleSpec,
        manifest: dict[str, Any] | None = None,
        autoencoder_spec: str = "",
    ) -> None:
        self.autoencoder_spec = autoencoder_spec or autoencoder.name
        self.unet = unet.eval().requires_grad_(False)
        self.autoencoder = autoencoder
        self.schedule = schedule
        self.manifest = manifest or {}
        kwargs = latent_scheduler_kwargs(schedule)
        from diffusers import DDPMScheduler

        self._abar = DDPMScheduler(**kwargs).alphas_cumprod.to(torch.float32).to(self.device)

    @property
    def device(self) -> torch.device:
        """Device of the network weights."""
        return next(self.unet.parameters()).device

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        """``(channels, h, w)`` of one latent."""
        return self.autoencoder.latent_shape

    @property
    def latent_scale(self) -> float:
        """The autoencoder's latent standard deviation (``w = z / latent_scale``)."""
        return self.autoencoder.latent_scale

    @property
    def num_train_timesteps(self) -> int:
        """``T``: valid steps are ``0 .. T-1``."""
        return self.schedule.num_train_timesteps

    def alpha_bar(self, t: int) -> float:
        """``abar_t``."""
        if not 0 <= int(t) < self.num_train_timesteps:
            raise ValueError(f"diffusion step must lie in [0, {self.num_train_timesteps}), got {t}")
        return float(self._abar[int(t)])

    def eps(self, w_t: torch.Tensor, t: int | torch.Tensor) -> torch.Tensor:
        """Predicted noise of scaled latents ``(B, C, h, w)`` at step ``t`` (differentiable in ``w_t``)."""
        if w_t.ndim != 4 or tuple(w_t.shape[1:]) != self.latent_shape:
            raise ValueError(
                f"latents must be (B, {', '.join(map(str, self.latent_shape))}), got {tuple(w_t.shape)}"
            )
        steps = torch.as_tensor(t, device=self.device).long().expand(w_t.shape[0])
        return unet_eps(self.unet, w_t, steps).sample

    def add_noise(self, w0: torch.Tensor, eps: torch.Tensor, t: int) -> torch.Tensor:
        """The forward process ``sqrt(abar_t) w0 + sqrt(1 - abar_t) eps``."""
        ab = self.alpha_bar(t)
        return ab**0.5 * w0 + (1.0 - ab) ** 0.5 * eps

    def w0(self, w_t: torch.Tensor, t: int) -> torch.Tensor:
        """Predicted clean scaled latent ``(w_t - sqrt(1 - abar) eps_theta) / sqrt(abar)`` (not clipped)."""
        ab = self.alpha_bar(t)
        return (w_t - (1.0 - ab) ** 0.5 * self.eps(w_t, t)) / ab**0.5

    def ddim(self, noise: torch.Tensor, steps: int = 10, *, grad: bool = False) -> torch.Tensor:
        """Deterministic DDIM (Song et al. 2021, eta = 0) from ``noise`` to a scaled latent.

        Timesteps are spaced "trailing" (the first is ``T - 1``) through diffusers' ``DDIMScheduler``.

        Args:
            noise: Initial noise ``(B, C, h, w)``.
            steps: Number of DDIM steps.
            grad: Keep the autograd graph (for optimising ``noise`` through the sampler).

        Returns:
            The final scaled latents ``w0``.
        """
        if not 1 <= steps <= self.num_train_timesteps:
            raise ValueError(f"DDIM steps must lie in [1, {self.num_train_timesteps}], got {steps}")
        ddim = DDIMScheduler(
            **latent_scheduler_kwargs(self.schedule),
            timestep_spacing="trailing",
            set_alpha_to_one=True,
            steps_offset=0,
        )
        ddim.set_timesteps(steps, device=self.device)
        w = noise.to(self.device)
        with torch.set_grad_enabled(grad):
            for t in ddim.timesteps:
                w = ddim.step(self.eps(w, int(t)), t, w, eta=0.0).prev_sample
        return w

    def decode(self, w: torch.Tensor) -> torch.Tensor:
        """Physical fields ``(B, 1, H, W)`` of scaled latents (differentiable)."""
        return self.autoencoder.decode(w * self.latent_scale)

    def encode(self, field: torch.Tensor) -> torch.Tensor:
        """Scaled latents (posterior means) of physical fields ``(B, 1, H, W)``."""
        return self.autoencoder.encode(field) / self.latent_scale

    @torch.no_grad()
    def sample(self, n: int, *, steps: int = 50, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw ``n`` physical fields: DDIM from Gaussian noise, then decode."""
        noise = torch.randn((int(n), *self.latent_shape), generator=generator, device=self.device)
        return self.decode(self.ddim(noise, steps))

    def __repr__(self) -> str:
        name = self.manifest.get("name", "unnamed")
        return f"LatentDiffusion({name!r}, autoencoder={self.autoencoder.name!r}, latent={self.latent_shape})"
