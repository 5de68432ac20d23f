"""The relative data misfit every task reports and every data-fitting method can minimise."""

from __future__ import annotations

import torch


def relative_misfit(
    predicted: torch.Tensor, observed: torch.Tensor, *, kind: str = "l2", mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Relative data misfit ``||m * (d - d_obs)||_p^p / ||m * d_obs||_p^p`` (differentiable).

    Args:
        predicted: Predicted data, any shape.
        observed: Observed data, same shape.
        kind: ``"l2"`` (squared L2 norm) or ``"l1"``.
        mask: Optional 0/1 weights broadcastable to the data (missing traces are 0).

    Returns:
        A scalar tensor: 0 for a perfect fit, 1 for a zero prediction.
    """
    if predicted.shape != observed.shape:
        raise ValueError(f"predicted data shape {tuple(predicted.shape)} != observed {tuple(observed.shape)}")
    r = predicted - observed
    o = observed
    if mask is not None:
        r = r * mask
        o = o * mask
    if kind == "l2":
        return (r**2).sum() / (o**2).sum().clamp_min(1e-30)
    if kind == "l1":
        return r.abs().sum() / o.abs().sum().clamp_min(1e-30)
    raise ValueError(f"unknown misfit kind {kind!r}; expected 'l2' or 'l1'")
