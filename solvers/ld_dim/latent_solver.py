"""The shared loop of latent-space inversion: a variable, a map to the field, the counted data misfit.

A :class:`LatentSolver` optimises a variable ``theta`` (a scaled latent, or the initial noise of a DDIM
sampler) with Adam on ``data(field(theta)) + lam * penalty(theta)``, where ``field`` decodes to a physical
field that goes through the environment's counted, differentiable operator (one forward and one adjoint
solve per iteration, whichever task). ``theta`` starts from a standard normal draw of the environment's
seeded generator, so five seeds give five initialisations. With ``inits = K > 1`` the PDE-solve budget is
split evenly over ``K`` independent starts and the estimate with the lowest *data* misfit is returned (the
truth never enters the choice).
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch

from invbench.core.data_loss import DATA_LOSSES, check_data_loss, data_terms
from invbench.core.solver import Progress, ProgressCallback, Reference, Solver
from invbench.nn.diffusion.prior_solver import solver_generator
from solvers.ld_dim.weights import resolve_weights_spec, weights_skip_reason

LD_DIM = Reference(
    'Z. Lin, Q. He, "Differentiable inverse modeling with physics-constrained latent diffusion for '
    'heterogeneous subsurface parameter fields", arXiv:2512.22421 (2025)',
    "https://arxiv.org/abs/2512.22421",
)
"""LD-DIM's paper: the source of ``ld-dim`` and of the physics-embedded VAE it compares with."""


class LatentSolver(Solver):
    """Adam in a learned latent space through the decoder and the task's PDE (see the module docstring).

    Subclasses set :attr:`model` (``"vae"`` or ``"ldm"``), load their network in :meth:`load` and define
    :meth:`field` and :meth:`penalty`.
    """

    families: ClassVar[tuple[str, ...] | None] = ("fwi", "darcy")
    model: ClassVar[str] = "vae"

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.net: Any = None
        self._spec: str | None = None

    # ----------------------------------------------------------------- weights
    def resolve_params(self, env: gym.Env) -> dict[str, Any]:
        """As :meth:`Solver.resolve_params`, with ``weights="auto"`` replaced by the domain's lite weights."""
        params = super().resolve_params(env)
        self.params["weights"] = params["weights"] = resolve_weights_spec(params["weights"], env, self.model)
        return params

    def applies_to(self, env: gym.Env) -> str | None:
        """Skip tasks outside FWI/Darcy and tasks whose weights are missing or do not fit."""
        reason = super().applies_to(env)
        if reason is not None:
            return reason
        spec = resolve_weights_spec(self.params.get("weights", "auto"), env, self.model)
        return weights_skip_reason(spec, env, self.model)

    def load(self, spec: str, device: torch.device) -> Any:
        """Load the network named ``spec``."""
        raise NotImplementedError

    def autoencoder(self) -> Any:
        """The loaded :class:`~invbench.nn.autoencoder.model.FieldAutoencoder`."""
        return self.net if self.model == "vae" else self.net.autoencoder

    def setup(self, env: gym.Env) -> None:
        """Load the weights (once per checkpoint) onto the environment's device and check they fit."""
        super().setup(env)
        spec = self.params["weights"]
        reason = weights_skip_reason(spec, env, self.model)
        if reason is not None:
            raise ValueError(f"{self.name}: {reason}")
        if self.net is None or self._spec != spec:
            self.net = self.load(spec, env.unwrapped.device)
            self._spec = spec
        shape = tuple(self.autoencoder().normalization.field_shape)
        if shape != tuple(env.unwrapped.field_shape[-2:]):
            raise ValueError(
                f"{self.name}: {spec!r} covers {shape} fields, the task's are {env.unwrapped.field_shape}"
            )

    def weights(self) -> list[dict[str, Any]]:
        """Weight records of the network and, for a latent diffusion model, of its autoencoder."""
        if self.net is None or self._spec is None:
            return []
        from invbench.nn.weights import weights_record

        records = [weights_record(self._spec)]
        if self.model == "ldm":
            records.append(weights_record(self.net.autoencoder_spec))
        return records

    # ----------------------------------------------------------------- the method
    def variable_shape(self) -> tuple[int, ...]:
        """Shape of ``theta`` (one latent)."""
        return (1, *self.autoencoder().latent_shape)

    def field(self, theta: torch.Tensor) -> torch.Tensor:
        """Physical ``(1, 1, H, W)`` field of ``theta`` (differentiable)."""
        raise NotImplementedError

    def penalty(self, theta: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """The prior term of ``theta`` (multiplied by ``lam``)."""
        raise NotImplementedError

    def check_params(self) -> None:
        """Raise a ``ValueError`` naming a bad parameter."""
        p = self.params
        check_data_loss(self.name, p.get("data_loss", DATA_LOSSES[0]))
        for key in ("iterations", "inits"):
            if not isinstance(p[key], int) or isinstance(p[key], bool) or p[key] < 1:
                raise ValueError(f"{self.name}: {key} must be a positive integer, got {p[key]!r}")
        for key in ("lr", "lam"):
            if not isinstance(p[key], int | float) or not np.isfinite(p[key]) or p[key] < 0:
                raise ValueError(f"{self.name}: {key} must be a finite number >= 0, got {p[key]!r}")
        if p["lr"] == 0:
            raise ValueError(f"{self.name}: lr must be > 0")

    def solve(self, env: gym.Env, *, callback: ProgressCallback | None = None) -> np.ndarray:
        """Run ``inits`` starts of Adam on data + ``lam`` * penalty; return the best-fitting field."""
        self.resolve_params(env)
        self.check_params()
        if self.net is None or self._spec != self.params["weights"]:
            self.setup(env)
        base = env.unwrapped
        p = self.params
        device = self.autoencoder().device
        gen = solver_generator(env, device)
        inits = int(p["inits"])
        per_start = max(2, base.counter.remaining // inits)
        best: tuple[float, np.ndarray] | None = None
        it_total = 0
        for start in range(inits):
            stop_at = base.counter.remaining - per_start if start < inits - 1 else 0
            theta = torch.randn(self.variable_shape(), generator=gen, device=device).requires_grad_(True)
            opt = torch.optim.Adam([theta], lr=float(p["lr"]))
            iterations = int(p["iterations"]) if inits == 1 else max(1, int(p["iterations"]) // inits)
            sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=iterations)
            rel = float("inf")
            last = theta.detach().clone()
            for _ in range(iterations):
                if base.counter.remaining - stop_at < 2:
                    break
                field = self.field(theta).clamp(base.field_low, base.field_high)
                data, rel = data_terms(env, field, p["data_loss"])
                reg = self.penalty(theta, gen)
                loss = data.to(device) + float(p["lam"]) * reg
                last = theta.detach().clone()
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                it_total += 1
                if callback is not None:
                    info = {
                        **base.current_info(),
                        "data_loss": float(data.detach()),
                        "penalty": float(reg.detach()),
                    }
                    info["start"] = start
                    callback(Progress(iteration=it_total, misfit=rel, info=info))
            with torch.no_grad():
                estimate = self.field(last)[0].float().cpu().numpy()
            if best is None or rel < best[0]:
                best = (rel, estimate)
        assert best is not None
        return np.clip(best[1], base.field_low, base.field_high).astype(np.float32)
