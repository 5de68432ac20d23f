"""Per-task summaries of a results table: mean ± std over instances, ranks, curves.

Rows whose status is ``done`` or ``diverged`` are scored (a diverged run's final estimate is still
a result); repetitions of one instance are averaged first, so the spread is over instances.
Solvers are ranked per task by :func:`rank_metric` (lower is better except for :data:`HIGHER_IS_BETTER`),
and only against comparable lines: full-budget runs (:func:`~.labels.is_reduced`) on the task's
reference instance set (the largest set any full-budget line was scored on). Other lines are shown
with a note and no rank. Each line carries a readable label (:func:`~.labels.variant_label`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from invbench.harness.execute import METRIC_PREFIX
from invbench.leaderboard.labels import is_reduced, variant_label
from invbench.leaderboard.tiers import verified
from invbench.registry import SUPERSEDED

HIGHER_IS_BETTER = frozenset({"ssim", "psnr"})
RANK_METRICS = {"FWI": "mae", "Darcy": "rel_l2"}
"""Ranking metric per task kind (task name prefix): OpenFWI's MAE for FWI, relative L2 for Darcy."""
SCORED = ("done", "diverged")
GROUP = ["task", "solver", "params_hash"]


def metric_names(results: pd.DataFrame) -> list[str]:
    """Metric names (without the ``metric_`` prefix) that have at least one value."""
    cols = [c for c in results.columns if c.startswith(METRIC_PREFIX) and results[c].notna().any()]
    names = [c.removeprefix(METRIC_PREFIX) for c in cols]
    first = [m for m in ("mae", "rmse", "ssim", "rel_l2", "psnr") if m in names]
    return (
        first
        + sorted(set(names) - set(first) - {"data_misfit"})
        + (["data_misfit"] * ("data_misfit" in names))
    )


def rank_metric(task: str, metrics: list[str]) -> str:
    """The metric that ranks solvers on ``task``."""
    name = task.split("/", 1)[-1]
    for prefix, metric in RANK_METRICS.items():
        if name.startswith(prefix) and metric in metrics:
            return metric
    return metrics[0] if metrics else ""


def _stats(values: pd.Series) -> tuple[float, float]:
    v = values.dropna().astype(float)
    if v.empty:
        return math.nan, math.nan
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else math.nan


def summarize_task(rows: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Summary of one task's rows: one line per (solver, parameters), ranked.

    Returns:
        The summary (columns ``rank``, ``solver``, ``params_hash``, ``params``, ``cells``,
        ``scored``, ``instances``, ``status``, ``<metric>_mean``/``_std``, ``pde_solves_*``,
        ``wall_time_*``, ``reason``, ``verified``: every run of the line verified, see
        :mod:`~.tiers`) and the task's facts (``metrics``, ``rank_metric``,
        ``budget``, ``devices``, ``instances``).
    """
    task = str(rows["task"].iloc[0])
    metrics = metric_names(rows[rows["status"].isin(SCORED)])
    key = rank_metric(task, metrics)
    lines = []
    for (solver, phash), grp in rows.groupby(["solver", "params_hash"], sort=True):
        spec = str(grp["solver_spec"].iloc[-1]) if "solver_spec" in grp.columns else str(solver)
        params = str(grp["params"].iloc[-1])
        suites = grp["suite"].astype(str).unique() if "suite" in grp.columns else [""]
        scored = grp[grp["status"].isin(SCORED)]
        ran = grp[grp["status"] != "skipped"]
        # Average repetitions per instance, then mean/std over instances.
        per_inst = scored.groupby("instance")[[f"{METRIC_PREFIX}{m}" for m in metrics]].mean()
        cost = ran.groupby("instance")[["pde_solves", "wall_time"]].mean()
        line: dict[str, Any] = {
            "solver": solver,
            "params_hash": phash,
            "params": params,
            "label": variant_label(spec, str(solver), task, params, str(phash)),
            "reduced": any(is_reduced(suite, spec, task, params) for suite in suites),
            "instance_set": tuple(sorted(int(i) for i in scored["instance"].unique())),
            "cells": len(grp),
            "scored": len(scored),
            "instances": int(scored["instance"].nunique()),
            "status": ", ".join(f"{s} {n}" for s, n in grp["status"].value_counts().sort_index().items()),
            "reason": "; ".join(sorted(set(grp.loc[grp["status"] != "done", "reason"].astype(str)) - {""})),
            # a line is verified only when every run of it is: one unverified run could carry the score
            "verified": bool(len(ran)) and bool(verified(ran).all()),
        }
        for m in metrics:
            line[f"{m}_mean"], line[f"{m}_std"] = _stats(per_inst[f"{METRIC_PREFIX}{m}"])
        for c in ("pde_solves", "wall_time"):
            line[f"{c}_mean"], line[f"{c}_std"] = _stats(cost[c])
        lines.append(line)
    summary = _unique_labels(pd.DataFrame(lines))
    reference = _reference_instances(summary)
    summary["note"] = [_note(r, reference) for _, r in summary.iterrows()]
    if key:
        values = summary[f"{key}_mean"] * (-1 if key in HIGHER_IS_BETTER else 1)
        summary["rank"] = values.where(summary["note"] == "").rank(method="min", na_option="keep")
        summary = (
            summary.assign(_v=values)
            .sort_values(["rank", "_v", "label"], na_position="last", kind="stable", ignore_index=True)
            .drop(columns="_v")
        )
    else:
        summary["rank"] = np.nan
    budgets = sorted({int(b) for b in rows.loc[rows["status"] != "skipped", "budget"] if b > 0})
    facts = {
        "task": task,
        "metrics": metrics,
        "rank_metric": key,
        "higher_is_better": sorted(HIGHER_IS_BETTER & set(metrics)),
        "budget": budgets,
        "devices": sorted({str(d) for d in rows["device"] if str(d)}),
        "instances": int(rows["instance"].nunique()),
        "ranked_instances": len(reference),
        "ranked_set": instance_ranges(reference),
        "split": "/".join(sorted({str(s) for s in rows["split"]})),
        "standard_instances": standard_instances(task),
    }
    return summary, facts


def instance_ranges(indices: tuple[int, ...]) -> str:
    """``(0, 1, 2, 5)`` -> ``"#0–#2, #5"``: which instances back a task's ranking."""
    parts: list[str] = []
    idx = sorted(int(i) for i in indices)
    while idx:
        start = end = idx.pop(0)
        while idx and idx[0] == end + 1:
            end = idx.pop(0)
        parts.append(f"#{start}" if start == end else f"#{start}–#{end}")
    return ", ".join(parts)


