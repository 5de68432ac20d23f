"""A physics-informed neural network (PINN) for Darcy conductivity from sparse heads (Tartakovsky 2020).

Reference: A. M. Tartakovsky, C. Ortiz Marrero, P. Perdikaris, G. D. Tartakovsky, D. Barajas-Solano,
"Physics-informed deep neural networks for learning parameters and constitutive relationships in
subsurface flow problems", Water Resources Research 56 (2020), arXiv:1808.03398; the PINN baseline of
LD-DIM (Lin & He 2025, arXiv:2512.22421).

Two fully connected networks of the coordinates ``(x, y)`` (rescaled to [-1, 1]^2), each with three
hidden layers of 50 tanh units (the paper's set-up), represent the log-conductivity
``s(x, y) = field_center + field_scale * net_k(x, y)`` and the head ``u(x, y) = u_scale * net_u(x, y)``.
They are trained per instance on the weighted sum of mean squared losses of

* the sensor heads, ``(u(x_i) - d_i) / u_scale``;
* the PDE residual of ``-div(k grad u) = f`` in its expanded form, ``k (u_xx + u_yy) + k_x u_x + k_y u_y
  + f`` with ``k = exp(s)``, at the cell centres of the task's grid, divided by ``r_scale``;
* the boundary conditions of the task, on points spread along each edge: ``u = 0`` everywhere for
  ``dirichlet0``; ``u = head_left`` at ``x = 0``, ``u = head_right`` at ``x = 1`` and no flow
  (``u_y = 0``) at ``y = 0, 1`` for ``head_drop``.

All derivatives come from autograd. ``u_scale`` is the RMS of the observed heads and ``r_scale`` the
source ``|f|`` (or ``u_scale`` where ``f = 0``), so each loss is of order one whatever the units.
Tartakovsky et al. sum the losses unweighted and train with L-BFGS(-B); here the weights ``w_data``,
``w_pde`` and ``w_bc`` default to the values chosen on the ``val`` split (docs/studies/ld_dim.md) and
training is Adam for ``adam_steps`` (a warm start that keeps L-BFGS out of the poor minima it finds from
a random initialisation; invbench's choice) followed by L-BFGS with a strong-Wolfe line search for
``lbfgs_iterations`` iterations or until it converges. The paper also fits a few direct conductivity
measurements; the invbench tasks observe heads only, so that loss is absent.

The PINN never calls the PDE solver: its row records 0 PDE solves, its wall time and its network
evaluations (one per loss-and-gradient evaluation of both networks on every collocation, boundary and
sensor point, reported as ``network_evaluations``). The misfit it reports while training is the task's
relative misfit of its *head network* at the sensors; its final estimate (log k at the cell centres) is
scored through the task like every solver's, so the row's data misfit is that of the finite-volume heads.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch
from torch import nn

from invbench.core.solver import Progress, ProgressCallback, Reference, Solver
from invbench.nn.diffusion.prior_solver import solver_generator
from solvers.ld_dim.latent_solver import LD_DIM

LBFGS_CHUNK = 20
"""L-BFGS iterations between two progress reports (the optimiser keeps its history across chunks)."""


def mlp(hidden: int, layers: int) -> nn.Sequential:
    """A tanh MLP ``(x, y) -> scalar`` with ``layers`` hidden layers of ``hidden`` units (Xavier init)."""
    widths = [2, *([hidden] * layers)]
    modules: list[nn.Module] = []
    for a, b in itertools.pairwise(widths):
        modules += [nn.Linear(a, b), nn.Tanh()]
    modules.append(nn.Linear(widths[-1], 1))
    for m in modules:
        if isinstance(m, nn.Linear):
            nn.init.xavier_normal_(m.weight)
            nn.init.zeros_(m.bias)
    return nn.Sequential(*modules)


def grad(out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``d out / d x`` per point (``out`` is ``(N, 1)``, ``x`` is ``(N, 2)``), kept in the graph."""
    return torch.autograd.grad(out, x, torch.ones_like(out), create_graph=True)[0]


