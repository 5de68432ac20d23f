"""Architecture, noise schedule and training presets of the diffusion priors.

``paper`` reproduces the diffusion prior of RED-DiffEq (Shan, Zhu, Lin & Lu 2025, arXiv:2509.21659) as
released in github.com/lu-group/red-diffeq (commit b4d1712), ``scripts/diffusion_train.py`` and the
``Unet``/``GaussianDiffusion``/``Trainer`` of ``red_diffeq/models/diffusion.py`` (a copy of lucidrains'
denoising-diffusion-pytorch):

* ``Unet(dim=64, dim_mults=(1, 2, 4, 8), channels=1)``: widths 64/128/256/512, two ResNet blocks per
  level, GroupNorm with 8 groups, full attention (4 heads x 32) at the lowest level and in the middle;
* ``GaussianDiffusion(image_size=72, timesteps=1000, sampling_timesteps=250, objective="pred_noise")``;
* ``Trainer(train_batch_size=32, train_lr=2e-4, train_num_steps=400000, ema_decay=0.995, amp=True)`` with
  the Trainer defaults ``adam_betas=(0.9, 0.99)``, ``max_grad_norm=1.0``, ``ema_update_every=10``,
  ``save_and_sample_every=10000``;
* training maps: OpenFWI CurveVel-B and FlatVel-B (``model1..54.npy``, 90 % of each family) and
  CurveFault-B and FlatFault-B (``vel{6,7,8}_1_{0..17}.npy``), i.e. the "B" versions of the four families.

Differences, each deliberate:

* diffusers' ``UNet2DModel`` stands in for lucidrains' ``Unet``: same widths, blocks per level, groups and
  attention placement; diffusers splits the width into heads of 32 channels (lucidrains: 4 heads of 32);
  lucidrains' extra *linear* attention at the higher levels has no diffusers block and is left out; and
  diffusers' layout (down blocks at each level's output width, ``layers_per_block + 1`` ResNets per up
  block) has 61.8 M parameters, more than lucidrains' Unet of the same widths;
* the noise schedule is DDPM's linear one (Ho et al. 2020: ``beta`` from 1e-4 to 0.02 over 1000 steps), as
  the invbench issue specifies. The released code does not pass ``beta_schedule`` and so trains with
  lucidrains' default *sigmoid* schedule; ``ScheduleSpec(beta_schedule="sigmoid")`` reproduces it exactly;
* mixed precision is bfloat16 autocast on CUDA (no loss scaler) instead of fp16 with a scaler.

``lite`` is sized for a 2-core CPU (``train_lite_priors.sh`` of RED-DiffEq): widths 32/64/64/128, one ResNet
block per level, attention only in the middle block (9 x 9 for FWI, 8 x 8 for Darcy), batch 16, 5,000
steps, learning rate 4e-4 after a 200-step warm-up, EMA 0.998 per step. 2.95 M parameters, exported in
float16: 5.9 MB per checkpoint. Measured while training the shipped ``fwi-lite`` on this project's 2-core
CPU machine: 1.1 s per step with two threads on an otherwise idle machine (2.3 s with one thread while a
benchmark ran on the other core), so 5,000 steps take about 1.6 h for FWI (72 x 72); Darcy (64 x 64) is
about 20 % cheaper per step (the shipped ``darcy-grf-lite``: 5,000 steps in 1 h 14 min, 0.88 s per step,
with two threads; ``darcy-bimaterial-lite``: the same 0.88 s per step).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from invbench.nn.training import TrainSpec

FWI_TRAINING_FAMILIES: tuple[str, ...] = ("FlatVel-B", "CurveVel-B", "FlatFault-B", "CurveFault-B")
PRESETS: tuple[str, ...] = ("lite", "long", "paper")


@dataclass(frozen=True)
class UNetSpec:
    """A diffusers ``UNet2DModel`` for one-channel fields.

    Attributes:
        block_out_channels: Channel width of each resolution level (the first is the base width).
        layers_per_block: ResNet blocks per level.
        attention_levels: Whether each level's down/up block has self-attention.
        mid_attention: Self-attention in the middle block.
        norm_num_groups: GroupNorm groups (must divide every width).
        attention_head_dim: Channels per attention head.
    """

    block_out_channels: tuple[int, ...]
    layers_per_block: int
    attention_levels: tuple[bool, ...]
    mid_attention: bool = True
    norm_num_groups: int = 8
    attention_head_dim: int = 32

    def __post_init__(self) -> None:
        if len(self.attention_levels) != len(self.block_out_channels):
            raise ValueError("attention_levels needs one entry per level of block_out_channels")
        bad = [c for c in self.block_out_channels if c % self.norm_num_groups]
        if bad:
            raise ValueError(f"norm_num_groups={self.norm_num_groups} does not divide widths {bad}")

    def diffusers_config(self, sample_size: tuple[int, int], channels: int = 1) -> dict[str, Any]:
        """Arguments of ``diffusers.UNet2DModel`` for ``channels`` x H x W inputs (``sample_size``)."""
        down = ["AttnDownBlock2D" if a else "DownBlock2D" for a in self.attention_levels]
        up = ["AttnUpBlock2D" if a else "UpBlock2D" for a in reversed(self.attention_levels)]
        return {
            "sample_size": [int(sample_size[0]), int(sample_size[1])],
            "in_channels": int(channels),
            "out_channels": int(channels),
            "block_out_channels": list(self.block_out_channels),
            "layers_per_block": self.layers_per_block,
            "down_block_types": down,
            "up_block_types": up,
            "norm_num_groups": self.norm_num_groups,
            "attention_head_dim": self.attention_head_dim,
            "add_attention": self.mid_attention,
            "time_embedding_type": "positional",
            "flip_sin_to_cos": True,
            "freq_shift": 0,
            "dropout": 0.0,
        }


@dataclass(frozen=True)
class ScheduleSpec:
    """The forward (noising) process.

    Attributes:
        num_train_timesteps: ``T``.
        beta_schedule: ``"linear"`` (DDPM) or ``"sigmoid"`` (denoising-diffusion-pytorch's default,
            ``sigmoid_beta_schedule(start=-3, end=3, tau=1)``).
        beta_start: First beta of the linear schedule.
        beta_end: Last beta of the linear schedule.
    """

    num_train_timesteps: int = 1000
    beta_schedule: str = "linear"
    beta_start: float = 1e-4
    beta_end: float = 0.02

    def __post_init__(self) -> None:
        if self.beta_schedule not in ("linear", "sigmoid"):
            raise ValueError(f"beta_schedule must be 'linear' or 'sigmoid', got {self.beta_schedule!r}")
        if self.num_train_timesteps < 2:
            raise ValueError("num_train_timesteps must be at least 2")


@dataclass(frozen=True)
class Preset:
    """Everything that defines how a prior is built and trained.

    Attributes:
        name: Preset name.
        unet: Network architecture.
        schedule: Noise schedule.
        train: Optimisation settings.
        fwi_families: Procedural OpenFWI families an FWI prior trains on.
        source: Where the numbers come from.
    """

    name: str
    unet: UNetSpec
    schedule: ScheduleSpec
    train: TrainSpec
    fwi_families: tuple[str, ...] = FWI_TRAINING_FAMILIES
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description."""
        return asdict(self)

    def with_steps(self, steps: int) -> Preset:
        """The same preset with another default step count."""
        return replace(self, train=replace(self.train, steps=int(steps)))


