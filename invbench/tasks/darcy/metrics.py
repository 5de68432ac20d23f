"""Metrics of a Darcy estimate: log-conductivity errors and the error of the head it predicts.

LD-DIM (Lin & He 2025) reports both the error of the recovered parameter and of the PDE solution it
implies; we do the same. Field metrics are in log-k units (natural log of the conductivity). SSIM and
PSNR use both fields mapped by the *true* field's range, ``(log k - min(true)) / ptp(true)``, with data
range 1 -- the usual convention for SSIM against a reference image. Scaling by the task's wide fixed
action bounds instead (+-8) made SSIM's stabilising constants dominate, so that a constant field
scored higher than a good reconstruction.
"""

from __future__ import annotations

import math

import numpy as np

from invbench.data.darcy_fields import BIMATERIAL_K
from invbench.tasks.fwi.metrics import ssim


def _pair(a: np.ndarray, b: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.squeeze(np.asarray(a, dtype=np.float64))
    y = np.squeeze(np.asarray(b, dtype=np.float64))
    if x.shape != y.shape or x.ndim != 2:
        raise ValueError(f"{what}: need two 2D fields of the same shape, got {x.shape} and {y.shape}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError(f"{what}: fields must be finite (found NaN or inf)")
    return x, y


def relative_l2(estimate: np.ndarray, truth: np.ndarray) -> float:
    """``||estimate - truth|| / ||truth||`` (0 when both vanish)."""
    x, y = _pair(estimate, truth, "relative_l2")
    den = float(np.linalg.norm(y))
    num = float(np.linalg.norm(x - y))
    return num / den if den > 0 else (0.0 if num == 0 else float("inf"))


def log_k_metrics(estimate: np.ndarray, truth: np.ndarray, *, low: float, high: float) -> dict[str, float]:
    """Errors of an estimated log-conductivity field.

    Args:
        estimate: Estimated log k, shape ``(n, n)`` or ``(1, n, n)``.
        truth: True log k, same shape.
        low: Lower log-k bound of the task (kept for the API; used only if the truth is constant).
        high: Upper log-k bound of the task.

    Returns:
        ``rel_l2`` (relative L2 error of log k), ``mae`` and ``rmse`` (log-k units), ``ssim`` and
        ``psnr`` (dB) of the fields scaled by the true field's range.
    """
    x, y = _pair(estimate, truth, "log_k_metrics")
    err = x - y
    mse = float(np.mean(err**2))
    lo = float(y.min())
    span = float(y.max()) - lo
    if span <= 0:
        lo, span = low, high - low
    mse01 = mse / span**2
    return {
        "rel_l2": relative_l2(x, y),
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(mse)),
        "ssim": ssim((x - lo) / span, (y - lo) / span, data_range=1.0),
        "psnr": float(10.0 * np.log10(1.0 / mse01)) if mse01 > 0 else float("inf"),
    }


def wrong_phase_share(estimate: np.ndarray, truth: np.ndarray) -> float:
    """Share of cells of a two-phase (bimaterial) log k field estimated in the wrong phase.

    The estimate is thresholded at the midpoint of the two phase values ``log 3`` and ``log 12``; a cell
    is wrong-phase when it falls on the other side from the truth. It measures how well an estimate keeps
    the material interfaces: a blurred interface shifts cells across the threshold.
    """
    estimate, truth = _pair(estimate, truth, "wrong_phase_share")
    threshold = 0.5 * sum(math.log(k) for k in BIMATERIAL_K)
    return float(((estimate >= threshold) != (truth >= threshold)).mean())
