"""Data losses that solvers compute themselves through the environment's counted operator.

The environment's ``step`` reports the task's *relative* misfit and its gradient. Solvers that follow a
paper's own data loss instead (RED-DiffEq's released code minimises the mean L1 misfit for every
method, its baselines included) evaluate it here from ``env.unwrapped.operator``: every call is one
counted forward solve, and backpropagating through it is one counted adjoint solve, so the budget sees
every PDE solve whichever path a solver takes.

Losses (``data_loss`` parameter of the solvers that offer it):

* ``"task"``: the task's relative misfit ``||M (d - d_obs)||_p^p / ||M d_obs||_p^p`` (p from the task's
  ``misfit`` option), exactly what ``env.step`` reports;
* ``"mean_l1"``: ``(1/N) sum_obs |d - d_obs|``, the mean absolute misfit over the N observed entries
  (``torch.nn.L1Loss`` restricted to recorded traces), after the task's data transform (for FWI the
  low-cut filter, when the task has one).
"""

from __future__ import annotations

import gymnasium as gym
import torch

from invbench.core.misfit import relative_misfit

DATA_LOSSES: tuple[str, ...] = ("mean_l1", "task")


def check_data_loss(solver: str, kind: str) -> str:
    """Return ``kind`` if it names a data loss, else raise a ``ValueError`` naming ``solver``."""
    if kind not in DATA_LOSSES:
        raise ValueError(f"{solver}: data_loss must be one of {DATA_LOSSES}, got {kind!r}")
    return kind


def mean_l1_misfit(pred: torch.Tensor, observed: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean absolute misfit over the observed entries (``nn.L1Loss`` restricted to recorded traces)."""
    w = torch.broadcast_to(mask, observed.shape).to(pred.dtype)
    return ((pred - observed).abs() * w).sum() / w.sum().clamp_min(1.0)


def predicted_data(env: gym.Env, field: torch.Tensor) -> torch.Tensor:
    """Counted forward solve of ``(1, 1, H, W)`` physical field(s), with the task's data transform."""
    base = env.unwrapped
    pred = base.operator(field.to(base.device))
    return base.transform_data(pred)


def data_terms(env: gym.Env, field: torch.Tensor, kind: str) -> tuple[torch.Tensor, float]:
    """The data loss of one physical field and the task's relative misfit of the same prediction.

    Args:
        env: The environment, reset to the instance being solved.
        field: ``(1, 1, H, W)`` physical field (differentiable; one counted forward solve).
        kind: ``"mean_l1"`` or ``"task"`` (see the module docstring).

    Returns:
        ``(loss, relative_misfit)``: the loss as a differentiable scalar tensor, and the task's relative
        misfit as a float (what ``env.step`` would report for this field).

    Raises:
        ValueError: For an unknown ``kind``.
    """
    check_data_loss("data_terms", kind)
    base = env.unwrapped
    inst = base.instance
    pred = predicted_data(env, field)[0]
    rel = relative_misfit(pred, inst.observed, kind=base.misfit_kind, mask=inst.mask)
    if kind == "mean_l1":
        return mean_l1_misfit(pred, inst.observed, inst.mask), float(rel.detach())
    return rel, float(rel.detach())
