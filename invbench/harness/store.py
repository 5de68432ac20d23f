"""The results store: one parquet file per finished cell, consolidated tables, example arrays.

Layout of a results folder::

    out/
      plan.json            the cells of the run (what was asked)
      cells/<cell_id>.parquet    one results row per finished cell (written last: the commit mark)
      curves/<cell_id>.parquet   that cell's per-iteration curve
      examples/<cell_id>.npz     truth, initial and estimate of a few cells (plain arrays, no pickle)
      estimates/<cell_id>-<params_hash>.npz   every scored cell's estimate (float16), re-scored by
                           ``leaderboard submit``
      results.parquet      all rows, consolidated from cells/
      curves.parquet       all curves, consolidated from curves/

Every file is written to a temporary name in the same folder, flushed to disk and moved into
place with ``os.replace`` (atomic on POSIX), so a killed run leaves only whole files; the
temporaries (dot-files ending in ``.tmp``) are ignored and cleaned up. A cell counts as finished
when ``cells/<cell_id>.parquet`` exists, and that file is written after its curve and example,
so killing a run loses at most the cells in flight. Nothing is pickled: parquet and ``.npz``
files of numeric arrays only (read with ``allow_pickle=False``).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil
import pyarrow.parquet as pq

from invbench.core.files import atomic_write
from invbench.harness.cells import Cell
from invbench.harness.execute import METRIC_PREFIX, CellOutcome

SORT_KEYS = ["task", "split", "instance", "solver", "params_hash", "repetition"]
CURVE_KEYS = ("cell_id", "task", "split", "instance", "solver", "params_hash", "seed", "status")
"""Columns copied from a cell's row into each of its curve rows (to plot without a join)."""


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    """Write a data frame to parquet atomically."""
    atomic_write(path, lambda f: df.to_parquet(f, index=False, engine="pyarrow"))


def order_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Fixed columns first, then the metric columns in alphabetical order."""
    metrics = sorted(c for c in df.columns if c.startswith(METRIC_PREFIX))
    return df[[c for c in df.columns if not c.startswith(METRIC_PREFIX)] + metrics]


class ResultStore:
    """A results folder (see the module docstring).

    Args:
        root: The folder (created when needed).
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.cells_dir = self.root / "cells"
        self.curves_dir = self.root / "curves"
        self.examples_dir = self.root / "examples"
        self.estimates_dir = self.root / "estimates"

    # ----------------------------------------------------------------- writing
    def write_plan(self, cells: list[Cell], options: dict[str, Any]) -> None:
        """Record the cells and options of a run in ``plan.json``."""
        doc = {"options": options, "cells": [{"cell_id": c.cell_id, **asdict(c)} for c in cells]}
        data = json.dumps(doc, indent=1, default=str).encode()
        atomic_write(self.root / "plan.json", lambda f: f.write(data))

    def write(self, outcome: CellOutcome) -> None:
        """Store one finished cell: estimate, example, curve, then its row (which marks it finished)."""
        row = outcome.row
        cid = row["cell_id"]
        if outcome.estimate is not None:
            est = np.ascontiguousarray(outcome.estimate, dtype=np.float16)
            path = self.estimates_dir / estimate_name(cid, row["params_hash"])
            atomic_write(path, lambda f: np.savez_compressed(f, estimate=est))
        if outcome.example:
            arrays = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in outcome.example.items()}
            atomic_write(self.examples_dir / f"{cid}.npz", lambda f: np.savez_compressed(f, **arrays))
        curve = pd.DataFrame(outcome.curve, columns=["iteration", "pde_solves", "wall_time", "misfit"])
        for key in reversed(CURVE_KEYS):
            curve.insert(0, key, row[key])
        write_parquet(curve, self.curves_dir / f"{cid}.parquet")
        write_parquet(order_columns(pd.DataFrame([row])), self.cells_dir / f"{cid}.parquet")

    # ----------------------------------------------------------------- reading
    def cell_files(self) -> list[Path]:
        """Finished cells' row files (temporaries excluded)."""
        return sorted(self.cells_dir.glob("[!.]*.parquet")) if self.cells_dir.is_dir() else []

    def finished(self) -> dict[str, str]:
        """``cell_id -> status`` of every finished cell."""
        out = {}
        for path in self.cell_files():
            status = pq.read_table(path, columns=["status"]).column("status").to_pylist()
            out[path.stem] = status[0] if status else "failed"
        return out

    def results(self) -> pd.DataFrame:
        """All finished cells' rows (from ``cells/``, or ``results.parquet`` when that is all there is)."""
        files = self.cell_files()
        if not files:
            path = self.root / "results.parquet"
            return pd.read_parquet(path) if path.exists() else pd.DataFrame()
        df = pd.concat([pd.read_parquet(p) for p in files], ignore_index=True)
        return order_columns(df.sort_values(SORT_KEYS, kind="stable", ignore_index=True))

    def curves(self) -> pd.DataFrame:
        """All finished cells' curves."""
        files = sorted(self.curves_dir.glob("[!.]*.parquet")) if self.curves_dir.is_dir() else []
        if not files:
            path = self.root / "curves.parquet"
            return pd.read_parquet(path) if path.exists() else pd.DataFrame()
        frames = [df for df in (pd.read_parquet(p) for p in files) if len(df)]
        return pd.concat(frames, ignore_index=True) if frames else pd.read_parquet(files[0])

    def consolidate(self) -> pd.DataFrame:
        """Write ``results.parquet``/``curves.parquet`` from the per-cell files; drop stale temporaries."""
        for folder in (self.root, self.cells_dir, self.curves_dir, self.examples_dir, self.estimates_dir):
            if folder.is_dir():
                for tmp in folder.glob(".*.tmp"):
                    if not _writer_alive(tmp):
                        tmp.unlink(missing_ok=True)
        results = self.results()
        if len(results):
            write_parquet(results, self.root / "results.parquet")
            curves = self.curves()
            if len(curves.columns):
                write_parquet(curves, self.root / "curves.parquet")
        return results


def _writer_alive(tmp: Path) -> bool:
    """Whether the process that is writing temporary file ``tmp`` (``.NAME.PID.tmp``) still runs."""
    pid = tmp.name.rsplit(".", 2)[-2]
    return pid.isdigit() and int(pid) != os.getpid() and psutil.pid_exists(int(pid))


def estimate_name(cell_id: str, params_hash: str) -> str:
    """File name of a row's stored estimate in a results folder's ``estimates/``."""
    return f"{cell_id}-{params_hash}.npz"


def load_example(path: str | Path) -> dict[str, np.ndarray]:
    """Read an example ``.npz`` (never unpickles)."""
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}
