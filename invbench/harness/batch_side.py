"""The solver's half of a batch of cells: one batched solver over B instances of one task.

A solver that declares :attr:`~invbench.core.solver.Solver.batched` may solve several cells of one
task together (:mod:`invbench.harness.batching` groups them). :func:`solve_batch_cells` does for B
cells what :func:`~invbench.harness.solver_side.solve_cell` does for one: load the solver once, build
an :class:`~invbench.core.vector.InverseProblemVectorEnv` whose sub-environments are served the B
public instances (never their truths), run the untimed ``setup`` and the timed ``solve_batch`` under
one deadline, and return one :class:`~invbench.harness.solver_side.SolveReport` per cell, each with
that instance's own counters, curve and estimate.

What is shared, and how the reports say so:

* Time: the batch's ``setup`` and ``solve`` seconds are split evenly over its cells (``wall_time`` of
  a batched row is its share: what the cell cost in a batch of ``batch_size``). The batch's deadline is
  the sum of its cells' time limits, what they would have had one after another.
* Memory: each row records the peak of the process that solved the whole batch.
* Seeding: the batch is seeded with its first cell's seed; the batched baselines are deterministic,
  so each instance's estimate equals the one an unbatched cell computes (``tests/harness/test_batching.py``).
* Divergence is per cell: a diverging instance's row is ``diverged`` while the others go on; a
  timeout or a failure of the solver ends every cell of the batch with that status.
"""

from __future__ import annotations

import math
import time
import traceback
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from invbench.core.env import Instance
from invbench.core.seeding import seed_everything
from invbench.core.solver import Progress, Solver, load_solver_class
from invbench.core.vector import InverseProblemVectorEnv
from invbench.harness.cells import Cell, to_json
from invbench.harness.guards import CellDiverged, CellTimeout, Deadline
from invbench.harness.memory import PeakMemory
from invbench.harness.provenance import describe_device
from invbench.harness.solver_side import Monitor, ProgressSink, SolveReport, capped, fill_learning
from invbench.registry import make

InstancesSource = Any
"""``() -> list[Instance]``: the public parts of the batch's instances, in the cells' order."""


def batch_timeout(cells: Sequence[Cell]) -> float:
    """The time limit of a batch: the sum of its cells' (``inf`` if any cell has none)."""
    total = 0.0
    for cell in cells:
        if not math.isfinite(cell.timeout) or cell.timeout <= 0:
            return math.inf
        total += float(cell.timeout)
    return total


