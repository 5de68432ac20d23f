"""Multiscale FWI by frequency continuation (Bunks, Saleck, Zaleski & Chavent 1995).

Bunks et al. (Geophysics 60(5), 1457-1473, 1995) invert the low frequencies of the data first,
where the misfit has fewer local minima (less cycle skipping), and use each result to start the
inversion of a wider band. Here the stages are low-pass cut-offs ``cutoffs`` (Hz; ``0`` = the full
band), by default 4, 8, 12 Hz, then the full band of the task's 15 Hz Ricker source; each stage
runs Adam on the normalised velocity ``(v - 3000) / 1500`` with the plain ``adam`` baseline's
settings (lr 0.03, cosine annealing over the stage, clamp to [1500, 4500] m/s) and a fresh
optimiser state, and ``iterations`` (300, as the other baselines) are split evenly across the
stages (the remainder goes to the last ones). When the budget allows fewer iterations, the
iterations the budget allows are split the same way.

Stage misfit: the counted, differentiable forward operator ``env.unwrapped.operator`` (one forward
solve, and one adjoint solve on ``backward``) gives the predicted data; the task's own processing
(its low-cut filter, ``options["lowcut"]``) is applied to it, then the zero-phase low-pass
:func:`invbench.physics.wave.filters.lowpass` to it *and* to the observed data, and the relative misfit
(the task's ``l1``/``l2``, missing traces masked) is taken between them. At the full-band stage this
is exactly the environment's ``data_misfit``. Low-passing the predicted data equals simulating with
a low-passed wavelet: the acoustic wavefield is linear in the source, ``d = G(m) * w`` (time
convolution with the wavelet ``w``), and the filter is a time-invariant convolution too, so
``lowpass(G(m) * w) = G(m) * lowpass(w)`` (up to the filter's acausal tail before t = 0, which the
zero-padded FFT keeps out of the record). Filtering the data avoids rebuilding the propagator.

Progress reports carry the *stage* misfit (low-passed data) and ``info["cutoff_hz"]``.

Applies to FWI tasks only: the continuation acts on the frequency band of time-series data from a
band-limited source; the Darcy tasks observe steady-state heads, which have no time axis.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch

from invbench.core.misfit import relative_misfit
from invbench.core.solver import Progress, ProgressCallback, Reference, Solver, task_family
from invbench.physics.wave.filters import highpass, lowpass


def split_iterations(total: int, stages: int) -> list[int]:
    """Split ``total`` iterations evenly over ``stages``; the remainder goes to the last stages."""
    if stages < 1:
        raise ValueError("multiscale needs at least one stage (cutoffs)")
    q, r = divmod(max(total, 0), stages)
    return [q + (1 if k >= stages - r else 0) for k in range(stages)]


class Multiscale(Solver):
    """Frequency-continuation FWI: Adam on low-passed data, cut-off raised stage by stage."""

    name: ClassVar[str] = "multiscale"
    references: ClassVar[tuple[Reference, ...]] = (
        Reference(
            'C. Bunks, F. M. Saleck, S. Zaleski, G. Chavent, "Multiscale seismic waveform inversion", '
            "Geophysics 60(5), 1457-1473 (1995)",
            "https://doi.org/10.1190/1.1443880",
        ),
    )
    defaults: ClassVar[dict[str, Any]] = {"cutoffs": [4.0, 8.0, 12.0, 0.0], "lr": 0.03, "iterations": 300}
    families: ClassVar[tuple[str, ...] | None] = ("fwi",)

    def applies_to(self, env: gym.Env) -> str | None:
        """FWI only: frequency continuation needs time-series data from a band-limited source."""
        family = task_family(env)
        if family != "fwi":
            return (
                f"multiscale frequency continuation low-passes seismic traces in time; the {family} "
                "task's data have no time axis or source band to continue over"
            )
        return None

    def _stage_misfit(
        self, base: Any, m: torch.Tensor, observed_lp: torch.Tensor, cutoff: float
    ) -> torch.Tensor:
        dt = float(base.acquisition.dt)
        pred = base.operator(m)[0]
        lowcut = float(base.options.get("lowcut", 0.0))
        if lowcut > 0:
            pred = highpass(pred, dt, lowcut)
        pred = lowpass(pred, dt, cutoff)
        return relative_misfit(pred, observed_lp, kind=base.misfit_kind, mask=base.instance.mask)

    def solve(self, env: gym.Env, *, callback: ProgressCallback | None = None) -> np.ndarray:
        """Run the frequency stages in order, within the iteration count and the PDE-solve budget."""
        p = self.resolve_params(env)
        base = env.unwrapped
        inst = base.instance
        c, s = float(base.field_center), float(base.field_scale)
        lo, hi = (base.field_low - c) / s, (base.field_high - c) / s
        cutoffs = [float(f) for f in p["cutoffs"]]
        total = min(int(p["iterations"]), base.counter.remaining // 2)
        plan = split_iterations(total, len(cutoffs))
        mu = torch.tensor((inst.initial - c) / s, dtype=torch.float64)
        it = 0
        for cutoff, n_iter in zip(cutoffs, plan, strict=True):
            if n_iter == 0:
                continue
            observed_lp = lowpass(inst.observed, float(base.acquisition.dt), cutoff)
            mu = mu.detach().requires_grad_(True)
            opt = torch.optim.Adam([mu], lr=float(p["lr"]))
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=n_iter)
            for _ in range(n_iter):
                if base.counter.remaining < 2:
                    break
                opt.zero_grad()
                misfit = self._stage_misfit(base, (mu * s + c).unsqueeze(0), observed_lp, cutoff)
                misfit.backward()
                opt.step()
                sched.step()
                with torch.no_grad():
                    mu.clamp_(lo, hi)
                it += 1
                if callback is not None:
                    info = {**base.counter.as_dict(), "cutoff_hz": cutoff}
                    callback(Progress(iteration=it, misfit=float(misfit.detach()), info=info))
        estimate = (mu.detach().numpy() * s + c).astype(np.float32)
        return np.clip(estimate, base.field_low, base.field_high)
