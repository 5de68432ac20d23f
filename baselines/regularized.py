"""Regularised gradient inversion: data misfit + λ · smoothness (Tikhonov) or total variation.

Both solvers run Adam on the field in normalised units ``mu = (m - field_center) / field_scale``
(for FWI OpenFWI's ``(v - 3000) / 1500``), with cosine annealing of the learning rate and the iterate
clamped to the task's range after every update: the plain ``adam`` baseline's loop
(:func:`baselines.gradient.adam_inversion`) with a penalty added; the
gradient of the data misfit comes from ``env.step`` (one forward + one adjoint solve per
iteration), the gradient of the regulariser is computed here (no PDE solve).

Regularisers (on ``mu``, with forward differences ``Dx mu`` along x and ``Dz mu`` along depth, each
averaged over its own grid, as RED-DiffEq's ``tikhonov_loss`` and ``total_variation_loss``):

* ``tikhonov``: ``R(mu) = mean((Dx mu)^2) + mean((Dz mu)^2)`` (first-order smoothness);
* ``tv``: smoothed anisotropic total variation ``R(mu) = mean(sqrt((Dx mu)^2 + eps^2)) +
  mean(sqrt((Dz mu)^2 + eps^2))``. With ``eps -> 0`` this is RED-DiffEq's ``mean|Dx mu| +
  mean|Dz mu|``; ``eps`` (default 1e-4 normalised units, i.e. 0.15 m/s for FWI) only makes the
  gradient well defined where neighbours are equal. Not proximal: Adam follows the gradient of the
  sum.

How λ is balanced against the data misfit (``reg_scale``):

RED-DiffEq minimises ``L(mu) + λ R(mu)`` with the *mean* data loss over the observed entries,
``L = (1/N) Σ_obs |d(mu) - d_obs|^p`` (p = 1, ``nn.L1Loss``; p = 2 is the same convention for an
MSE loss). The environment reports the *relative* misfit ``J = Σ_obs |r|^p / Σ_obs |d_obs|^p``, so
``L = D · J`` with the per-instance constant ``D = (1/N) Σ_obs |d_obs|^p`` (the mean of the observed
data to the power p, over the N observed entries; missing traces excluded, after the task's
low-cut filter, ``p`` from the task's ``misfit``). Hence

``L + λ R = D · (J + (λ / D) R)``,

and with ``reg_scale="mean"`` (FWI default) this module minimises ``J + (λ / D) R``: the same
minimiser and, because Adam is invariant to a constant factor of the objective (up to its
``eps``), the same iterates as RED-DiffEq's objective with λ = 0.01. With ``reg_scale="relative"``
(Darcy default) λ multiplies ``R`` against ``J`` directly (``D`` = 1): head data have no published
mean-loss convention, and the relative form keeps λ independent of the data's units.

With ``data_loss="mean_l1"`` the solver minimises RED-DiffEq's released objective itself, ``L + λ R``
with the mean L1 data loss ``L`` computed through the environment's counted operator
(:mod:`invbench.core.data_loss`), whatever norm the task scores with; ``reg_scale="mean"`` then applies λ
as it is, and ``"relative"`` applies ``λ D`` (``D`` from the L1 norm), i.e. λ against ``J_L1 = L / D``.

Defaults (one place per solver, below) and their sources:

* FWI: lr 0.03, 300 iterations with cosine annealing to 0, λ = 0.01, mean-loss balance, the
  environment's initial model (σ = 10 smoothed) and misfit: RED-DiffEq's released baselines
  (github.com/lu-group/red-diffeq, commit b4d1712: ``configs/marmousi/{tikhonov,tv}.yaml``,
  ``configs/overthrust/{tikhonov,tv}.yaml`` set ``lr: 0.03, ts: 300, reg_lambda: 0.01``;
  ``red_diffeq/core/inversion.py`` (Adam, ``CosineAnnealingLR(T_max=ts, eta_min=0)``, clamp to
  [-1, 1]); ``red_diffeq/regularization/benchmark.py`` (the two regularisers);
  ``red_diffeq/core/losses.py`` (mean L1 data loss, ``obs + reg_lambda * reg``)).
* Darcy: lr and iterations as FWI; relative balance; λ (Tikhonov 0.3, TV 0.03) tuned on instances
  0-4 of the ``val`` split of ``Darcy-GRF-v0`` and ``Darcy-Bimaterial-v0`` (``docs/baselines.md``).
"""

from __future__ import annotations

import abc
from dataclasses import replace
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch

from baselines.gradient import RED_DIFFEQ, BatchedAdam, adam_inversion
from invbench.core.data_loss import check_data_loss
from invbench.core.solver import ProgressCallback, Reference

REG_SCALES = ("mean", "relative")

_COMMON_DEFAULTS: dict[str, Any] = {
    "lr": 0.03,
    "iterations": 300,
    "lam": 0.01,
    "reg_scale": "mean",
    "data_loss": "task",
}
"""RED-DiffEq's released TV/Tikhonov baseline settings (see the module docstring)."""
_DARCY_TIKHONOV: dict[str, Any] = {"lam": 0.3, "reg_scale": "relative"}
"""λ tuned on the val split of Darcy-GRF-v0 and Darcy-Bimaterial-v0 (docs/baselines.md)."""
_DARCY_TV: dict[str, Any] = {"lam": 0.03, "reg_scale": "relative"}
"""λ tuned on the val split of Darcy-GRF-v0 and Darcy-Bimaterial-v0 (docs/baselines.md)."""


