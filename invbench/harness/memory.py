"""Peak memory of a cell.

``tracemalloc`` is far too slow with torch, and only sees Python allocations. Instead:

* ``peak_rss_mb``: the peak resident set size (RSS) of the process while the cell ran, in MiB.
  A background thread samples RSS with psutil every ``interval`` seconds; when the cell raises the
  process's lifetime high-water mark (``resource.getrusage(...).ru_maxrss``, exact), that value is
  used instead, so short spikes are not missed then. It includes the interpreter, torch and
  anything the process held before the cell.
* ``rss_delta_mb``: ``peak_rss_mb`` minus the RSS when the cell started: what the cell itself added
  (approximate: memory freed by earlier cells and reused is not counted).
* ``peak_gpu_mb``: on CUDA, ``torch.cuda.max_memory_allocated`` during the cell (tensors allocated
  by torch's caching allocator, in MiB; NaN on CPU).
"""

from __future__ import annotations

import math
import resource
import sys
import threading
from types import TracebackType

import psutil
import torch

_MIB = 1024.0 * 1024.0


def _maxrss_bytes() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss) if sys.platform == "darwin" else int(rss) * 1024


class PeakMemory:
    """Context manager measuring the peak memory of the block it wraps (see the module docstring).

    Args:
        interval: Seconds between RSS samples.
        cuda_device: The CUDA device to watch, or ``None`` on CPU.
    """

    def __init__(self, interval: float = 0.02, cuda_device: torch.device | None = None) -> None:
        self.interval = interval
        self.cuda_device = cuda_device
        self.peak_rss_mb = math.nan
        self.rss_delta_mb = math.nan
        self.peak_gpu_mb = math.nan
        self._proc = psutil.Process()
        self._stop = threading.Event()
        self._peak = 0
        self._start_rss = 0
        self._start_maxrss = 0
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self._peak = max(self._peak, self._proc.memory_info().rss)

    def __enter__(self) -> PeakMemory:
        self._start_rss = self._peak = self._proc.memory_info().rss
        self._start_maxrss = _maxrss_bytes()
        if self.cuda_device is not None:
            torch.cuda.reset_peak_memory_stats(self.cuda_device)
        self._thread = threading.Thread(target=self._sample, name="invbench-memory", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        peak = max(self._peak, self._proc.memory_info().rss)
        maxrss = _maxrss_bytes()
        if maxrss > self._start_maxrss:
            peak = max(peak, maxrss)
        self.peak_rss_mb = peak / _MIB
        self.rss_delta_mb = max(peak - self._start_rss, 0) / _MIB
        if self.cuda_device is not None:
            self.peak_gpu_mb = torch.cuda.max_memory_allocated(self.cuda_device) / _MIB
