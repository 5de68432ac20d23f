"""The shared base of solvers that use a diffusion prior, and the helpers that find the prior of a task.

:class:`PriorSolver` loads a :class:`~invbench.nn.diffusion.prior.DiffusionPrior` in ``setup`` (by
checkpoint path, or ``prior="auto"``: the shipped lite prior of the task's domain), records its weights'
hashes, and skips tasks whose prior is missing or does not fit. RED-DiffEq and diffusion-FWI build on it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import torch

from invbench.core.data_loss import DATA_LOSSES, check_data_loss
from invbench.core.solver import Solver, task_family

# --------------------------------------------------------------------------- prior helpers


def task_domain(env: gym.Env) -> str | None:
    """The prior domain of a task: ``"fwi"``, ``"darcy-grf"``, ``"darcy-bimaterial"`` (else ``None``)."""
    family = task_family(env)
    if family == "fwi":
        return "fwi"
    if family == "darcy":
        spec = getattr(env.unwrapped, "spec_family", None)
        name = getattr(spec, "name", "")
        return {"GRF": "darcy-grf", "Bimaterial": "darcy-bimaterial"}.get(name)
    return None


def default_prior_name(env: gym.Env) -> str | None:
    """The shipped lite checkpoint for the task's domain (``DOMAIN-lite``)."""
    domain = task_domain(env)
    return None if domain is None else f"{domain}-lite"


def resolve_prior_spec(spec: str, env: gym.Env) -> str:
    """``"auto"`` -> the domain's shipped name; anything else unchanged."""
    if spec == "auto":
        return default_prior_name(env) or "auto"
    return str(spec)


def _train_hint(domain: str) -> str:
    return (
        f"train one with `invbench train-prior --domain {domain} --preset lite` "
        "(all shipped ones: solvers/red_diffeq/train_lite_priors.sh)"
    )


def prior_manifest(spec: str) -> dict[str, Any]:
    """The manifest of a prior checkpoint (path or shipped name), read without loading the weights.

    Raises:
        invbench.nn.weights.WeightsError: Missing or unreadable checkpoint.
    """
    from invbench.nn.shipped import resolve_checkpoint
    from invbench.nn.weights import checkpoint_paths, read_manifest

    weights = resolve_checkpoint(spec)
    if not Path(weights).is_file():
        from invbench.nn.weights import WeightsError

        raise WeightsError(f"{weights}: no such weights file")
    return read_manifest(checkpoint_paths(weights)[1])


def prior_skip_reason(spec: str, env: gym.Env, *, allow_wider: bool = False) -> str | None:
    """Why a prior cannot serve the task (``None`` when it can).

    Checks that the checkpoint is installed, that its domain is the task's and that its field shape is
    the task's (with ``allow_wider``: same height, width at least the prior's).
    """
    from invbench.nn.normalize import Normalization
    from invbench.nn.weights import WeightsError

    domain = task_domain(env)
    if domain is None:
        return f"no diffusion prior domain for task family {task_family(env)!r}"
    try:
        manifest = prior_manifest(spec)
        norm = Normalization.from_dict(manifest["normalization"])
    except (WeightsError, KeyError, TypeError, ValueError, json.JSONDecodeError) as e:
        return f"no trained prior checkpoint {spec!r} is installed ({e}); {_train_hint(domain)}"
    if norm.domain != domain:
        return f"prior {spec!r} is for domain {norm.domain!r}, the task is {domain!r}"
    shape = tuple(env.unwrapped.field_shape[-2:])
    ph, pw = norm.field_shape
    if shape == (ph, pw):
        return None
    if allow_wider and shape[0] == ph and shape[1] > pw:
        return None
    return f"prior {spec!r} covers {ph} x {pw} fields, the task's are {shape[0]} x {shape[1]}"


def solver_generator(env: gym.Env, device: torch.device) -> torch.Generator:
    """A torch generator seeded from the environment's ``np_random`` (seeded by ``reset(seed=...)``)."""
    seed = int(env.unwrapped.np_random.integers(0, 2**62))
    return torch.Generator(device=device).manual_seed(seed)


class PriorSolver(Solver):
    """A solver that uses a :class:`~invbench.nn.diffusion.prior.DiffusionPrior` (loaded in :meth:`setup`)."""

    families: ClassVar[tuple[str, ...] | None] = ("fwi", "darcy")
    allow_wider: ClassVar[bool] = False

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.prior: Any = None
        self._prior_spec: str | None = None

    def resolve_params(self, env: gym.Env) -> dict[str, Any]:
        """As :meth:`Solver.resolve_params`, with ``prior="auto"`` replaced by the domain's shipped name."""
        params = super().resolve_params(env)
        self.params["prior"] = params["prior"] = resolve_prior_spec(params["prior"], env)
        return params

    def applies_to(self, env: gym.Env) -> str | None:
        """Skip tasks outside FWI/Darcy, and tasks whose prior is missing or does not fit."""
        reason = super().applies_to(env)
        if reason is not None:
            return reason
        spec = resolve_prior_spec(self.params.get("prior", "auto"), env)
        return prior_skip_reason(spec, env, allow_wider=self.allow_wider)

    def setup(self, env: gym.Env) -> None:
        """Load the prior (once per checkpoint) onto the environment's device."""
        super().setup(env)
        from invbench.nn.diffusion.checkpoint import load_prior

        spec = self.params["prior"]
        reason = prior_skip_reason(spec, env, allow_wider=self.allow_wider)
        if reason is not None:
            raise ValueError(f"{self.name}: {reason}")
        if self.prior is None or self._prior_spec != spec:
            self.prior = load_prior(spec, device=env.unwrapped.device)
            self._prior_spec = spec

    def weights(self) -> list[dict[str, Any]]:
        """The loaded prior's weights record (:func:`invbench.nn.weights.weights_record`)."""
        if self.prior is None or self._prior_spec is None:
            return []
        from invbench.nn.weights import weights_record

        return [weights_record(self._prior_spec)]

    def _prepare(self, env: gym.Env) -> Any:
        """Resolve and check the parameters, load the prior if needed, and return it."""
        self.resolve_params(env)
        check_data_loss(self.name, self.params.get("data_loss", DATA_LOSSES[0]))
        if self.prior is None or self._prior_spec != self.params.get("prior"):
            self.setup(env)
        return self.prior