def _differences(mu: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward differences along the last axis (x) and the one before (depth)."""
    return mu[..., :, 1:] - mu[..., :, :-1], mu[..., 1:, :] - mu[..., :-1, :]


def tikhonov_penalty(mu: torch.Tensor) -> torch.Tensor:
    """First-order smoothness ``mean((Dx mu)^2) + mean((Dz mu)^2)`` of a field ``(..., nz, nx)``."""
    dx, dz = _differences(mu)
    return (dx**2).mean() + (dz**2).mean()


def tv_penalty(mu: torch.Tensor, eps: float) -> torch.Tensor:
    """Smoothed anisotropic TV ``mean(sqrt(Dx² + eps²)) + mean(sqrt(Dz² + eps²))`` of ``(..., nz, nx)``."""
    dx, dz = _differences(mu)
    return torch.sqrt(dx**2 + eps**2).mean() + torch.sqrt(dz**2 + eps**2).mean()


def mean_data_power(observed: torch.Tensor, mask: torch.Tensor, kind: str) -> float:
    """``D = (1/N) Σ_obs |d_obs|^p`` over the N observed entries (p = 1 for ``l1``, 2 for ``l2``)."""
    w = torch.broadcast_to(mask, observed.shape).to(torch.float64)
    d = observed.to(torch.float64).abs()
    power = d if kind == "l1" else d**2
    return float((w * power).sum() / w.sum().clamp_min(1.0))


class _RegularizedAdam(BatchedAdam, abc.ABC):
    """Adam on ``J(m) + λ_eff R(mu)``; subclasses define :meth:`penalty` (batched: see ``BatchedAdam``)."""

    defaults: ClassVar[dict[str, Any]] = dict(_COMMON_DEFAULTS)

    @abc.abstractmethod
    def penalty(self, mu: torch.Tensor) -> torch.Tensor:
        """The regulariser ``R(mu)`` of the normalised field."""

    def effective_lambda(self, env: gym.Env) -> float:
        """λ against the data loss.

        For the task's relative misfit: ``λ / D`` (``mean``) or ``λ`` (``relative``); for the mean L1
        loss: ``λ`` (``mean``) or ``λ D`` (``relative``).
        """
        base = env.unwrapped
        lam, scale = float(self.params["lam"]), self.params["reg_scale"]
        if scale not in REG_SCALES:
            raise ValueError(f"{self.name}: reg_scale must be one of {REG_SCALES}, got {scale!r}")
        inst = base.instance
        if check_data_loss(self.name, self.params["data_loss"]) == "mean_l1":
            return lam if scale == "mean" else lam * mean_data_power(inst.observed, inst.mask, "l1")
        if scale == "relative":
            return lam
        return lam / max(mean_data_power(inst.observed, inst.mask, base.misfit_kind), 1e-30)

    def batch_penalty(self) -> Any:
        """The regulariser of a batched solve: the same :meth:`penalty`."""
        return self.penalty

    def batch_lams(self, vec_env: Any) -> list[float]:
        """:meth:`effective_lambda` of each instance (it depends on the instance's observed data)."""
        return [self.effective_lambda(env) for env in vec_env.envs]

    def solve(self, env: gym.Env, *, callback: ProgressCallback | None = None) -> np.ndarray:
        """Run Adam on the regularised objective until the iteration count or the budget is reached."""
        self.resolve_params(env)
        return adam_inversion(
            env,
            lr=float(self.params["lr"]),
            iterations=int(self.params["iterations"]),
            penalty=self.penalty,
            lam=self.effective_lambda(env),
            data_loss=self.params["data_loss"],
            callback=callback,
        )


class Tikhonov(_RegularizedAdam):
    """Data misfit + λ · first-order smoothness ``mean(|∇mu|²)``, minimised with Adam."""

    name: ClassVar[str] = "tikhonov"
    references: ClassVar[tuple[Reference, ...]] = (
        Reference('A. N. Tikhonov, V. Y. Arsenin, "Solutions of ill-posed problems", Winston (1977)'),
        replace(RED_DIFFEQ, note="regulariser and defaults: its Tikhonov-FWI baseline"),
    )
    defaults: ClassVar[dict[str, Any]] = dict(_COMMON_DEFAULTS)
    family_defaults: ClassVar[dict[str, dict[str, Any]]] = {"darcy": _DARCY_TIKHONOV}

    def penalty(self, mu: torch.Tensor) -> torch.Tensor:
        """``mean((Dx mu)^2) + mean((Dz mu)^2)``."""
        return tikhonov_penalty(mu)


class TotalVariation(_RegularizedAdam):
    """Data misfit + λ · smoothed anisotropic total variation, minimised with Adam."""

    name: ClassVar[str] = "tv"
    references: ClassVar[tuple[Reference, ...]] = (
        Reference(
            'L. I. Rudin, S. Osher, E. Fatemi, "Nonlinear total variation based noise removal algorithms", '
            "Physica D 60, 259-268 (1992)",
            "https://doi.org/10.1016/0167-2789(92)90242-F",
            "total variation",
        ),
        replace(RED_DIFFEQ, note="regulariser and defaults: its TV-FWI baseline"),
    )
    defaults: ClassVar[dict[str, Any]] = {**_COMMON_DEFAULTS, "eps": 1e-4}
    family_defaults: ClassVar[dict[str, dict[str, Any]]] = {"darcy": _DARCY_TV}

    def penalty(self, mu: torch.Tensor) -> torch.Tensor:
        """``mean(sqrt((Dx mu)^2 + eps^2)) + mean(sqrt((Dz mu)^2 + eps^2))``."""
        return tv_penalty(mu, float(self.params["eps"]))
