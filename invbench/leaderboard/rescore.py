"""Re-scoring a submission: every model metric recomputed from the stored estimate.

A results folder holds each scored cell's final estimate in ``estimates/`` (float16, see
:mod:`invbench.harness.store`). ``leaderboard submit`` draws the truth of each row's (task, version,
split, instance, task options) itself and recomputes every metric but the data misfit (which needs
the observed data and, for FWI, a wave simulation) with the task's own scoring
(:meth:`~invbench.core.env.InverseProblemEnv.rescore`). A row whose reported metrics differ from the
recomputed ones is refused, naming the row and the metric.

The harness scores the estimate as it stores it (float16, see
:func:`~invbench.harness.execute.as_stored`), so an honest row's metrics are recomputed exactly on
the same software; :data:`RTOL` and :data:`ATOL` only absorb floating-point differences between
machines and library versions.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from invbench.harness.execute import METRIC_PREFIX, SCORED
from invbench.harness.store import estimate_name
from invbench.registry import make

RTOL = 1e-5
"""Relative tolerance between a reported and a recomputed metric."""
ATOL = 1e-7
"""Absolute tolerance between a reported and a recomputed metric (normalised units, dB for PSNR)."""
NOT_RESCORED = frozenset({"data_misfit"})
"""Metrics that need the observed data, so are checked for plausibility only."""


def load_estimate(path: Path) -> np.ndarray:
    """A stored estimate (never unpickles).

    Raises:
        ValueError: When the file is not an ``.npz`` holding one floating-point ``estimate`` array.
    """
    with np.load(path, allow_pickle=False) as z:
        if "estimate" not in z.files:
            raise ValueError("no 'estimate' array")
        arr = z["estimate"]
    if not np.issubdtype(arr.dtype, np.floating):
        raise ValueError(f"estimate of dtype {arr.dtype}, not floating point")
    return arr


def estimates_of(rows: pd.DataFrame, folder: Path) -> tuple[dict[Any, np.ndarray], list[str]]:
    """The stored estimate of every scored row, by row index, and the rows that lack a readable one."""
    found: dict[Any, np.ndarray] = {}
    errors: list[str] = []
    for idx, row in rows[rows["status"].isin(SCORED)].iterrows():
        path = folder / estimate_name(str(row["cell_id"]), str(row["params_hash"]))
        if not path.is_file():
            errors.append(f"{_name(idx, row)}: no stored estimate ({path.name} in {folder})")
            continue
        try:
            found[idx] = load_estimate(path)
        except Exception as e:
            errors.append(f"{_name(idx, row)}: {path.name} is not a readable estimate ({e})")
    return found, errors


def _name(idx: Any, row: pd.Series) -> str:
    return f"row {idx} ({row['task']} {row['split']}#{row['instance']} {row['solver']})"


def _env_kwargs(row: pd.Series) -> dict[str, Any]:
    spec = json.loads(str(row["cell_spec"]))
    kwargs = json.loads(str(spec.get("env_kwargs") or "{}"))
    kwargs["device"] = "cpu"  # the metrics are computed on the CPU whatever ran the cell
    return kwargs


def _agrees(reported: float, recomputed: float) -> bool:
    if math.isinf(recomputed) or math.isinf(reported):
        return reported == recomputed
    return abs(reported - recomputed) <= ATOL + RTOL * abs(recomputed)


def rescore(rows: pd.DataFrame, estimates: dict[Any, np.ndarray]) -> list[str]:
    """Every row whose reported model metrics differ from those recomputed from its estimate.

    Args:
        rows: A validated results table.
        estimates: Stored estimates by row index (see :func:`estimates_of`).

    Returns:
        One message per refused row (empty when every row agrees).
    """
    errors: list[str] = []
    envs: dict[tuple[str, str], Any] = {}
    try:
        for idx, est in estimates.items():
            row = rows.loc[idx]
            kwargs = _env_kwargs(row)
            key = (str(row["task"]), json.dumps(kwargs, sort_keys=True))
            if key not in envs:
                envs[key] = make(str(row["task"]), **kwargs)
            try:
                got = envs[key].unwrapped.rescore(est, str(row["split"]), int(row["instance"]))
            except Exception as e:
                errors.append(f"{_name(idx, row)}: its estimate cannot be scored ({type(e).__name__}: {e})")
                continue
            wrong = []
            for name, value in sorted(got.items()):
                col = f"{METRIC_PREFIX}{name}"
                if name in NOT_RESCORED:
                    continue
                reported = float(row[col]) if col in row.index and pd.notna(row[col]) else float("nan")
                if not _agrees(reported, float(value)):
                    wrong.append(f"{name} {reported:.6g} (recomputed {float(value):.6g})")
            if wrong:
                errors.append(f"{_name(idx, row)}: metrics differ from its estimate's: {', '.join(wrong)}")
    finally:
        for env in envs.values():
            env.close()
    return errors
