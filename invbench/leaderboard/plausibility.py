"""Checks that a submitted row could have come from an honest run of its task.

:mod:`~invbench.leaderboard.validate` checks that a results table is well formed; this module checks
that each row is *possible*: counts are not negative, the instance exists in its split, the budget and
task options are the registered task's, timestamps are not in the future, metrics lie in their ranges
and a row's status agrees with its numbers. Rows that pass can still be wrong (only re-scoring the
estimate catches that); rows that fail cannot be right.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from invbench.core.env import HIDDEN_INSTANCES
from invbench.core.seeding import HIDDEN_SPLIT
from invbench.harness.cells import SPEC_FIELDS, cell_id_of
from invbench.harness.execute import METRIC_PREFIX
from invbench.harness.seeds import derive_seed
from invbench.registry import TASKS, task_options

SPLITS = ("val", "test", HIDDEN_SPLIT)
"""Splits a leaderboard row may score (``train`` maps are never scored; ``hidden`` rows must be
verified, see :mod:`invbench.harness.signing`)."""
CELL_ID = re.compile(r"^[0-9a-f]{16}$")
CLOCK_SKEW = pd.Timedelta(minutes=5)
"""How far in the future a timestamp may lie (clocks of different machines disagree a little)."""
NON_NEGATIVE = ("forward_solves", "adjoint_solves", "pde_solves", "budget", "instance", "seed", "wall_time")
IGNORED_OPTIONS = frozenset({"report_time"})
"""Task options that do not change results, so a row may differ from the registered task in them."""
METRIC_RANGES: dict[str, tuple[float, float]] = {
    "mae": (0.0, np.inf),
    "rmse": (0.0, np.inf),
    "rel_l2": (0.0, np.inf),
    "head_rel_l2": (0.0, np.inf),
    "data_misfit": (0.0, np.inf),
    "wrong_phase": (0.0, 1.0),
    "ssim": (-1.0, 1.0),
}
"""Closed range of each bounded metric (metrics not listed are only required to be finite)."""


def rows_named(mask: pd.Series) -> str:
    """``rows [i, j, ...]`` of a boolean mask, the first five and how many more, for error messages."""
    idx = list(mask[mask].index[:5])
    more = f" (and {int(mask.sum()) - 5} more)" if mask.sum() > 5 else ""
    return f"rows {idx}{more}"


def check_plausible(df: pd.DataFrame, now: pd.Timestamp | None = None) -> list[str]:
    """Every implausible value in a well-formed results table (empty when there is none).

    Args:
        df: A table that passed the column checks of :func:`~.validate.validate_results`.
        now: The present, for the future-timestamp check (default: the clock).
    """
    errors: list[str] = []
    for col in NON_NEGATIVE:
        bad = df[col] < 0
        if bad.any():
            errors.append(f"negative {col} in {rows_named(bad)}")
    bad = ~df["split"].isin(SPLITS)
    if bad.any():
        errors.append(f"split must be one of {', '.join(SPLITS)} in {rows_named(bad)}")
    bad = ~df["cell_id"].astype(str).str.fullmatch(CELL_ID)
    if bad.any():
        errors.append(f"cell_id is not 16 hexadecimal digits in {rows_named(bad)}")
    errors += _check_cell_spec(df)
    errors += _check_verified(df)
    errors += _check_timestamps(df, now or pd.Timestamp.now(tz="UTC"))
    errors += _check_against_task(df)
    errors += _check_metric_ranges(df)
    errors += _check_status_consistency(df)
    return errors


SPEC_COLUMNS = {"task": "task", "split": "split", "index": "instance", "solver": "solver_spec"}
"""Fields of a row's ``cell_spec`` that the row repeats as columns (spec field -> column)."""


def _spec_problem(row: pd.Series) -> str | None:
    """Why a row's ``cell_spec`` does not agree with the row (``None`` when it does)."""
    try:
        spec = json.loads(str(row["cell_spec"]))
        if not isinstance(spec, dict) or set(spec) != set(SPEC_FIELDS):
            return "cell_spec does not hold the cell's fields"
        cid = cell_id_of(spec)
    except (json.JSONDecodeError, TypeError):
        return "cell_spec is not JSON"
    if cid != str(row["cell_id"]):
        return "cell_id is not the id of its cell_spec"
    for field, col in SPEC_COLUMNS.items():
        if col in row.index and str(spec[field]) != str(row[col]):
            return f"cell_spec's {field} differs from the row's {col}"
    try:
        seed = derive_seed(
            int(spec["base_seed"]),
            str(spec["task"]),
            str(spec["split"]),
            int(spec["index"]),
            str(row["solver"]),
            int(spec["repetition"]),
        )
    except (TypeError, ValueError):
        return "cell_spec has a non-integer base_seed, index or repetition"
    return None if seed == int(row["seed"]) else "seed is not the one derived for its cell"


