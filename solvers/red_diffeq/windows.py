"""Domain decomposition for fields wider than the diffusion prior.

Following RED-DiffEq's experiments on larger domains (Shan et al. 2025, arXiv:2509.21659), the
regulariser is evaluated on overlapping square windows of the prior's size that share the diffusion
step ``t`` and the noise ``eps``; where windows overlap, their contributions are averaged (two
windows: weight 0.5 each).
"""

from __future__ import annotations

from typing import Any

import torch


def window_starts(width: int, window: int, overlap: float = 0.5) -> list[int]:
    """Left edges of windows of ``window`` columns covering ``width`` columns with the given overlap.

    The stride is ``round(window * (1 - overlap))`` (at least 1); the last window is aligned with the right
    edge, so every column is covered.

    Raises:
        ValueError: ``width < window`` or an overlap outside [0, 1).
    """
    if width < window:
        raise ValueError(f"field width {width} is narrower than the window {window}")
    if not 0.0 <= overlap < 1.0:
        raise ValueError(f"overlap must lie in [0, 1), got {overlap}")
    stride = max(1, round(window * (1.0 - overlap)))
    starts = list(range(0, width - window + 1, stride))
    if starts[-1] != width - window:
        starts.append(width - window)
    return starts


def windowed_regularizer(
    prior: Any, x: torch.Tensor, t: int, eps: torch.Tensor, *, weight: float = 1.0, overlap: float = 0.5
) -> torch.Tensor:
    """RED-DiffEq's regulariser on a field wider than the prior.

    Args:
        prior: The :class:`~invbench.nn.diffusion.prior.DiffusionPrior` (its model height must be ``x``'s).
        x: ``(1, 1, H', W)`` in model units, ``W`` at least the prior's model width.
        t: Diffusion step shared by every window.
        eps: ``(1, 1, H', W)`` noise shared by every window (each window sees its own slice).
        weight: Time weight ``w(t)``.
        overlap: Fraction of a window shared with its neighbour.

    Returns:
        ``mean(stopgrad(g) * x)`` where ``g`` is ``w (eps_hat - eps)`` averaged over the windows covering
        each cell.
    """
    mh, mw = prior.model_shape
    if x.shape[-2] != mh:
        raise ValueError(f"field height {x.shape[-2]} differs from the prior's {mh}")
    starts = window_starts(int(x.shape[-1]), mw, overlap)
    with torch.no_grad():
        xs = torch.cat([x.detach()[..., s : s + mw] for s in starts])
        es = torch.cat([eps[..., s : s + mw] for s in starts])
        x_t = prior.add_noise(xs, es, t)
        eps_hat = prior.eps_from_x0(x_t, prior.x0(x_t, t, clip=True), t)
        g_win = weight * (eps_hat - es)
        g = torch.zeros_like(x)
        count = torch.zeros_like(x)
        for i, s in enumerate(starts):
            g[..., s : s + mw] += g_win[i : i + 1]
            count[..., s : s + mw] += 1.0
        g = g / count
    return (g * x).mean()
