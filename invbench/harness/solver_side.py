"""The solver's half of a benchmark cell: everything that runs user code, and nothing that scores.

:func:`solve_cell` loads the solver, builds a solver-side environment (see
:meth:`invbench.core.env.InverseProblemEnv.serve`), asks the harness for the instance's public part
(observed data, mask, initial model, public extras; never the truth), runs the untimed ``setup`` and
the timed ``solve`` under the cell's deadline, and returns a :class:`SolveReport`: the estimate, the
counters, the curve, the times and the solver's records. The harness scores the estimate in its own
process (:func:`invbench.harness.execute.run_cell`); in a worker process (:mod:`invbench.harness.isolation`)
the truth is never in the solver's memory.

Every exception of the solver, ``BaseException`` included (``SystemExit``, a ``KeyboardInterrupt``
raised by the solver itself), becomes a report with status ``failed``.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from invbench.core.env import Instance
from invbench.core.seeding import seed_everything
from invbench.core.solver import Progress, Solver, load_solver_class
from invbench.harness.cells import Cell, to_json
from invbench.harness.guards import CellDiverged, CellTimeout, Deadline, DivergenceCheck
from invbench.harness.memory import PeakMemory
from invbench.harness.provenance import describe_device
from invbench.harness.suites import ITERATION_PARAMS
from invbench.registry import make

ProgressSink = Callable[[dict[str, Any]], None]
"""Receives progress events: ``{"cell_id", "label", "event": "start" | "iteration" | "solving", ...}``."""

InstanceSource = Callable[[], Instance]
"""Returns the public part of the cell's instance (the harness draws it when asked)."""


@dataclass
class SolveReport:
    """What the solver side hands back to the harness.

    Attributes:
        status: ``solved`` (an estimate to score), ``skipped``, ``failed``, ``timeout`` or ``diverged``.
        reason: Why, for anything but ``solved``.
        traceback: The solver's traceback of a failure.
        solver_name: The solver's ``name``.
        params_json: The solver's parameters (after the cell's iteration cap), canonical JSON.
        estimate: The final estimate (``solved`` only).
        counters: ``forward``, ``adjoint``, ``used`` solves and ``physics_time``.
        budget: The task's PDE-solve budget.
        device: The device in words; device_type: ``cpu`` or ``cuda``.
        setup_time: Seconds of ``setup``; wall_time: seconds of ``solve``.
        curve: Per-iteration ``{"iteration", "pde_solves", "wall_time", "misfit"}`` records.
        first_misfit: The first iterate's misfit (divergence reference), if any.
        network_evaluations: As the solver's last progress report says.
        memory: ``peak_rss_mb``, ``rss_delta_mb``, ``peak_gpu_mb`` of the solver's process.
        learning: Row columns on weights and training cost.
        weights: The solver's weights records.
        batch_size: Cells solved together with this one (1: alone; see :mod:`invbench.harness.batch_side`).
    """

    status: str = "failed"
    reason: str = ""
    traceback: str = ""
    solver_name: str = ""
    params_json: str | None = None
    estimate: np.ndarray | None = None
    counters: dict[str, float] = field(default_factory=dict)
    budget: int = 0
    device: str = ""
    device_type: str = ""
    setup_time: float = 0.0
    wall_time: float = 0.0
    curve: list[dict[str, float]] = field(default_factory=list)
    first_misfit: float | None = None
    network_evaluations: int = 0
    memory: dict[str, float] = field(default_factory=dict)
    learning: dict[str, Any] = field(default_factory=dict)
    weights: list[dict[str, Any]] = field(default_factory=list)
    batch_size: int = 1


class Monitor:
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
        """Record iteration ``p``, forward it to the sink, then check the deadline and divergence."""
        misfit = float(p.misfit)
        self.last_info = dict(p.info)
        solves = int(p.info.get("pde_solves", -1))
        self.curve.append(
            {
                "iteration": int(p.iteration),
                "pde_solves": solves,
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
                    "pde_solves": solves,
                    "forward_solves": int(p.info.get("forward_solves", p.info.get("forward", -1))),
                    "adjoint_solves": int(p.info.get("adjoint_solves", p.info.get("adjoint", -1))),
                    "budget": int(p.info.get("budget", -1)),
                }
            )
        if self.deadline is not None:
            self.deadline.check()
        self.divergence(int(p.iteration), misfit)


def _resolved(solver: Solver, env: gym.Env) -> dict[str, Any]:
    """The solver's parameters for this task (family defaults applied where the solver has them)."""
    resolve = getattr(solver, "resolve_params", None)
    return dict(resolve(env)) if callable(resolve) else dict(solver.params)


def capped(solver: Solver, cell: Cell, env: gym.Env) -> Solver:
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
    limited = type(solver)(**requested, **caps)
    _resolved(limited, env)
    return limited


