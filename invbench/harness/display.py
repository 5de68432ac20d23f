"""Terminal display of a benchmark run: live progress while it runs, a summary table at the end."""

from __future__ import annotations

import threading
import time
from collections import Counter
from types import TracebackType
from typing import Any

import pandas as pd
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from invbench.harness.execute import METRIC_PREFIX, STATUSES, CellOutcome

STATUS_STYLE = {
    "done": "green",
    "skipped": "dim",
    "diverged": "yellow",
    "timeout": "magenta",
    "failed": "red",
}
SUMMARY_METRICS = ("mae", "ssim", "rel_l2", "data_misfit")


class LiveDisplay:
    """Live view: overall bar with cells done/failed/remaining, and each running cell's iteration and misfit.

    Thread-safe: dask delivers progress events on another thread.

    Args:
        console: Where to draw.
        total: Cells in the run (including those already finished when resuming).
        already: Cells finished before this run started (``--resume``).
        title: Headline.
    """

    def __init__(self, console: Console, total: int, already: int = 0, title: str = "invbench bench") -> None:
        self.console = console
        self.title = title
        self.total = total
        self.counts: Counter[str] = Counter()
        self.running: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            console=console,
        )
        self._job = self._bar.add_task("cells", total=total, completed=already, counts="")
        self._already = already
        self._live = Live(self, console=console, refresh_per_second=4, transient=False)

    def __enter__(self) -> LiveDisplay:
        self._update_counts()
        self._live.__enter__()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        with self._lock:
            self.running.clear()
        self._live.__exit__(exc_type, exc, tb)

    def progress(self, event: dict[str, Any]) -> None:
        """Take a progress event from a running cell."""
        with self._lock:
            cid = event["cell_id"]
            if event["event"] == "start":
                self.running[cid] = {"label": event["label"], "start": time.monotonic()}
            elif cid in self.running:
                self.running[cid].update(event)

    def finished(self, outcome: CellOutcome) -> None:
        """Count a finished cell."""
        with self._lock:
            self.running.pop(outcome.row["cell_id"], None)
            self.counts[outcome.row["status"]] += 1
            self._bar.advance(self._job)
            self._update_counts()

    def _update_counts(self) -> None:
        done_now = sum(self.counts.values())
        parts = [f"[{STATUS_STYLE[s]}]{s} {self.counts[s]}[/]" for s in STATUSES if self.counts[s]]
        remaining = self.total - self._already - done_now
        text = " ".join([*parts, f"remaining {remaining}"])
        if self._already:
            text += f" (resumed: {self._already} already finished)"
        self._bar.update(self._job, counts=text)

    def __rich__(self) -> RenderableType:
        with self._lock:
            table = Table(box=None, show_header=bool(self.running), pad_edge=False)
            for col in ("running cell", "iteration", "misfit", "PDE solves", "elapsed"):
                table.add_column(col, justify="left" if col == "running cell" else "right")
            for info in self.running.values():
                misfit = info.get("misfit")
                budget = info.get("budget", -1)
                solves = info.get("pde_solves")
                table.add_row(
                    info["label"],
                    str(info.get("iteration", "setup")),
                    "-" if misfit is None else f"{misfit:.4g}",
                    "-" if solves is None else f"{solves}/{budget}",
                    f"{time.monotonic() - info['start']:.0f} s",
                )
            return Group(f"[bold]{self.title}[/]", self._bar.get_renderable(), table)


def _mean(values: pd.Series) -> str:
    v = values.dropna()
    return "-" if v.empty else f"{v.mean():.3g}"


def summary_table(results: pd.DataFrame, title: str = "summary") -> Table:
    """Per (task, solver): cells by status; means of the main metrics, PDE solves and wall time.

    The spread over instances is in the leaderboard (``invbench leaderboard build``).
    """
    table = Table(title=title)
    metrics = [m for m in SUMMARY_METRICS if f"{METRIC_PREFIX}{m}" in results.columns]
    labels = [m.replace("data_misfit", "misfit") for m in metrics]
    for col in ("task", "solver", "cells", *labels, "PDE solves", "wall s"):
        table.add_column(col, justify="left" if col in ("task", "solver", "cells") else "right")
    if results.empty:
        return table
    for (task, solver), group in results.groupby(["task", "solver"], sort=False):
        counts = group["status"].value_counts()
        cells = " ".join(f"[{STATUS_STYLE.get(s, '')}]{s} {counts[s]}[/]" for s in STATUSES if s in counts)
        scored = group[group["status"].isin(["done", "diverged"])]
        ran = group[group["status"] != "skipped"]
        table.add_row(
            str(task).split("/", 1)[-1],
            str(solver),
            cells,
            *(_mean(scored[f"{METRIC_PREFIX}{m}"]) for m in metrics),
            _mean(ran["pde_solves"].astype(float)),
            _mean(ran["wall_time"].astype(float)),
        )
    return table
