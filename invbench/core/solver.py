"""The solver protocol and the solver registry.

Every inversion method, classical or learned, is a :class:`Solver`: it is set up once (load
weights, compile: not timed), then solves one instance by driving the environment and returns the
final estimate. Solvers declare the tasks they apply to (and why they skip the others) and their
parameters with defaults, so the harness can record them.

Parameters are declared once, in ``defaults`` (name -> generic default). A solver whose good
settings differ between task families (FWI velocities vs Darcy log-conductivities) overrides some of
them per family in ``family_defaults`` (family -> {name: default}). The parameters of a run resolve,
lowest precedence first, as ``defaults``, then ``family_defaults[family]`` of the environment's
family (:func:`task_family`), then the keyword arguments given to the constructor;
:meth:`Solver.resolve_params` returns them for the harness to record.

Solvers are found by short name (built-ins and the ``invbench.solvers`` entry-point group of any
installed package) or as ``"package.module:ClassName"``. A ``module:Class`` that is not importable
from ``sys.path`` is also looked up in the current directory (as ``uvicorn module:app`` does), so
``invbench run --solver my_solver:MySolver`` works from the folder holding ``my_solver.py``.
"""

from __future__ import annotations

import abc
import difflib
import importlib
import inspect
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

BUILTIN_SOLVERS: dict[str, str] = {
    "initial": "baselines.initial:InitialModel",
    "adam": "baselines.gradient:AdamFWI",
    "lbfgs": "baselines.lbfgs:LBFGS",
    "tikhonov": "baselines.regularized:Tikhonov",
    "tv": "baselines.regularized:TotalVariation",
    "multiscale": "baselines.multiscale:Multiscale",
    "red-diffeq": "solvers.red_diffeq.solver:REDDiffEq",
    "diffusion-fwi": "solvers.diffusion_fwi.solver:DiffusionFWI",
    "vae": "solvers.ld_dim.vae:PhysicsVAE",
    "ld-dim": "solvers.ld_dim.solver:LDDIM",
    "pinn": "solvers.pinn.solver:PINN",
    "inversionnet": "solvers.inversionnet.solver:InversionNet",
    "wavediffusion-stage1": "solvers.wavediffusion.solver:WaveDiffusionStage1",
    "wavediffusion": "solvers.wavediffusion.solver:WaveDiffusion",
}
ENTRY_POINT_GROUP = "invbench.solvers"


@dataclass
class Progress:
    """One iteration's report from a solver to the harness (progress bars, curves).

    Attributes:
        iteration: 1-based iteration number.
        misfit: The data misfit of the iterate (as the environment reports it).
        info: The environment's ``info`` after the iteration (PDE-solve counters, wall time).
    """

    iteration: int
    misfit: float
    info: dict[str, Any]


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class Reference:
    """A publication or code release a solver implements or takes its settings from.

    The leaderboard's method cards list a solver's :attr:`Solver.references`, so a visitor can find
    the method's source without reading the module.

    Attributes:
        citation: Authors, title, venue and year, as one line.
        url: A link (arXiv, DOI, repository) where one exists.
        note: What the solver takes from it (``"the optimiser"``, ``"defaults"``, ...); empty when it
            implements the publication's method.
    """

    citation: str
    url: str | None = None
    note: str = ""


def task_family(env: gym.Env) -> str:
    """The task family of an environment: ``"fwi"``, ``"darcy"``, ...

    Every :class:`~invbench.core.env.InverseProblemEnv` declares it.

    Raises:
        TypeError: ``env`` does not wrap an invbench environment.
    """
    from invbench.core.env import InverseProblemEnv

    base = env.unwrapped
    if not isinstance(base, InverseProblemEnv):
        raise TypeError(f"{type(base).__name__} is not an invbench InverseProblemEnv (no task_family)")
    return base.task_family