def _check_cell_spec(df: pd.DataFrame) -> list[str]:
    """Each row's cell id and seed recomputed from what it says was run."""
    if "cell_spec" not in df.columns:
        return [
            "missing column cell_spec (results written before invbench's results schema 3): rerun the cells"
        ]
    problems: dict[str, list[Any]] = {}
    for idx, row in df.iterrows():
        problem = _spec_problem(row)
        if problem:
            problems.setdefault(problem, []).append(idx)
    return [f"{problem} in rows {rows[:5]}" for problem, rows in problems.items()]


def _check_verified(df: pd.DataFrame) -> list[str]:
    """Hidden-split rows are verified ones, and only they."""
    verified = df["verified"].fillna(False).astype(bool) if "verified" in df.columns else False
    hidden = df["split"] == HIDDEN_SPLIT
    errors = []
    bad = hidden & ~verified
    if bad.any():
        errors.append(f"hidden-split rows must come from `invbench verify` (verified) in {rows_named(bad)}")
    bad = ~hidden & verified
    if bad.any():
        errors.append(f"only hidden-split rows can be verified, not {rows_named(bad)}")
    return errors


def _check_timestamps(df: pd.DataFrame, now: pd.Timestamp) -> list[str]:
    stamps = pd.to_datetime(df["timestamp"], utc=True, errors="coerce")
    if stamps.isna().any():
        return [f"timestamp is not a date in {rows_named(stamps.isna())}"]
    bad = stamps > now + CLOCK_SKEW
    return [f"timestamp lies in the future in {rows_named(bad)}"] if bad.any() else []


def _registered(task: str) -> dict[str, Any] | None:
    try:
        return task_options(task)
    except ValueError:
        return None


def _check_against_task(df: pd.DataFrame) -> list[str]:
    """Instance inside its split, budget and task options as registered."""
    errors: list[str] = []
    for task, grp in df.groupby("task"):
        options = _registered(str(task)) if str(task) in TASKS else None
        if options is None:
            continue  # unknown tasks are reported by the column checks
        sizes = {"val": int(options["n_val"]), "test": int(options["n_test"])}
        sizes[HIDDEN_SPLIT] = HIDDEN_INSTANCES
        size = grp["split"].map(lambda s, sz=sizes: sz.get(str(s), 0))
        bad = grp["instance"] >= size
        if bad.any():
            errors.append(f"{task}: no such instance in its split ({sizes}) in {rows_named(bad)}")
        bad = (grp["budget"] != 0) & (grp["budget"] != int(options["budget"]))
        if bad.any():
            errors.append(f"{task}: budget differs from the task's {options['budget']} in {rows_named(bad)}")
        if "task_options" in grp.columns:
            errors += _check_options(str(task), grp["task_options"], options)
    return errors


def _check_options(task: str, column: pd.Series, registered: dict[str, Any]) -> list[str]:
    bad: dict[str, list[Any]] = {}
    for idx, text in column.items():
        if pd.isna(text) or str(text).strip() in ("", "{}"):
            continue
        try:
            given = json.loads(str(text))
        except json.JSONDecodeError:
            bad.setdefault("task_options (not JSON)", []).append(idx)
            continue
        for name, value in given.items():
            if name not in IGNORED_OPTIONS and registered.get(name, value) != value:
                bad.setdefault(name, []).append(idx)
    return [
        f"{task}: option {name!r} differs from the registered task in rows {rows[:5]}"
        for name, rows in sorted(bad.items())
    ]


def _metric_ok(name: str, low: float, high: float) -> Callable[[pd.DataFrame], pd.Series]:
    col = f"{METRIC_PREFIX}{name}"
    return lambda d: d[col].isna() | d[col].between(low, high)


def _check_metric_ranges(df: pd.DataFrame) -> list[str]:
    errors = []
    for name, (low, high) in METRIC_RANGES.items():
        col = f"{METRIC_PREFIX}{name}"
        if col not in df.columns:
            continue
        bad = ~_metric_ok(name, low, high)(df)
        if bad.any():
            errors.append(f"metric {col!r} outside [{low:g}, {high:g}] in {rows_named(bad)}")
    psnr, rmse = f"{METRIC_PREFIX}psnr", f"{METRIC_PREFIX}rmse"
    if psnr in df.columns and rmse in df.columns:
        bad = (df[psnr] == np.inf) & (df[rmse] != 0)
        if bad.any():
            errors.append(f"infinite PSNR with a non-zero RMSE in {rows_named(bad)}")
    return errors


def _check_status_consistency(df: pd.DataFrame) -> list[str]:
    errors = []
    metric_cols = [c for c in df.columns if c.startswith(METRIC_PREFIX)]
    has_metric = df[metric_cols].notna().any(axis=1) if metric_cols else pd.Series(False, index=df.index)
    skipped = df["status"] == "skipped"
    bad = skipped & ((df["pde_solves"] != 0) | has_metric)
    if bad.any():
        errors.append(f"skipped rows cannot have PDE solves or metrics: {rows_named(bad)}")
    mae = f"{METRIC_PREFIX}mae"
    if mae in df.columns:
        bad = (df["status"] == "done") & df[mae].isna()
        if bad.any():
            errors.append(f"done rows need {mae!r}: {rows_named(bad)}")
    return errors
