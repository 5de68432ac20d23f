"""Figures for single runs (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def plot_fwi_result(
    arrays: dict[str, np.ndarray], result: Any, path: Path, *, shot: int | None = None
) -> None:
    """Save a figure: true, initial, estimate, error maps and observed vs predicted shot gather.

    Args:
        arrays: ``truth``, ``initial``, ``estimate`` ``(1, nz, nx)`` m/s; ``observed`` and
            ``predicted`` ``(shot, time, receiver)``.
        result: The run's :class:`~invbench.harness.single.RunRecord` (for titles).
        path: Output PNG path.
        shot: Which shot gather to show (default: the middle shot).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    truth, init, est = arrays["truth"][0], arrays["initial"][0], arrays["estimate"][0]
    obs, pred = arrays["observed"], arrays["predicted"]
    shot = obs.shape[0] // 2 if shot is None else shot
    vmin, vmax = float(truth.min()), float(truth.max())
    fig, axes = plt.subplots(2, 4, figsize=(16, 7.5), constrained_layout=True)
    m = result.metrics
    panels = [
        (truth, "true model"),
        (init, "initial model"),
        (est, f"estimate ({result.solver})\nMAE {m['mae']:.4f}  SSIM {m['ssim']:.3f}"),
    ]
    for ax, (img, title) in zip(axes[0, :3], panels, strict=True):
        im = ax.imshow(img, cmap="viridis", vmin=vmin, vmax=vmax, aspect="auto")
        ax.set_title(title)
        ax.set_xlabel("x index")
        ax.set_ylabel("depth index")
    fig.colorbar(im, ax=axes[0, :3].tolist(), label="velocity (m/s)", shrink=0.8)
    err = est - truth
    lim = float(np.abs(err).max()) or 1.0
    im = axes[0, 3].imshow(err, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
    axes[0, 3].set_title("estimate - true (m/s)")
    fig.colorbar(im, ax=axes[0, 3], shrink=0.8)
    clip = float(np.percentile(np.abs(obs[shot]), 99)) or 1.0
    for ax, d, title in (
        (axes[1, 0], obs[shot], f"observed, shot {shot}"),
        (axes[1, 1], pred[shot] if pred is not None else np.zeros_like(obs[shot]), f"predicted, shot {shot}"),
        (axes[1, 2], (pred[shot] - obs[shot]) if pred is not None else obs[shot], "residual"),
    ):
        ax.imshow(d, cmap="gray", vmin=-clip, vmax=clip, aspect="auto")
        ax.set_title(title)
        ax.set_xlabel("receiver")
        ax.set_ylabel("time sample")
    hist = result.history
    ax = axes[1, 3]
    if hist:
        ax.semilogy([h["pde_solves"] for h in hist], [max(h["misfit"], 1e-12) for h in hist])
    ax.set_xlabel("PDE solves")
    ax.set_ylabel("relative data misfit")
    ax.set_title(f"convergence (data misfit {m['data_misfit']:.3g})")
    ax.grid(True, which="both", alpha=0.3)
    fig.suptitle(f"{result.task}  [{result.split} #{result.index}]  {result.wall_time:.1f} s")
    fig.savefig(path, dpi=90)
    plt.close(fig)
