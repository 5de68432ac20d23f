"""Source wavelets.

OpenFWI drives every shot with the same Ricker wavelet, built the way the CSIM/KAUST
``ricker.m`` and OpenFWI's forward-modelling code build it: a wavelet of odd length
``nw = 2 * floor(2.2 / freq / dt / 2) + 1`` samples whose peak sits at sample ``nc = floor(nw / 2)``
(so the peak arrives ``nc * dt`` after the start of the record), zero-padded to the record length.
"""

from __future__ import annotations

import math

import torch


def ricker_length(freq: float, dt: float) -> int:
    """Number of samples ``nw`` of OpenFWI's Ricker wavelet before padding.

    Args:
        freq: Peak frequency in Hz.
        dt: Time step in seconds.

    Returns:
        ``2 * floor(2.2 / freq / dt / 2) + 1`` (147 at 15 Hz and 1 ms), computed in the same
        floating-point order as OpenFWI so that borderline values round the same way.
    """
    nw = 2.2 / freq / dt
    return 2 * math.floor(nw / 2) + 1


def ricker(freq: float, dt: float, nt: int, *, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """OpenFWI's Ricker wavelet, zero-padded (or truncated) to ``nt`` samples.

    ``w[k] = (1 - 2 b_k) exp(-b_k)`` with ``b_k = (pi * freq * dt * (nc - k))**2`` for
    ``k < nw`` and ``w[k] = 0`` after, where ``nw`` is :func:`ricker_length` and ``nc = nw // 2``
    is the sample of the peak (``w[nc] = 1``).

    Args:
        freq: Peak frequency in Hz (positive).
        dt: Time step in seconds (positive).
        nt: Number of samples to return (positive).
        dtype: Floating-point dtype of the result.

    Returns:
        Tensor of shape ``(nt,)`` on the CPU.

    Raises:
        ValueError: If ``freq``, ``dt`` or ``nt`` is not positive.
    """
    if not freq > 0 or not dt > 0:
        raise ValueError(f"ricker needs positive freq and dt, got freq={freq}, dt={dt}")
    if nt < 1:
        raise ValueError(f"ricker needs nt >= 1, got nt={nt}")
    nw = ricker_length(freq, dt)
    nc = nw // 2
    k = torch.arange(min(nw, nt), dtype=torch.float64)
    b = (math.pi * freq * dt * (nc - k)) ** 2
    w = torch.zeros(nt, dtype=torch.float64)
    w[: k.numel()] = (1.0 - 2.0 * b) * torch.exp(-b)
    return w.to(dtype)
