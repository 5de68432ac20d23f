"""Run one benchmark cell and turn whatever happens into a result row.

:func:`run_cell` never raises for a solver's fault: a solver that does not apply gives a
``skipped`` row with its reason, one that raises gives a ``failed`` row with the error, a
non-finite estimate or a misfit that grows past the cell's ``diverge_factor`` gives ``diverged``,
and running past the time limit gives ``timeout`` (see :mod:`invbench.harness.guards`). Only
``KeyboardInterrupt``/``SystemExit`` escape, so stopping a run stops it.

This is the one engine behind ``invbench bench`` (many cells) and ``invbench run`` (one cell, see
:mod:`invbench.harness.single`): seeding, reset, untimed ``setup``, timed ``solve``, ``finalize``, with
the guards around it.
"""

from __future__ import annotations

import json
import re
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd
import torch

from invbench.core.seeding import seed_everything
from invbench.core.solver import Progress, Solver, load_solver_class
from invbench.harness.cells import Cell, to_json
from invbench.harness.guards import CellDiverged, CellTimeout, Deadline, DivergenceCheck
from invbench.harness.memory import PeakMemory
from invbench.harness.provenance import describe_device, versions
from invbench.harness.seeds import short_hash
from invbench.harness.suites import ITERATION_PARAMS
from invbench.registry import make, task_options

STATUSES = ("done", "diverged", "failed", "timeout", "skipped")
SCHEMA_VERSION = 2
METRIC_PREFIX = "metric_"

ProgressSink = Callable[[dict[str, Any]], None]
"""Receives progress events: ``{"cell_id", "label", "event": "start" | "iteration", ...}``."""


@dataclass
class CellOutcome:
    """What one cell produced, ready for the store.

    Attributes:
        row: The results row (see ``docs/harness.md`` for the columns).
        curve: Per-iteration ``{"iteration", "pde_solves", "wall_time", "misfit"}`` records.
        example: ``truth``, ``initial`` and ``estimate`` arrays when the cell keeps an example.
        figure: Everything the task's figure draws (``run_cell(..., figure=True)`` of a finished cell).
        weights: The weights records of the solver (:meth:`~invbench.core.solver.Solver.weights`).
    """

    row: dict[str, Any]
    curve: list[dict[str, float]] = field(default_factory=list)
    example: dict[str, np.ndarray] = field(default_factory=dict)
    figure: dict[str, np.ndarray] = field(default_factory=dict)
    weights: list[dict[str, Any]] = field(default_factory=list)


def task_name_version(task: str) -> tuple[str, int]:
    """``"invbench/FWI-Tiny-v0"`` -> ``("FWI-Tiny", 0)``."""
    name = task.split("/", 1)[-1]
    m = re.fullmatch(r"(.+)-v(\d+)", name)
    return (m.group(1), int(m.group(2))) if m else (name, -1)


class _Monitor:
    """The progress callback handed to the solver: records the curve, checks time and divergence."""

    def __init__(self, cell: Cell, sink: ProgressSink | None) -> None:
        self.cell = cell
        self.sink = sink
        self.deadline: Deadline | None = None
        self.divergence = DivergenceCheck(cell.diverge_factor)
        self.curve: list[dict[str, float]] = []
        self.last_info: dict[str, Any] = {}
        self.t0 = time.perf_counter()

    def __call__(self, p: Progress) -> None:
        misfit = float(p.misfit)
        self.last_info = p.info
        self.curve.append(
            {
                "iteration": int(p.iteration),
                "pde_solves": int(p.info.get("pde_solves", -1)),
                "wall_time": time.perf_counter() - self.t0,
                "misfit": misfit,
            }
        )
        if self.sink is not None:
            self.sink(
                {
                    "cell_id": self.cell.cell_id,
                    "label": self.cell.label,
                    "event": "iteration",
                    "iteration": int(p.iteration),
                    "misfit": misfit,
                    "pde_solves": int(p.info.get("pde_solves", -1)),
                    "budget": int(p.info.get("budget", -1)),
                }
            )
        if self.deadline is not None:
            self.deadline.check()
        self.divergence(int(p.iteration), misfit)


