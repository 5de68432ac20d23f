"""Architecture and training presets of the field autoencoders.

LD-DIM (Lin & He 2025, arXiv:2512.22421) trains a convolutional VAE on the conductivity fields and a latent
diffusion model in its latent space; the inversion then optimises in that latent space. The autoencoder is
diffusers' ``AutoencoderKL`` (the VAE of latent diffusion, Rombach et al. 2022) with a small configuration:
three resolution levels (two downsamplings, so a 64 x 64 Darcy field becomes a 4 x 16 x 16 latent and a
padded 72 x 72 velocity map a 4 x 18 x 18 one), trained on reconstruction (mean squared error in model units)
plus ``kl_weight`` times the KL divergence of the posterior from N(0, I).

``lite`` is sized for this project's 2-core CPU: widths 32/64/64, one ResNet block per level, 0.95 M
parameters. Measured on that machine (2 threads, a batch of 16 Darcy fields, forward + backward + Adam):
0.60 s per step in float32, 0.40 s with bfloat16 autocast (AVX-512 BF16), so ``lite`` trains with bfloat16
autocast and 4,000 steps should take about 27 min (no lite checkpoint has been trained yet). ``paper`` is a
larger configuration for GPU users (widths 64/128/256, two blocks per level, 30,000 steps, batch 64). The
latent size, KL weight and training length are invbench's choices, not yet checked against the LD-DIM
paper's, which the issue asks for before the checkpoints are trained.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from invbench.nn.training import TrainSpec

PRESETS: tuple[str, ...] = ("lite", "paper")


@dataclass(frozen=True)
class VAESpec:
    """A diffusers ``AutoencoderKL`` for one-channel fields.

    Attributes:
        block_out_channels: Width of each resolution level; the latent is downsampled
            ``len(block_out_channels) - 1`` times.
        layers_per_block: ResNet blocks per level.
        latent_channels: Channels of the latent.
        norm_num_groups: GroupNorm groups (must divide every width).
        kl_weight: Weight of the KL term against the reconstruction error.
    """

    block_out_channels: tuple[int, ...]
    layers_per_block: int
    latent_channels: int
    norm_num_groups: int = 16
    kl_weight: float = 1e-4

    def __post_init__(self) -> None:
        bad = [c for c in self.block_out_channels if c % self.norm_num_groups]
        if bad:
            raise ValueError(f"norm_num_groups={self.norm_num_groups} does not divide widths {bad}")
        if self.kl_weight < 0:
            raise ValueError(f"kl_weight must be >= 0, got {self.kl_weight}")

    @property
    def downsampling(self) -> int:
        """Factor by which the latent is smaller than the (padded) field along each axis."""
        return 2 ** (len(self.block_out_channels) - 1)

    def diffusers_config(self, sample_size: tuple[int, int]) -> dict[str, Any]:
        """Keyword arguments of ``diffusers.AutoencoderKL`` for fields of ``sample_size`` (H, W).

        Raises:
            ValueError: The field is not divisible by the downsampling factor.
        """
        f = self.downsampling
        if sample_size[0] % f or sample_size[1] % f:
            raise ValueError(f"field shape {tuple(sample_size)} is not divisible by the downsampling {f}")
        n = len(self.block_out_channels)
        return {
            "in_channels": 1,
            "out_channels": 1,
            "down_block_types": ["DownEncoderBlock2D"] * n,
            "up_block_types": ["UpDecoderBlock2D"] * n,
            "block_out_channels": list(self.block_out_channels),
            "layers_per_block": self.layers_per_block,
            "latent_channels": self.latent_channels,
            "norm_num_groups": self.norm_num_groups,
            "sample_size": int(sample_size[0]),
        }


@dataclass(frozen=True)
class VAEPreset:
    """A named autoencoder configuration with its training settings."""

    name: str
    vae: VAESpec
    train: TrainSpec
    source: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for manifests and resume checks)."""
        return asdict(self)

    def with_steps(self, steps: int) -> VAEPreset:
        """The preset with another step count."""
        return replace(self, train=replace(self.train, steps=int(steps)))


_LITE = VAEPreset(
    name="lite",
    vae=VAESpec(block_out_channels=(32, 64, 64), layers_per_block=1, latent_channels=4),
    train=TrainSpec(
        batch_size=16,
        lr=1e-3,
        steps=4000,
        warmup_steps=100,
        adam_betas=(0.9, 0.999),
        grad_clip=1.0,
        ema_decay=0.999,
        ema_every=1,
        ema_start=200,
        checkpoint_every=500,
        amp=True,
        export_dtype="float16",
    ),
    source="invbench lite: sized for a 2-core CPU (module docstring)",
)

_PAPER = VAEPreset(
    name="paper",
    vae=VAESpec(block_out_channels=(64, 128, 256), layers_per_block=2, latent_channels=4, norm_num_groups=32),
    train=TrainSpec(
        batch_size=64,
        lr=1e-4,
        steps=30000,
        warmup_steps=500,
        adam_betas=(0.9, 0.999),
        ema_decay=0.999,
        ema_every=1,
        ema_start=1000,
        checkpoint_every=5000,
        amp=True,
        export_dtype="float32",
    ),
    source="invbench paper-scale: for GPUs (module docstring)",
)

_BY_NAME = {"lite": _LITE, "paper": _PAPER}


def get_vae_preset(name: str) -> VAEPreset:
    """The preset called ``name``.

    Raises:
        ValueError: Unknown preset.
    """
    if name not in _BY_NAME:
        raise ValueError(f"unknown autoencoder preset {name!r} (presets: {', '.join(PRESETS)})")
    return _BY_NAME[name]
