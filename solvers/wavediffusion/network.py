"""WaveDiffusion's stage 1: two ResNet encoder-decoder branches around one vector-quantised latent.

WaveDiffusion (Wang et al., ICML 2025) merges the bottlenecks of a seismic-data autoencoder and a
velocity-map autoencoder into one latent space through a shared codebook. What the paper fixes and this
module follows: a 16 x 16 latent of embedding dimension 32, a codebook of 8192 entries, ResNet branches
with channel multipliers (1, 2, 2, 4, 4) for velocity maps (64 x 64) and (1, 2, 2, 4, 4, 4, 8, 8) for
seismic data (3 x 1024 x 64), and 3 residual blocks per level. Both branches are built from diffusers'
``ResnetBlock2D``, ``Downsample2D``/``Upsample2D`` and ``UNetMidBlock2D`` (the blocks of its ``VQModel``),
and the quantiser is diffusers' ``VectorQuantizer`` (the taming-transformers/LDM quantiser ``VQModel``
uses), with ``legacy=False`` so that ``beta`` weighs the commitment term as in van den Oord et al. (2017).

Choices the paper's text leaves open (ours, stated): where the branches downsample. A branch with ``L``
levels has ``L - 1`` transitions between them; a side that must shrink by ``2 ** n`` halves at the first
``n`` transitions (velocity: 64 -> 16 at the first 2 of 4; seismic: time 1024 -> 16 at the first 6 of 7,
receivers 64 -> 16 at the first 2), where the channel count is still small, so the wide deep levels work
at the latent's resolution. A transition that halves both sides is diffusers' ``Downsample2D``; one that
halves time only is a stride-(2, 1) convolution. Decoders mirror the encoders, upsampling with
``Upsample2D`` to the encoder's sizes. The base width, the middle block (ResNet, self-attention, ResNet,
as in taming's and diffusers' VQ autoencoders) and GroupNorm's group count are parameters.

Decoders read a latent as it is given: a quantised latent (stage 1) or a continuous one (the diffusion
model's samples, which are never re-quantised; see :mod:`solvers.wavediffusion.refine`).
"""

from __future__ import annotations

import math

import torch
from diffusers.models.autoencoders.vae import VectorQuantizer
from diffusers.models.downsampling import Downsample2D
from diffusers.models.resnet import ResnetBlock2D
from diffusers.models.unets.unet_2d_blocks import UNetMidBlock2D
from diffusers.models.upsampling import Upsample2D
from torch import nn

VELOCITY_MULTIPLIERS = (1, 2, 2, 4, 4)
"""The paper's channel multipliers of the velocity branch."""
SEISMIC_MULTIPLIERS = (1, 2, 2, 4, 4, 4, 8, 8)
"""The paper's channel multipliers of the seismic branch."""

Factor = tuple[int, int]


def transition_factors(in_hw: tuple[int, int], latent_hw: tuple[int, int], levels: int) -> list[Factor]:
    """Per transition between levels, the ``(height, width)`` downsampling factor (1 or 2) of a branch.

    Raises:
        ValueError: A side that is not the latent's side times a power of two the levels can reach.
    """
    halvings = []
    for side, target in zip(in_hw, latent_hw, strict=True):
        n = math.log2(side / target) if side >= target > 0 else -1.0
        if n < 0 or n != int(n) or n > levels - 1:
            raise ValueError(
                f"a branch of {levels} levels cannot map {tuple(in_hw)} to the {tuple(latent_hw)} latent "
                "(each side must be the latent's times 2 ** n, n <= levels - 1)"
            )
        halvings.append(int(n))
    return [(2 if i < halvings[0] else 1, 2 if i < halvings[1] else 1) for i in range(levels - 1)]


def _groups(channels: int, groups: int) -> int:
    if channels % groups:
        raise ValueError(f"GroupNorm groups {groups} do not divide {channels} channels")
    return groups


def _resnet(cin: int, cout: int, groups: int) -> ResnetBlock2D:
    return ResnetBlock2D(
        in_channels=cin,
        out_channels=cout,
        temb_channels=None,
        groups=_groups(cin, groups),
        groups_out=_groups(cout, groups),
        eps=1e-6,
    )


def _mid(channels: int, groups: int, attention: bool) -> UNetMidBlock2D:
    return UNetMidBlock2D(
        in_channels=channels,
        temb_channels=None,
        resnet_eps=1e-6,
        resnet_groups=groups,
        attention_head_dim=channels,
        add_attention=attention,
    )