class Solver(abc.ABC):
    """Base class of every invbench solver.

    Subclasses set ``name``, ``defaults`` (every parameter name -> its default) and implement
    :meth:`solve`; they may set ``family_defaults`` (task family -> parameter overrides) and
    ``families`` (the task families they apply to), and override :meth:`applies_to` and
    :meth:`setup`. ``self.params`` holds the parameters: the constructor's resolution (without a
    task family) until :meth:`resolve_params` binds them to an environment.

    Args:
        **params: Parameter values overriding the defaults (every family's).

    Raises:
        ValueError: For a parameter the solver does not declare.
    """

    name: ClassVar[str] = "solver"
    defaults: ClassVar[dict[str, Any]] = {}
    family_defaults: ClassVar[dict[str, dict[str, Any]]] = {}
    families: ClassVar[tuple[str, ...] | None] = None
    """Task families the solver applies to (``None``: all)."""
    amortized: ClassVar[bool] = False
    """Trained offline, so that inference needs no or few PDE solves (its training cost is then
    part of its cost: see :meth:`training_cost`)."""
    references: ClassVar[tuple[Reference, ...]] = ()
    """The papers (and code releases) the method comes from, for its leaderboard card."""
    batched: ClassVar[bool] = False
    """:meth:`solve_batch` solves B instances together (one batched physics call per iteration), so
    the harness may group this solver's cells on one task into batches (``invbench bench
    --batch-size``). A batched solver must give each instance the estimate :meth:`solve` would."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for family, overrides in cls.family_defaults.items():
            undeclared = sorted(set(overrides) - set(cls.defaults))
            if undeclared:
                raise TypeError(
                    f"{cls.__name__}.family_defaults[{family!r}] sets {undeclared}, which are not "
                    "declared in defaults (declare every parameter there)"
                )

    def __init__(self, **params: Any) -> None:
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            raise ValueError(f"{self.name}: unknown parameters {unknown}; known: {sorted(self.defaults)}")
        self.overrides: dict[str, Any] = dict(params)
        self.params: dict[str, Any] = {**self.defaults, **params}

    def resolve_params(self, env: gym.Env) -> dict[str, Any]:
        """Resolve the parameters against the environment's task family and keep them.

        Precedence, lowest first: ``defaults``, ``family_defaults[task_family(env)]``, the
        constructor's keyword arguments. Idempotent; the harness records the result.

        Returns:
            A copy of the resolved parameters (also stored in ``self.params``).
        """
        family = self.family_defaults.get(task_family(env), {})
        self.params = {**self.defaults, **family, **self.overrides}
        return dict(self.params)

    def applies_to(self, env: gym.Env) -> str | None:
        """``None`` when the solver applies to the task, otherwise the reason it skips it."""
        family = task_family(env)
        if self.families is not None and family not in self.families:
            return f"{self.name} applies to {', '.join(self.families)} tasks only, not {family}"
        return None

    def setup(self, env: gym.Env) -> None:
        """One-off preparation before solving (not timed): load weights, build operators.

        The base implementation resolves the parameters against the task (:meth:`resolve_params`);
        subclasses that override it should call ``super().setup(env)``.
        """
        self.resolve_params(env)

    @abc.abstractmethod
    def solve(self, env: gym.Env, *, callback: ProgressCallback | None = None) -> np.ndarray:
        """Solve the instance the environment was reset to; return the final estimate."""

    def solve_batch(
        self, vec_env: Any, *, callbacks: Sequence[ProgressCallback | None] | None = None
    ) -> list[np.ndarray]:
        """Solve the B instances a vector environment was reset to; one estimate per sub-environment.

        ``vec_env`` is an :class:`~invbench.core.vector.InverseProblemVectorEnv`; ``callbacks[k]``
        receives sub-environment k's progress. This default solves them one after another through
        :meth:`solve` on each sub-environment (correct for every solver, no faster); solvers that set
        :attr:`batched` override it to simulate all B in one call per iteration
        (``vec_env.evaluate`` / ``vec_env.operator``).
        """
        envs = list(vec_env.envs)
        calls = list(callbacks) if callbacks is not None else [None] * len(envs)
        if len(calls) != len(envs):
            raise ValueError(f"{self.name}: {len(calls)} callbacks for {len(envs)} sub-environments")
        return [self.solve(env, callback=cb) for env, cb in zip(envs, calls, strict=True)]

    def weights(self) -> list[dict[str, Any]]:
        """The trained weights the solver uses (after :meth:`setup`), one record each.

        Each record has ``name``, ``sha256`` (of the weights file), ``manifest_sha256`` and ``training``
        (``device``, ``steps``, ``wall_time_s`` from the manifest): see
        :func:`invbench.nn.weights.weights_record`. Empty for methods without learned parts.
        """
        return []

    def training_cost(self) -> dict[str, Any]:
        """What training the weights of :meth:`weights` took, summed over them.

        Returns:
            ``steps``, ``wall_time_s`` and the ``devices`` used (zeros and no devices for a method
            without learned weights).
        """
        records = self.weights()
        training = [r.get("training", {}) for r in records]
        return {
            "steps": int(sum(int(t.get("steps") or 0) for t in training)),
            "wall_time_s": float(sum(float(t.get("wall_time_s") or 0.0) for t in training)),
            "devices": sorted({str(t["device"]) for t in training if t.get("device")}),
        }


def available_solvers() -> dict[str, str]:
    """Short name -> ``"module:Class"`` of every built-in and entry-point solver."""
    known = dict(BUILTIN_SOLVERS)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        known.setdefault(ep.name, ep.value)
    return known


def _import_module(module_name: str) -> ModuleType:
    """Import a module, retrying from the current directory when it is not on ``sys.path``."""
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        top = module_name.partition(".")[0]
        cwd = os.getcwd()
        if e.name != top or cwd in sys.path or not _exists_in(cwd, top):
            raise
        sys.path.append(cwd)
        return importlib.import_module(module_name)


def _exists_in(folder: str, top: str) -> bool:
    return os.path.isfile(os.path.join(folder, f"{top}.py")) or os.path.isdir(os.path.join(folder, top))


def load_solver_class(spec: str) -> type[Solver]:
    """Find a solver class by short name, entry point, or ``"module:Class"``.

    Raises:
        ValueError: For an unknown name (listing close matches) or a bad ``module:Class``.
    """
    if ":" in spec and spec not in BUILTIN_SOLVERS:
        target = spec
    else:
        known = available_solvers()
        if spec not in known:
            close = difflib.get_close_matches(spec, list(known), n=5, cutoff=0.4)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            raise ValueError(
                f"unknown solver {spec!r}.{hint} Known: {', '.join(sorted(known))} "
                "(or give a 'package.module:Class')"
            )
        target = known[spec]
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise ValueError(f"cannot load solver {spec!r}: expected 'package.module:Class', got {target!r}")
    try:
        module = _import_module(module_name)
        cls = getattr(module, attr)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"cannot load solver {spec!r} from {target!r}: {e}") from e
    if not (isinstance(cls, type) and issubclass(cls, Solver)):
        raise ValueError(f"{target!r} is not an invbench.core.solver.Solver subclass")
    if inspect.isabstract(cls):
        missing = ", ".join(sorted(cls.__abstractmethods__))
        raise ValueError(f"solver {target!r} cannot be used: it does not implement {missing}")
    return cls
