"""Where cells run: in this process (``local``) or on dask.distributed workers (``dask``).

An executor takes cells and yields their :class:`~invbench.harness.execute.CellOutcome` as they
finish; the client (the ``invbench bench`` process) writes every result, so dask workers need
no shared filesystem. Progress events of running cells reach the client through dask's event
log (``Worker.log_event`` / ``Client.subscribe_topic``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Any, Protocol

from invbench.harness.batching import batches
from invbench.harness.cells import Cell
from invbench.harness.execute import CellOutcome, ProgressSink, failed_outcome, run_batch

PROGRESS_TOPIC = "invbench-progress"


class Executor(Protocol):
    """Runs cells and yields their outcomes in completion order."""

    name: str

    def map(
        self, cells: Sequence[Cell], progress: ProgressSink | None = None, *, batch_size: int = 1
    ) -> Iterator[CellOutcome]:
        """Run ``cells`` (a batched solver's in batches of up to ``batch_size``); yield each outcome."""
        ...

    def close(self) -> None:
        """Release workers and connections."""
        ...


class _ContextMixin:
    def __enter__(self) -> Any:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()  # type: ignore[attr-defined]

    def close(self) -> None:
        """Release resources (nothing by default)."""


class LocalExecutor(_ContextMixin):
    """Runs cells one after another in this process (torch uses this process's thread settings)."""

    name = "local"

    def map(
        self, cells: Sequence[Cell], progress: ProgressSink | None = None, *, batch_size: int = 1
    ) -> Iterator[CellOutcome]:
        """Run ``cells`` in order (a batched solver's in batches, :mod:`invbench.harness.batching`)."""
        for unit in batches(cells, batch_size):
            yield from run_batch(unit, progress)


def _run_on_worker(cells: list[Cell], torch_threads: int, throttle: float) -> list[CellOutcome]:
    """Run one cell (or one batch) on a dask worker, publishing progress events to the client."""
    import torch
    from distributed import get_worker

    if torch_threads > 0:
        torch.set_num_threads(torch_threads)
    worker = get_worker()
    last = [0.0]

    def publish(event: dict[str, Any]) -> None:
        now = time.monotonic()
        if event["event"] == "iteration" and now - last[0] < throttle:
            return
        last[0] = now
        worker.log_event(PROGRESS_TOPIC, {**event, "worker": worker.address})

    return run_batch(cells, publish)


class DaskExecutor(_ContextMixin):
    """Runs cells on dask.distributed workers.

    Without ``scheduler`` it starts a :class:`distributed.LocalCluster` of ``workers`` processes
    with one thread each and ``OMP_NUM_THREADS=1`` (and ``torch.set_num_threads(1)`` in every
    cell), so cells do not fight over cores. With ``scheduler`` it connects to an existing
    scheduler (e.g. one started by dask-jobqueue on Slurm/PBS; see ``docs/harness.md``). Every cell's
    solver runs in a child process of its worker (:mod:`invbench.harness.isolation`), so workers must
    not be daemonic: the LocalCluster's are not; start others with ``distributed.worker.daemon: False``
    in their dask configuration (``DASK_DISTRIBUTED__WORKER__DAEMON=False``).

    Cells on CUDA carry ``resources={"GPU": 1}``: the scheduler runs them only on workers started
    with that resource (``dask worker ADDRESS --resources GPU=1``; the LocalCluster declares it
    on every worker when ``gpu`` is set).

    Args:
        scheduler: Address of a running scheduler (``tcp://host:8786``) or ``None``.
        workers: Worker processes of the LocalCluster.
        gpu: Declare one ``GPU`` resource per LocalCluster worker.
        torch_threads: ``torch.set_num_threads`` in each cell (0 leaves the worker's setting);
            defaults to 1 on a LocalCluster and 0 on an existing scheduler.
        throttle: Minimum seconds between two iteration events of one cell sent to the client.
    """

    name = "dask"

    def __init__(
        self,
        scheduler: str | None = None,
        *,
        workers: int = 2,
        gpu: bool = False,
        torch_threads: int | None = None,
        throttle: float = 0.25,
    ) -> None:
        from distributed import Client

        self.cluster = None
        if scheduler:
            self.client = Client(scheduler)
        else:
            import dask

            threads_env = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
            # Each cell's solver runs in a child process of its worker; daemonic workers cannot have one.
            with dask.config.set({"distributed.worker.daemon": False}):
                self.cluster = self._local_cluster(workers, threads_env, gpu)
            self.client = Client(self.cluster)
        self.torch_threads = (0 if scheduler else 1) if torch_threads is None else torch_threads
        self.throttle = throttle

    @staticmethod
    def _local_cluster(workers: int, threads_env: dict[str, str], gpu: bool) -> Any:
        from distributed import LocalCluster

        return LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            env=threads_env,
            resources={"GPU": 1} if gpu else None,
            dashboard_address=None,
        )

    def map(
        self, cells: Sequence[Cell], progress: ProgressSink | None = None, *, batch_size: int = 1
    ) -> Iterator[CellOutcome]:
        """Submit every cell (or batch), yield outcomes as they complete; a lost worker fails its cells."""
        from distributed import as_completed

        if progress is not None:
            self.client.subscribe_topic(PROGRESS_TOPIC, lambda event: progress(event[1]))
        futures = {
            self.client.submit(
                _run_on_worker,
                unit,
                self.torch_threads,
                self.throttle,
                key=f"invbench-cell-{unit[0].cell_id}-{time.time_ns()}",
                pure=False,
                resources={"GPU": 1} if unit[0].uses_gpu else None,
            ): unit
            for unit in batches(cells, batch_size)
        }
        try:
            for future in as_completed(futures):
                unit = futures[future]
                try:
                    outcomes = future.result()
                except Exception as e:
                    reason = f"dask worker error: {type(e).__name__}: {e}"
                    outcomes = [failed_outcome(c, reason) for c in unit]
                future.release()
                yield from outcomes
        finally:
            for future in futures:
                if not future.done():
                    future.cancel()
            if progress is not None:
                self.client.unsubscribe_topic(PROGRESS_TOPIC)

    def close(self) -> None:
        """Close the client and the LocalCluster (if this executor started one)."""
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def make_executor(
    kind: str, *, scheduler: str | None = None, workers: int = 2, gpu: bool = False
) -> LocalExecutor | DaskExecutor:
    """Create the executor called ``kind`` (``"local"`` or ``"dask"``).

    Raises:
        ValueError: For an unknown kind.
    """
    if kind == "local":
        if scheduler:
            raise ValueError("--scheduler needs --executor dask")
        return LocalExecutor()
    if kind == "dask":
        return DaskExecutor(scheduler, workers=workers, gpu=gpu)
    raise ValueError(f"unknown executor {kind!r}; expected 'local' or 'dask'")