class _Down(nn.Module):
    """Halve both sides (diffusers' ``Downsample2D``) or time only (a stride-(2, 1) convolution)."""

    def __init__(self, channels: int, factor: Factor) -> None:
        super().__init__()
        if factor == (2, 2):
            self.op: nn.Module = Downsample2D(channels, use_conv=True, padding=1, name="op")
        elif factor == (2, 1):
            self.op = nn.Conv2d(channels, channels, 3, stride=(2, 1), padding=1)
        else:
            raise ValueError(f"unsupported downsampling factor {factor} (only (2, 2) and (2, 1))")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class BranchEncoder(nn.Module):
    """``(B, in_channels, H, W)`` -> ``(B, latent_channels, h, w)``: ResNet levels, middle block, projection.

    Args:
        in_channels: Input channels (seismic: shots kept; velocity: 1).
        base_channels: Width of the first level.
        multipliers: Width of each level as a multiple of ``base_channels``.
        layers_per_block: ResNet blocks per level (paper: 3).
        factors: Downsampling factor of each transition (:func:`transition_factors`).
        latent_channels: Channels of the latent (paper: 32, the codebook's embedding dimension).
        groups: GroupNorm groups.
        mid_attention: Self-attention in the middle block.
    """

    def __init__(
        self,
        in_channels: int,
        base_channels: int,
        multipliers: tuple[int, ...],
        layers_per_block: int,
        factors: list[Factor],
        latent_channels: int,
        groups: int,
        mid_attention: bool,
    ) -> None:
        super().__init__()
        widths = [base_channels * m for m in multipliers]
        self.conv_in = nn.Conv2d(in_channels, widths[0], 3, padding=1)
        self.levels = nn.ModuleList()
        cin = widths[0]
        for i, width in enumerate(widths):
            blocks: list[nn.Module] = []
            for _ in range(layers_per_block):
                blocks.append(_resnet(cin, width, groups))
                cin = width
            if i < len(widths) - 1 and factors[i] != (1, 1):
                blocks.append(_Down(width, factors[i]))
            self.levels.append(nn.Sequential(*blocks))
        self.mid = _mid(cin, groups, mid_attention)
        self.norm_out = nn.GroupNorm(_groups(cin, groups), cin, eps=1e-6)
        self.conv_out = nn.Conv2d(cin, latent_channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Pre-quantisation latent of ``x``."""
        h = self.conv_in(x)
        for level in self.levels:
            for block in level:
                h = block(h, None) if isinstance(block, ResnetBlock2D) else block(h)
        h = self.mid(h)
        return self.conv_out(nn.functional.silu(self.norm_out(h)))


class BranchDecoder(nn.Module):
    """``(B, latent_channels, h, w)`` -> ``(B, out_channels, H, W)``: the mirror of :class:`BranchEncoder`.

    Args:
        out_channels: Output channels.
        base_channels: Width of the last (full-resolution) level.
        multipliers: Level widths as in the encoder (traversed deepest first).
        layers_per_block: ResNet blocks per level.
        sizes: ``(height, width)`` of each encoder level's input, first level first; the decoder
            upsamples to them.
        latent_channels: Channels of the latent.
        groups: GroupNorm groups.
        mid_attention: Self-attention in the middle block.
    """

    def __init__(
        self,
        out_channels: int,
        base_channels: int,
        multipliers: tuple[int, ...],
        layers_per_block: int,
        sizes: list[tuple[int, int]],
        latent_channels: int,
        groups: int,
        mid_attention: bool,
    ) -> None:
        super().__init__()
        widths = [base_channels * m for m in multipliers]
        cin = widths[-1]
        self.conv_in = nn.Conv2d(latent_channels, cin, 3, padding=1)
        self.mid = _mid(cin, groups, mid_attention)
        self.levels = nn.ModuleList()
        self.sizes: list[tuple[int, int] | None] = []
        for i in reversed(range(len(widths))):
            blocks: list[nn.Module] = []
            for _ in range(layers_per_block):
                blocks.append(_resnet(cin, widths[i], groups))
                cin = widths[i]
            grow = i > 0 and sizes[i] != sizes[i - 1]
            if grow:
                blocks.append(Upsample2D(cin, use_conv=True))
            self.levels.append(nn.ModuleList(blocks))
            self.sizes.append(tuple(sizes[i - 1]) if grow else None)
        self.norm_out = nn.GroupNorm(_groups(cin, groups), cin, eps=1e-6)
        self.conv_out = nn.Conv2d(cin, out_channels, 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """The branch's modality of latents ``z``."""
        h = self.mid(self.conv_in(z))
        for level, size in zip(self.levels, self.sizes, strict=True):
            for block in level:
                h = block(h, None) if isinstance(block, ResnetBlock2D) else block(h, output_size=size)
        return self.conv_out(nn.functional.silu(self.norm_out(h)))


def _sizes(in_hw: tuple[int, int], factors: list[Factor]) -> list[tuple[int, int]]:
    """Input size of every level of an encoder with these transition factors."""
    sizes = [tuple(in_hw)]
    for fh, fw in factors:
        h, w = sizes[-1]
        sizes.append((h // fh, w // fw))
    return sizes  # type: ignore[return-value]


class WaveVQ(nn.Module):
    """Stage 1: seismic and velocity branches around one vector-quantised latent (module docstring).

    Args:
        seismic_shape: ``(C, T, R)`` of the seismic input (paper: 3 x 1024 x 64).
        velocity_size: Side of the square velocity input (paper: 64).
        latent_size: Side of the square latent (paper: 16).
        embed_dim: Latent channels = codebook embedding dimension (paper: 32).
        codebook_size: Codebook entries (paper: 8192).
        base_channels: Width of both branches' first level.
        seismic_multipliers: Seismic level widths in units of ``base_channels``.
        velocity_multipliers: Velocity level widths in units of ``base_channels``.
        layers_per_block: ResNet blocks per level (paper: 3).
        norm_groups: GroupNorm groups.
        mid_attention: Self-attention in the branches' middle blocks.
        beta: Commitment weight of the VQ loss.

    Raises:
        ValueError: Shapes the branches cannot map to the latent, or widths GroupNorm cannot split.
    """

    def __init__(
        self,
        seismic_shape: tuple[int, int, int] | list[int] = (3, 1024, 64),
        velocity_size: int = 64,
        latent_size: int = 16,
        embed_dim: int = 32,
        codebook_size: int = 8192,
        base_channels: int = 128,
        seismic_multipliers: tuple[int, ...] | list[int] = SEISMIC_MULTIPLIERS,
        velocity_multipliers: tuple[int, ...] | list[int] = VELOCITY_MULTIPLIERS,
        layers_per_block: int = 3,
        norm_groups: int = 32,
        mid_attention: bool = True,
        beta: float = 0.25,
    ) -> None:
        super().__init__()
        c, t, r = (int(s) for s in seismic_shape)
        latent = (int(latent_size), int(latent_size))
        s_mult, v_mult = (
            tuple(int(m) for m in seismic_multipliers),
            tuple(int(m) for m in velocity_multipliers),
        )
        s_factors = transition_factors((t, r), latent, len(s_mult))
        v_factors = transition_factors((velocity_size, velocity_size), latent, len(v_mult))
        common = {
            "layers_per_block": int(layers_per_block),
            "latent_channels": int(embed_dim),
            "groups": int(norm_groups),
            "mid_attention": bool(mid_attention),
        }
        self.seismic_encoder = BranchEncoder(c, base_channels, s_mult, factors=s_factors, **common)
        self.seismic_decoder = BranchDecoder(
            c, base_channels, s_mult, sizes=_sizes((t, r), s_factors), **common
        )
        self.velocity_encoder = BranchEncoder(1, base_channels, v_mult, factors=v_factors, **common)
        self.velocity_decoder = BranchDecoder(
            1, base_channels, v_mult, sizes=_sizes((velocity_size, velocity_size), v_factors), **common
        )
        self.quantizer = VectorQuantizer(int(codebook_size), int(embed_dim), beta=float(beta), legacy=False)
        self.seismic_shape = (c, t, r)
        self.velocity_shape = (1, int(velocity_size), int(velocity_size))
        self.latent_shape = (int(embed_dim), *latent)

    def _check(self, x: torch.Tensor, shape: tuple[int, ...], what: str) -> None:
        if x.ndim != 4 or tuple(x.shape[1:]) != shape:
            raise ValueError(
                f"WaveVQ: {what} must be (B, {', '.join(map(str, shape))}), got {tuple(x.shape)}"
            )

    def encode_seismic(self, s: torch.Tensor) -> torch.Tensor:
        """Pre-quantisation latent of transformed seismic data ``(B, C, T, R)``."""
        self._check(s, self.seismic_shape, "seismic data")
        return self.seismic_encoder(s)

    def encode_velocity(self, v: torch.Tensor) -> torch.Tensor:
        """Pre-quantisation latent of a normalised velocity map ``(B, 1, size, size)``."""
        self._check(v, self.velocity_shape, "velocity maps")
        return self.velocity_encoder(v)

    def quantize(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(z_q, vq_loss, indices)``: nearest codebook entries (straight-through gradient), in float32.

        The distance search runs in float32 even under bfloat16 autocast: ties and near-ties between
        8192 entries are what rounding would decide otherwise.
        """
        with torch.autocast(h.device.type, enabled=False):
            z_q, loss, (_, _, indices) = self.quantizer(h.float())
        return z_q, loss, indices.reshape(h.shape[0], *h.shape[2:])

    def decode_seismic(self, z: torch.Tensor) -> torch.Tensor:
        """Transformed seismic data ``(B, C, T, R)`` of latents ``(B, embed_dim, h, w)``."""
        self._check(z, self.latent_shape, "latents")
        return self.seismic_decoder(z)

    def decode_velocity(self, z: torch.Tensor) -> torch.Tensor:
        """Normalised velocity ``(B, 1, size, size)`` of latents ``(B, embed_dim, h, w)``."""
        self._check(z, self.latent_shape, "latents")
        return self.velocity_decoder(z)

    def latent(self, s: torch.Tensor) -> torch.Tensor:
        """Quantised latent of transformed seismic data (what inversion and refinement start from)."""
        return self.quantize(self.encode_seismic(s))[0]

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        """Stage 1 as inversion: normalised velocity of seismic data (encode, quantise, decode)."""
        return self.decode_velocity(self.latent(s))
