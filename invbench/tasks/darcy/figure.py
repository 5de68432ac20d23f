"""Figure of one Darcy run (matplotlib, headless): log-k fields, head fields and sensor fit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

_EXTENT = (0.0, 1.0, 0.0, 1.0)  # row 0 is y = 0: draw with origin="lower"


def _field(ax: Any, img: np.ndarray, title: str, **kw: Any) -> Any:
    im = ax.imshow(img, origin="lower", extent=_EXTENT, **kw)
    ax.set_title(title)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    return im


def _sensors(ax: Any, coords: np.ndarray) -> None:
    ax.scatter(coords[:, 0], coords[:, 1], s=12, c="white", edgecolors="black", linewidths=0.6)


def plot_darcy_result(arrays: dict[str, np.ndarray], result: Any, path: Path) -> None:
    """Save a 2 x 4 figure of a Darcy inversion.

    Top: true log k with the sensors, the estimate, the error, the convergence curve. Bottom: the true
    head field with the sensors, the head predicted by the estimate, their difference, and observed
    against predicted sensor heads.

    Args:
        arrays: ``truth``, ``estimate`` ``(1, n, n)`` log k; ``true_head``, ``predicted_head``
            ``(n, n)``; ``observed``, ``predicted`` ``(S,)`` sensor heads; ``sensor_coords`` ``(S, 2)``.
        result: The run's :class:`~invbench.harness.single.RunRecord` (titles, metrics, history).
        path: Output PNG path.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    truth, est = np.squeeze(arrays["truth"]), np.squeeze(arrays["estimate"])
    u_true, u_pred = arrays["true_head"], arrays["predicted_head"]
    coords = arrays["sensor_coords"]
    obs = np.asarray(arrays["observed"]).reshape(-1)
    pred = arrays.get("predicted")
    m = result.metrics
    fig, axes = plt.subplots(2, 4, figsize=(17, 8), constrained_layout=True)

    lo, hi = float(min(truth.min(), est.min())), float(max(truth.max(), est.max()))
    im = _field(axes[0, 0], truth, f"true log k ({len(obs)} sensors)", cmap="viridis", vmin=lo, vmax=hi)
    _sensors(axes[0, 0], coords)
    title = f"estimate ({result.solver})\nrel L2 {m['rel_l2']:.3f}  SSIM {m['ssim']:.3f}"
    _field(axes[0, 1], est, title, cmap="viridis", vmin=lo, vmax=hi)
    fig.colorbar(im, ax=axes[0, :2].tolist(), label="log k", shrink=0.8)
    err = est - truth
    lim = float(np.abs(err).max()) or 1.0
    im = _field(axes[0, 2], err, f"estimate - true (MAE {m['mae']:.3f})", cmap="RdBu_r", vmin=-lim, vmax=lim)
    fig.colorbar(im, ax=axes[0, 2], shrink=0.8)

    ax = axes[0, 3]
    hist = result.history
    if hist:
        ax.semilogy([h["pde_solves"] for h in hist], [max(h["misfit"], 1e-12) for h in hist])
    ax.set_xlabel("PDE solves")
    ax.set_ylabel("relative data misfit")
    ax.set_title(f"convergence (data misfit {m['data_misfit']:.3g})")
    ax.grid(True, which="both", alpha=0.3)

    ulo, uhi = float(min(u_true.min(), u_pred.min())), float(max(u_true.max(), u_pred.max()))
    im = _field(axes[1, 0], u_true, "true head u", cmap="magma", vmin=ulo, vmax=uhi)
    _sensors(axes[1, 0], coords)
    _field(
        axes[1, 1],
        u_pred,
        f"predicted head (rel L2 {m['head_rel_l2']:.3g})",
        cmap="magma",
        vmin=ulo,
        vmax=uhi,
    )
    fig.colorbar(im, ax=axes[1, :2].tolist(), label="head u", shrink=0.8)
    uerr = u_pred - u_true
    ulim = float(np.abs(uerr).max()) or 1.0
    im = _field(axes[1, 2], uerr, "predicted - true head", cmap="RdBu_r", vmin=-ulim, vmax=ulim)
    fig.colorbar(im, ax=axes[1, 2], shrink=0.8)

    ax = axes[1, 3]
    if pred is not None:
        p = np.asarray(pred).reshape(-1)
        ax.scatter(obs, p, s=14, alpha=0.8)
        ends = [float(min(obs.min(), p.min())), float(max(obs.max(), p.max()))]
        ax.plot(ends, ends, "k--", lw=0.8)
    ax.set_xlabel("observed sensor head")
    ax.set_ylabel("predicted sensor head")
    ax.set_title("sensor fit")
    ax.set_aspect("equal", adjustable="datalim")
    ax.grid(True, alpha=0.3)

    fig.suptitle(f"{result.task}  [{result.split} #{result.index}]  {result.wall_time:.1f} s")
    fig.savefig(path, dpi=90)
    plt.close(fig)
