"""Smooth heterogeneous velocity fields (the Style families).

OpenFWI built Style-A/B by style transfer from natural images. We do not ship an image set or a
style-transfer network; we approximate the look with a smoothed Gaussian random field on top of a
linear depth trend:

1. spectral synthesis of a Gaussian random field with an anisotropic Gaussian covariance (longer
   correlation along ``x`` than along depth) on a padded grid, so the periodic FFT does not wrap,
2. a ``tanh`` contrast curve that turns smooth blobs into plateau-like bodies with sharper rims,
3. ``v = trend(z) + sigma * field``, rounded to integer m/s and clipped to 1500–4500.

Version B adds a short-correlation detail field and uses larger amplitudes and sharper rims.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from invbench.data.layers import V_MAX, V_MIN, depth_scale

_CHUNK = 512
_K_CUT = 5.3  # filter amplitude exp(-0.25 * 5.3**2) ~ 1e-3


@dataclass(frozen=True)
class StyleSpec:
    """How to draw a Style map. Lengths are in cells at ``nz = 70``.

    Attributes:
        corr_z: Range of the vertical correlation length.
        corr_x: Range of the horizontal correlation length.
        sigma: Range of the heterogeneity amplitude, m/s.
        sharpness: Range of the ``tanh`` gain (0 would keep the field Gaussian).
        detail: Weight of a short-correlation detail field (0 for none).
        detail_corr: Range of the detail correlation length (both directions).
        v_top: Range of the trend velocity at the surface, m/s.
        v_bottom: Range of the trend velocity at the bottom, m/s.
    """

    corr_z: tuple[float, float] = (3.0, 8.0)
    corr_x: tuple[float, float] = (6.0, 20.0)
    sigma: tuple[float, float] = (150.0, 450.0)
    sharpness: tuple[float, float] = (0.5, 2.0)
    detail: float = 0.0
    detail_corr: tuple[float, float] = (1.0, 2.5)
    v_top: tuple[float, float] = (1500.0, 2500.0)
    v_bottom: tuple[float, float] = (3000.0, 4500.0)


def gaussian_fields(
    rng: np.random.Generator,
    n: int,
    shape: tuple[int, int],
    corr_z: np.ndarray,
    corr_x: np.ndarray,
    bounds: tuple[float, float, float, float],
) -> np.ndarray:
    """Zero-mean, unit-variance smooth random fields with per-map correlation lengths.

    Spectral synthesis: complex Gaussian coefficients times a Gaussian filter, inverse FFT. The
    grid is padded by three correlation lengths so the periodic transform does not wrap, and only
    the modes the filter lets through (amplitude above ~1e-3 for the shortest correlation length)
    are drawn, which keeps this fast.

    Args:
        rng: Random generator.
        n: Number of fields.
        shape: ``(nz, nx)``.
        corr_z: Vertical correlation length per field, cells, shape ``(n,)``.
        corr_x: Horizontal correlation length per field, cells, shape ``(n,)``.
        bounds: ``(min_z, max_z, min_x, max_x)``, the range ``corr_z`` and ``corr_x`` come from;
            it fixes the padding and the band, hence the number of random draws.

    Returns:
        Fields of shape ``(n, nz, nx)`` float64.
    """
    from scipy import fft  # lazy: keeps ``import invbench.data`` numpy-only

    nz, nx = shape
    min_z, max_z, min_x, max_x = bounds
    pz = fft.next_fast_len(nz + int(np.ceil(3.0 * max_z)), real=True)
    px = fft.next_fast_len(nx + int(np.ceil(3.0 * max_x)), real=True)
    kz = 2.0 * np.pi * np.fft.fftfreq(pz)
    kx = 2.0 * np.pi * np.fft.rfftfreq(px)
    n_pos = int(np.count_nonzero((kz >= 0) & (kz * min_z <= _K_CUT)))  # rows 0 .. n_pos-1
    n_neg = min(int(np.count_nonzero((kz < 0) & (-kz * min_z <= _K_CUT))), pz - n_pos)  # last rows
    rows = np.r_[0:n_pos, pz - n_neg : pz]
    n_cols = int(np.count_nonzero(kx * min_x <= _K_CUT))
    out = np.empty((n, nz, nx))
    for a in range(0, n, _CHUNK):
        b = min(n, a + _CHUNK)
        m = b - a
        coef = rng.standard_normal((m, rows.size, 2 * n_cols)).view(np.complex128)
        coef *= np.exp(-0.25 * (kz[rows][None, :] * corr_z[a:b, None]) ** 2)[:, :, None]
        coef *= np.exp(-0.25 * (kx[:n_cols][None, :] * corr_x[a:b, None]) ** 2)[:, None, :]
        spec = np.zeros((m, pz, n_cols), dtype=np.complex128)
        spec[:, :n_pos] = coef[:, :n_pos]
        spec[:, pz - n_neg :] = coef[:, n_pos:]
        # Inverse transform along depth on the band only, crop, then along x (zero-padded).
        part = fft.ifft(spec, axis=1, workers=-1)[:, :nz]
        field = fft.irfft(part, n=px, axis=2, workers=-1)[:, :, :nx]
        field -= field.mean(axis=(1, 2), keepdims=True)
        field /= np.sqrt(np.mean(field * field, axis=(1, 2), keepdims=True)) + 1e-12
        out[a:b] = field
    return out


def styled(rng: np.random.Generator, n: int, shape: tuple[int, int], spec: StyleSpec) -> np.ndarray:
    """Style maps, shape ``(n, nz, nx)`` float32 m/s (integer-valued, within 1500–4500).

    Args:
        rng: Random generator.
        n: Number of maps.
        shape: ``(nz, nx)``.
        spec: Style parameters.
    """
    nz, _ = shape
    s = depth_scale(nz)
    corr_z = rng.uniform(*spec.corr_z, size=n) * s
    corr_x = rng.uniform(*spec.corr_x, size=n) * s
    bounds = (spec.corr_z[0] * s, spec.corr_z[1] * s, spec.corr_x[0] * s, spec.corr_x[1] * s)
    field = gaussian_fields(rng, n, shape, corr_z, corr_x, bounds)
    if spec.detail > 0:
        corr_d = rng.uniform(*spec.detail_corr, size=n) * s
        lo, hi = spec.detail_corr[0] * s, spec.detail_corr[1] * s
        field += spec.detail * gaussian_fields(rng, n, shape, corr_d, corr_d, (lo, hi, lo, hi))
    gain = rng.uniform(*spec.sharpness, size=n)[:, None, None]
    field = np.tanh(gain * field)
    field /= field.std(axis=(1, 2), keepdims=True) + 1e-12
    sigma = rng.uniform(*spec.sigma, size=n)[:, None, None]
    v_top = rng.uniform(*spec.v_top, size=n)[:, None, None]
    v_bottom = rng.uniform(*spec.v_bottom, size=n)[:, None, None]
    depth = (np.arange(nz) / max(nz - 1, 1))[None, :, None]
    vel = v_top + (v_bottom - v_top) * depth + sigma * field
    # Quantise before rounding: last-bit FFT differences between machines then almost never matter.
    vel = np.rint(np.round(vel, 4))
    return np.clip(vel, V_MIN, V_MAX).astype(np.float32)
