"""Run one benchmark cell and turn whatever happens into a result row.

:func:`run_cell` never raises for a solver's fault: a solver that does not apply gives a
``skipped`` row with its reason, one that raises gives a ``failed`` row with the error, a
non-finite estimate or a misfit that grows past the cell's ``diverge_factor`` gives ``diverged``,
and running past the time limit gives ``timeout`` (see :mod:`invbench.harness.guards`). Only
the user's Ctrl-C escapes, so stopping a run stops it.

This is the one engine behind ``invbench bench`` (many cells) and ``invbench run`` (one cell, see
:mod:`invbench.harness.single`). The harness half (this module) draws the instance and scores; the
solver half (:mod:`invbench.harness.solver_side`: seeding, untimed ``setup``, timed ``solve``, with the
guards around it) runs in a worker process (:mod:`invbench.harness.isolation`) and never sees the truth.
"""

from __future__ import annotations

import json
import math
import re
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import pandas as pd

from invbench.core.env import Instance
from invbench.core.seeding import HIDDEN_SPLIT
from invbench.harness.batch_side import solve_batch_cells
from invbench.harness.cells import Cell, to_json
from invbench.harness.guards import CellTimeout
from invbench.harness.isolation import solve_isolated_batch
from invbench.harness.provenance import versions
from invbench.harness.seeds import short_hash
from invbench.harness.signing import sign_row
from invbench.harness.solver_side import ProgressSink, SolveReport, params_of, solve_cell
from invbench.registry import make, task_options

STATUSES = ("done", "diverged", "failed", "timeout", "skipped")
SCORED = ("done", "diverged")
"""Statuses whose rows carry metrics (and a stored estimate)."""
SCHEMA_VERSION = 3
METRIC_PREFIX = "metric_"


@dataclass
class CellOutcome:
    """What one cell produced, ready for the store.

    Attributes:
        row: The results row (see ``docs/harness.md`` for the columns).
        curve: Per-iteration ``{"iteration", "pde_solves", "wall_time", "misfit"}`` records.
        example: ``truth``, ``initial`` and ``estimate`` arrays when the cell keeps an example.
        figure: Everything the task's figure draws (``run_cell(..., figure=True)`` of a finished cell).
        weights: The weights records of the solver (:meth:`~invbench.core.solver.Solver.weights`).
        estimate: The scored estimate in float16 (what ``leaderboard submit`` re-scores); ``None``
            for a cell that produced none.
    """

    row: dict[str, Any]
    curve: list[dict[str, float]] = field(default_factory=list)
    example: dict[str, np.ndarray] = field(default_factory=dict)
    figure: dict[str, np.ndarray] = field(default_factory=dict)
    weights: list[dict[str, Any]] = field(default_factory=list)
    estimate: np.ndarray | None = None


def task_name_version(task: str) -> tuple[str, int]:
    """``"invbench/FWI-Tiny-v0"`` -> ``("FWI-Tiny", 0)``."""
    name = task.split("/", 1)[-1]
    m = re.fullmatch(r"(.+)-v(\d+)", name)
    return (m.group(1), int(m.group(2))) if m else (name, -1)


def _options_json(cell: Cell) -> str:
    try:
        return to_json(task_options(cell.task, json.loads(cell.env_kwargs_json)))
    except ValueError:
        return cell.env_kwargs_json


def as_stored(estimate: Any, low: float, high: float) -> np.ndarray:
    """An estimate as the results store keeps it, and as it is scored: float16 within ``[low, high]``.

    Scoring exactly what is stored lets ``leaderboard submit`` recompute every metric from the stored
    estimate (:mod:`invbench.leaderboard.rescore`). float16 rounds a velocity by at most 2 m/s and a
    log-conductivity by at most 0.004; the bounds are rounded inwards so the rounding never leaves
    the task's range. Values that are not finite stay so (the task then refuses the estimate).
    """
    arr = np.asarray(estimate, dtype=np.float32)
    lo, hi = np.float16(low), np.float16(high)
    lo = lo if lo >= low else np.nextafter(lo, np.float16(np.inf))
    hi = hi if hi <= high else np.nextafter(hi, np.float16(-np.inf))
    with np.errstate(over="ignore", invalid="ignore"):
        stored = arr.astype(np.float16)
    finite = np.isfinite(arr)
    return np.where(finite, np.clip(stored, lo, hi), stored).astype(np.float16)