_PAPER = Preset(
    name="paper",
    unet=UNetSpec((64, 128, 256, 512), 2, (False, False, False, True), True, 8, 32),
    schedule=ScheduleSpec(),
    train=TrainSpec(
        batch_size=32,
        lr=2e-4,
        steps=400_000,
        adam_betas=(0.9, 0.99),
        grad_clip=1.0,
        ema_decay=0.995,
        ema_every=10,
        ema_start=100,
        checkpoint_every=10_000,
        amp=True,
        export_dtype="float32",
    ),
    source=(
        "RED-DiffEq (Shan et al. 2025, arXiv:2509.21659), github.com/lu-group/red-diffeq "
        "scripts/diffusion_train.py and red_diffeq/models/diffusion.py (commit b4d1712)"
    ),
)

_LITE = Preset(
    name="lite",
    unet=UNetSpec((32, 64, 64, 128), 1, (False, False, False, False), True, 8, 32),
    schedule=ScheduleSpec(),
    train=TrainSpec(
        batch_size=16,
        lr=4e-4,
        steps=5_000,
        warmup_steps=200,
        adam_betas=(0.9, 0.99),
        grad_clip=1.0,
        ema_decay=0.998,
        ema_every=1,
        ema_start=500,
        checkpoint_every=500,
        amp=False,
        export_dtype="float16",
    ),
    source="invbench: RED-DiffEq's recipe scaled down to train on a 2-core CPU in about 1-2 hours",
)


_LONG = replace(
    _LITE,
    name="long",
    train=replace(
        _LITE.train,
        steps=54_000,
        ema_decay=0.999,
        ema_start=1_000,
        checkpoint_every=1_000,
        amp=True,
    ),
    source=(
        "invbench: the lite UNet trained about 11x longer, for the issue 'an FWI prior worth its name'. "
        "Six CPU hours in bfloat16 autocast on this project's 2-core CPU buy about 54,000 steps of it at "
        "batch 16 (docs/priors/training-throughput.md), and the weights stay 5.9 MB in float16 (the "
        "wide UNet would be 13 MB, beyond the repository's weights budget). The longer run gets a longer "
        "EMA horizon (0.999 per step). Pass --bf16 on the CPU (the presets' amp is CUDA-only by default)."
    ),
)


def get_preset(name: str) -> Preset:
    """Look up a preset by name (``"lite"``, ``"long"`` or ``"paper"``).

    Raises:
        ValueError: Unknown name.
    """
    presets = {"lite": _LITE, "long": _LONG, "paper": _PAPER}
    if name not in presets:
        raise ValueError(f"unknown preset {name!r} (presets: {', '.join(PRESETS)})")
    return presets[name]


def preset_from_dict(d: dict[str, Any]) -> Preset:
    """Rebuild a :class:`Preset` from :meth:`Preset.to_dict` output (e.g. a saved training state)."""
    train = dict(d["train"])
    train["adam_betas"] = tuple(train["adam_betas"])
    unet = dict(d["unet"])
    unet["block_out_channels"] = tuple(unet["block_out_channels"])
    unet["attention_levels"] = tuple(bool(a) for a in unet["attention_levels"])
    return Preset(
        name=d["name"],
        unet=UNetSpec(**unet),
        schedule=ScheduleSpec(**d["schedule"]),
        train=TrainSpec(**train),
        fwi_families=tuple(d.get("fwi_families", FWI_TRAINING_FAMILIES)),
        source=d.get("source", ""),
    )
