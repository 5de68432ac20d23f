"""The ``paper`` and ``lite`` presets of WaveDiffusion's two stages.

``paper`` follows what WaveDiffusion (Wang et al., ICML 2025) fixes. Stage 1: velocity maps at 64 x 64,
seismic data at 3 x 1024 x 64 (1 ms data, ``generate-pairs --decimate 1``), a 16 x 16 latent of
embedding dimension 32, a codebook of 8192 entries, channel multipliers (1, 2, 2, 4, 4) for velocity and
(1, 2, 2, 4, 4, 4, 8, 8) for seismic data, 3 residual blocks per level. Stage 2: a UNet with 32 input
channels, 128 base channels and multipliers (1, 2, 2, 4, 4), an L1 loss on the predicted noise, T = 1000,
a linear beta schedule from 0.0015 to 0.0155, Adam with batch 16.

Deviations and choices of ours, for both presets:

* Stage 1 trains without the paper's perceptual loss and discriminator: L1 reconstruction of both
  modalities from both branches' quantised latents (self- and cross-reconstruction: the seismic decoder
  must also read the velocity encoder's latent and vice versa, which is what makes the latent shared),
  the VQ codebook and commitment losses (``beta`` 0.25, van den Oord et al. 2017), and a mean-squared
  agreement term between the two encoders' pre-quantisation latents (``latent_weight``).
* Not in what we could read of the paper, so chosen here: the branches' base width (``paper``: 128,
  the width of LDM's and diffusers' VQ autoencoders; 532 M parameters in stage 1), stage 1's batch,
  learning rate and length, stage 2's learning rate, length and attention levels, and EMA weights.
* The schedule's ends (0.0015, 0.0155) are LDM's defaults, and LDM's "linear" schedule is linear in
  ``sqrt(beta)`` (diffusers' ``scaled_linear``); the paper says linear, so betas here are linear in
  beta (diffusers' ``linear``). If the released models turn out to use LDM's schedule, that is a change
  of :class:`~invbench.nn.diffusion.presets.ScheduleSpec`, which supports only ``linear`` and ``sigmoid``
  today.

``lite`` is the paper's architecture scaled for this project's 2-core CPU (one thread per job, bfloat16
autocast, which this CPU runs about twice as fast as float32). Measured there before the choice (one
contended thread, batch 16): the stage-1 step at base 16, one block per level and 3 x 256 x 64 seismic
input took 2.8 s, the seismic decoder alone 0.67 s of it per decode (two decodes per step). So ``lite``:

* base width 8 instead of 128 (a convolution costs the square of its width: 1/256) and 1 residual block
  per level instead of 3 (1/3); all multipliers, the latent (16 x 16 x 32) and the codebook (8192) stay
  the paper's, so the stage-2 model sees the paper's latent shape;
* seismic data at 8 ms resized to 128 samples instead of 1 ms resized to 1024 (1/8 of the seismic
  branch's cost at every level; the 15 Hz data hold at most 2e-6 of their energy above 62 Hz, the
  8 ms Nyquist frequency, docs/inversionnet.md); the transitions that halve time drop from 6 to 3;
* a stage-2 UNet of base width 24 instead of 128 with one ResNet block per level instead of two.

The widths are also what the repository's shipped weights allow: they share about 60 MB, of which about
10 MB were left for WaveDiffusion (solvers/inversionnet/presets.py). Base 16 for stage 1 and 32 for the
UNet (measured at 0.44 and 4.6 steps/s) would have taken 8.4 + 10.0 MB in float16; base 8 and 24 take
2.6 + 5.6 MB. Measured through the training loop (2026-12-07, same conditions): stage 1 ``lite`` 0.66
steps/s (1,275,172 parameters; the nearest-entry search of the 8192-entry codebook is a third of a step),
stage 2 ``lite`` 5.3 steps/s (2,823,464), so 4,000 and 20,000 steps take about 1.7 h and 1.05 h.
Parameter counts of both presets and inference times are in docs/wavediffusion.md.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from invbench.nn.diffusion.presets import ScheduleSpec, UNetSpec
from invbench.nn.training import TrainSpec
from solvers.wavediffusion.network import SEISMIC_MULTIPLIERS, VELOCITY_MULTIPLIERS

PRESETS: tuple[str, ...] = ("lite", "paper")
SCHEDULE = ScheduleSpec(num_train_timesteps=1000, beta_schedule="linear", beta_start=0.0015, beta_end=0.0155)
"""The paper's noise schedule: T = 1000, betas linear from 0.0015 to 0.0155."""


