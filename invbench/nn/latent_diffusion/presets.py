"""Architecture and training presets of the latent diffusion models.

LD-DIM (Lin & He 2025, arXiv:2512.22421) trains a latent diffusion model (Rombach et al. 2022) in the
latent space of its convolutional VAE. The network here is diffusers' ``UNet2DModel`` on the scaled latents
``z / latent_scale`` (unit variance), epsilon prediction, the DDPM linear schedule (T = 1000,
beta 1e-4 to 0.02; Ho et al. 2020) and DDIM sampling. The paper's own network width, schedule and training
length could not be read (only its abstract was reachable); these are invbench's choices.

``lite`` is sized for this project's 2-core CPU: on a 4 x 16 x 16 latent, widths 64/128/128 with
self-attention at the coarsest level, one ResNet block per level. ``paper`` is wider and longer for GPU
users. Training cost of ``lite`` on that CPU is recorded in each shipped checkpoint's manifest.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from invbench.nn.diffusion.presets import ScheduleSpec, UNetSpec
from invbench.nn.training import TrainSpec

PRESETS: tuple[str, ...] = ("lite", "paper")


@dataclass(frozen=True)
class LDMPreset:
    """Everything that defines how a latent diffusion model is built and trained.

    Attributes:
        name: Preset name.
        unet: Network architecture (its channels are the autoencoder's latent channels).
        schedule: Noise schedule.
        train: Optimisation settings.
        source: Where the numbers come from.
    """

    name: str
    unet: UNetSpec
    schedule: ScheduleSpec
    train: TrainSpec
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description."""
        return asdict(self)

    def with_steps(self, steps: int) -> LDMPreset:
        """The same preset with another default step count."""
        return replace(self, train=replace(self.train, steps=int(steps)))


_LITE = LDMPreset(
    name="lite",
    unet=UNetSpec((64, 128, 128), 1, (False, False, True), True, 16, 32),
    schedule=ScheduleSpec(),
    train=TrainSpec(
        batch_size=32,
        lr=4e-4,
        steps=6000,
        warmup_steps=200,
        ema_decay=0.999,
        ema_every=1,
        ema_start=200,
        checkpoint_every=500,
        amp=False,
        export_dtype="float16",
    ),
    source="invbench choice for a 2-core CPU (the LD-DIM paper's settings could not be read)",
)

_PAPER = LDMPreset(
    name="paper",
    unet=UNetSpec((128, 256, 256), 2, (False, True, True), True, 32, 32),
    schedule=ScheduleSpec(),
    train=TrainSpec(
        batch_size=64,
        lr=2e-4,
        steps=100_000,
        warmup_steps=1000,
        ema_decay=0.9999,
        ema_every=1,
        ema_start=1000,
        checkpoint_every=5000,
        amp=True,
        export_dtype="float32",
    ),
    source="invbench's GPU configuration (wider and longer than lite; not the paper's, which is unknown)",
)

_PRESETS = {"lite": _LITE, "paper": _PAPER}


def get_ldm_preset(name: str) -> LDMPreset:
    """The named preset.

    Raises:
        ValueError: Unknown name.
    """
    try:
        return _PRESETS[name]
    except KeyError:
        known = ", ".join(PRESETS)
        raise ValueError(f"unknown latent diffusion preset {name!r} (presets: {known})") from None