class _CellCallback:
    """One sub-environment's progress callback: records the cell's curve, stops reporting if it diverged."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor
        self.diverged: str | None = None

    def __call__(self, p: Progress) -> None:
        if self.diverged is not None:
            return
        try:
            self.monitor(p)
        except CellDiverged as e:
            self.diverged = str(e) or "diverged"


def solve_batch_cells(
    cells: Sequence[Cell],
    get_instances: InstancesSource,
    progress: ProgressSink | None = None,
    *,
    own_interrupts: bool = True,
) -> list[SolveReport]:
    """Run the solver's half of a batch of cells (one task, solver and parameters; see the module docstring).

    Args:
        cells: The batch; they differ only in instance, seed and example flag.
        get_instances: Called once, after the solver was found to apply, for the public instances.
        progress: Receives ``loaded``, ``solving`` and ``iteration`` events, each with its cell's id.
        own_interrupts: As :func:`~invbench.harness.solver_side.solve_cell`.

    Returns:
        One report per cell, in order.
    """
    n = len(cells)
    reports = [SolveReport(batch_size=n) for _ in cells]
    monitors = [Monitor(cell, progress) for cell in cells]
    callbacks = [_CellCallback(m) for m in monitors]
    first = cells[0]
    solver: Solver | None = None
    vec: InverseProblemVectorEnv | None = None
    mem = PeakMemory()
    try:
        solver = load_solver_class(first.solver)(**first.params)
        vec = InverseProblemVectorEnv(lambda: make(first.task, **first.env_kwargs), n)
        env0 = vec.envs[0]
        solver = capped(solver, first, env0)
        base0 = vec.bases[0]
        device, device_type = describe_device(base0.device), base0.device.type
        for report in reports:
            report.solver_name = solver.name
            report.budget = int(base0.budget)
            report.device, report.device_type = device, device_type
        reason = solver.applies_to(env0)
        if reason is not None:
            for report in reports:
                report.status, report.reason = "skipped", str(reason)
            return reports
        if progress is not None:
            for cell in cells:
                progress(
                    {
                        "cell_id": cell.cell_id,
                        "event": "loaded",
                        "solver_name": solver.name,
                        "params_json": to_json(solver.params),
                        "budget": int(base0.budget),
                        "device": device,
                        "device_type": device_type,
                    }
                )
        instances: list[Instance] = list(get_instances())
        if len(instances) != n:
            raise RuntimeError(f"harness protocol: {len(instances)} instances for a batch of {n} cells")
        for base, instance in zip(vec.bases, instances, strict=True):
            base.serve(instance)
        mem.cuda_device = base0.device if base0.device.type == "cuda" else None
        with mem:
            seed_everything(first.seed)
            where = {"split": first.split, "index": [c.index for c in cells]}
            vec.reset(seed=[c.seed for c in cells], options=where)
            t0 = time.perf_counter()
            solver.setup(env0)
            setup = time.perf_counter() - t0
            if progress is not None:
                for cell in cells:
                    progress({"cell_id": cell.cell_id, "label": cell.label, "event": "solving"})
            t1 = time.perf_counter()
            for m in monitors:
                m.t0 = t1
            try:
                with Deadline(batch_timeout(cells)) as deadline:
                    for m in monitors:
                        m.deadline = deadline
                    estimates = solver.solve_batch(vec, callbacks=callbacks)
            finally:
                wall = time.perf_counter() - t1
                for report in reports:
                    report.setup_time, report.wall_time = setup / n, wall / n
        if len(estimates) != n:
            raise RuntimeError(
                f"{solver.name}.solve_batch returned {len(estimates)} estimates for {n} instances"
            )
        for report, callback, estimate in zip(reports, callbacks, estimates, strict=True):
            arr = np.asarray(estimate.detach().cpu() if isinstance(estimate, torch.Tensor) else estimate)
            if callback.diverged is not None:
                report.status, report.reason = "diverged", callback.diverged
            elif not np.all(np.isfinite(arr)):
                report.status, report.reason = "diverged", "the final estimate contains NaN or inf"
            else:
                report.estimate = np.ascontiguousarray(arr, dtype=np.float32)
                report.status = "solved"
    except CellTimeout as e:
        for report, callback in zip(reports, callbacks, strict=True):
            if callback.diverged is None:
                report.status = "timeout"
                report.reason = f"{e or 'timed out'} (a batch of {n} cells, limit {batch_timeout(cells):g} s)"
    except BaseException as e:  # the solver's failure fails every cell of its batch
        if isinstance(e, KeyboardInterrupt) and not own_interrupts:
            raise
        tb = traceback.format_exc()[-4000:]
        for report in reports:
            report.status, report.reason, report.traceback = "failed", f"{type(e).__name__}: {e}", tb
    finally:
        _finish(reports, monitors, solver, vec, mem)
    return reports


def _finish(
    reports: list[SolveReport],
    monitors: list[Monitor],
    solver: Solver | None,
    vec: InverseProblemVectorEnv | None,
    mem: PeakMemory,
) -> None:
    """Counters, curves, memory and the solver's records into every report; close the environments."""
    if vec is not None:
        for report, base in zip(reports, vec.bases, strict=True):
            c = base.counter
            report.counters = {
                "forward": int(c.forward),
                "adjoint": int(c.adjoint),
                "used": int(c.used),
                "physics_time": float(c.physics_time),
            }
        try:
            vec.close()
        except Exception:  # closing must not lose the reports
            pass
    for report, monitor in zip(reports, monitors, strict=True):
        if solver is not None:
            try:
                report.params_json = to_json(solver.params)
                fill_learning(solver, report)
            except Exception as e:  # a broken weights record must not lose the rows
                report.status, report.reason = "failed", f"weights record: {type(e).__name__}: {e}"
        report.curve = monitor.curve
        report.first_misfit = monitor.divergence.reference
        report.network_evaluations = int(monitor.last_info.get("network_evaluations", 0))
        report.memory = {
            "peak_rss_mb": mem.peak_rss_mb,
            "rss_delta_mb": mem.rss_delta_mb,
            "peak_gpu_mb": mem.peak_gpu_mb,
        }