def base_row(cell: Cell) -> dict[str, Any]:
    """The columns of a row known before the cell runs (defaults for the rest)."""
    name, ver = task_name_version(cell.task)
    params = cell.params_json
    return {
        "schema_version": SCHEMA_VERSION,
        "cell_id": cell.cell_id,
        "cell_spec": to_json(cell.spec),
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
        "isolated": True,
        "batch_size": 1,
        "verified": False,
        "signature": "",
        "timestamp": pd.Timestamp.now(tz="UTC"),
    }


def failed_outcome(cell: Cell, message: str, status: str = "failed") -> CellOutcome:
    """A row for a cell that could not run at all (e.g. its dask worker died)."""
    row = base_row(cell)
    row.update(status=status, reason=message)
    return CellOutcome(row=row)


def run_cell(
    cell: Cell, progress: ProgressSink | None = None, *, figure: bool = False, isolate: bool = True
) -> CellOutcome:
    """Run one cell and return its row, curve and example (never raises for a solver's fault).

    The solver runs on a solver-side environment that holds no truth
    (:func:`~invbench.harness.solver_side.solve_cell`), by default in a fresh worker process
    (:func:`~invbench.harness.isolation.solve_isolated`); this process draws the instance and scores
    the returned estimate.

    Args:
        cell: The cell.
        progress: Receives a ``start`` event and one ``iteration`` event per solver iteration.
        figure: Also keep the arrays the task's figure draws (data, predictions, task extras).
        isolate: Run the solver in a worker process. ``False`` runs it in this process (for
            debugging a solver; the row records ``isolated = False``).

    Returns:
        The cell's outcome.
    """
    return run_batch([cell], progress, figure=figure, isolate=isolate)[0]


def run_batch(
    cells: Sequence[Cell], progress: ProgressSink | None = None, *, figure: bool = False, isolate: bool = True
) -> list[CellOutcome]:
    """Run cells that one batched solver solves together (or one cell); one outcome per cell.

    A single cell runs :meth:`~invbench.core.solver.Solver.solve`; several cells (one task, solver and
    parameters: :func:`invbench.harness.batching.batches`) run the solver's
    :meth:`~invbench.core.solver.Solver.solve_batch` on a vector environment
    (:mod:`invbench.harness.batch_side`). Either way this process draws every instance and scores each
    estimate on its own environment, so a batched cell's row has the same columns and metrics as an
    unbatched one (``batch_size`` says how many cells shared its solve).

    Args:
        cells: The cells.
        progress: As :func:`run_cell`.
        figure: As :func:`run_cell`.
        isolate: As :func:`run_cell`.

    Returns:
        The outcomes, in the cells' order.
    """
    cells = list(cells)
    rows = [base_row(cell) for cell in cells]
    for row in rows:
        row["isolated"] = bool(isolate)
        row["batch_size"] = len(cells)
    envs: list[gym.Env | None] = [None] * len(cells)
    reports = [SolveReport(batch_size=len(cells)) for _ in cells]
    if progress is not None:
        for cell in cells:
            progress({"cell_id": cell.cell_id, "label": cell.label, "event": "start"})

    def draw_instances() -> list[Instance]:
        public = []
        for k, cell in enumerate(cells):
            env = make(cell.task, **cell.env_kwargs)
            envs[k] = env
            env.reset(seed=cell.seed, options={"split": cell.split, "index": cell.index})
            public.append(env.unwrapped.public_instance())
        return public

    def relay(event: dict[str, Any]) -> None:
        if progress is not None and event.get("event") not in ("loaded", "solving"):
            progress(event)

    failure: tuple[str, str] | None = None
    try:
        if isolate:
            reports = solve_isolated_batch(cells, draw_instances, relay)
        elif len(cells) == 1:
            reports = [solve_cell(cells[0], lambda: draw_instances()[0], relay, own_interrupts=False)]
        else:
            reports = solve_batch_cells(cells, draw_instances, relay, own_interrupts=False)
    except Exception as e:
        failure = (f"scoring: {type(e).__name__}: {e}", traceback.format_exc()[-4000:])
    outcomes = []
    for cell, row, report, env in zip(cells, rows, reports, envs, strict=True):
        if failure is not None:
            row.update(status="failed", reason=failure[0], traceback=failure[1])
            row["timestamp"] = pd.Timestamp.now(tz="UTC")
            if env is not None:
                env.close()
            outcomes.append(CellOutcome(row=row))
            continue
        outcomes.append(_score(cell, row, report, env, figure))
    return outcomes


