"""Group a batched solver's cells into batches that one worker solves together.

A solver that declares :attr:`~invbench.core.solver.Solver.batched` solves B instances of one task at
once (:meth:`~invbench.core.solver.Solver.solve_batch`, one batched physics call per iteration). The
harness gives it cells that differ only in their instance: same suite, task, options, split, solver,
requested parameters, device, iteration cap, time limit and divergence factor. Other cells stay alone.
Each cell still gets its own row, stored, resumed and retried per cell.

The batch size is an option of ``invbench bench`` (``--batch-size``); ``auto`` takes
:data:`DEFAULT_BATCH_SIZE` of the cells' device.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from invbench.core.device import default_device
from invbench.core.solver import load_solver_class
from invbench.harness.cells import Cell

DEFAULT_BATCH_SIZE: dict[str, int] = {"cpu": 1, "cuda": 64}
"""``--batch-size auto`` per device type. On this project's 2-core CPU the benchmark workers already
use every core with one cell each, and batching did not raise the cells per hour (README,
"Performance": 1.00x at one thread, 1.03x at two); on a GPU one 70 x 70 model with 5 shots leaves
the device nearly idle."""


@cache
def is_batched(solver: str) -> bool:
    """Whether the solver spec names a solver that declares ``batched`` (unknown specs: ``False``)."""
    try:
        return bool(getattr(load_solver_class(solver), "batched", False))
    except (ValueError, ImportError, AttributeError):
        return False


def _key(cell: Cell) -> tuple[object, ...]:
    return (
        cell.suite,
        cell.task,
        cell.env_kwargs_json,
        cell.split,
        cell.solver,
        cell.params_json,
        cell.device,
        cell.max_iterations,
        cell.timeout,
        cell.diverge_factor,
    )


def resolve_batch_size(batch_size: int | str | None, cells: Sequence[Cell]) -> int:
    """The batch size to use: an integer as given, or ``auto`` (``None``) from the cells' device.

    Raises:
        ValueError: For a size below 1 or a string other than ``auto``.
    """
    if batch_size is None or batch_size == "auto":
        gpu = any(c.uses_gpu for c in cells) or (
            any(c.device == "auto" for c in cells) and default_device().type == "cuda"
        )
        return DEFAULT_BATCH_SIZE["cuda" if gpu else "cpu"]
    if isinstance(batch_size, str):
        try:
            batch_size = int(batch_size)
        except ValueError:
            raise ValueError(f"batch size must be a positive integer or 'auto', got {batch_size!r}") from None
    if int(batch_size) < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    return int(batch_size)


def batches(cells: Sequence[Cell], batch_size: int) -> list[list[Cell]]:
    """Cells in units of work: batches of up to ``batch_size`` for batched solvers, one cell otherwise.

    Batches keep the plan's order: a unit starts where its first cell stood, and a batch fills with
    the next cells of the same group.

    Raises:
        ValueError: For ``batch_size < 1``.
    """
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    units: list[list[Cell]] = []
    open_batch: dict[tuple[object, ...], list[Cell]] = {}
    for cell in cells:
        if batch_size == 1 or not is_batched(cell.solver):
            units.append([cell])
            continue
        key = _key(cell)
        batch = open_batch.get(key)
        if batch is None or len(batch) >= batch_size:
            batch = []
            open_batch[key] = batch
            units.append(batch)
        batch.append(cell)
    return units
