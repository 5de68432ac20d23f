"""Plain gradient inversion with Adam, driven through the environment's ``step``.

Defaults follow the plain-FWI baseline released with RED-DiffEq (Shan et al. 2025): Adam on the
field in normalised units (for FWI OpenFWI's ``(v - 3000) / 1500``) with learning rate 0.03,
cosine annealing of the learning rate over 300 iterations, the iterate clamped to the task's range
after every update, and the environment's initial model (sigma = 10 smoothed for FWI). The misfit
is the task's by default (``data_loss="task"``): the environment reports the gradient of the
*relative* misfit; RED-DiffEq minimises the mean misfit, which differs by a constant factor, and Adam's
update is invariant to such a factor (up to its epsilon), so for the same norm the iterates match.
RED-DiffEq's released code minimises the mean *L1* misfit for every method (``red_diffeq/core/losses.py``);
``data_loss="mean_l1"`` does the same here, through the environment's counted operator
(:mod:`invbench.core.data_loss`), so its baselines can be run as released on tasks scored with L2. On other
tasks (Darcy) the same optimiser runs on the task's normalised field
(``env.unwrapped.field_center/field_scale``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch

from invbench.core.data_loss import check_data_loss, data_terms, mean_l1_misfit
from invbench.core.misfit import relative_misfit
from invbench.core.solver import Progress, ProgressCallback, Reference, Solver

Penalty = Callable[[torch.Tensor], torch.Tensor]

RED_DIFFEQ = Reference(
    'S. Shan, M. Zhu, Y. Lin, L. Lu, "RED-DiffEq: Regularization by denoising diffusion models for solving '
    'inverse PDE problems with application to full waveform inversion", arXiv:2509.21659 (2025)',
    "https://arxiv.org/abs/2509.21659",
)
"""RED-DiffEq's paper; its released baselines (plain, Tikhonov and TV FWI) set the baselines' defaults."""


def adam_inversion(
    env: gym.Env,
    *,
    lr: float,
    iterations: int,
    penalty: Penalty | None = None,
    lam: float = 0.0,
    data_loss: str = "task",
    callback: ProgressCallback | None = None,
) -> np.ndarray:
    """Adam on ``J(m) + lam * penalty(mu)`` in normalised units; the loop every Adam baseline shares.

    ``mu = (m - field_center) / field_scale`` starts from the environment's initial model; each
    iteration gets the data loss's gradient (one forward and one adjoint solve: from ``env.step`` for
    the task's misfit, or by backpropagating through the counted operator for ``mean_l1``), adds the
    gradient of ``lam * penalty(mu)`` (computed here, no PDE solve), takes an Adam step, anneals the
    learning rate (cosine over ``iterations``) and clamps ``mu`` to the task's range. It stops at
    ``iterations``, when the budget cannot pay for another step, or when the environment truncates.

    Args:
        env: The environment, reset to the instance to solve.
        lr: Adam's initial learning rate.
        iterations: Iterations (also the cosine annealing period).
        penalty: Regulariser of the normalised field; ``None`` for plain gradient inversion.
        lam: Weight of ``penalty`` against the data loss.
        data_loss: ``"task"`` (the relative misfit ``env.step`` reports) or ``"mean_l1"`` (see
            :mod:`invbench.core.data_loss`).
        callback: Called after every iteration (the regulariser's value is added to ``info``).

    Returns:
        The final estimate in physical units, clipped to the task's range.

    Raises:
        ValueError: For an unknown ``data_loss``.
    """
    check_data_loss("adam_inversion", data_loss)
    base = env.unwrapped
    c, s = float(base.field_center), float(base.field_scale)
    lo, hi = (base.field_low - c) / s, (base.field_high - c) / s
    mu = torch.tensor((base.instance.initial - c) / s, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([mu], lr=float(lr))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(int(iterations), 1))
    for it in range(1, int(iterations) + 1):
        if base.counter.remaining < 2:
            break
        opt.zero_grad()
        if data_loss == "task":
            action = (mu.detach().numpy() * s + c).astype(np.float32)
            obs, _, _, truncated, info = env.step(action)
            mu.grad = torch.from_numpy(obs["gradient"].astype(np.float64) * s)
            misfit = float(obs["misfit"][0])
        else:
            loss, misfit = data_terms(env, (mu.to(torch.float32) * s + c)[None], data_loss)
            loss.backward()
            truncated, info = False, {**base.current_info(), "data_loss": float(loss.detach())}
        reg = None
        if penalty is not None:
            reg = lam * penalty(mu)
            reg.backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            mu.clamp_(lo, hi)
        if callback is not None:
            if reg is not None:
                info = {**info, "regularizer": float(reg.detach())}
            callback(Progress(iteration=it, misfit=misfit, info=info))
        if truncated:
            break
    estimate = (mu.detach().numpy() * s + c).astype(np.float32)
    return np.clip(estimate, base.field_low, base.field_high)


def adam_inversion_batch(
    vec_env: Any,
    *,
    lr: float,
    iterations: int,
    penalty: Penalty | None = None,
    lams: Sequence[float] | None = None,
    data_loss: str = "task",
    callbacks: Sequence[ProgressCallback | None] | None = None,
) -> list[np.ndarray]:
    """:func:`adam_inversion` on the B instances of a vector environment, one batched solve pair per step.

    Each instance keeps its own iterate, Adam state and cosine schedule (Adam is elementwise, so this is
    B independent runs of :func:`adam_inversion`), but every iteration simulates the instances still
    running in **one** call of the physics: ``vec_env.evaluate`` (the task's misfit and its gradient) or
    ``vec_env.operator`` backpropagated once (``mean_l1``). An instance stops when it reaches
    ``iterations`` or its budget cannot pay for another step, as :func:`adam_inversion` does; the others
    go on. Each instance's counters record exactly the solves a single run would.

    Args:
        vec_env: An :class:`~invbench.core.vector.InverseProblemVectorEnv`, reset to the instances.
        lr: Adam's initial learning rate.
        iterations: Iterations (also the cosine annealing period).
        penalty: Regulariser of one normalised field; ``None`` for plain gradient inversion.
        lams: Weight of ``penalty`` for each instance (default 0).
        data_loss: ``"task"`` or ``"mean_l1"`` (see :mod:`invbench.core.data_loss`).
        callbacks: ``callbacks[k]`` gets sub-environment k's progress.

    Returns:
        One final estimate per sub-environment, in physical units, clipped to the task's range.

    Raises:
        ValueError: For an unknown ``data_loss`` or lists of the wrong length.
    """
    check_data_loss("adam_inversion_batch", data_loss)
    bases = list(vec_env.bases)
    n = len(bases)
    lams = [0.0] * n if lams is None else [float(x) for x in lams]
    calls = [None] * n if callbacks is None else list(callbacks)
    if len(lams) != n or len(calls) != n:
        raise ValueError(
            f"adam_inversion_batch: {n} sub-environments, {len(lams)} lams, {len(calls)} callbacks"
        )
    first = bases[0]
    c, s = float(first.field_center), float(first.field_scale)
    lo, hi = (first.field_low - c) / s, (first.field_high - c) / s
    mus = [torch.tensor((b.instance.initial - c) / s, dtype=torch.float64, requires_grad=True) for b in bases]
    opts = [torch.optim.Adam([mu], lr=float(lr)) for mu in mus]
    scheds = [torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=max(int(iterations), 1)) for o in opts]
    for it in range(1, int(iterations) + 1):
        active = [k for k in range(n) if bases[k].counter.remaining >= 2]
        if not active:
            break
        for k in active:
            opts[k].zero_grad()
        if data_loss == "task":
            fields = np.stack([(mus[k].detach().numpy() * s + c).astype(np.float32) for k in active])
            misfit_list, grads = vec_env.evaluate(fields, envs=active)
            for j, k in enumerate(active):
                mus[k].grad = torch.from_numpy(grads[j].astype(np.float64) * s)
            misfits = dict(zip(active, misfit_list, strict=True))
            extra: dict[int, dict[str, float]] = {k: {} for k in active}
        else:
            m = torch.stack([mus[k].to(torch.float32) * s + c for k in active])
            pred = vec_env.operator(m, envs=active)
            total, misfits, extra = _batch_data_terms(vec_env, pred, active, data_loss)
            total.backward()
        for k in active:
            info = {**bases[k].current_info(), **extra[k]}
            if penalty is not None:
                reg = lams[k] * penalty(mus[k])
                reg.backward()
                info["regularizer"] = float(reg.detach())
            opts[k].step()
            scheds[k].step()
            with torch.no_grad():
                mus[k].clamp_(lo, hi)
            callback = calls[k]
            if callback is not None:
                callback(Progress(iteration=it, misfit=float(misfits[k]), info=info))
    return [
        np.clip((mu.detach().numpy() * s + c).astype(np.float32), first.field_low, first.field_high)
        for mu in mus
    ]


def _batch_data_terms(
    vec_env: Any, pred: torch.Tensor, active: list[int], kind: str
) -> tuple[torch.Tensor, dict[int, float], dict[int, dict[str, float]]]:
    """Summed data loss of a batched prediction (instances are independent), and each one's misfit."""
    total = pred.new_zeros(())
    misfits: dict[int, float] = {}
    extra: dict[int, dict[str, float]] = {}
    for j, k in enumerate(active):
        base = vec_env.bases[k]
        inst = base.instance
        p = base.transform_data(pred[j : j + 1])[0]
        rel = relative_misfit(p, inst.observed, kind=base.misfit_kind, mask=inst.mask)
        loss = mean_l1_misfit(p, inst.observed, inst.mask) if kind == "mean_l1" else rel
        total = total + loss
        misfits[k] = float(rel.detach())
        extra[k] = {"data_loss": float(loss.detach())}
    return total, misfits, extra


class BatchedAdam(Solver):
    """Shared :meth:`solve_batch` of the Adam baselines (set :attr:`batched` to use it)."""

    batched: ClassVar[bool] = True

    def batch_lams(self, vec_env: Any) -> list[float] | None:
        """The regulariser weight of each instance (``None``: no regulariser)."""
        return None

    def batch_penalty(self) -> Penalty | None:
        """The regulariser of one normalised field (``None``: none)."""
        return None

    def solve_batch(
        self, vec_env: Any, *, callbacks: Sequence[ProgressCallback | None] | None = None
    ) -> list[np.ndarray]:
        """Adam on every instance of ``vec_env`` at once (:func:`adam_inversion_batch`)."""
        self.resolve_params(vec_env.envs[0])
        return adam_inversion_batch(
            vec_env,
            lr=float(self.params["lr"]),
            iterations=int(self.params["iterations"]),
            penalty=self.batch_penalty(),
            lams=self.batch_lams(vec_env),
            data_loss=check_data_loss(self.name, self.params["data_loss"]),
            callbacks=callbacks,
        )


class AdamFWI(BatchedAdam):
    """Unregularised gradient inversion with Adam and cosine learning-rate annealing."""

    name: ClassVar[str] = "adam"
    references: ClassVar[tuple[Reference, ...]] = (
        Reference(
            'A. Tarantola, "Inversion of seismic reflection data in the acoustic approximation", '
            "Geophysics 49(8), 1259-1266 (1984)",
            "https://doi.org/10.1190/1.1441754",
            "FWI as misfit minimisation by gradients",
        ),
        Reference(
            'D. P. Kingma, J. Ba, "Adam: a method for stochastic optimization", ICLR (2015)',
            "https://arxiv.org/abs/1412.6980",
            "the optimiser",
        ),
        replace(RED_DIFFEQ, note="defaults: its plain-FWI baseline"),
    )
    defaults: ClassVar[dict[str, Any]] = {"lr": 0.03, "iterations": 300, "data_loss": "task"}

    def solve(self, env: gym.Env, *, callback: ProgressCallback | None = None) -> np.ndarray:
        """Run Adam until the iteration count or the PDE-solve budget is reached."""
        self.resolve_params(env)
        return adam_inversion(
            env,
            lr=float(self.params["lr"]),
            iterations=int(self.params["iterations"]),
            data_loss=check_data_loss(self.name, self.params["data_loss"]),
            callback=callback,
        )