def fill_learning(solver: Solver, report: SolveReport) -> None:
    """Fill the report's weights records and training-cost columns."""
    records = solver.weights()
    cost = solver.training_cost()
    report.weights = records
    report.learning = {
        "amortized": bool(solver.amortized),
        "weights": to_json(records),
        "checkpoint_hashes": to_json({r["name"]: r["sha256"] for r in records}),
        "training_steps": int(cost["steps"]),
        "training_wall_time": float(cost["wall_time_s"]),
        "training_devices": ",".join(cost["devices"]),
    }


def solve_cell(
    cell: Cell,
    get_instance: InstanceSource,
    progress: ProgressSink | None = None,
    *,
    own_interrupts: bool = True,
) -> SolveReport:
    """Run the solver's half of ``cell`` (never raises for the solver's fault; see the module docstring).

    Args:
        cell: The cell.
        get_instance: Called once, after the solver was found to apply, for the public instance.
        progress: Receives a ``loaded`` event (solver name, parameters, budget, device) once the solver
            applies, a ``solving`` event when ``solve`` starts, and ``iteration`` events.
        own_interrupts: Treat a ``KeyboardInterrupt`` as the solver's own failure (in a worker, which
            ignores SIGINT, only the solver can raise one). In the user's process it is re-raised, so
            Ctrl-C stops the run.

    Returns:
        The report.
    """
    report = SolveReport()
    monitor = Monitor(cell, progress)
    solver: Solver | None = None
    env = None
    mem = PeakMemory()
    try:
        solver = load_solver_class(cell.solver)(**cell.params)
        report.solver_name = solver.name
        env = make(cell.task, **cell.env_kwargs)
        solver = capped(solver, cell, env)
        base = env.unwrapped
        report.budget = int(base.budget)
        report.device, report.device_type = describe_device(base.device), base.device.type
        reason = solver.applies_to(env)
        if reason is not None:
            report.status, report.reason = "skipped", str(reason)
            return report
        if progress is not None:
            progress(
                {
                    "cell_id": cell.cell_id,
                    "event": "loaded",
                    "solver_name": report.solver_name,
                    "params_json": to_json(solver.params),
                    "budget": report.budget,
                    "device": report.device,
                    "device_type": report.device_type,
                }
            )
        base.serve(get_instance())
        mem.cuda_device = base.device if base.device.type == "cuda" else None
        with mem:
            seed_everything(cell.seed)
            env.reset(seed=cell.seed, options={"split": cell.split, "index": cell.index})
            t0 = time.perf_counter()
            solver.setup(env)
            report.setup_time = time.perf_counter() - t0
            if progress is not None:
                progress({"cell_id": cell.cell_id, "label": cell.label, "event": "solving"})
            monitor.t0 = t1 = time.perf_counter()
            try:
                with Deadline(cell.timeout) as monitor.deadline:
                    estimate = solver.solve(env, callback=monitor)
            finally:
                report.wall_time = time.perf_counter() - t1
            arr = np.asarray(estimate.detach().cpu() if isinstance(estimate, torch.Tensor) else estimate)
            if not np.all(np.isfinite(arr)):
                raise CellDiverged("the final estimate contains NaN or inf")
        report.estimate = np.ascontiguousarray(arr, dtype=np.float32)
        report.status = "solved"
    except CellTimeout as e:
        report.status, report.reason = "timeout", str(e) or f"timed out after {cell.timeout:g} s"
    except CellDiverged as e:
        report.status, report.reason = "diverged", str(e)
    except BaseException as e:  # SystemExit and the like from a solver are its failure
        if isinstance(e, KeyboardInterrupt) and not own_interrupts:
            raise
        report.status, report.reason = "failed", f"{type(e).__name__}: {e}"
        report.traceback = traceback.format_exc()[-4000:]
    finally:
        if env is not None:
            counter = env.unwrapped.counter
            report.counters = {
                "forward": int(counter.forward),
                "adjoint": int(counter.adjoint),
                "used": int(counter.used),
                "physics_time": float(counter.physics_time),
            }
            try:
                env.close()
            except Exception:  # closing must not lose the report
                pass
        if solver is not None:
            try:
                report.params_json = to_json(solver.params)
                fill_learning(solver, report)
            except Exception as e:  # a broken weights record must not lose the row
                report.status, report.reason = "failed", f"weights record: {type(e).__name__}: {e}"
        report.curve = monitor.curve
        report.first_misfit = monitor.divergence.reference
        report.network_evaluations = int(monitor.last_info.get("network_evaluations", 0))
        report.memory = {
            "peak_rss_mb": mem.peak_rss_mb,
            "rss_delta_mb": mem.rss_delta_mb,
            "peak_gpu_mb": mem.peak_gpu_mb,
        }
    return report


def params_of(report: SolveReport, cell: Cell) -> dict[str, Any]:
    """The parameters to record: the solver's, else the cell's requested ones."""
    return json.loads(report.params_json) if report.params_json is not None else cell.params
