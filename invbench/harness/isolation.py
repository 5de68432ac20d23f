"""Run a cell's solver in its own worker process, out of reach of the truth and the scorer.

The harness process draws the instance and keeps it; a fresh worker process (forked from a
``forkserver`` that has invbench, torch and deepwave imported, so a cell starts in milliseconds)
receives only the public instance, runs :func:`invbench.harness.solver_side.solve_cell`, streams
progress events back over a pipe and returns its :class:`~invbench.harness.solver_side.SolveReport`.

What the harness guarantees, whatever the solver does:

* A solver that raises anything (``SystemExit`` and ``KeyboardInterrupt`` included) gives a
  ``failed`` report; one whose process dies (``os._exit``, a segfault) gives ``failed`` naming the
  exit code.
* A solver that ignores the deadline (swallows the harness's ``CellTimeout``, or sits in one long C
  call) is killed ``grace`` seconds after it, and the cell is ``timeout``. Setup has its own limit.
* The worker ignores SIGINT: the user's Ctrl-C reaches only the harness, which kills the worker and
  stops the run; ``--resume`` reruns the cell.

A worker solves one cell, or a batch of cells of a batched solver
(:mod:`invbench.harness.batch_side`); a batch's time limit is the sum of its cells'.

The protocol (worker -> harness): ``("event", dict)`` progress events (each naming its cell),
``("instance",)`` asking for the public instances (answered with ``("instance", [dict, ...])``, one per
cell), ``("reports", [SolveReport, ...])`` last, one per cell.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import time
import traceback
import types
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from invbench.core.env import Instance
from invbench.core.seeding import SALT_ENV
from invbench.harness.batch_side import batch_timeout, solve_batch_cells
from invbench.harness.cells import Cell
from invbench.harness.solver_side import InstanceSource, ProgressSink, SolveReport, solve_cell

SETUP_LIMIT_S = 900.0
"""Seconds a solver may spend before ``solve`` starts (loading, ``setup``) before it is killed."""

PRELOAD: tuple[str, ...] = (
    "invbench.harness.isolation",
    "invbench.harness.solver_side",
    "invbench.tasks.fwi.env",
    "invbench.tasks.darcy.env",
    "invbench.physics.wave.propagator",
    "deepwave",  # imported lazily by the propagator; a second of every FWI cell otherwise
)
"""Modules the forkserver imports once, so that a worker starts without importing them again."""

_context: Any = None


def kill_grace(timeout: float) -> float:
    """Seconds past a cell's timeout before its worker is killed: a PDE solve in C finishes first."""
    return min(60.0, max(5.0, 0.2 * timeout))


def _mp_context() -> Any:
    """The multiprocessing context of the workers (``forkserver`` where the platform has it)."""
    global _context
    if _context is None:
        if "forkserver" in multiprocessing.get_all_start_methods():
            _context = multiprocessing.get_context("forkserver")
            _context.set_forkserver_preload(list(PRELOAD))
        else:
            _context = multiprocessing.get_context("spawn")
    return _context


def pack_instance(instance: Instance) -> dict[str, Any]:
    """A public instance as plain arrays, for the pipe."""
    if instance.truth is not None:
        raise ValueError("only a public instance (without its truth) may be sent to a solver")
    return {
        "split": instance.split,
        "index": instance.index,
        "seed": instance.seed,
        "observed": instance.observed.detach().cpu().numpy(),
        "mask": instance.mask.detach().cpu().numpy(),
        "initial": np.asarray(instance.initial),
        "extras": dict(instance.extras),
    }


def unpack_instance(packed: dict[str, Any]) -> Instance:
    """The inverse of :func:`pack_instance` (CPU tensors; the environment moves them to its device)."""
    return Instance(
        split=packed["split"],
        index=int(packed["index"]),
        seed=int(packed["seed"]),
        truth=None,
        observed=torch.from_numpy(packed["observed"]),
        mask=torch.from_numpy(packed["mask"]),
        initial=packed["initial"],
        extras=packed["extras"],
    )


