"""``invbench run``: one benchmark cell, run by the same engine as ``invbench bench``, and its record.

:func:`prepare_run` checks everything a user typed before any work starts (task id, option names and
values, solver name and parameters, whether the solver applies) and raises a ``ValueError`` naming
the problem. :func:`run_prepared` runs the cell through :func:`~invbench.harness.execute.run_cell` --
same seeding, statuses, row, curve and guards as a benchmark cell -- and :func:`write_run` stores
``result.json`` (everything needed to reproduce the run from the file alone) and the task's figure in
a folder named after the run, including a short hash of its task options and solver parameters.
"""

from __future__ import annotations

import importlib
import json
import math
import shlex
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from invbench.core.files import write_json
from invbench.core.solver import load_solver_class
from invbench.harness.cells import DEVICES, Cell, to_json
from invbench.harness.execute import METRIC_PREFIX, CellOutcome, ProgressSink, run_cell, task_name_version
from invbench.harness.seeds import short_hash
from invbench.registry import make, resolve_task, task_options

RESULT_FILE = "result.json"
FIGURE_FILE = "figure.png"
RECORD_VERSION = 2
_NOT_VERSIONS = ("task_version", "schema_version")


class RunExistsError(FileExistsError):
    """The run's folder already holds a result (the same task, options, solver, parameters and seed)."""


@dataclass(frozen=True)
class PreparedRun:
    """A checked run, ready to execute.

    Attributes:
        cell: The benchmark cell of the run.
        options: Every task option, resolved (defaults included).
        overrides: The task options the user gave.
        params: The solver's parameters resolved for the task.
        folder: The run's folder name.
    """

    cell: Cell
    options: dict[str, Any]
    overrides: dict[str, Any]
    params: dict[str, Any]
    folder: str


@dataclass
class RunRecord:
    """What ``result.json`` holds (and what a task's figure reads for its titles).

    ``status`` and ``reason`` are the harness's (``done``, ``diverged``, ``failed``, ``timeout``,
    ``skipped``); ``row`` is the cell's full results row, as ``invbench bench`` stores it.
    """

    task: str
    task_name: str
    task_version: int
    task_options: dict[str, Any]
    solver: str
    solver_spec: str
    params: dict[str, Any]
    split: str
    index: int
    seed: int
    device: str
    status: str
    reason: str
    metrics: dict[str, float]
    counters: dict[str, int]
    wall_time: float
    setup_time: float
    amortized: bool
    weights: list[dict[str, Any]]
    versions: dict[str, str]
    command: str
    history: list[dict[str, float]] = field(default_factory=list)
    row: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    record_version: int = RECORD_VERSION


def prepare_run(
    task: str,
    solver: str,
    *,
    index: int = 0,
    split: str = "test",
    seed: int = 0,
    options: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    device: str = "auto",
    timeout: float = math.inf,
) -> PreparedRun:
    """Check a run and resolve its options and parameters (no PDE solve).

    Args:
        task: Task id (``invbench/`` prefix optional).
        solver: Solver short name or ``module:Class``.
        index: Instance index within ``split``.
        split: ``test``, ``val`` or ``train``.
        seed: Seed of torch/numpy and the environment (used as given, not derived).
        options: Task options overriding the task's settings.
        params: Solver parameters overriding its defaults.
        device: ``auto``, ``cpu`` or ``cuda``.
        timeout: Seconds allowed for ``solve`` (``inf``: no limit).

    Raises:
        ValueError: An unknown task, option, solver, parameter or device, a bad value, an instance
            outside the split, or a solver that does not apply to the task (with its reason).
    """
    if device not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")
    full = resolve_task(task)
    overrides = dict(options or {})
    if "device" in overrides:
        raise ValueError("give the device with --device, not as a task option")
    resolved_options = task_options(full, overrides)
    solver_obj = load_solver_class(solver)(**(params or {}))
    env = make(full, **overrides, **({} if device == "auto" else {"device": device}))
    try:
        base = env.unwrapped
        if split not in base.n_instances:
            raise ValueError(f"split must be one of {', '.join(base.n_instances)}, got {split!r}")
        if not 0 <= index < base.n_instances[split]:
            raise ValueError(
                f"index must be in [0, {base.n_instances[split]}) for the {split} split, got {index}"
            )
        reason = solver_obj.applies_to(env)
        if reason is not None:
            raise ValueError(f"solver {solver_obj.name!r} does not apply to {full}: {reason}")
        resolved_params = solver_obj.resolve_params(env)
    finally:
        env.close()
    cell = Cell(
        suite="run",
        task=full,
        split=split,
        index=index,
        solver=solver,
        params_json=to_json(params or {}),
        repetition=0,
        base_seed=seed,
        seed=seed,
        timeout=timeout,
        device=device,
        env_kwargs_json=to_json(overrides),
    )
    name, version = task_name_version(full)
    config = short_hash(to_json({"options": resolved_options, "params": resolved_params}), 8)
    folder = f"{name}-v{version}__{solver_obj.name}__{split}{index}__seed{seed}__{config}"
    return PreparedRun(cell, resolved_options, overrides, resolved_params, folder)


