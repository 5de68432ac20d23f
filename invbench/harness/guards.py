"""Stopping a cell: the per-cell timeout and divergence detection.

The timeout is enforced two ways, whichever comes first:

1. Cooperatively: the harness's progress callback, called by the solver after every iteration,
   raises :class:`CellTimeout` once the deadline has passed.
2. By a watchdog thread: at the deadline it raises :class:`CellTimeout` asynchronously in the
   thread running the cell (``PyThreadState_SetAsyncExc``). This stops solvers that never call the
   callback, in the main thread (local executor) and in dask worker threads alike, without
   killing the process. The exception is delivered at the next Python bytecode, so a single long
   C/CUDA call (one PDE solve) finishes first.

Both exceptions derive from ``BaseException``, so a solver's ``except Exception`` does not swallow them.
"""

from __future__ import annotations

import ctypes
import math
import threading
import time
from types import TracebackType


class CellStop(BaseException):
    """Base of the harness's own interruptions of a running solver."""


class CellTimeout(CellStop):
    """The cell ran past its time limit."""


class CellDiverged(CellStop):
    """The solver's iterates diverged (non-finite or fast-growing misfit)."""


class Deadline:
    """Context manager enforcing a time limit on the block it wraps (see the module docstring).

    Args:
        seconds: Time limit; ``inf`` or a non-positive value disables the watchdog.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = float(seconds)
        self.expires = math.inf
        self.fired = False
        self._lock = threading.Lock()
        self._done = False
        self._thread_id = 0
        self._timer: threading.Timer | None = None

    def __enter__(self) -> Deadline:
        self._thread_id = threading.get_ident()
        if 0 < self.seconds < math.inf:
            self.expires = time.monotonic() + self.seconds
            self._timer = threading.Timer(self.seconds, self._fire)
            self._timer.daemon = True
            self._timer.start()
        return self

    def check(self) -> None:
        """Raise :class:`CellTimeout` if the deadline has passed (the cooperative path)."""
        if time.monotonic() > self.expires:
            raise CellTimeout(f"timed out after {self.seconds:g} s")

    def _fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.fired = True
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(self._thread_id), ctypes.py_object(CellTimeout)
            )

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with self._lock:
            self._done = True
            if self._timer is not None:
                self._timer.cancel()
            if self.fired:
                # Withdraw a watchdog exception that was posted but not yet delivered.
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._thread_id), None)
        if self.fired and exc_type is CellTimeout and not str(exc):
            raise CellTimeout(f"timed out after {self.seconds:g} s (stopped by the watchdog)") from None


class DivergenceCheck:
    """Flags a misfit that is not finite or grew beyond ``factor`` times the first one.

    Args:
        factor: Allowed growth of the misfit relative to the first iterate's.
    """

    def __init__(self, factor: float) -> None:
        self.factor = float(factor)
        self.reference: float | None = None

    def __call__(self, iteration: int, misfit: float) -> None:
        """Raise :class:`CellDiverged` when the iterate ``iteration`` with ``misfit`` diverged."""
        if not math.isfinite(misfit):
            raise CellDiverged(f"non-finite data misfit ({misfit}) at iteration {iteration}")
        if self.reference is None:
            self.reference = misfit
        elif misfit > self.factor * max(self.reference, 1e-30):
            raise CellDiverged(
                f"data misfit grew from {self.reference:.4g} to {misfit:.4g} "
                f"(more than {self.factor:g}x) at iteration {iteration}"
            )