def _score(
    cell: Cell, row: dict[str, Any], report: SolveReport, env: gym.Env | None, figure: bool
) -> CellOutcome:
    """Score a cell's estimate on its own (harness-side) environment and finish its row."""
    example: dict[str, np.ndarray] = {}
    arrays: dict[str, np.ndarray] = {}
    estimate: np.ndarray | None = None
    try:
        _fill_from_report(row, report, cell)
        if report.status == "solved":
            assert env is not None and report.estimate is not None
            if math.isfinite(cell.timeout) and report.wall_time > cell.timeout:
                raise CellTimeout(
                    f"solve ran {report.wall_time:.1f} s, past its {cell.timeout:g} s limit (the solver "
                    "caught the harness's timeout); its estimate is not scored"
                )
            base = env.unwrapped
            estimate = as_stored(report.estimate, base.field_low, base.field_high)
            arr = estimate.astype(np.float32)
            metrics = base.finalize(arr)
            row.update({f"{METRIC_PREFIX}{k}": float(v) for k, v in metrics.items()})
            row["status"] = "done"
            ref = report.first_misfit
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
        row.update(status="timeout", reason=str(e))
    except Exception as e:
        row.update(
            status="failed",
            reason=f"scoring: {type(e).__name__}: {e}",
            traceback=traceback.format_exc()[-4000:],
        )
    finally:
        if env is not None:
            env.close()
        row["timestamp"] = pd.Timestamp.now(tz="UTC")
    if row["status"] not in SCORED:
        estimate = None
    if row["split"] == HIDDEN_SPLIT and row["isolated"]:
        row["verified"] = True
        row["signature"] = sign_row(row, estimate)
    return CellOutcome(
        row=row, curve=report.curve, example=example, figure=arrays, weights=report.weights, estimate=estimate
    )


def _fill_from_report(row: dict[str, Any], report: SolveReport, cell: Cell) -> None:
    """Copy the solver side's report into the row (status ``solved`` is scored by the caller)."""
    if report.solver_name:
        row["solver"] = report.solver_name
    c = report.counters
    row.update(
        status="failed" if report.status == "solved" else report.status,
        reason=report.reason,
        traceback=report.traceback,
        budget=int(report.budget),
        device=report.device,
        device_type=report.device_type,
        setup_time=float(report.setup_time),
        wall_time=float(report.wall_time),
        forward_solves=int(c.get("forward", 0)),
        adjoint_solves=int(c.get("adjoint", 0)),
        pde_solves=int(c.get("used", 0)),
        physics_time=float(c.get("physics_time", 0.0)),
        iterations=len(report.curve),
        network_evaluations=int(report.network_evaluations),
        **{k: float(v) for k, v in report.memory.items()},
        **report.learning,
    )
    params = to_json(params_of(report, cell))
    row.update(params=params, params_hash=short_hash(params))