def reproduce_command(run: PreparedRun) -> str:
    """The ``invbench run`` command line that repeats ``run``."""
    cell = run.cell
    args = ["invbench", "run", "--task", cell.task, "--solver", cell.solver, "--split", cell.split]
    args += ["--index", str(cell.index), "--seed", str(cell.seed)]
    if cell.device != "auto":
        args += ["--device", cell.device]
    for key, value in run.overrides.items():
        args += ["-o", f"{key}={json.dumps(value)}"]
    for key, value in cell.params.items():
        args += ["-p", f"{key}={json.dumps(value)}"]
    return shlex.join(args)


def run_prepared(run: PreparedRun, progress: ProgressSink | None = None) -> tuple[RunRecord, CellOutcome]:
    """Run a prepared run's cell with the benchmark engine and build its record."""
    outcome = run_cell(run.cell, progress, figure=True)
    row = outcome.row
    metrics = {k.removeprefix(METRIC_PREFIX): float(v) for k, v in row.items() if k.startswith(METRIC_PREFIX)}
    record = RunRecord(
        task=row["task"],
        task_name=row["task_name"],
        task_version=int(row["task_version"]),
        task_options=run.options,
        solver=row["solver"],
        solver_spec=run.cell.solver,
        params=json.loads(row["params"]),
        split=run.cell.split,
        index=run.cell.index,
        seed=run.cell.seed,
        device=str(row["device"]),
        status=str(row["status"]),
        reason=str(row["reason"]),
        metrics=metrics,
        counters={k: int(row[k]) for k in ("forward_solves", "adjoint_solves", "pde_solves", "budget")},
        wall_time=float(row["wall_time"]),
        setup_time=float(row["setup_time"]),
        amortized=bool(row["amortized"]),
        weights=outcome.weights,
        versions={k: str(row[k]) for k in row if k.endswith("_version") and k not in _NOT_VERSIONS}
        | {"git_revision": str(row["git_revision"])},
        command=reproduce_command(run),
        history=outcome.curve,
        row={k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()},
    )
    return record, outcome


def run_single(
    task: str, solver: str, *, progress: ProgressSink | None = None, **kwargs: Any
) -> tuple[RunRecord, CellOutcome]:
    """Prepare and run one inversion from Python (the library form of ``invbench run``).

    Args:
        task: Task id.
        solver: Solver short name or ``module:Class``.
        progress: Receives the harness's progress events.
        **kwargs: As :func:`prepare_run` (``index``, ``split``, ``seed``, ``options``, ``params``,
            ``device``, ``timeout``).

    Returns:
        The run's record and the cell's outcome (its ``figure`` arrays hold the truth, initial model,
        estimate, observed and predicted data of a finished run).

    Raises:
        ValueError: As :func:`prepare_run`.
    """
    return run_prepared(prepare_run(task, solver, **kwargs), progress)


def run_folder(out: Path, run: PreparedRun, *, overwrite: bool = False) -> Path:
    """The folder of ``run`` under ``out``.

    Raises:
        RunExistsError: It already holds a result and ``overwrite`` is off.
    """
    folder = Path(out) / run.folder
    if (folder / RESULT_FILE).exists() and not overwrite:
        raise RunExistsError(
            f"{folder / RESULT_FILE} already holds this run (same task options, solver parameters and "
            "seed); pass --overwrite to replace it, or --out for another folder"
        )
    return folder


def write_run(record: RunRecord, outcome: CellOutcome, folder: Path, *, plotter: str = "") -> RunRecord:
    """Write the figure (for a finished run, when the task has a plotter) and ``result.json``.

    ``result.json`` is written last and atomically, so a folder never holds a partial one.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if plotter and outcome.figure:
        module_name, _, func = plotter.partition(":")
        plot = getattr(importlib.import_module(module_name), func)
        plot(outcome.figure, record, folder / FIGURE_FILE)
        record.files["figure"] = str(folder / FIGURE_FILE)
    json_path = folder / RESULT_FILE
    record.files["result"] = str(json_path)
    write_json(json_path, asdict(record), default=_json_default)
    return record


def _json_default(x: Any) -> Any:
    if hasattr(x, "tolist"):
        return x.tolist()
    if hasattr(x, "isoformat"):
        return x.isoformat()
    return str(x)