class DarcyPINN(nn.Module):
    """The pair of networks and the three losses on one Darcy instance (see the module docstring)."""

    def __init__(
        self,
        *,
        hidden: int,
        layers: int,
        center: float,
        scale: float,
        u_scale: float,
        r_scale: float,
        source: float,
    ) -> None:
        super().__init__()
        self.net_k = mlp(hidden, layers)
        self.net_u = mlp(hidden, layers)
        self.center, self.scale = float(center), float(scale)
        self.u_scale, self.r_scale, self.source = float(u_scale), float(r_scale), float(source)

    @staticmethod
    def inputs(xy: torch.Tensor) -> torch.Tensor:
        """Unit-square coordinates -> the networks' [-1, 1] inputs."""
        return 2.0 * xy - 1.0

    def log_k(self, xy: torch.Tensor) -> torch.Tensor:
        """``s(x, y)`` at ``(N, 2)`` points, ``(N, 1)``."""
        return self.center + self.scale * self.net_k(self.inputs(xy))

    def head(self, xy: torch.Tensor) -> torch.Tensor:
        """``u(x, y)`` at ``(N, 2)`` points, ``(N, 1)``."""
        return self.u_scale * self.net_u(self.inputs(xy))

    def residual(self, xy: torch.Tensor) -> torch.Tensor:
        """``(k (u_xx + u_yy) + k_x u_x + k_y u_y + f) / r_scale`` at collocation points."""
        xy = xy.detach().requires_grad_(True)
        k = torch.exp(self.log_k(xy))
        u = self.head(xy)
        du = grad(u, xy)
        dk = grad(k, xy)
        u_xx = grad(du[:, :1], xy)[:, :1]
        u_yy = grad(du[:, 1:], xy)[:, 1:]
        lap = u_xx + u_yy
        r = k * lap + (dk * du).sum(dim=1, keepdim=True) + self.source
        return r / self.r_scale


