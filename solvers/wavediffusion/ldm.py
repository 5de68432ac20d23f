"""WaveDiffusion's stage 2: a diffusers ``UNet2DModel`` over stage 1's quantised latents, and its weights.

The model works on ``w = z_q / latent_scale``, where ``z_q`` is stage 1's quantised latent of seismic data
(:meth:`~solvers.wavediffusion.network.WaveVQ.latent`) and ``latent_scale`` the standard deviation of
the training latents (Rombach et al. 2022's scale factor: diffusers' quantiser starts its codebook at
``U(-1/8192, 1/8192)``, so the latents' scale is whatever training made it). Noise prediction, the
paper's schedule (:data:`~solvers.wavediffusion.presets.SCHEDULE`), predicted latents not clipped.
Samples are decoded as they are (never re-quantised), so a small step in the latent moves the decoded
data a little rather than jumping between codebook entries.

The weights are one ``UNet2DModel`` in the invbench weights format (kind ``wavediffusion-ldm``); the
manifest adds the schedule, the latent's shape and scale, the acquisition, and the name and sha256 of the
stage-1 weights. Loading finds those beside the model's file or among the shipped weights and refuses
ones with another hash: the latent model is meaningless with another stage 1.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from diffusers import DDPMScheduler

from invbench.nn.diffusion.presets import ScheduleSpec
from invbench.nn.latent_diffusion.model import latent_scheduler_kwargs, unet_eps
from solvers.wavediffusion.checkpoint import Stage1, load_stage1, read_kind

LDM_KIND = "wavediffusion-ldm"
ARCHITECTURE = "diffusers:UNet2DModel"
LDM_SECTIONS = ("schedule", "latent", "autoencoder", "acquisition")


def ldm_name(preset: str = "lite") -> str:
    """Name of the shipped stage-2 weights of a preset (``fwi-wavediffusion-ldm-lite``)."""
    return f"fwi-wavediffusion-ldm-{preset}"


def make_scheduler(schedule: ScheduleSpec) -> DDPMScheduler:
    """The DDPM scheduler of ``schedule`` for latents (epsilon prediction, no clipping, ``t -> t - 1``)."""
    return DDPMScheduler(**latent_scheduler_kwargs(schedule))


def autoencoder_spec(ldm_spec: str, manifest: dict[str, Any]) -> str:
    """Where the stage 1 of an LDM is: beside the LDM's file when it is there, else its shipped name."""
    from invbench.nn.shipped import resolve_checkpoint

    name = str(manifest["autoencoder"]["name"])
    beside = Path(resolve_checkpoint(ldm_spec)).with_name(f"{name}.safetensors")
    return str(beside) if beside.is_file() else name


def stage1_manifest_of(ldm_spec: str) -> dict[str, Any]:
    """The manifest of the stage-1 weights an LDM was trained on (no tensors read).

    Raises:
        WeightsError: Either checkpoint missing or of the wrong kind.
    """
    from solvers.wavediffusion.checkpoint import STAGE1_KIND

    return read_kind(autoencoder_spec(ldm_spec, read_kind(ldm_spec, LDM_KIND)), STAGE1_KIND)


class WaveLDM:
    """A frozen stage-2 UNet with its stage 1: encode observed data, predict noise, decode both modalities.

    Args:
        unet: The noise-predicting ``UNet2DModel`` (latent channels in and out).
        stage1: The stage 1 whose latents it models.
        schedule: The noise schedule it was trained with.
        latent_scale: ``w = z_q / latent_scale``.
        manifest: The weights' manifest.
        spec: Where the weights were loaded from.
    """

    def __init__(
        self,
        unet: torch.nn.Module,
        stage1: Stage1,
        schedule: ScheduleSpec,
        latent_scale: float,
        manifest: dict[str, Any] | None = None,
        spec: str = "",
    ) -> None:
        self.unet = unet.eval().requires_grad_(False)
        self.stage1, self.schedule, self.latent_scale = stage1, schedule, float(latent_scale)
        self.manifest, self.spec = manifest or {}, spec
        self.scheduler = make_scheduler(schedule)

    @property
    def device(self) -> torch.device:
        """Device of the UNet's weights."""
        return next(self.unet.parameters()).device

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        """``(channels, h, w)`` of one latent."""
        return self.stage1.model.latent_shape

    def eps(self, w: torch.Tensor, t: int) -> torch.Tensor:
        """Predicted noise of scaled latents ``(B, C, h, w)`` at step ``t``."""
        steps = torch.full((w.shape[0],), int(t), device=self.device, dtype=torch.long)
        return unet_eps(self.unet, w.to(self.device), steps).sample

    def encode(self, s: torch.Tensor) -> torch.Tensor:
        """Scaled quantised latents of transformed seismic data ``(B, C, T, R)``."""
        return self.stage1.model.latent(s) / self.latent_scale

    def decode_seismic(self, w: torch.Tensor) -> torch.Tensor:
        """Transformed seismic data of scaled latents (not re-quantised)."""
        return self.stage1.model.decode_seismic(w * self.latent_scale)

    def decode_velocity(self, w: torch.Tensor) -> torch.Tensor:
        """Normalised 64 x 64 velocity of scaled latents (not re-quantised)."""
        return self.stage1.model.decode_velocity(w * self.latent_scale)


def write_ldm(
    path: str | Path,
    state: dict[str, torch.Tensor],
    *,
    name: str,
    unet_config: dict[str, Any],
    schedule: ScheduleSpec,
    latent_scale: float,
    stage1: Stage1,
    training: dict[str, Any],
    dtype: str = "float32",
    ema: bool = True,
) -> dict[str, Any]:
    """Write the stage-2 ``NAME.safetensors`` and its manifest (module docstring); returns the manifest."""
    from invbench.nn.weights import weights_record, write_weights

    record = weights_record(stage1.spec)
    extra = {
        "task_family": "fwi",
        "schedule": asdict(schedule),
        "latent": {
            "shape": list(stage1.model.latent_shape),
            "scale": float(latent_scale),
            "source": "quantised latents of the seismic encoder",
        },
        "autoencoder": {"name": record["name"], "sha256": record["sha256"]},
        "acquisition": stage1.acquisition,
    }
    return write_weights(
        path,
        state,
        name=name,
        kind=LDM_KIND,
        architecture=ARCHITECTURE,
        config=unet_config,
        training=training,
        dtype=dtype,
        ema=ema,
        extra=extra,
        packages=("diffusers",),
    )


def load_ldm(spec: str, device: torch.device | str | None = None) -> WaveLDM:
    """Load and verify stage-2 weights and the stage 1 they were trained on (path or shipped name).

    Raises:
        WeightsError: Either checkpoint missing, corrupted or of the wrong kind, or a stage 1 whose
            sha256 differs from the one the LDM records.
    """
    from invbench.nn.weights import WeightsError, load_module

    read_kind(spec, LDM_KIND)
    unet, manifest = load_module(spec, device, required=LDM_SECTIONS)
    ae_spec = autoencoder_spec(spec, manifest)
    stage1 = load_stage1(ae_spec, device)
    want, have = manifest["autoencoder"]["sha256"], stage1.manifest["weights"]["sha256"]
    if want != have:
        raise WeightsError(
            f"{spec}: trained on stage 1 {manifest['autoencoder']['name']!r} with sha256 {want}, but "
            f"{ae_spec} has {have}; a latent model only fits the stage 1 it was trained on"
        )
    schedule = ScheduleSpec(**manifest["schedule"])
    return WaveLDM(unet, stage1, schedule, manifest["latent"]["scale"], manifest, str(spec))