@dataclass(frozen=True)
class Stage1Preset:
    """Stage 1 (:class:`~solvers.wavediffusion.network.WaveVQ`) and how it trains.

    Attributes:
        name: ``"lite"``, ``"paper"`` or a test's own.
        seismic_channels: Shots kept as channels (paper: 3).
        seismic_time: Samples per trace after resizing (paper: 1024).
        receivers: Traces per shot after resizing (paper: 64).
        velocity_size: Side of the resized velocity map (paper: 64).
        latent_size: Side of the latent (paper: 16).
        embed_dim: Latent channels and codebook embedding dimension (paper: 32).
        codebook_size: Codebook entries (paper: 8192).
        base_channels: Width of the branches' first level.
        seismic_multipliers: Seismic level widths in units of ``base_channels``.
        velocity_multipliers: Velocity level widths in units of ``base_channels``.
        layers_per_block: Residual blocks per level (paper: 3).
        norm_groups: GroupNorm groups.
        mid_attention: Self-attention in the branches' middle blocks.
        beta: VQ commitment weight.
        time_decimation: The seismic branch reads data decimated by this factor (from 1 ms).
        seismic_weight: Weight of the seismic L1 terms.
        velocity_weight: Weight of the velocity L1 terms.
        latent_weight: Weight of the encoders' latent agreement term.
        train: Optimisation settings of the shared training loop.
        source: Where the settings come from.
    """

    name: str
    seismic_channels: int
    seismic_time: int
    receivers: int
    velocity_size: int
    latent_size: int
    embed_dim: int
    codebook_size: int
    base_channels: int
    seismic_multipliers: tuple[int, ...]
    velocity_multipliers: tuple[int, ...]
    layers_per_block: int
    norm_groups: int
    mid_attention: bool
    beta: float
    time_decimation: int
    seismic_weight: float
    velocity_weight: float
    latent_weight: float
    train: TrainSpec
    source: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (manifests and resume checks)."""
        return asdict(self)

    def with_steps(self, steps: int) -> Stage1Preset:
        """The preset with another step count."""
        return replace(self, train=replace(self.train, steps=int(steps)))

    def network_config(self) -> dict[str, Any]:
        """Keyword arguments of :class:`~solvers.wavediffusion.network.WaveVQ`."""
        return {
            "seismic_shape": [self.seismic_channels, self.seismic_time, self.receivers],
            "velocity_size": self.velocity_size,
            "latent_size": self.latent_size,
            "embed_dim": self.embed_dim,
            "codebook_size": self.codebook_size,
            "base_channels": self.base_channels,
            "seismic_multipliers": list(self.seismic_multipliers),
            "velocity_multipliers": list(self.velocity_multipliers),
            "layers_per_block": self.layers_per_block,
            "norm_groups": self.norm_groups,
            "mid_attention": self.mid_attention,
            "beta": self.beta,
        }


@dataclass(frozen=True)
class LDMPreset:
    """Stage 2: the latent diffusion UNet on stage 1's latents, and how it trains.

    Attributes:
        name: ``"lite"``, ``"paper"`` or a test's own.
        unet: The diffusers ``UNet2DModel`` (in and out channels: the latent's).
        schedule: The noise schedule (paper: :data:`SCHEDULE`).
        train: Optimisation settings (paper: Adam, batch 16).
        source: Where the settings come from.
    """

    name: str
    unet: UNetSpec
    schedule: ScheduleSpec
    train: TrainSpec
    source: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (manifests and resume checks)."""
        return asdict(self)

    def with_steps(self, steps: int) -> LDMPreset:
        """The preset with another step count."""
        return replace(self, train=replace(self.train, steps=int(steps)))


_STAGE1 = {
    "paper": Stage1Preset(
        name="paper",
        seismic_channels=3,
        seismic_time=1024,
        receivers=64,
        velocity_size=64,
        latent_size=16,
        embed_dim=32,
        codebook_size=8192,
        base_channels=128,
        seismic_multipliers=SEISMIC_MULTIPLIERS,
        velocity_multipliers=VELOCITY_MULTIPLIERS,
        layers_per_block=3,
        norm_groups=32,
        mid_attention=True,
        beta=0.25,
        time_decimation=1,
        seismic_weight=1.0,
        velocity_weight=1.0,
        latent_weight=1.0,
        train=TrainSpec(
            batch_size=16,
            lr=1e-4,
            steps=200_000,
            warmup_steps=1000,
            adam_betas=(0.9, 0.999),
            grad_clip=1.0,
            ema_decay=0.999,
            ema_every=1,
            ema_start=1000,
            checkpoint_every=5000,
            amp=True,
            export_dtype="float32",
        ),
        source="WaveDiffusion (ICML 2025) stage 1 sizes; base width, optimiser and length ours (docstring)",
    ),
    "lite": Stage1Preset(
        name="lite",
        seismic_channels=3,
        seismic_time=128,
        receivers=64,
        velocity_size=64,
        latent_size=16,
        embed_dim=32,
        codebook_size=8192,
        base_channels=8,
        seismic_multipliers=SEISMIC_MULTIPLIERS,
        velocity_multipliers=VELOCITY_MULTIPLIERS,
        layers_per_block=1,
        norm_groups=4,
        mid_attention=True,
        beta=0.25,
        time_decimation=8,
        seismic_weight=1.0,
        velocity_weight=1.0,
        latent_weight=1.0,
        train=TrainSpec(
            batch_size=16,
            lr=4e-4,
            steps=4000,
            warmup_steps=200,
            adam_betas=(0.9, 0.999),
            grad_clip=1.0,
            ema_decay=0.999,
            ema_every=1,
            ema_start=500,
            checkpoint_every=500,
            amp=True,
            export_dtype="float16",
        ),
        source="WaveDiffusion stage 1 at base width 8, 1 block per level, 8 ms data, for a 2-core CPU",
    ),
}

_LDM = {
    "paper": LDMPreset(
        name="paper",
        unet=UNetSpec((128, 256, 256, 512, 512), 2, (False, False, True, True, True), True, 32, 32),
        schedule=SCHEDULE,
        train=TrainSpec(
            batch_size=16,
            lr=1e-4,
            steps=400_000,
            warmup_steps=1000,
            ema_decay=0.9999,
            ema_every=1,
            ema_start=1000,
            checkpoint_every=10_000,
            amp=True,
            export_dtype="float32",
        ),
        source="WaveDiffusion (ICML 2025) stage 2: UNet 32 in, 128 base, (1, 2, 2, 4, 4), L1, Adam, batch 16",
    ),
    "lite": LDMPreset(
        name="lite",
        unet=UNetSpec((24, 48, 48, 96, 96), 1, (False, False, True, True, True), True, 8, 24),
        schedule=SCHEDULE,
        train=TrainSpec(
            batch_size=16,
            lr=2e-4,
            steps=20_000,
            warmup_steps=200,
            ema_decay=0.999,
            ema_every=1,
            ema_start=500,
            checkpoint_every=1000,
            amp=True,
            export_dtype="float16",
        ),
        source="WaveDiffusion stage 2 at base width 24, 1 block per level (2-core CPU, weights budget)",
    ),
}


def get_stage1_preset(name: str) -> Stage1Preset:
    """The stage-1 preset called ``name``.

    Raises:
        ValueError: Unknown preset.
    """
    if name not in _STAGE1:
        raise ValueError(f"unknown WaveDiffusion stage-1 preset {name!r} (presets: {', '.join(PRESETS)})")
    return _STAGE1[name]


def get_ldm_preset(name: str) -> LDMPreset:
    """The stage-2 preset called ``name``.

    Raises:
        ValueError: Unknown preset.
    """
    if name not in _LDM:
        raise ValueError(
            f"unknown WaveDiffusion latent diffusion preset {name!r} (presets: {', '.join(PRESETS)})"
        )
    return _LDM[name]
