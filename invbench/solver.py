"""The solver protocol and the solver registry.

Every inversion method, classical or learned, is a :class:`Solver`: it is set up once (load
weights, compile: not timed), then solves one instance by driving the environment and returns the
final estimate. Solvers declare the tasks they apply to (and why they skip the others) and their
parameters with defaults, so the harness can record them.

Solvers are found by short name (built-ins and the ``invbench.solvers`` entry-point group of any
installed package) or as ``"package.module:ClassName"``.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

BUILTIN_SOLVERS: dict[str, str] = {
    "adam": "baselines.gradient:AdamFWI",
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


class Solver:
    """Base class of every invbench solver.

    Subclasses set ``name``, ``defaults`` (parameter name -> default) and implement :meth:`solve`;
    they may override :meth:`applies_to` and :meth:`setup`.
    """

    name: ClassVar[str] = "solver"
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, **params: Any) -> None:
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            raise ValueError(f"{self.name}: unknown parameters {unknown}; known: {sorted(self.defaults)}")
        self.params: dict[str, Any] = {**self.defaults, **params}

    def applies_to(self, env: gym.Env) -> str | None:
        """``None`` when the solver applies to the task, otherwise the reason it skips it."""
        return None

    def setup(self, env: gym.Env) -> None:
        """One-off preparation before solving (not timed): load weights, build operators."""

    def solve(self, env: gym.Env, *, callback: ProgressCallback | None = None) -> np.ndarray:
        """Solve the instance the environment was reset to; return the final estimate."""
        raise NotImplementedError


def load_solver_class(spec: str) -> type[Solver]:
    """Find a solver class by short name, entry point, or ``"module:Class"``.

    Raises:
        ValueError: For an unknown name (listing close matches) or a bad ``module:Class``.
    """
    if ":" in spec and spec not in BUILTIN_SOLVERS:
        target = spec
    else:
        known = dict(BUILTIN_SOLVERS)
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            known.setdefault(ep.name, ep.value)
        if spec not in known:
            close = difflib.get_close_matches(spec, list(known), n=5, cutoff=0.4)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            raise ValueError(f"unknown solver {spec!r}.{hint} Known: {', '.join(sorted(known))}")
        target = known[spec]
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
        cls = getattr(module, attr)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"cannot load solver {spec!r} from {target!r}: {e}") from e
    if not (isinstance(cls, type) and issubclass(cls, Solver)):
        raise ValueError(f"{target!r} is not an invbench.solver.Solver subclass")
    return cls
