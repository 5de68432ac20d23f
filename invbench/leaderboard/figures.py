"""Example reconstructions beside the truth, as base64 PNGs for the self-contained page."""

from __future__ import annotations

import base64
import io

import numpy as np


def _field(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float32)
    while a.ndim > 2:
        a = a[0]
    return a


def reconstructions_png(truth: np.ndarray, panels: list[tuple[str, np.ndarray]], title: str) -> str:
    """One row of images (truth, then each labelled panel) on the truth's colour scale.

    Args:
        truth: The true field (leading singleton axes are dropped).
        panels: ``(label, field)`` pairs, e.g. the initial model and each solver's estimate.
        title: Figure title.

    Returns:
        The PNG, base64-encoded (for a ``data:image/png;base64,`` URL).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = _field(truth)
    vmin, vmax = float(np.nanmin(t)), float(np.nanmax(t))
    if vmax <= vmin:
        vmax = vmin + 1.0
    n = 1 + len(panels)
    aspect = t.shape[0] / max(t.shape[1], 1)
    fig, axes = plt.subplots(1, n, figsize=(1.9 * n + 0.6, 1.9 * aspect + 0.7), squeeze=False, dpi=80)
    im = None
    for ax, (label, field) in zip(axes[0], [("truth", t), *panels], strict=True):
        im = ax.imshow(_field(field), cmap="viridis", vmin=vmin, vmax=vmax, interpolation="nearest")
        ax.set_title(label, fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title, fontsize=9)
    if im is not None:
        fig.colorbar(im, ax=list(axes[0]), fraction=0.02, pad=0.01)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")