def standard_instances(task: str) -> int | None:
    """Test instances the ``standard`` suite plans for ``task`` (``None`` when it does not run it)."""
    from invbench.harness.suites import SUITES

    return next((ts.instances for ts in SUITES["standard"].tasks if ts.task == task), None)


def _unique_labels(summary: pd.DataFrame) -> pd.DataFrame:
    """Labels that collide (same differing parameters spelled alike) get their hash appended."""
    dup = summary["label"].duplicated(keep=False)
    summary.loc[dup, "label"] = summary.loc[dup, "label"] + " [" + summary.loc[dup, "params_hash"] + "]"
    return summary


def _reference_instances(summary: pd.DataFrame) -> tuple[int, ...]:
    """The instance set ranked lines share: the largest a full-budget line was scored on.

    Ties go to the set the most lines share.
    """
    full = summary[~summary["reduced"] & (summary["scored"] > 0)]
    if full.empty:
        return ()
    counts = full["instance_set"].value_counts()
    return max(counts.index, key=lambda s: (len(s), counts[s]))


def _note(line: pd.Series, reference: tuple[int, ...]) -> str:
    """Why a line is not ranked (empty when it is)."""
    if line["scored"] == 0:
        return "not scored"
    if line["reduced"]:
        return "reduced budget"
    if line["instance_set"] != reference:
        return f"other instances ({len(line['instance_set'])} vs {len(reference)} ranked)"
    return ""


def mean_curves(
    curves: pd.DataFrame, task: str, points: int = 60, labels: dict[tuple[str, str], str] | None = None
) -> dict[str, list[list[float]]]:
    """Geometric-mean data misfit against PDE solves, per solver, over a task's instances.

    Each run's curve is held constant between its iterates (step interpolation) and evaluated
    on a common grid of PDE-solve counts, up to the shortest run's last count.

    Args:
        curves: Curve rows of one or more tasks.
        task: The task.
        points: Grid points per curve.
        labels: ``(solver, params_hash) -> label`` naming each series (default ``solver (params_hash)``).

    Returns:
        ``{label: [[pde_solves, misfit], ...]}``.
    """
    out: dict[str, list[list[float]]] = {}
    if curves.empty:
        return out
    cur = curves[(curves["task"] == task) & (curves["misfit"] > 0) & np.isfinite(curves["misfit"])]
    for (solver, phash), grp in cur.groupby(["solver", "params_hash"], sort=True):
        runs = [g.sort_values("pde_solves") for _, g in grp.groupby("cell_id")]
        runs = [r for r in runs if len(r)]
        if not runs:
            continue
        lo = max(float(r["pde_solves"].iloc[0]) for r in runs)
        hi = min(float(r["pde_solves"].iloc[-1]) for r in runs)
        grid = np.unique(np.linspace(lo, hi, points).round()) if hi > lo else np.array([lo])
        logs = []
        for r in runs:
            x = r["pde_solves"].to_numpy(float)
            idx = np.searchsorted(x, grid, side="right") - 1
            logs.append(np.log(r["misfit"].to_numpy(float)[np.clip(idx, 0, len(x) - 1)]))
        mean = np.exp(np.mean(logs, axis=0))
        name = (labels or {}).get((str(solver), str(phash)), f"{solver} ({phash})")
        out[name] = [[float(a), float(b)] for a, b in zip(grid, mean, strict=True)]
    return out


def current_versions(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows of one version per task name: a superseded task's rows once its successor has rows.

    For tables keyed by ``task_name`` (which drops the version, as the study tables do): without this
    the old and the new generator's maps (the fault families' ``-v0`` and ``-v1``) would be averaged
    together.
    """
    present = set(rows["task"].astype(str))
    stale = {old for old, new in SUPERSEDED.items() if new in present}
    return rows[~rows["task"].astype(str).isin(stale)]
