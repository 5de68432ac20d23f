"""``wavediffusion-stage1`` and ``wavediffusion``: WaveDiffusion's amortized inversions.

``wavediffusion-stage1`` uses stage 1 alone as image-to-image inversion: the seismic encoder reads the
observed data (decimated and transformed as in training, :mod:`solvers.wavediffusion.transforms`), the
shared codebook quantises the latent, the velocity decoder maps it to a 64 x 64 map, which is resized to
the task's grid and clipped to its velocity range.

``wavediffusion`` refines that latent with the stage-2 latent diffusion model as the paper does
(:mod:`solvers.wavediffusion.refine`): the last 10 denoising steps from stage 1's latent, at each the
best of 100 candidate latents by the L2 distance of their decoded seismic data to the observed data,
then the velocity decoder on the final latent.

Both are amortized: trained offline on simulated pairs, they read only the instance's observed data and
mask and spend no PDE solve (neither calls the environment's operator; the seismic decoder stands in for
the physics). They meet data outside their training distribution (noise, missing traces, a low-cut
filter: the pairs are clean and complete) and still return an estimate, which the harness scores; only
data that cannot be read at all (wrong shape, NaN or infinite values, no signal anywhere) raise an error.
A task whose acquisition differs from the one the weights were trained for is skipped with the reason, as
are all tasks while the weights are missing (the reason names the commands that make them).
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch

from invbench.core.solver import ProgressCallback, Reference, Solver, task_family
from solvers.wavediffusion.checkpoint import (
    STAGE1_KIND,
    Stage1,
    load_stage1,
    read_kind,
    stage1_name,
    train_hint,
)

WAVEDIFFUSION = Reference(
    'H. Wang, Y. Feng, Y. Chen, J. Kang, Y. Wu, Y. J. Kim, Y. Lin, "WaveDiffusion: Exploring full waveform '
    'inversion via joint diffusion in the latent space", ICML (2025); arXiv:2410.09002',
    "https://arxiv.org/abs/2410.09002",
)


def check_observed(observed: torch.Tensor, expected: tuple[int, ...], name: str) -> None:
    """Raise a ``ValueError`` naming the problem when observed data cannot be read at all.

    Noisy data, zeroed (missing) traces and filtered data are readable: the networks return an estimate.

    Raises:
        ValueError: Wrong shape, NaN or infinite values, or all-zero data (no trace recorded anything).
    """
    if tuple(observed.shape) != tuple(expected):
        raise ValueError(f"{name}: observed data have shape {tuple(observed.shape)}, expected {expected}")
    finite = torch.isfinite(observed)
    if not bool(finite.all()):
        raise ValueError(f"{name}: the observed data contain {int((~finite).sum())} NaN or infinite values")
    if not bool((observed != 0).any()):
        raise ValueError(f"{name}: the observed data are zero everywhere (no trace recorded any signal)")


class _WaveDiffusionBase(Solver):
    """What both solvers share: the FWI family, the checkpoint parameter, skips, loading, the data path."""

    families: ClassVar[tuple[str, ...] | None] = ("fwi",)
    amortized: ClassVar[bool] = True
    references: ClassVar[tuple[Reference, ...]] = (WAVEDIFFUSION,)
    kind: ClassVar[str] = STAGE1_KIND

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.stage1: Stage1 | None = None
        self._spec: str | None = None

    def default_checkpoint(self) -> str:
        """The shipped weights ``checkpoint="auto"`` means."""
        return stage1_name()

    def _resolve(self, spec: Any) -> str:
        return self.default_checkpoint() if spec == "auto" else str(spec)

    def resolve_params(self, env: gym.Env) -> dict[str, Any]:
        """As :meth:`Solver.resolve_params`, with ``checkpoint="auto"`` replaced by the weights' name."""
        params = super().resolve_params(env)
        self.params["checkpoint"] = params["checkpoint"] = self._resolve(params["checkpoint"])
        return params

    def stage1_manifest(self, spec: str) -> dict[str, Any]:
        """The manifest of the stage-1 weights the checkpoint ``spec`` uses (its own, here)."""
        return read_kind(spec, self.kind)

    def skip_reason(self, env: gym.Env, spec: str) -> str | None:
        """Why the weights ``spec`` cannot serve the task (``None`` when they can)."""
        from invbench.nn.weights import WeightsError

        try:
            manifest = self.stage1_manifest(spec)
        except WeightsError as e:
            return f"no trained WaveDiffusion weights {spec!r} are installed ({e}); {train_hint()}"
        trained = manifest.get("acquisition")
        task = env.unwrapped.acquisition.to_dict()
        if trained != task:
            diff = sorted(k for k in task if not isinstance(trained, dict) or trained.get(k) != task[k])
            return (
                f"{spec!r} was trained for another acquisition (differs in {', '.join(diff)}) than the task's"
            )
        return None

    def applies_to(self, env: gym.Env) -> str | None:
        """Skip non-FWI tasks, tasks of another acquisition, and every task while the weights are missing."""
        reason = super().applies_to(env)
        if reason is not None:
            return reason
        return self.skip_reason(env, self._resolve(self.params.get("checkpoint", "auto")))

    def load(self, spec: str, device: torch.device) -> None:
        """Load the weights ``spec`` (called by :meth:`setup` when they changed)."""
        self.stage1 = load_stage1(spec, device)

    def setup(self, env: gym.Env) -> None:
        """Load and verify the weights (sha256, architecture) onto the environment's device, once."""
        super().setup(env)
        spec = self.params["checkpoint"]
        reason = self.skip_reason(env, spec)
        if reason is not None:
            raise ValueError(f"{self.name}: {reason}")
        if self.stage1 is None or self._spec != spec:
            self.load(spec, env.unwrapped.device)
            self._spec = spec

    def observed_input(self, env: gym.Env) -> tuple[torch.Tensor, torch.Tensor]:
        """The observed data as the seismic branch reads them ``(1, C, T, R)``, and the receiver weights.

        Raises:
            ValueError: Before :meth:`setup`, or for data that cannot be read (:func:`check_observed`).
        """
        if self.stage1 is None or task_family(env) != "fwi":
            raise ValueError(f"{self.name}: call setup(env) on an FWI task before solve")
        base = env.unwrapped
        observed = base.instance.observed  # (shot, time, receiver), missing traces zeroed
        check_observed(observed, tuple(base.data_shape), self.name)
        s = self.stage1.seismic_input(observed[None], base.acquisition.dt)
        weights = self.stage1.seismic.receiver_weights(base.instance.mask.reshape(-1)).to(s.device)
        return s, weights

    def to_field(self, env: gym.Env, y: torch.Tensor) -> np.ndarray:
        """The task's field ``(1, nz, nx)`` m/s of a normalised 64 x 64 velocity ``(1, 1, s, s)``."""
        assert self.stage1 is not None
        base = env.unwrapped
        v = self.stage1.velocity.to_field(y, (base.acquisition.nz, base.acquisition.nx))[0]
        return np.clip(v.cpu().numpy(), base.field_low, base.field_high).astype(np.float32)

    def weights(self) -> list[dict[str, Any]]:
        """The records of the loaded weights (name, sha256s, training)."""
        if self.stage1 is None:
            return []
        from invbench.nn.weights import weights_record

        return [weights_record(self.stage1.spec)]

    def manifests(self) -> list[dict[str, Any]]:
        """The manifests of the loaded weights."""
        return [self.stage1.manifest] if self.stage1 is not None else []

    def training_cost(self) -> dict[str, Any]:
        """Training cost including the simulation of the training pairs (forward PDE solves, offline).

        ``wall_time_s`` adds the simulation time of the pair folders the weights were trained on (each
        folder once, when both stages read it) to the optimisation's; ``data_pde_solves`` counts them.
        """
        cost = super().training_cost()
        folders: dict[tuple[Any, ...], dict[str, Any]] = {}
        for manifest in self.manifests():
            for p in ((manifest.get("training") or {}).get("data") or {}).get("pairs") or []:
                folders[(p.get("task"), p.get("start"), p.get("n"), p.get("time_decimation"))] = p
        pairs = list(folders.values())
        generation = float(sum(float(p.get("generation_wall_time_s") or 0.0) for p in pairs))
        cost["wall_time_s"] = float(cost["wall_time_s"]) + generation
        cost["data_generation_wall_time_s"] = generation
        cost["data_pde_solves"] = int(sum(int(p.get("pde_solves") or 0) for p in pairs))
        cost["devices"] = sorted(set(cost["devices"]) | {d for p in pairs for d in p.get("devices") or []})
        return cost


