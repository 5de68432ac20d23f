"""Zero-phase, differentiable frequency filters for seismic data and wavelets.

Filtering multiplies the spectrum (``torch.fft.rfft`` along one axis) by a real, non-negative
response, so it shifts no phase and is differentiable (it is linear). The edge of the pass band
is a raised-cosine taper rather than a brick wall, which keeps the filter's impulse response
short (no hard Gibbs ringing):

* :func:`lowpass` has response 1 below ``f_cut - width / 2``, 0 above ``f_cut + width / 2`` and
  ``0.5 (1 + cos(pi (f - f_cut + width / 2) / width))`` between (0.5 at ``f_cut``);
* :func:`highpass` is its complement, so ``lowpass(x) + highpass(x) == x``.

``width`` defaults to ``f_cut / 2`` (a 2.5 Hz-wide edge around 5 Hz), and never less than two
frequency bins of the (padded) record. The trace is zero-padded to twice its length before the
FFT (``pad=True``), so the filter does not wrap the end of the record onto its start.
"""

from __future__ import annotations

import math

import torch


def _response(freqs: torch.Tensor, f_cut: float, width: float) -> torch.Tensor:
    """Raised-cosine low-pass response at ``freqs`` (Hz)."""
    lo = f_cut - width / 2
    x = ((freqs - lo) / width).clamp(0.0, 1.0)
    return 0.5 * (1.0 + torch.cos(math.pi * x))


def _filter(
    data: torch.Tensor, dt: float, f_cut: float, width: float | None, dim: int, pad: bool, high: bool
) -> torch.Tensor:
    if not dt > 0:
        raise ValueError(f"dt must be positive, got {dt}")
    if f_cut <= 0:
        return data
    if not data.is_floating_point():
        raise ValueError(f"filters need a floating-point tensor, got dtype {data.dtype}")
    if not -data.ndim <= dim < data.ndim:
        raise ValueError(f"dim={dim} is not an axis of a tensor of shape {tuple(data.shape)}")
    n = data.shape[dim]
    n_fft = 2 * n if pad else n
    df = 1.0 / (n_fft * dt)
    w = f_cut / 2 if width is None else float(width)
    if not w > 0:
        raise ValueError(f"taper width must be positive, got {width}")
    w = max(w, 2 * df)
    freqs = torch.fft.rfftfreq(n_fft, d=dt, device=data.device).to(torch.float64)
    resp = _response(freqs, f_cut, w)
    if high:
        resp = 1.0 - resp
    shape = [1] * data.ndim
    shape[dim] = resp.numel()
    resp = resp.to(data.dtype).reshape(shape)
    spec = torch.fft.rfft(data, n=n_fft, dim=dim)
    out = torch.fft.irfft(spec * resp, n=n_fft, dim=dim)
    return out.narrow(dim, 0, n)


def lowpass(
    data: torch.Tensor,
    dt: float,
    f_cut: float,
    *,
    width: float | None = None,
    dim: int = -2,
    pad: bool = True,
) -> torch.Tensor:
    """Zero-phase low-pass filter along one axis.

    Args:
        data: Real tensor; the time axis is ``dim``. Seismic data ``(..., nt, R)`` use the
            default ``dim=-2``; a wavelet ``(nt,)`` needs ``dim=-1``.
        dt: Time step in seconds.
        f_cut: Cut-off frequency in Hz (response 0.5 there). ``f_cut <= 0`` returns ``data``
            unchanged (no filtering).
        width: Width in Hz of the cosine taper centred on ``f_cut`` (default ``f_cut / 2``).
        dim: Time axis.
        pad: Zero-pad to twice the length before the FFT, avoiding wrap-around.

    Returns:
        Tensor of the shape, dtype and device of ``data``, differentiable with respect to it.

    Raises:
        ValueError: If ``dt`` or ``width`` is not positive or ``data`` is not floating point.
    """
    return _filter(data, dt, f_cut, width, dim, pad, high=False)


def highpass(
    data: torch.Tensor,
    dt: float,
    f_cut: float,
    *,
    width: float | None = None,
    dim: int = -2,
    pad: bool = True,
) -> torch.Tensor:
    """Zero-phase high-pass filter along one axis: the complement of :func:`lowpass`.

    Args:
        data: Real tensor; the time axis is ``dim``. Seismic data ``(..., nt, R)`` use the
            default ``dim=-2``; a wavelet ``(nt,)`` needs ``dim=-1``.
        dt: Time step in seconds.
        f_cut: Cut-off frequency in Hz (response 0.5 there). ``f_cut <= 0`` returns ``data``
            unchanged (no filtering).
        width: Width in Hz of the cosine taper centred on ``f_cut`` (default ``f_cut / 2``).
        dim: Time axis.
        pad: Zero-pad to twice the length before the FFT, avoiding wrap-around.

    Returns:
        Tensor of the shape, dtype and device of ``data``, differentiable with respect to it.

    Raises:
        ValueError: If ``dt`` or ``width`` is not positive or ``data`` is not floating point.
    """
    return _filter(data, dt, f_cut, width, dim, pad, high=True)
