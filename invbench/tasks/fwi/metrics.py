"""Model and data metrics, in OpenFWI's normalised velocity units.

Velocities are normalised as ``v_n = (v - 3000) / 1500`` (OpenFWI's 1500–4500 m/s range maps to
[-1, 1]); MAE, RMSE and SSIM are reported in these units, as OpenFWI (Deng et al. 2022),
RED-DiffEq (Shan et al. 2025) and WaveDiffusion report them. Multiply MAE/RMSE by 1500 for m/s.

SSIM follows the common OpenFWI evaluation: an 11 x 11 Gaussian window with sigma 1.5 on
images mapped to [0, 1] by ``(v_n + 1) / 2``, constants ``C1 = 0.01**2`` and ``C2 = 0.03**2``,
and zero "same" padding of 5 cells, averaged over the map -- the ``pytorch_ssim`` module that
OpenFWI's evaluation code uses computes it this way.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from invbench.physics.wave.units import normalize_velocity


def _as_2d_pair(estimate: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    est = np.asarray(estimate, dtype=np.float64)
    tru = np.asarray(truth, dtype=np.float64)
    if est.shape != tru.shape:
        raise ValueError(f"estimate shape {est.shape} does not match truth shape {tru.shape}")
    if not (np.all(np.isfinite(est)) and np.all(np.isfinite(tru))):
        raise ValueError("metrics need finite estimate and truth (found NaN or inf)")
    return est, tru


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :])[None, None]


def ssim(a: np.ndarray, b: np.ndarray, *, data_range: float = 1.0) -> float:
    """Structural similarity of two 2D images with an 11 x 11 Gaussian window (sigma 1.5).

    Args:
        a: Image of shape ``(H, W)`` (or with leading singleton axes).
        b: Image of the same shape.
        data_range: Dynamic range of the images (1 for images in [0, 1]).

    Returns:
        The mean SSIM map value (zero "same" padding, as OpenFWI's evaluation).
    """
    x, y = _as_2d_pair(a, b)
    x = torch.from_numpy(np.squeeze(x)).reshape(1, 1, *np.squeeze(x).shape[-2:])
    y = torch.from_numpy(np.squeeze(y)).reshape(1, 1, *np.squeeze(y).shape[-2:])
    w = _gaussian_window()
    if x.shape[-1] < w.shape[-1] or x.shape[-2] < w.shape[-2]:
        raise ValueError(f"SSIM needs images of at least 11 x 11, got {tuple(x.shape[-2:])}")
    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    pad = w.shape[-1] // 2
    mu_x = F.conv2d(x, w, padding=pad)
    mu_y = F.conv2d(y, w, padding=pad)
    sxx = F.conv2d(x * x, w, padding=pad) - mu_x**2
    syy = F.conv2d(y * y, w, padding=pad) - mu_y**2
    sxy = F.conv2d(x * y, w, padding=pad) - mu_x * mu_y
    num = (2 * mu_x * mu_y + c1) * (2 * sxy + c2)
    den = (mu_x**2 + mu_y**2 + c1) * (sxx + syy + c2)
    return float((num / den).mean())


def velocity_metrics(estimate: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Model-error metrics of a velocity estimate against the true model (both in m/s).

    Args:
        estimate: Estimated velocity map, shape ``(1, nz, nx)`` or ``(nz, nx)``, in m/s.
        truth: True velocity map of the same shape, in m/s.

    Returns:
        ``mae``, ``rmse`` and ``ssim`` in normalised units, ``rel_l2`` (relative L2 error of the
        velocity in m/s), and ``psnr`` in dB with the normalised peak-to-peak range 2.
    """
    est, tru = _as_2d_pair(estimate, truth)
    en, tn = normalize_velocity(est), normalize_velocity(tru)
    err = en - tn
    mse = float(np.mean(err**2))
    return {
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(mse)),
        "ssim": ssim((en + 1) / 2, (tn + 1) / 2, data_range=1.0),
        "rel_l2": float(np.linalg.norm(est - tru) / np.linalg.norm(tru)),
        "psnr": float(10 * np.log10(4.0 / mse)) if mse > 0 else float("inf"),
    }