def _record_learning(row: dict[str, Any], solver: Solver) -> list[dict[str, Any]]:
    """Fill the row's columns on the solver's weights and training cost; return the weights records."""
    records = solver.weights()
    cost = solver.training_cost()
    row.update(
        amortized=bool(solver.amortized),
        weights=to_json(records),
        checkpoint_hashes=to_json({r["name"]: r["sha256"] for r in records}),
        training_steps=int(cost["steps"]),
        training_wall_time=float(cost["wall_time_s"]),
        training_devices=",".join(cost["devices"]),
    )
    return records


def _options_json(cell: Cell) -> str:
    try:
        return to_json(task_options(cell.task, json.loads(cell.env_kwargs_json)))
    except ValueError:
        return cell.env_kwargs_json


def _resolved(solver: Solver, env: gym.Env) -> dict[str, Any]:
    """The solver's parameters for this task (family defaults applied where the solver has them)."""
    resolve = getattr(solver, "resolve_params", None)
    return dict(resolve(env)) if callable(resolve) else dict(solver.params)


def _capped(solver: Solver, cell: Cell, env: gym.Env) -> Solver:
    """Apply the cell's iteration cap to the parameters the solver resolves for this task."""
    resolved = _resolved(solver, env)
    if cell.max_iterations is None:
        return solver
    requested = cell.params
    caps = {
        k: int(cell.max_iterations)
        for k in ITERATION_PARAMS
        if k not in requested
        and isinstance(resolved.get(k), int)
        and not isinstance(resolved[k], bool)
        and resolved[k] > cell.max_iterations
    }
    if not caps:
        return solver
    capped = type(solver)(**requested, **caps)
    _resolved(capped, env)
    return capped


def base_row(cell: Cell) -> dict[str, Any]:
    """The columns of a row known before the cell runs (defaults for the rest)."""
    name, ver = task_name_version(cell.task)
    params = cell.params_json
    return {
        "schema_version": SCHEMA_VERSION,
        "cell_id": cell.cell_id,
        "suite": cell.suite,
        "task": cell.task,
        "task_name": name,
        "task_version": ver,
        "split": cell.split,
        "instance": cell.index,
        "solver": cell.solver,
        "solver_spec": cell.solver,
        "params": params,
        "params_hash": short_hash(params),
        "task_options": _options_json(cell),
        "repetition": cell.repetition,
        "base_seed": cell.base_seed,
        "seed": cell.seed,
        "status": "failed",
        "reason": "",
        "traceback": "",
        "forward_solves": 0,
        "adjoint_solves": 0,
        "pde_solves": 0,
        "budget": 0,
        "iterations": 0,
        "network_evaluations": 0,
        "wall_time": 0.0,
        "setup_time": 0.0,
        "physics_time": 0.0,
        "timeout": float(cell.timeout),
        "peak_rss_mb": float("nan"),
        "rss_delta_mb": float("nan"),
        "peak_gpu_mb": float("nan"),
        "device": "",
        "device_type": "",
        **versions(),
        "amortized": False,
        "weights": "[]",
        "checkpoint_hashes": "{}",
        "training_steps": 0,
        "training_wall_time": 0.0,
        "training_devices": "",
        "timestamp": pd.Timestamp.now(tz="UTC"),
    }


def failed_outcome(cell: Cell, message: str, status: str = "failed") -> CellOutcome:
    """A row for a cell that could not run at all (e.g. its dask worker died)."""
    row = base_row(cell)
    row.update(status=status, reason=message)
    return CellOutcome(row=row)


