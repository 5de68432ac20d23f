"""The leaderboard's overview: one line per method, its mean rank per task group.

A method is a labelled variant (:func:`~.labels.variant_label`: the solver plus the parameters that
differ from its defaults). Its rank on a task is the one :func:`~.aggregate.summarize_task` gives
(comparable lines only: full budget, the task's reference instance set); unranked lines do not count.
Mean ranks are over the tasks of a group where the method is ranked, so the ``tasks`` count beside
each mean matters: a mean over two tasks says less than one over twenty. The smoke tasks (``Tiny``)
are left out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import numpy as np
import pandas as pd

GROUPS: tuple[str, ...] = ("FWI clean", "FWI degraded", "Darcy")
"""Task groups: FWI families on clean data, FWI with noise, missing traces or other degradations, Darcy."""


def task_group(task: str) -> str | None:
    """The group of a task id (``None`` for the smoke tasks and unknown kinds).

    ``FWI-<Family>-<A|B>`` is clean; any further part of the name (``-Noise10``, ``-Missing14``) is a
    data degradation.
    """
    name = task.split("/", 1)[-1].rsplit("-v", 1)[0]
    if "Tiny" in name:
        return None
    if name.startswith("FWI-"):
        return "FWI clean" if len(name.split("-")) == 3 else "FWI degraded"
    if name.startswith("Darcy-"):
        return "Darcy"
    return None


def method_kind(solver_spec: str, amortized: bool, weights_json: str) -> str:
    """How a method uses learning.

    Returns:
        ``classical``, ``learned prior (iterative)``, ``amortized``, ``per-instance network`` or
        ``reference (no inversion)`` (the initial model).
    """
    if solver_spec in ("initial", "baselines.initial:InitialModel"):
        return "reference (no inversion)"
    if amortized:
        return "amortized"
    try:
        has_weights = bool(json.loads(str(weights_json or "[]")))
    except json.JSONDecodeError:
        has_weights = False
    if has_weights or solver_spec in _LEARNED_PRIOR:
        return "learned prior (iterative)"
    if solver_spec.startswith("baselines.") or solver_spec in _CLASSICAL:
        return "classical"
    return "per-instance network"


_CLASSICAL = frozenset({"adam", "lbfgs", "tikhonov", "tv", "multiscale"})
_LEARNED_PRIOR = frozenset({"red-diffeq", "diffusion-fwi", "ld-dim", "vae"})
"""Built-in solvers with a trained prior (rows written before weights were recorded say none)."""


def overview(summaries: Iterable[tuple[str, pd.DataFrame]], results: pd.DataFrame) -> pd.DataFrame:
    """One line per method across tasks.

    Args:
        summaries: ``(task, summary)`` pairs from :func:`~.aggregate.summarize_task`.
        results: The results rows (for each solver's kind).

    Returns:
        Columns ``method``, ``solver``, ``kind``, ``tasks_run``, ``tasks_ranked``, ``mean_rank``
        (over every ranked task), ``wins`` (rank 1), and ``<group> rank`` / ``<group> tasks`` per
        group; sorted by mean rank.
    """
    ranks: dict[str, dict[str, list[float]]] = {}
    run_on: dict[str, set[str]] = {}
    solver_of: dict[str, str] = {}
    for task, summary in summaries:
        group = task_group(task)
        if group is None:
            continue
        for _, line in summary.iterrows():
            label = str(line["label"])
            solver_of[label] = str(line["solver"])
            if line["scored"] > 0:
                run_on.setdefault(label, set()).add(task)
            if pd.notna(line["rank"]):
                ranks.setdefault(label, {g: [] for g in GROUPS})[group].append(float(line["rank"]))
    kinds = solver_kinds(results)
    lines = []
    for label in sorted(run_on):
        per_group = ranks.get(label, {g: [] for g in GROUPS})
        every = [r for g in GROUPS for r in per_group[g]]
        line = {
            "method": label,
            "solver": solver_of[label],
            "kind": kinds.get(solver_of[label], ""),
            "tasks_run": len(run_on[label]),
            "tasks_ranked": len(every),
            "mean_rank": float(np.mean(every)) if every else np.nan,
            "wins": int(sum(r == 1 for r in every)),
        }
        for g in GROUPS:
            line[f"{g} rank"] = float(np.mean(per_group[g])) if per_group[g] else np.nan
            line[f"{g} tasks"] = len(per_group[g])
        lines.append(line)
    table = pd.DataFrame(lines)
    if table.empty:
        return table
    return table.sort_values(
        ["mean_rank", "tasks_ranked", "method"],
        ascending=[True, False, True],
        na_position="last",
        ignore_index=True,
    )


def solver_kinds(results: pd.DataFrame) -> dict[str, str]:
    """Each solver's kind; it uses weights when any of its rows records some (older rows may not)."""
    kinds = {}
    for solver, rows in results.groupby("solver"):
        spec = str(rows["solver_spec"].iloc[-1]) if "solver_spec" in rows else str(solver)
        amortized = bool(rows["amortized"].fillna(False).astype(bool).any()) if "amortized" in rows else False
        weights = [str(w) for w in rows["weights"]] if "weights" in rows else []
        with_weights = next((w for w in weights if w not in ("", "[]", "None", "nan")), "[]")
        kinds[str(solver)] = method_kind(spec, amortized, with_weights)
    return kinds


def overview_markdown(table: pd.DataFrame) -> str:
    """The overview as a Markdown section."""
    from invbench.leaderboard.markdown import text

    if table.empty:
        return ""
    out = [
        "## Overview",
        "",
        "One line per method: its mean rank per task group over the tasks where it is ranked (full "
        "budget, the task's reference instances; 1 is best), with the number of those tasks. A mean over "
        "few tasks, or against few competitors, says little. Smoke tasks are left out.",
        "",
        "| method | kind | " + " | ".join(GROUPS) + " | all: mean rank | wins | tasks run |",
        "|---|---|" + "---|" * len(GROUPS) + "---|---|---|",
    ]
    for _, r in table.iterrows():
        cells = [
            "–" if pd.isna(r[f"{g} rank"]) else f"{r[f'{g} rank']:.2f} ({int(r[f'{g} tasks'])})"
            for g in GROUPS
        ]
        mean = "–" if pd.isna(r["mean_rank"]) else f"{r['mean_rank']:.2f}"
        out.append(
            f"| {text(r['method'])} | {text(r['kind'])} | "
            + " | ".join(cells)
            + f" | {mean} | {int(r['wins'])} | {int(r['tasks_run'])} |"
        )
    return "\n".join(out) + "\n"
