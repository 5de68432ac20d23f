"""Unregularised L-BFGS inversion (scipy's L-BFGS-B), driven through the environment's ``step``.

Why scipy's L-BFGS-B rather than ``torch.optim.LBFGS``: the action space is a box (velocities in
[1500, 4500] m/s, log k in [-8, 8]) and the environment rejects fields outside it. L-BFGS-B
(Byrd, Lu, Nocedal & Zhu 1995) handles the bounds inside the method (projected search directions,
a line search that stays feasible), whereas ``torch.optim.LBFGS`` is unconstrained: clipping its
iterates after the fact would move the point its curvature pairs and line search assume. Its line
search (Moré & Thuente 1994, the ``dcsrch`` of MINPACK-2) enforces the strong Wolfe conditions, and
scipy runs in float64.

Accounting: every evaluation of the objective is one ``env.step`` (forward + adjoint, 2 PDE solves),
including every trial point of the line search. Before each evaluation the solver checks that two
solves remain; when they do not, the optimisation stops and the best evaluated field is returned,
so the budget is never overrun. scipy's ``maxfun`` is set to the remaining evaluations as well.

The optimisation variable is the normalised field ``mu = (m - field_center) / field_scale`` (for FWI
OpenFWI's ``(v - 3000) / 1500``), so one set of tolerances serves every task. With ``ftol = gtol =
0`` (the defaults) L-BFGS-B stops only on ``iterations``, the budget, or a line search that can make
no progress (the misfit is computed in float32, so this happens near convergence); after such a
stop it restarts from the best point with a fresh memory while budget remains, and gives up when a
restart does not lower the misfit.

Defaults (``LBFGS.defaults``): ``iterations`` 300 (the iteration count of the Adam baselines,
RED-DiffEq), ``memory`` 10 (scipy's ``maxcor`` default; Nocedal & Wright 2006, §7.2, recommend 3-20),
``ftol = gtol = 0`` (run on the budget, not on a tolerance), ``restarts`` 5.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from scipy.optimize import Bounds, OptimizeResult, minimize

from invbench.core.solver import Progress, ProgressCallback, Reference, Solver


class _OutOfBudget(Exception):
    """Raised inside the objective when one more forward + adjoint would overrun the budget."""


class LBFGS(Solver):
    """Bound-constrained L-BFGS on the data misfit, with line-search evaluations counted."""

    name: ClassVar[str] = "lbfgs"
    references: ClassVar[tuple[Reference, ...]] = (
        Reference(
            'R. H. Byrd, P. Lu, J. Nocedal, C. Zhu, "A limited memory algorithm for bound constrained '
            'optimization", SIAM J. Sci. Comput. 16(5), 1190-1208 (1995)',
            "https://doi.org/10.1137/0916069",
            "L-BFGS-B, as scipy implements it",
        ),
    )
    defaults: ClassVar[dict[str, Any]] = {
        "iterations": 300,
        "memory": 10,
        "ftol": 0.0,
        "gtol": 0.0,
        "restarts": 5,
    }

    def solve(self, env: gym.Env, *, callback: ProgressCallback | None = None) -> np.ndarray:
        """Run L-BFGS-B until the iteration count, the budget, or a stalled line search."""
        p = self.resolve_params(env)
        base = env.unwrapped
        shape = tuple(base.field_shape)
        c, s = float(base.field_center), float(base.field_scale)
        bounds = Bounds((base.field_low - c) / s, (base.field_high - c) / s)
        x_best = ((base.instance.initial.astype(np.float64) - c) / s).ravel()
        state: dict[str, Any] = {"x": x_best, "f": np.inf, "info": {}, "iteration": 0}

        def to_action(x: np.ndarray) -> np.ndarray:
            m = (x * s + c).reshape(shape)
            return np.clip(m, base.field_low, base.field_high).astype(np.float32)

        def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
            if base.counter.remaining < 2:
                raise _OutOfBudget
            obs, _, _, _, info = env.step(to_action(x))
            f = float(obs["misfit"][0])
            state["info"] = info
            if f < state["f"]:
                state["x"], state["f"] = x.copy(), f
            return f, obs["gradient"].astype(np.float64).ravel() * s

        def on_iteration(intermediate_result: OptimizeResult) -> None:
            state["iteration"] += 1
            if callback is not None:
                it = state["iteration"]
                callback(Progress(iteration=it, misfit=float(intermediate_result.fun), info=state["info"]))

        max_iterations = int(p["iterations"])
        for _ in range(int(p["restarts"]) + 1):
            left = max_iterations - state["iteration"]
            evals = base.counter.remaining // 2
            if left <= 0 or evals < 1:
                break
            f_start = state["f"]
            try:
                minimize(
                    objective,
                    state["x"],
                    jac=True,
                    method="L-BFGS-B",
                    bounds=bounds,
                    callback=on_iteration,
                    options={
                        "maxiter": left,
                        "maxfun": evals,
                        "maxcor": int(p["memory"]),
                        "ftol": float(p["ftol"]),
                        "gtol": float(p["gtol"]),
                    },
                )
            except _OutOfBudget:
                break
            if not state["f"] < f_start:
                break
        return to_action(state["x"])
