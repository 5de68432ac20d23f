"""InversionNet (Wu & Lin 2019) as OpenFWI released it, with its input sizes as parameters.

Follows ``network.py`` of OpenFWI's code (github.com/lanl/OpenFWI, class ``InversionNet`` with ``ConvBlock``,
``DeconvBlock`` and ``ConvBlock_Tanh``): an encoder of convolutions over time only (kernels ``k x 1``,
four of them with stride 2 in time), then over time and receivers (three 3 x 3 convolutions of stride
2), then one convolution whose kernel covers the whole remaining map, down to a ``1 x 1 x width5``
latent; a decoder of transposed convolutions (a ``k0 x k0`` one from the latent, then four 4 x 4 ones
of stride 2, each followed by a 3 x 3 convolution) to a ``16 k0`` square map, centre-cropped to the
velocity map and closed by a 3 x 3 convolution with batch norm and Tanh (normalised velocity in
[-1, 1]). Every block is convolution, batch norm and LeakyReLU(0.2).

With the defaults (5 shots x 1000 samples x 70 receivers to 70 x 70; widths 32, 64, 128, 256, 512;
temporal strides 2, 2, 2, 2) it is OpenFWI's network layer for layer, parameter for parameter. OpenFWI
hard-codes those input sizes; here they are parameters, with what OpenFWI fixes derived from them the
way it derives them: the last encoder kernel is the size the encoder's feature map has reached (OpenFWI:
``(8, ceil(70 / 8))``), and the first decoder kernel is ``k0 = ceil(max(nz, nx) / 16)`` (OpenFWI: 5,
giving 80 x 80 cropped by 5 on every side). ``time_strides`` lets a network read data decimated in
time: with data at 4 ms (250 samples) and strides ``(1, 1, 2, 2)`` every feature map from the third
temporal convolution on has the size it has in OpenFWI's network on 1 ms data.
"""

from __future__ import annotations

import math

import torch
from torch import nn

WIDTHS = (32, 64, 128, 256, 512)
"""OpenFWI's ``dim1 .. dim5``."""


def _block(cin: int, cout: int, kernel: int | tuple[int, int] = 3, stride: int | tuple[int, int] = 1,
           padding: int | tuple[int, int] = 1) -> nn.Sequential:  # fmt: skip
    """OpenFWI's ``ConvBlock``: convolution, batch norm, LeakyReLU(0.2)."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding),
        nn.BatchNorm2d(cout),
        nn.LeakyReLU(0.2, inplace=True),
    )


def _deconv(
    cin: int, cout: int, kernel: int | tuple[int, int], stride: int = 1, padding: int = 0
) -> nn.Sequential:
    """OpenFWI's ``DeconvBlock``: transposed convolution, batch norm, LeakyReLU(0.2)."""
    return nn.Sequential(
        nn.ConvTranspose2d(cin, cout, kernel, stride=stride, padding=padding),
        nn.BatchNorm2d(cout),
        nn.LeakyReLU(0.2, inplace=True),
    )


def _halved(n: int, times: int) -> int:
    """Length after ``times`` stride-2 convolutions that pad to keep ``ceil(n / 2)`` (OpenFWI's)."""
    for _ in range(times):
        n = -(-n // 2)
    return n


class InversionNet(nn.Module):
    """Seismic data ``(B, shots, time, receivers)`` -> normalised velocity ``(B, 1, nz, nx)`` in [-1, 1].

    Args:
        shots: Input channels (OpenFWI: 5).
        time_samples: Samples per trace the network reads (OpenFWI: 1000).
        receivers: Receivers per shot (OpenFWI: 70).
        out_shape: ``(nz, nx)`` of the velocity map (OpenFWI: 70 x 70).
        widths: ``dim1 .. dim5`` (OpenFWI: 32, 64, 128, 256, 512).
        time_strides: Time strides of the four temporal convolutions that OpenFWI gives stride 2.

    Raises:
        ValueError: Sizes the encoder cannot reduce, or bad widths or strides.
    """

    def __init__(
        self,
        shots: int = 5,
        time_samples: int = 1000,
        receivers: int = 70,
        out_shape: tuple[int, int] | list[int] = (70, 70),
        widths: tuple[int, ...] | list[int] = WIDTHS,
        time_strides: tuple[int, ...] | list[int] = (2, 2, 2, 2),
    ) -> None:
        super().__init__()
        widths, strides = tuple(int(w) for w in widths), tuple(int(s) for s in time_strides)
        if len(widths) != 5 or min(widths) < 1:
            raise ValueError(f"widths must be five positive integers (dim1..dim5), got {widths}")
        if len(strides) != 4 or any(s not in (1, 2) for s in strides):
            raise ValueError(f"time_strides must be four strides of 1 or 2, got {strides}")
        nz, nx = (int(out_shape[0]), int(out_shape[1]))
        if min(shots, time_samples, receivers, nz, nx) < 1:
            raise ValueError("shots, time_samples, receivers and out_shape must be positive")
        self.out_shape = (nz, nx)
        d1, d2, d3, d4, d5 = widths
        s1, s2, s3, s4 = ((s, 1) for s in strides)
        self.encoder = nn.Sequential(
            _block(shots, d1, (7, 1), s1, (3, 0)),
            _block(d1, d2, (3, 1), s2, (1, 0)),
            _block(d2, d2, (3, 1), 1, (1, 0)),
            _block(d2, d2, (3, 1), s3, (1, 0)),
            _block(d2, d2, (3, 1), 1, (1, 0)),
            _block(d2, d3, (3, 1), s4, (1, 0)),
            _block(d3, d3, (3, 1), 1, (1, 0)),
            _block(d3, d3, stride=2),
            _block(d3, d3),
            _block(d3, d4, stride=2),
            _block(d4, d4),
            _block(d4, d4, stride=2),
            _block(d4, d4),
        )
        # What OpenFWI writes as (8, ceil(70 / 8)): the encoder's feature map at this point.
        t_left = _halved(time_samples, sum(s == 2 for s in strides) + 3)
        r_left = _halved(receivers, 3)
        self.latent = _block(d4, d5, (t_left, r_left), 1, 0)
        k0 = math.ceil(max(nz, nx) / 16)
        self.decoder = nn.Sequential(
            _deconv(d5, d5, k0),
            _block(d5, d5),
            _deconv(d5, d4, 4, 2, 1),
            _block(d4, d4),
            _deconv(d4, d3, 4, 2, 1),
            _block(d3, d3),
            _deconv(d3, d2, 4, 2, 1),
            _block(d2, d2),
            _deconv(d2, d1, 4, 2, 1),
            _block(d1, d1),
        )
        self.head = nn.Sequential(nn.Conv2d(d1, 1, 3, padding=1), nn.BatchNorm2d(1), nn.Tanh())
        self.in_shape = (int(shots), int(time_samples), int(receivers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised velocity of transformed data ``x`` (see :mod:`solvers.inversionnet.transforms`).

        Raises:
            ValueError: ``x`` is not ``(B, shots, time_samples, receivers)``.
        """
        if x.ndim != 4 or tuple(x.shape[1:]) != self.in_shape:
            raise ValueError(
                f"InversionNet reads (B, {', '.join(map(str, self.in_shape))}) data, got {tuple(x.shape)}"
            )
        z = self.latent(self.encoder(x))  # (B, d5, 1, 1)
        y = self.decoder(z)  # (B, d1, 16 k0, 16 k0)
        nz, nx = self.out_shape
        top, left = (y.shape[-2] - nz) // 2, (y.shape[-1] - nx) // 2
        return self.head(y[..., top : top + nz, left : left + nx])