class WaveDiffusionStage1(_WaveDiffusionBase):
    """Stage 1 of WaveDiffusion as image-to-image inversion: encode, quantise, decode velocity (no PDE solve).

    Parameters:
        checkpoint: ``"auto"`` (the shipped ``fwi-wavediffusion-stage1-lite``), the name of other shipped
            stage-1 weights, or a path to ``NAME.safetensors`` (with its ``NAME.json``).
    """

    name: ClassVar[str] = "wavediffusion-stage1"
    defaults: ClassVar[dict[str, Any]] = {"checkpoint": "auto"}

    def solve(self, env: gym.Env, *, callback: ProgressCallback | None = None) -> np.ndarray:
        """Stage 1's estimate from the observed data (``callback`` is not called: there are no iterations).

        Raises:
            ValueError: Before :meth:`setup`, or for data that cannot be read (:func:`check_observed`).
        """
        s, _ = self.observed_input(env)
        assert self.stage1 is not None
        with torch.no_grad():
            y = self.stage1.model(s)
        return self.to_field(env, y)


class WaveDiffusion(_WaveDiffusionBase):
    """WaveDiffusion's refinement: stage 1's latent through the last denoising steps, best-of-K by data fit.

    From the quantised latent of the observed data, :func:`~solvers.wavediffusion.refine.refine` runs the
    last ``refine_steps`` denoising steps of the stage-2 model; at each it draws ``candidates`` latents,
    decodes their seismic data and keeps the one closest (L2 over the recorded traces) to the observed
    data; the velocity decoder maps the final latent to the estimate. No PDE solve: the seismic decoder
    stands in for the physics. Candidates draw their noise from the environment's seeded generator, so a
    seed gives the same estimate.

    Parameters:
        checkpoint: ``"auto"`` (the shipped ``fwi-wavediffusion-ldm-lite``), the name of other shipped
            stage-2 weights, or a path to ``NAME.safetensors``; its stage 1 is found beside it or shipped.
        refine_steps: Denoising steps (paper: the last 10).
        candidates: Candidate latents per step (paper: 100).
        chunk: Candidates decoded per call (memory only; does not change the estimate).
    """

    name: ClassVar[str] = "wavediffusion"
    defaults: ClassVar[dict[str, Any]] = {
        "checkpoint": "auto",
        "refine_steps": 10,
        "candidates": 100,
        "chunk": 25,
    }
    kind: ClassVar[str] = "wavediffusion-ldm"

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.ldm: Any = None

    def default_checkpoint(self) -> str:
        """The shipped stage-2 weights ``checkpoint="auto"`` means."""
        from solvers.wavediffusion.ldm import ldm_name

        return ldm_name()

    def stage1_manifest(self, spec: str) -> dict[str, Any]:
        """The manifest of the stage 1 the stage-2 weights ``spec`` were trained on."""
        from solvers.wavediffusion.ldm import stage1_manifest_of

        return stage1_manifest_of(spec)

    def load(self, spec: str, device: torch.device) -> None:
        """Load the stage-2 weights and their stage 1 (hash-checked against each other)."""
        from solvers.wavediffusion.ldm import load_ldm

        self.ldm = load_ldm(spec, device)
        self.stage1 = self.ldm.stage1

    def solve(self, env: gym.Env, *, callback: ProgressCallback | None = None) -> np.ndarray:
        """The refined estimate (``callback`` is not called: the steps evaluate no data misfit of the task).

        Raises:
            ValueError: Before :meth:`setup`, bad parameters, or data that cannot be read
                (:func:`check_observed`).
        """
        from invbench.nn.diffusion.prior_solver import solver_generator
        from solvers.wavediffusion.refine import refine

        s, weights = self.observed_input(env)
        ldm, p = self.ldm, self.params
        with torch.no_grad():
            w, _ = refine(
                ldm.encode(s),
                s,
                eps_fn=ldm.eps,
                decode_seismic=ldm.decode_seismic,
                scheduler=ldm.scheduler,
                steps=int(p["refine_steps"]),
                candidates=int(p["candidates"]),
                chunk=int(p["chunk"]),
                weights=weights,
                generator=solver_generator(env, ldm.device),
            )
            y = ldm.decode_velocity(w)
        return self.to_field(env, y)

    def weights(self) -> list[dict[str, Any]]:
        """The records of the stage-1 and stage-2 weights (name, sha256s, training)."""
        if self.ldm is None:
            return []
        from invbench.nn.weights import weights_record

        return [weights_record(self.stage1.spec), weights_record(self.ldm.spec)]

    def manifests(self) -> list[dict[str, Any]]:
        """The manifests of stage 1 and stage 2."""
        return [self.stage1.manifest, self.ldm.manifest] if self.ldm is not None else []
