"""Benchmark cells: one (task, instance, solver, parameters, repetition) run, and the plan of a suite."""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from invbench.core.solver import BUILTIN_SOLVERS, load_solver_class
from invbench.harness.seeds import derive_seed, short_hash
from invbench.harness.suites import Suite
from invbench.registry import resolve_task

DEVICES = ("auto", "cpu", "cuda")


def to_json(obj: Any) -> str:
    """Canonical JSON (sorted keys, no spaces) of parameters; numpy scalars and paths become plain values."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=_plain)


def _plain(x: Any) -> Any:
    if hasattr(x, "tolist"):
        return x.tolist()
    if isinstance(x, (set, frozenset)):
        return sorted(x)
    return str(x)


SPEC_FIELDS = (
    "task",
    "split",
    "index",
    "solver",
    "params",
    "env_kwargs",
    "max_iterations",
    "repetition",
    "base_seed",
)
"""The fields of :attr:`Cell.spec`, in the order they enter the cell id."""


def cell_id_of(spec: Mapping[str, Any]) -> str:
    """The 16-hex-digit id of a cell from its :attr:`Cell.spec` (a row's ``cell_spec``).

    Raises:
        KeyError: When a field of :data:`SPEC_FIELDS` is missing.
    """
    return short_hash("|".join(str(spec[k]) for k in SPEC_FIELDS), 16)


@dataclass(frozen=True)
class Cell:
    """One run of the benchmark: a solver with given parameters on one task instance and seed.

    Cells are plain, immutable values: they travel to dask workers and are written to
    ``plan.json`` as they are.

    Attributes:
        suite: Name of the suite the cell belongs to.
        task: Full task id (with its version).
        split: Instance split.
        index: Instance index.
        solver: Solver spec as given (short name, entry point or ``module:Class``).
        params_json: Requested solver parameters (overrides of its defaults), canonical JSON.
        repetition: Repetition number (0-based).
        base_seed: The run's base seed.
        seed: The cell's seed (see :mod:`invbench.harness.seeds`).
        timeout: Seconds allowed for ``solve``.
        max_iterations: Cap on the iteration-count parameters (``ITERATION_PARAMS``) the solver
            resolves for the task, unless ``params_json`` sets them; ``None``: no cap.
        diverge_factor: Misfit growth (relative to the first iterate) that counts as divergence.
        device: ``"auto"`` (the task's default), ``"cpu"`` or ``"cuda"``.
        save_example: Store this cell's truth and reconstruction for the leaderboard's figures.
        env_kwargs_json: Extra task options (canonical JSON); empty for the benchmark suites.
    """

    suite: str
    task: str
    split: str
    index: int
    solver: str
    params_json: str
    repetition: int
    base_seed: int
    seed: int
    timeout: float
    max_iterations: int | None = None
    diverge_factor: float = 10.0
    device: str = "auto"
    save_example: bool = False
    env_kwargs_json: str = "{}"

    @property
    def params(self) -> dict[str, Any]:
        """The requested solver parameters."""
        return json.loads(self.params_json)

    @property
    def env_kwargs(self) -> dict[str, Any]:
        """Task options passed to ``make``, including the device when one was chosen."""
        kwargs = json.loads(self.env_kwargs_json)
        if self.device != "auto":
            kwargs["device"] = self.device
        return kwargs

    @property
    def spec(self) -> dict[str, Any]:
        """What determines the cell's id (and nothing else): stored in each row as ``cell_spec``."""
        return {
            "task": self.task,
            "split": self.split,
            "index": self.index,
            "solver": self.solver,
            "params": self.params_json,
            "env_kwargs": self.env_kwargs_json,
            "max_iterations": self.max_iterations,
            "repetition": self.repetition,
            "base_seed": self.base_seed,
        }

    @property
    def cell_id(self) -> str:
        """Stable identifier of the cell: what is run, not how long it may take or where."""
        return cell_id_of(self.spec)

    @property
    def uses_gpu(self) -> bool:
        """Whether the cell asks for a CUDA device (dask then requires a ``GPU`` resource)."""
        return self.device == "cuda"

    @property
    def label(self) -> str:
        """Short human-readable name for displays."""
        task = self.task.split("/", 1)[-1]
        return f"{task} #{self.index} {self.solver} r{self.repetition}"


def solver_params(
    spec: str,
    *,
    suite_params: Mapping[str, Mapping[str, Any]] | None = None,
    user_params: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Parameters a suite gives one solver (its iteration cap is applied per task, in the cell).

    Args:
        spec: Solver spec.
        suite_params: The suite's parameters per solver name.
        user_params: Parameters from the command line per solver name; the key ``"*"`` applies
            to every solver that declares the parameter.

    Returns:
        The overrides of the solver's defaults (may be empty).

    Raises:
        ValueError: For an unknown solver, or a parameter given by name to a solver that does not
            declare it.
    """
    cls = load_solver_class(spec)
    params: dict[str, Any] = dict((suite_params or {}).get(cls.name, {}))
    user = user_params or {}
    params.update({k: v for k, v in user.get("*", {}).items() if k in cls.defaults})
    named = dict(user.get(cls.name, {}))
    unknown = sorted(set(named) - set(cls.defaults))
    if unknown:
        raise ValueError(f"solver {cls.name!r} has no parameters {unknown}; known: {sorted(cls.defaults)}")
    params.update(named)
    return params


def check_user_params(solver_specs: Sequence[str], user_params: Mapping[str, Mapping[str, Any]]) -> None:
    """Refuse ``-p`` values that no solver of the run would use.

    ``SOLVER.KEY`` must name a solver of the run (by short name or spec) and ``KEY`` without a solver
    must be declared by at least one of them; the solver's own constructor then checks the names.

    Raises:
        ValueError: Naming the parameter, the run's solvers and close matches.
    """
    classes = {spec: load_solver_class(spec) for spec in solver_specs}
    names = {cls.name for cls in classes.values()} | set(solver_specs)
    for solver, params in user_params.items():
        if solver == "*":
            declared = set().union(*(cls.defaults for cls in classes.values()))
            for key in sorted(set(params) - declared):
                close = difflib.get_close_matches(key, sorted(declared), n=3, cutoff=0.6)
                hint = f" (did you mean {', '.join(close)}?)" if close else ""
                run = ", ".join(solver_specs)
                raise ValueError(f"-p {key}: no solver of this run ({run}) has a parameter {key!r}{hint}")
        elif solver not in names:
            close = difflib.get_close_matches(solver, sorted(names), n=3, cutoff=0.5)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            key = next(iter(params), "")
            raise ValueError(
                f"-p {solver}.{key}: {solver!r} is not a solver of this run ({', '.join(solver_specs)}){hint}"
            )


def plan_cells(
    suite: Suite,
    *,
    tasks: Sequence[str] | None = None,
    solvers: Sequence[str] | None = None,
    instances: int | None = None,
    first_instance: int = 0,
    repetitions: int | None = None,
    base_seed: int = 0,
    user_params: Mapping[str, Mapping[str, Any]] | None = None,
    device: str = "auto",
    timeout: float | None = None,
    split: str | None = None,
) -> list[Cell]:
    """Expand a suite (with command-line overrides) into its cells.

    Args:
        suite: The suite.
        tasks: Task ids replacing the suite's (``invbench/`` prefix optional).
        solvers: Solver specs replacing the suite's.
        instances: Instances per task replacing the suite's counts.
        first_instance: Index of the first instance, so a long suite can be run in slices
            (``first_instance=1, instances=2`` runs instances 1 and 2).
        repetitions: Seeds per cell replacing the suite's.
        base_seed: Base seed every cell seed is derived from.
        user_params: Solver parameters from the command line (see :func:`solver_params`).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        timeout: Per-cell timeout replacing the suite's.
        split: The split every task draws its instances from, replacing the suite's (``invbench
            verify`` uses ``"hidden"``).

    Returns:
        Cells in task, instance, solver, repetition order.

    Raises:
        ValueError: For unknown tasks, solvers, parameters or devices.
    """
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, got {device!r}")
    suite_counts = {ts.task: ts for ts in suite.tasks}
    if tasks:
        chosen = [resolve_task(t) for t in tasks]
        tasksets = [(t, suite_counts[t].instances if t in suite_counts else 1) for t in chosen]
        splits = {t: suite_counts[t].split if t in suite_counts else "test" for t in chosen}
    else:
        tasksets = [(ts.task, ts.instances) for ts in suite.tasks]
        splits = {ts.task: ts.split for ts in suite.tasks}
    if split is not None:
        splits = dict.fromkeys(splits, split)
    own = {ts.task: ts.solvers for ts in suite.tasks if ts.solvers}
    default_specs = list(suite.solvers or BUILTIN_SOLVERS)
    specs_for = {
        task: list(solvers) if solvers else list(own.get(task) or default_specs) for task, _ in tasksets
    }
    solver_specs = list(dict.fromkeys(spec for specs in specs_for.values() for spec in specs))
    check_user_params(solver_specs, user_params or {})
    reps = suite.repetitions if repetitions is None else repetitions
    if reps < 1 or (instances is not None and instances < 1):
        raise ValueError("instances and seeds must be at least 1")
    if first_instance < 0:
        raise ValueError(f"first instance must be 0 or more, got {first_instance}")
    params = {
        spec: to_json(
            solver_params(
                spec,
                suite_params=suite.solver_params,
                user_params=user_params,
            )
        )
        for spec in solver_specs
    }
    names = {spec: load_solver_class(spec).name for spec in solver_specs}
    cells = []
    for task, count in tasksets:
        last = first_instance + (count if instances is None else instances)
        for index in range(first_instance, last):
            for spec in specs_for[task]:
                for rep in range(reps):
                    cells.append(
                        Cell(
                            suite=suite.name,
                            task=task,
                            split=splits[task],
                            index=index,
                            solver=spec,
                            params_json=params[spec],
                            repetition=rep,
                            base_seed=base_seed,
                            seed=derive_seed(base_seed, task, splits[task], index, names[spec], rep),
                            timeout=suite.timeout if timeout is None else timeout,
                            max_iterations=suite.max_iterations,
                            diverge_factor=suite.diverge_factor,
                            device=device,
                            save_example=index < suite.examples and rep == 0,
                        )
                    )
    return cells
