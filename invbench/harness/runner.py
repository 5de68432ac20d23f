"""The benchmark loop: plan -> skip finished cells -> execute -> store -> consolidate."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console

from invbench.harness.batching import resolve_batch_size
from invbench.harness.cells import Cell
from invbench.harness.display import LiveDisplay
from invbench.harness.execute import CellOutcome, ProgressSink
from invbench.harness.executors import Executor, make_executor
from invbench.harness.store import ResultStore

RETRY_STATUSES = frozenset({"failed", "timeout"})
SCORED_STATUSES = frozenset({"done", "diverged"})


class ResultsExistError(RuntimeError):
    """The output folder already holds results and neither resume nor overwrite was asked for."""


def pending_cells(
    cells: Sequence[Cell], store: ResultStore, *, resume: bool, retry_failed: bool = False
) -> list[Cell]:
    """The cells still to run.

    Args:
        cells: The planned cells.
        store: The results folder.
        resume: Skip cells already finished in ``store``; without it, a folder that holds any
            of the planned cells is an error.
        retry_failed: With ``resume``, run ``failed`` and ``timeout`` cells again.

    Raises:
        ResultsExistError: When ``store`` holds planned cells and ``resume`` is off.
    """
    finished = store.finished()
    overlap = [c for c in cells if c.cell_id in finished]
    if overlap and not resume:
        raise ResultsExistError(
            f"{store.root} already holds results of {len(overlap)} of these cells; "
            "pass --resume to run only the missing ones, or choose another --out"
        )
    skip = RETRY_STATUSES if retry_failed else frozenset()
    return [c for c in cells if c.cell_id not in finished or finished[c.cell_id] in skip]


def scored_cell_ids(path: str | Path) -> set[str]:
    """Ids of the cells with a scored (``done`` or ``diverged``) row in a results table.

    Lets a suite run only what a published table (``leaderboard/results.parquet``) or another
    results folder lacks: a cell id names the task, instance, solver, requested parameters, seed
    and repetition, so a matching row is the same run.

    Args:
        path: A ``results.parquet`` file, or a results folder holding one.

    Raises:
        ValueError: When there is no such file, or it is not a results table (not parquet, or
            without ``cell_id`` and ``status`` columns).
    """
    path = Path(path)
    if path.is_dir():
        path = path / "results.parquet"
    if not path.is_file():
        raise ValueError(f"{path}: no results table there")
    try:
        table = pq.read_table(path, columns=["cell_id", "status"])
    except (pa.ArrowException, OSError, KeyError) as e:
        raise ValueError(f"{path}: not a results table with cell_id and status columns ({e})") from e
    ids = table.column("cell_id").to_pylist()
    statuses = table.column("status").to_pylist()
    return {cid for cid, status in zip(ids, statuses, strict=True) if status in SCORED_STATUSES}


def shard(cells: Sequence[Cell], spec: str) -> list[Cell]:
    """Every ``count``-th cell from ``index`` on, for ``spec = "index/count"``.

    Independent processes (one per core, say) given ``0/2`` and ``1/2`` of the same plan run
    disjoint cells that together make the whole plan.

    Raises:
        ValueError: When ``spec`` is not ``K/N`` with ``0 <= K < N``.
    """
    try:
        index, count = (int(part) for part in spec.split("/"))
    except ValueError:
        raise ValueError(f"shard {spec!r}: expected K/N, e.g. 0/2") from None
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"shard {spec!r}: need 0 <= K < N")
    return list(cells[index::count])


def run_cells(
    cells: Sequence[Cell],
    store: ResultStore,
    executor: Executor,
    *,
    progress: ProgressSink | None = None,
    on_finished: Callable[[CellOutcome], None] | None = None,
    batch_size: int = 1,
) -> pd.DataFrame:
    """Run ``cells`` on ``executor``, storing each outcome as it arrives.

    The consolidated ``results.parquet``/``curves.parquet`` are written at the end, also when the
    run is interrupted (then without the cells in flight, which a ``--resume`` runs again).

    Args:
        cells: Cells to run (already filtered by :func:`pending_cells`).
        store: The results folder.
        executor: Where cells run.
        progress: Receives progress events of running cells.
        on_finished: Called with each outcome after it is stored.
        batch_size: Cells a batched solver solves together (:mod:`invbench.harness.batching`).

    Returns:
        Every row in the store (including earlier runs' when resuming).
    """
    store.root.mkdir(parents=True, exist_ok=True)
    try:
        for outcome in executor.map(cells, progress, batch_size=batch_size):
            store.write(outcome)
            if on_finished is not None:
                on_finished(outcome)
    finally:
        results = store.consolidate()
    return results


def run_benchmark(
    cells: Sequence[Cell],
    out: str | Path,
    *,
    executor: str | Executor = "local",
    scheduler: str | None = None,
    workers: int = 2,
    resume: bool = False,
    retry_failed: bool = False,
    console: Console | None = None,
    options: dict[str, Any] | None = None,
    batch_size: int | str | None = "auto",
) -> pd.DataFrame:
    """Run a planned benchmark into the results folder ``out`` (the engine of ``invbench bench``).

    Args:
        cells: The planned cells (see :func:`invbench.harness.cells.plan_cells`).
        out: Results folder.
        executor: ``"local"``, ``"dask"`` or an executor object.
        scheduler: Address of an existing dask scheduler.
        workers: LocalCluster worker processes for ``"dask"``.
        resume: Skip cells already finished in ``out``.
        retry_failed: With ``resume``, run failed and timed-out cells again.
        console: Draw the live display and nothing else here; ``None`` runs quietly.
        options: Extra run options recorded in ``plan.json``.
        batch_size: Cells a batched solver solves together: an integer, or ``"auto"`` for the
            device's default (:func:`invbench.harness.batching.resolve_batch_size`).

    Returns:
        Every row in ``out``.

    Raises:
        ResultsExistError: When ``out`` holds planned cells and ``resume`` is off.
    """
    store = ResultStore(out)
    todo = pending_cells(cells, store, resume=resume, retry_failed=retry_failed)
    size = resolve_batch_size(batch_size, todo)
    if isinstance(executor, str):
        gpu = any(c.uses_gpu for c in todo)
        kind = executor if todo else "local"  # nothing to run: no cluster to start
        exe: Executor = make_executor(kind, scheduler=scheduler if todo else None, workers=workers, gpu=gpu)
    else:
        exe = executor
    store.root.mkdir(parents=True, exist_ok=True)
    store.write_plan(
        list(cells), {"executor": exe.name, "resume": resume, "batch_size": size, **(options or {})}
    )
    try:
        if console is None:
            return run_cells(todo, store, exe, batch_size=size)
        with LiveDisplay(console, total=len(cells), already=len(cells) - len(todo)) as live:
            return run_cells(
                todo, store, exe, progress=live.progress, on_finished=live.finished, batch_size=size
            )
    finally:
        if isinstance(executor, str):
            exe.close()