def run_cell(cell: Cell, progress: ProgressSink | None = None, *, figure: bool = False) -> CellOutcome:
    """Run one cell and return its row, curve and example (never raises for a solver's fault).

    Args:
        cell: The cell.
        progress: Receives a ``start`` event and one ``iteration`` event per solver iteration.
        figure: Also keep the arrays the task's figure draws (data, predictions, task extras).

    Returns:
        The cell's outcome.
    """
    row = base_row(cell)
    monitor = _Monitor(cell, progress)
    solver: Solver | None = None
    env = None
    example: dict[str, np.ndarray] = {}
    arrays: dict[str, np.ndarray] = {}
    records: list[dict[str, Any]] = []
    mem = PeakMemory()
    if progress is not None:
        progress({"cell_id": cell.cell_id, "label": cell.label, "event": "start"})
    try:
        solver = load_solver_class(cell.solver)(**cell.params)
        row["solver"] = solver.name
        env = make(cell.task, **cell.env_kwargs)
        solver = _capped(solver, cell, env)
        base = env.unwrapped
        row.update(budget=int(base.budget), device=describe_device(base.device), device_type=base.device.type)
        reason = solver.applies_to(env)
        if reason is not None:
            row.update(status="skipped", reason=str(reason))
            return CellOutcome(row=row)
        mem.cuda_device = base.device if base.device.type == "cuda" else None
        with mem:
            seed_everything(cell.seed)
            env.reset(seed=cell.seed, options={"split": cell.split, "index": cell.index})
            t0 = time.perf_counter()
            solver.setup(env)
            row["setup_time"] = time.perf_counter() - t0
            monitor.t0 = t1 = time.perf_counter()
            try:
                with Deadline(cell.timeout) as monitor.deadline:
                    estimate = solver.solve(env, callback=monitor)
            finally:
                row["wall_time"] = time.perf_counter() - t1
            arr = np.asarray(estimate.detach().cpu() if isinstance(estimate, torch.Tensor) else estimate)
            if not np.all(np.isfinite(arr)):
                raise CellDiverged("the final estimate contains NaN or inf")
            metrics = base.finalize(arr)
        row.update({f"{METRIC_PREFIX}{k}": float(v) for k, v in metrics.items()})
        row["status"] = "done"
        ref = monitor.divergence.reference
        final = float(metrics.get("data_misfit", float("nan")))
        if ref is not None and not final <= cell.diverge_factor * max(ref, 1e-30):
            row.update(status="diverged", reason=f"final data misfit {final:.4g} vs first {ref:.4g}")
        inst = base.instance
        if cell.save_example:
            example = {
                "truth": np.asarray(inst.truth, np.float32),
                "initial": np.asarray(inst.initial, np.float32),
                "estimate": np.asarray(arr, np.float32),
            }
        if figure:
            arrays = {
                "truth": np.asarray(inst.truth, np.float32),
                "initial": np.asarray(inst.initial, np.float32),
                "estimate": np.asarray(arr, np.float32),
                "observed": inst.observed.detach().cpu().numpy(),
                "predicted": base.final_prediction,
                "mask": inst.mask.detach().cpu().numpy().reshape(-1),
                **base.figure_arrays(np.asarray(arr, np.float32)),
            }
    except CellTimeout as e:
        row.update(status="timeout", reason=str(e) or f"timed out after {cell.timeout:g} s")
    except CellDiverged as e:
        row.update(status="diverged", reason=str(e))
    except Exception as e:
        row.update(
            status="failed", reason=f"{type(e).__name__}: {e}", traceback=traceback.format_exc()[-4000:]
        )
    finally:
        if env is not None:
            counter = env.unwrapped.counter
            row.update(
                forward_solves=int(counter.forward),
                adjoint_solves=int(counter.adjoint),
                pde_solves=int(counter.used),
                physics_time=float(counter.physics_time),
            )
            env.close()
        if solver is not None:
            row["params"] = to_json(solver.params)
            row["params_hash"] = short_hash(row["params"])
            try:
                records = _record_learning(row, solver)
            except Exception as e:  # a broken weights record must not lose the row
                row.update(status="failed", reason=f"weights record: {type(e).__name__}: {e}")
        row.update(
            iterations=len(monitor.curve),
            network_evaluations=int(monitor.last_info.get("network_evaluations", 0)),
            peak_rss_mb=mem.peak_rss_mb,
            rss_delta_mb=mem.rss_delta_mb,
            peak_gpu_mb=mem.peak_gpu_mb,
            timestamp=pd.Timestamp.now(tz="UTC"),
        )
    return CellOutcome(row=row, curve=monitor.curve, example=example, figure=arrays, weights=records)
