"""``inversionnet``: OpenFWI's InversionNet, a network from seismic data straight to a velocity map.

Amortized: trained offline on simulated pairs (``invbench generate-pairs``, then ``invbench train --model
inversionnet``), it estimates a map in one forward pass of the network and spends no PDE solve. It reads
only the instance's observed data: decimated in time as in training
(:func:`invbench.data.pairs.decimate_time`), transformed as OpenFWI does
(:mod:`solvers.inversionnet.transforms`), mapped to normalised velocity and back to m/s.

It meets data outside its training distribution (noise, missing traces, a low-cut filter: the pairs are
clean and complete) and still returns an estimate, which the harness scores; only data it cannot read at
all (NaN or infinite values, or no signal anywhere) raise an error. A task whose acquisition differs from
the one the weights were trained for (other grid, shots, receivers or time sampling) is skipped with the
reason.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch

from invbench.core.solver import ProgressCallback, Reference, Solver, task_family

WU_LIN_2019 = Reference(
    'Y. Wu, Y. Lin, "InversionNet: An efficient and accurate data-driven full waveform inversion", '
    "IEEE Transactions on Computational Imaging 6, 419-433 (2019)",
    None,
)
OPENFWI = Reference(
    'C. Deng et al., "OpenFWI: Large-scale multi-structural benchmark datasets for full waveform inversion", '
    "NeurIPS Datasets and Benchmarks (2022); arXiv:2111.02926",
    "https://github.com/lanl/OpenFWI",
    note="the released network (network.py), transforms and training settings (train.py)",
)


def default_weights_name(preset: str = "lite") -> str:
    """Name of the InversionNet weights a task uses by default (``fwi-inversionnet-lite``)."""
    return f"fwi-inversionnet-{preset}"


def train_hint() -> str:
    """The commands that make the default weights."""
    return (
        "make pairs of the four families with `invbench generate-pairs --task FWI-FlatVel-A-v0 --n N "
        "--out pairs/FlatVel-A` (likewise CurveVel-A-v0, FlatFault-A-v1, CurveFault-A-v1), then train with "
        "`invbench train --model inversionnet --pairs pairs/FlatVel-A --pairs ... --preset lite` "
        "(docs/inversionnet.md)"
    )


def check_observed(observed: torch.Tensor, expected: tuple[int, ...]) -> None:
    """Raise a ``ValueError`` naming the problem when the observed data cannot be read at all.

    Noisy data, zeroed (missing) traces and filtered data are readable: the network returns an estimate.

    Raises:
        ValueError: Wrong shape, NaN or infinite values, or all-zero data (no trace recorded anything).
    """
    if tuple(observed.shape) != tuple(expected):
        raise ValueError(
            f"inversionnet: observed data have shape {tuple(observed.shape)}, expected {expected}"
        )
    finite = torch.isfinite(observed)
    if not bool(finite.all()):
        bad = int((~finite).sum())
        raise ValueError(f"inversionnet: the observed data contain {bad} NaN or infinite values")
    if not bool((observed != 0).any()):
        raise ValueError("inversionnet: the observed data are zero everywhere (no trace recorded any signal)")


class InversionNet(Solver):
    """InversionNet on the instance's observed data: one network evaluation, no PDE solve.

    Parameters:
        checkpoint: ``"auto"`` (the shipped ``fwi-inversionnet-lite``), the name of other shipped weights,
            or a path to ``NAME.safetensors`` (with its ``NAME.json``).
    """

    name: ClassVar[str] = "inversionnet"
    families: ClassVar[tuple[str, ...] | None] = ("fwi",)
    amortized: ClassVar[bool] = True
    references: ClassVar[tuple[Reference, ...]] = (WU_LIN_2019, OPENFWI)
    defaults: ClassVar[dict[str, Any]] = {"checkpoint": "auto"}

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self.net: torch.nn.Module | None = None
        self.manifest: dict[str, Any] = {}
        self._spec: str | None = None

    @staticmethod
    def _resolve(spec: Any) -> str:
        return default_weights_name() if spec == "auto" else str(spec)

    def resolve_params(self, env: gym.Env) -> dict[str, Any]:
        """As :meth:`Solver.resolve_params`, with ``checkpoint="auto"`` replaced by the weights' name."""
        params = super().resolve_params(env)
        self.params["checkpoint"] = params["checkpoint"] = self._resolve(params["checkpoint"])
        return params

    def skip_reason(self, env: gym.Env, spec: str) -> str | None:
        """Why the weights ``spec`` cannot serve the task (``None`` when they can)."""
        import json

        from invbench.nn.shipped import resolve_checkpoint
        from invbench.nn.weights import WeightsError, checkpoint_paths, read_manifest

        try:
            manifest = read_manifest(checkpoint_paths(resolve_checkpoint(spec))[1])
        except (WeightsError, OSError, json.JSONDecodeError) as e:
            return f"no trained InversionNet {spec!r} is installed ({e}); {train_hint()}"
        if manifest.get("kind") != "inversion-network":
            return f"{spec!r} is a {manifest.get('kind')!r} checkpoint, not an InversionNet"
        trained = manifest.get("acquisition")
        task = env.unwrapped.acquisition.to_dict()
        if trained != task:
            diff = sorted(k for k in task if not isinstance(trained, dict) or trained.get(k) != task[k])
            return (
                f"{spec!r} was trained for another acquisition (differs in {', '.join(diff)}) than the task's"
            )
        return None

    def applies_to(self, env: gym.Env) -> str | None:
        """Skip non-FWI tasks and tasks whose acquisition the weights were not trained for."""
        reason = super().applies_to(env)
        if reason is not None:
            return reason
        return self.skip_reason(env, self._resolve(self.params.get("checkpoint", "auto")))

    def setup(self, env: gym.Env) -> None:
        """Load and verify the weights (sha256, architecture) onto the environment's device, once."""
        super().setup(env)
        spec = self.params["checkpoint"]
        reason = self.skip_reason(env, spec)
        if reason is not None:
            raise ValueError(f"{self.name}: {reason}")
        if self.net is None or self._spec != spec:
            from invbench.nn.weights import load_module

            self.net, self.manifest = load_module(
                spec, env.unwrapped.device, required=("transform", "acquisition")
            )
            self._spec = spec

    def solve(self, env: gym.Env, *, callback: ProgressCallback | None = None) -> np.ndarray:
        """The network's estimate from the observed data (no PDE solve; ``callback`` is not called).

        Raises:
            ValueError: Before :meth:`setup`, or for data that cannot be read (:func:`check_observed`).
        """
        from invbench.data.pairs import decimate_time
        from solvers.inversionnet.transforms import DataTransform

        if self.net is None or task_family(env) != "fwi":
            raise ValueError(f"{self.name}: call setup(env) on an FWI task before solve")
        base = env.unwrapped
        observed = base.instance.observed  # (shot, time, receiver), missing traces zeroed
        check_observed(observed, tuple(base.data_shape))
        transform = DataTransform(**self.manifest["transform"])
        with torch.no_grad():
            d = decimate_time(observed[None].float(), transform.time_decimation, base.acquisition.dt)
            y = self.net(transform.data(d))  # (1, 1, nz, nx) in [-1, 1]
            v = transform.velocity(y.float())[0].cpu().numpy()
        return np.clip(v, base.field_low, base.field_high).astype(np.float32)

    def weights(self) -> list[dict[str, Any]]:
        """The record of the loaded weights (name, sha256s, training)."""
        if self._spec is None:
            return []
        from invbench.nn.weights import weights_record

        return [weights_record(self._spec)]

    def training_cost(self) -> dict[str, Any]:
        """Training cost including the simulation of the training pairs (forward PDE solves, offline).

        ``wall_time_s`` adds the pairs' simulation time (from the manifest) to the optimisation's, so the
        leaderboard shows what training from scratch took; ``data_pde_solves`` counts those simulations.
        """
        cost = super().training_cost()
        pairs = ((self.manifest.get("training") or {}).get("data") or {}).get("pairs") or []
        generation = float(sum(float(p.get("generation_wall_time_s") or 0.0) for p in pairs))
        cost["wall_time_s"] = float(cost["wall_time_s"]) + generation
        cost["data_generation_wall_time_s"] = generation
        cost["data_pde_solves"] = int(sum(int(p.get("pde_solves") or 0) for p in pairs))
        devices = {d for p in pairs for d in p.get("devices") or []}
        cost["devices"] = sorted(set(cost["devices"]) | devices)
        return cost