class PINN(Solver):
    """Per-instance PINN for Darcy log k: Adam warm start, then L-BFGS (see the module docstring)."""

    name: ClassVar[str] = "pinn"
    references: ClassVar[tuple[Reference, ...]] = (
        Reference(
            "A. M. Tartakovsky, C. Ortiz Marrero, P. Perdikaris, G. D. Tartakovsky, D. Barajas-Solano, "
            '"Physics-informed deep neural networks for learning parameters and constitutive relationships '
            'in subsurface flow problems", Water Resources Research 56 (2020); arXiv:1808.03398',
            "https://arxiv.org/abs/1808.03398",
        ),
        replace(LD_DIM, note="the PINN baseline of LD-DIM"),
    )
    families: ClassVar[tuple[str, ...] | None] = ("darcy",)
    defaults: ClassVar[dict[str, Any]] = {
        "hidden": 50,
        "layers": 3,
        "w_data": 1.0,
        "w_pde": 1.0,
        "w_bc": 1.0,
        "adam_steps": 1000,
        "adam_lr": 1e-3,
        "lbfgs_iterations": 2000,
        "boundary_points": 64,
    }

    def applies_to(self, env: gym.Env) -> str | None:
        """Darcy only: FWI has no PINN here (a wavefield network over x, z and t is a different method)."""
        reason = super().applies_to(env)
        if reason is not None:
            return (
                f"{reason}: a PINN for FWI would fit the wavefield over space and time, a method of its own "
                "that invbench does not hold"
            )
        return None

    def check_params(self) -> None:
        """Raise a ``ValueError`` naming a bad parameter."""
        p = self.params
        ints = (("hidden", 1), ("layers", 1), ("adam_steps", 0), ("lbfgs_iterations", 0))
        ints += (("boundary_points", 2),)
        for key, low in ints:
            if not isinstance(p[key], int) or isinstance(p[key], bool) or p[key] < low:
                raise ValueError(f"{self.name}: {key} must be an integer >= {low}, got {p[key]!r}")
        if not isinstance(p["boundary_points"], int) or p["boundary_points"] < 2:
            raise ValueError(
                f"{self.name}: boundary_points must be an integer >= 2, got {p['boundary_points']!r}"
            )
        for key in ("w_data", "w_pde", "w_bc", "adam_lr"):
            if not isinstance(p[key], int | float) or not np.isfinite(p[key]) or p[key] < 0:
                raise ValueError(f"{self.name}: {key} must be a finite number >= 0, got {p[key]!r}")
        if p["adam_steps"] > 0 and p["adam_lr"] == 0:
            raise ValueError(f"{self.name}: adam_lr must be > 0 when adam_steps > 0")
        if p["adam_steps"] + p["lbfgs_iterations"] == 0:
            raise ValueError(f"{self.name}: adam_steps + lbfgs_iterations must be at least 1")

    def _points(self, base: Any, device: torch.device) -> dict[str, torch.Tensor]:
        """Collocation (cell centres), boundary and sensor points, and the observed heads."""
        n = int(base.n)
        c = (np.arange(n) + 0.5) / n
        xx, yy = np.meshgrid(c, c)  # row = y, column = x, as the task indexes fields
        cells = np.stack([xx.ravel(), yy.ravel()], axis=1)
        t = np.linspace(0.0, 1.0, int(self.params["boundary_points"]))
        zeros, ones = np.zeros_like(t), np.ones_like(t)
        as_t = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float32, device=device)  # noqa: E731
        inst = base.instance
        return {
            "cells": as_t(cells),
            "left": as_t(np.stack([zeros, t], 1)),
            "right": as_t(np.stack([ones, t], 1)),
            "bottom": as_t(np.stack([t, zeros], 1)),
            "top": as_t(np.stack([t, ones], 1)),
            "sensors": as_t(inst.extras["sensor_coords"]),
            "observed": inst.observed.detach().to(device=device, dtype=torch.float32).reshape(-1, 1),
        }

    def _bc_loss(self, model: DarcyPINN, pts: dict[str, torch.Tensor], problem: Any) -> torch.Tensor:
        """Mean squared boundary-condition error (in units of ``u_scale``)."""
        s = model.u_scale
        if problem.bc == "dirichlet0":
            edges = torch.cat([pts["left"], pts["right"], pts["bottom"], pts["top"]])
            return ((model.head(edges) / s) ** 2).mean()
        left = ((model.head(pts["left"]) - problem.head_left) / s) ** 2
        right = ((model.head(pts["right"]) - problem.head_right) / s) ** 2
        walls = torch.cat([pts["bottom"], pts["top"]]).requires_grad_(True)
        flux = grad(model.head(walls), walls)[:, 1:] / s
        return torch.cat([left, right, flux**2]).mean()

    def solve(self, env: gym.Env, *, callback: ProgressCallback | None = None) -> np.ndarray:
        """Train the two networks on the instance; return log k at the cell centres."""
        self.resolve_params(env)
        self.check_params()
        base = env.unwrapped
        p = self.params
        device = base.device
        pts = self._points(base, device)
        observed = pts["observed"]
        u_scale = float(observed.pow(2).mean().sqrt().clamp_min(1e-12))
        source = float(base.problem.source)
        gen = solver_generator(env, torch.device("cpu"))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=gen)))
            model = DarcyPINN(
                hidden=int(p["hidden"]),
                layers=int(p["layers"]),
                center=float(base.field_center),
                scale=float(base.field_scale),
                u_scale=u_scale,
                r_scale=abs(source) if source != 0 else u_scale,
                source=source,
            ).to(device)
        weights = {k: float(p[k]) for k in ("w_data", "w_pde", "w_bc")}
        evaluations = 0
        state: dict[str, float] = {}

        def loss_fn() -> torch.Tensor:
            nonlocal evaluations
            evaluations += 1
            pred = model.head(pts["sensors"])
            data = (((pred - observed) / u_scale) ** 2).mean()
            pde = (model.residual(pts["cells"]) ** 2).mean()
            bc = self._bc_loss(model, pts, base.problem)
            state.update(
                misfit=_relative_misfit(pred.detach(), observed, base.misfit_kind),
                data=float(data.detach()),
                pde=float(pde.detach()),
                bc=float(bc.detach()),
            )
            return weights["w_data"] * data + weights["w_pde"] * pde + weights["w_bc"] * bc

        iteration = 0

        def report(phase: str) -> None:
            if callback is None:
                return
            info = {
                **base.current_info(),
                "phase": phase,
                "network_evaluations": evaluations,
                "data_loss": state["data"],
                "pde_loss": state["pde"],
                "bc_loss": state["bc"],
                "misfit_of": "pinn head network at the sensors",
            }
            callback(Progress(iteration=iteration, misfit=state["misfit"], info=info))

        params = list(model.parameters())
        if p["adam_steps"] > 0:
            adam = torch.optim.Adam(params, lr=float(p["adam_lr"]))
            for _ in range(int(p["adam_steps"])):
                adam.zero_grad()
                loss = loss_fn()
                loss.backward()
                adam.step()
                iteration += 1
                report("adam")
        remaining = int(p["lbfgs_iterations"])
        if remaining > 0:
            lbfgs = torch.optim.LBFGS(
                params, lr=1.0, max_iter=LBFGS_CHUNK, history_size=50, line_search_fn="strong_wolfe"
            )

            def closure() -> torch.Tensor:
                lbfgs.zero_grad()
                loss = loss_fn()
                loss.backward()
                return loss

            while remaining > 0:
                chunk = min(LBFGS_CHUNK, remaining)
                lbfgs.param_groups[0]["max_iter"] = chunk
                lbfgs.param_groups[0]["max_eval"] = chunk * 5 // 4
                before = lbfgs.state[lbfgs._params[0]].get("n_iter", 0)
                lbfgs.step(closure)
                done = lbfgs.state[lbfgs._params[0]].get("n_iter", 0) - before
                remaining -= chunk
                iteration += max(done, 1)
                report("lbfgs")
                if done < chunk:  # converged (tolerance on the gradient or the change)
                    break
        with torch.no_grad():
            s = model.log_k(pts["cells"]).reshape(1, base.n, base.n)
        est = s.float().cpu().numpy()
        return np.clip(est, base.field_low, base.field_high).astype(np.float32)


def _relative_misfit(pred: torch.Tensor, observed: torch.Tensor, kind: str) -> float:
    """The task's relative misfit ``sum|r|^p / sum|d|^p`` of predicted sensor heads."""
    power = 1 if kind == "l1" else 2
    r = (pred - observed).abs().pow(power).sum()
    return float(r / observed.abs().pow(power).sum().clamp_min(1e-30))
