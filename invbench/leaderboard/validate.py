"""Checks a results table must pass before it joins the leaderboard."""

from __future__ import annotations

import json

import pandas as pd

from invbench.harness.execute import METRIC_PREFIX, STATUSES, task_name_version
from invbench.harness.seeds import short_hash
from invbench.leaderboard.plausibility import check_plausible, rows_named
from invbench.registry import TASKS

STRING_COLUMNS = (
    "cell_id",
    "task",
    "split",
    "solver",
    "params",
    "params_hash",
    "status",
    "device",
    "invbench_version",
    "torch_version",
)
INT_COLUMNS = ("task_version", "instance", "seed", "forward_solves", "adjoint_solves", "pde_solves", "budget")
FLOAT_COLUMNS = ("wall_time",)
REQUIRED = (*STRING_COLUMNS, *INT_COLUMNS, *FLOAT_COLUMNS, "reason", "timestamp")
KEY = ["task", "split", "instance", "solver", "params_hash", "seed"]
"""One leaderboard entry per key; the task id carries the task's version."""


class SubmissionError(ValueError):
    """A results file that cannot join the leaderboard; the message lists every problem."""


def _check_task(task: str) -> str | None:
    if task in TASKS:
        return None
    name, _ = task_name_version(task)
    same = [t for t in TASKS if task_name_version(t)[0] == name]
    if same:
        return f"task {task!r}: unknown version; registered: {', '.join(same)}"
    return f"task {task!r} is not registered"


def validate_results(df: pd.DataFrame) -> list[str]:
    """Every problem found in a results table (empty when it is valid)."""
    if df.empty:
        return ["the results table has no rows"]
    missing = [c for c in REQUIRED if c not in df.columns]
    if missing:
        return [f"missing required columns: {', '.join(missing)}"]
    errors = []
    for col in REQUIRED:
        bad = df[col].isna()
        if bad.any():
            errors.append(f"column {col!r} has missing/NaN values in {rows_named(bad)}")
    for col in INT_COLUMNS + FLOAT_COLUMNS:
        if not pd.api.types.is_numeric_dtype(df[col]):
            errors.append(f"column {col!r} must be numeric, not {df[col].dtype}")
    if errors:
        return errors
    bad_status = ~df["status"].isin(STATUSES)
    if bad_status.any():
        found = sorted(set(df.loc[bad_status, "status"].astype(str)))
        errors.append(f"unknown status {found} in {rows_named(bad_status)}; allowed: {', '.join(STATUSES)}")
    for task in sorted(set(df["task"].astype(str))):
        problem = _check_task(task)
        if problem:
            errors.append(problem)
    version = df["task"].map(lambda t: task_name_version(str(t))[1])
    bad = version != df["task_version"]
    if bad.any():
        errors.append(f"task_version does not match the task id in {rows_named(bad)}")
    unexplained = df["status"].isin(["skipped", "failed", "timeout"]) & (
        df["reason"].astype(str).str.strip() == ""
    )
    if unexplained.any():
        errors.append(f"skipped/failed/timeout rows need a reason: {rows_named(unexplained)}")
    bad = df["pde_solves"] != df["forward_solves"] + df["adjoint_solves"]
    if bad.any():
        errors.append(f"pde_solves != forward_solves + adjoint_solves in {rows_named(bad)}")
    bad = (df["status"] != "skipped") & (df["budget"] > 0) & (df["pde_solves"] > df["budget"])
    if bad.any():
        errors.append(f"more PDE solves than the budget in {rows_named(bad)}")
    errors += _check_metrics(df)
    errors += _check_params(df)
    if not errors:  # the plausibility checks compare numbers, so they need a well-formed table
        errors += check_plausible(df)
    dup = df.duplicated(KEY, keep=False)
    if dup.any():
        key = "(task, split, instance, solver, params, seed)"
        errors.append(f"several rows for one {key} key: {rows_named(dup)}")
    return errors


def _check_metrics(df: pd.DataFrame) -> list[str]:
    errors = []
    metric_cols = [c for c in df.columns if c.startswith(METRIC_PREFIX)]
    for col in metric_cols:
        if not pd.api.types.is_numeric_dtype(df[col]):
            errors.append(f"metric column {col!r} must be numeric")
    if errors:
        return errors
    done = df["status"] == "done"
    if done.any() and f"{METRIC_PREFIX}data_misfit" not in df.columns:
        return [f"done rows need the {METRIC_PREFIX}data_misfit column"]
    for task, grp in df[done].groupby("task"):
        cols = [c for c in metric_cols if grp[c].notna().any()]
        for c in cols:
            # a perfect estimate has an infinite PSNR; plausibility checks that its RMSE is 0
            finite = grp[c].map(lambda v: pd.notna(v) and abs(float(v)) != float("inf"))
            perfect = grp[c] == float("inf") if c == f"{METRIC_PREFIX}psnr" else False
            bad = ~(finite | perfect)
            if bad.any():
                errors.append(f"{task}: metric {c!r} is NaN/inf in done {rows_named(bad)}")
    return errors


def _check_params(df: pd.DataFrame) -> list[str]:
    bad = []
    for i, (params, phash) in enumerate(zip(df["params"], df["params_hash"], strict=True)):
        try:
            json.loads(str(params))
        except json.JSONDecodeError:
            bad.append(i)
            continue
        if short_hash(str(params)) != str(phash):
            bad.append(i)
    if bad:
        return [f"params is not JSON or params_hash does not match it in rows {bad[:5]}"]
    return []