def _worker_main(
    conn: multiprocessing.connection.Connection, cells: list[Cell], threads: int, environ: dict[str, str]
) -> None:
    """Entry point of a worker process: solve one cell (or one batch), report, exit."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The forkserver's environment is the one of its start; the cell runs in the harness's current one.
    os.environ.clear()
    os.environ.update(environ)
    if threads > 0:
        torch.set_num_threads(threads)

    def send_event(event: dict[str, Any]) -> None:
        conn.send(("event", event))

    def get_instances() -> list[Instance]:
        conn.send(("instance",))
        kind, packed = conn.recv()
        if kind != "instance":
            raise RuntimeError(f"harness protocol: expected the instances, got {kind!r}")
        return [unpack_instance(p) for p in packed]

    try:
        if len(cells) == 1:
            reports = [solve_cell(cells[0], lambda: get_instances()[0], send_event, own_interrupts=True)]
        else:
            reports = solve_batch_cells(cells, get_instances, send_event, own_interrupts=True)
    except BaseException as e:  # the harness's own code failed here (e.g. an import): report it
        reports = [
            SolveReport(
                status="failed",
                reason=f"solver worker: {type(e).__name__}: {e}",
                traceback=traceback.format_exc()[-4000:],
                batch_size=len(cells),
            )
            for _ in cells
        ]
    try:
        conn.send(("reports", reports))
    finally:
        conn.close()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: a solver's lingering threads or atexit hooks cannot delay the harness.
    os._exit(0)


@contextlib.contextmanager
def _without_main_module() -> Iterator[None]:
    """Start a worker without re-running the program's ``__main__`` in it.

    multiprocessing re-imports the parent's main module in every child it starts (for ``invbench``,
    the whole CLI); the worker needs none of it, only the importable target function. A placeholder
    ``__main__`` while the process starts leaves nothing to re-import.
    """
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def _worker_environ() -> dict[str, str]:
    """The harness's environment without the hidden tier's salt (a solver must not draw hidden maps)."""
    return {k: v for k, v in os.environ.items() if k != SALT_ENV}


def _last_counters(events: list[dict[str, Any]]) -> dict[str, float]:
    """Counters as of the last iteration event (all a killed worker leaves behind)."""
    for event in reversed(events):
        if event.get("event") == "iteration":
            used = int(event.get("pde_solves", -1))
            return {
                "forward": max(int(event.get("forward_solves", -1)), 0),
                "adjoint": max(int(event.get("adjoint_solves", -1)), 0),
                "used": max(used, 0),
                "physics_time": 0.0,
            }
    return {}


def _curve_of(events: list[dict[str, Any]]) -> list[dict[str, float]]:
    return [
        {
            "iteration": int(e["iteration"]),
            "pde_solves": int(e.get("pde_solves", -1)),
            "wall_time": float(e.get("t", math.nan)),
            "misfit": float(e["misfit"]),
        }
        for e in events
        if e.get("event") == "iteration"
    ]


def solve_isolated(
    cell: Cell,
    get_instance: InstanceSource,
    progress: ProgressSink | None = None,
    *,
    grace: float | None = None,
    setup_limit: float = SETUP_LIMIT_S,
) -> SolveReport:
    """Run the solver's half of ``cell`` in a fresh worker process (see the module docstring).

    Args:
        cell: The cell.
        get_instance: Draws the public instance in this (the harness's) process when the worker asks.
        progress: Receives the worker's progress events.
        grace: Seconds past ``cell.timeout`` before the worker is killed (default :func:`kill_grace`).
        setup_limit: Seconds allowed before ``solve`` starts.

    Returns:
        The worker's report, or one the harness writes when the worker died or was killed.

    Raises:
        KeyboardInterrupt: The user stopped the run (the worker is killed first).
    """
    reports = solve_isolated_batch(
        [cell], lambda: [get_instance()], progress, grace=grace, setup_limit=setup_limit
    )
    return reports[0]


def solve_isolated_batch(
    cells: list[Cell],
    get_instances: Any,
    progress: ProgressSink | None = None,
    *,
    grace: float | None = None,
    setup_limit: float = SETUP_LIMIT_S,
) -> list[SolveReport]:
    """Run the solver's half of a batch of cells (or of one) in a fresh worker process.

    Args:
        cells: The cells (more than one: a batched solver's cells of one task).
        get_instances: ``() -> list[Instance]``: draws the public instances in this process when the
            worker asks.
        progress: Receives the worker's progress events.
        grace: Seconds past the batch's time limit before the worker is killed (default
            :func:`kill_grace`).
        setup_limit: Seconds allowed before ``solve`` starts.

    Returns:
        One report per cell: the worker's, or ones the harness writes when it died or was killed.

    Raises:
        KeyboardInterrupt: The user stopped the run (the worker is killed first).
    """
    ctx = _mp_context()
    parent, child = ctx.Pipe(duplex=True)
    proc = ctx.Process(
        target=_worker_main,
        args=(child, list(cells), torch.get_num_threads(), _worker_environ()),
        daemon=True,
    )
    limit = batch_timeout(cells)
    grace = kill_grace(limit) if grace is None else float(grace)
    events: list[dict[str, Any]] = []
    loaded: dict[str, dict[str, Any]] = {}
    with _without_main_module():
        proc.start()
    child.close()
    deadline = time.monotonic() + setup_limit
    phase = "setup"
    solve_started = 0.0

    def written(make: Any) -> list[SolveReport]:
        return [_known(loaded.get(c.cell_id, {}), make(c, [e for e in events if _of(e, c)])) for c in cells]

    try:
        while True:
            wait = max(deadline - time.monotonic(), 0.0)
            if not parent.poll(min(wait, 1.0)):
                if time.monotonic() >= deadline:
                    _stop(proc)
                    return written(
                        lambda c, ev, ph=phase, t0=solve_started: _killed(
                            limit, ph, ev, setup_limit, grace, t0
                        )
                    )
                if not proc.is_alive() and not parent.poll(0):
                    return written(lambda c, ev: _died(proc, ev))
                continue
            try:
                message = parent.recv()
            except (EOFError, OSError):
                return written(lambda c, ev: _died(proc, ev))
            kind = message[0]
            if kind == "event":
                event = message[1]
                if event.get("event") == "loaded":
                    loaded[str(event.get("cell_id"))] = event
                    continue
                if event.get("event") == "solving":
                    if phase != "solve":
                        phase, solve_started = "solve", time.monotonic()
                        deadline = solve_started + (limit + grace if math.isfinite(limit) else math.inf)
                    continue
                event["t"] = time.monotonic() - solve_started if solve_started else math.nan
                events.append(event)
                if progress is not None:
                    progress(event)
            elif kind == "instance":
                paused = time.monotonic()
                parent.send(("instance", [pack_instance(i) for i in get_instances()]))
                deadline += time.monotonic() - paused  # drawing the instances is the harness's time
            elif kind == "reports":
                reports: list[SolveReport] = message[1]
                proc.join(timeout=5.0)
                return reports
            else:
                raise RuntimeError(f"harness protocol: unexpected message {kind!r} from the worker")
    except BaseException:
        _stop(proc)
        raise
    finally:
        parent.close()
        if proc.is_alive():
            _stop(proc)


def _of(event: dict[str, Any], cell: Cell) -> bool:
    """Whether a progress event belongs to ``cell`` (events without a cell id belong to every cell)."""
    return event.get("cell_id", cell.cell_id) == cell.cell_id


def _known(loaded: dict[str, Any], report: SolveReport) -> SolveReport:
    """Fill a report the harness wrote with what the worker said when its solver was loaded."""
    if loaded:
        report.solver_name = str(loaded["solver_name"])
        report.params_json = str(loaded["params_json"])
        report.budget = int(loaded["budget"])
        report.device, report.device_type = str(loaded["device"]), str(loaded["device_type"])
    return report


def _stop(proc: Any) -> None:
    proc.kill()
    proc.join(timeout=5.0)


def _killed(
    limit: float,
    phase: str,
    events: list[dict[str, Any]],
    setup_limit: float,
    grace: float,
    solve_started: float,
) -> SolveReport:
    if phase == "setup":
        reason = f"killed: the solver did not start solving within {setup_limit:g} s (setup limit)"
        status = "failed"
    else:
        reason = (
            f"timed out after {limit:g} s and killed {grace:g} s later (the solver ignored the "
            "deadline); counters as of its last reported iteration"
        )
        status = "timeout"
    return SolveReport(
        status=status,
        reason=reason,
        counters=_last_counters(events),
        wall_time=time.monotonic() - solve_started if solve_started else 0.0,
        curve=_curve_of(events),
    )


def _died(proc: Any, events: list[dict[str, Any]]) -> SolveReport:
    proc.join(timeout=5.0)
    code = proc.exitcode
    how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
    return SolveReport(
        status="failed",
        reason=f"the solver's worker process ended without a report ({how}); counters as of its last "
        "reported iteration",
        counters=_last_counters(events),
        curve=_curve_of(events),
    )
