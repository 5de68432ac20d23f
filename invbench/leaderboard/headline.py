"""The headline plot: model error against the PDE solves spent, methods side by side at equal budget.

One panel per task group (:data:`~.overview.GROUPS`), each on the group's representative task: the one
with the most ranked lines (the first in registry order on a tie), so that every point of a panel was
scored on the same instances. A point is one ranked line of that task (:func:`~.aggregate.summarize_task`):
its mean MAE over the ranked instances against its mean PDE solves per instance. Averaging over the
tasks of a group instead would mix methods that ran on different tasks.

The x-axis is logarithmic, so a method that spent no PDE solve at inference (the initial model, a network
fitted without the solver, an amortized method) sits at a marked position left of the axis break, labelled
0. Training is a cost too: a point of a method with weights carries its training cost (from the weights'
manifests), shown in the legend.
"""

from __future__ import annotations

import io
import math
from typing import Any

import pandas as pd

from invbench.leaderboard.markdown import text
from invbench.leaderboard.method_cards import training_summary, weights_cards
from invbench.leaderboard.overview import GROUPS, solver_kinds, task_group

METRIC = "mae"
Y_LABELS = {"FWI": "MAE, normalised velocity v_n", "Darcy": "MAE of log k"}
"""The y-axis of a panel by task kind (the task name's prefix); units: see the task cards."""
MARKERS = {
    "classical": "o",
    "learned prior (iterative)": "s",
    "amortized": "^",
    "per-instance network": "D",
    "reference (no inversion)": "X",
}
"""Marker per method kind (matplotlib codes; the page draws the same shapes)."""


def representative_task(summaries: list[tuple[str, pd.DataFrame]], group: str) -> str | None:
    """The task of ``group`` with the most ranked lines that have an MAE (first on a tie)."""
    best, most = None, 0
    for task, summary in summaries:
        if task_group(task) != group or f"{METRIC}_mean" not in summary.columns:
            continue
        n = int((summary["rank"].notna() & summary[f"{METRIC}_mean"].notna()).sum())
        if n > most:
            best, most = task, n
    return best


def _axis(points: list[dict[str, Any]]) -> dict[str, float]:
    """Log x-range in whole decades around the positive solve counts, and where 0 solves are drawn."""
    positive = [p["pde_solves"] for p in points if p["pde_solves"] > 0]
    lo = 10 ** math.floor(math.log10(min(positive))) if positive else 1.0
    hi = 10 ** math.ceil(math.log10(max(positive))) if positive else 10.0
    hi = max(hi, lo * 10)
    # half a decade left of the axis: far enough to read as "not on the scale", near enough to compare
    return {"lo": lo, "hi": hi, "zero_at": lo / 10**0.5, "break_at": lo / 10**0.2}


def headline_panels(summaries: list[tuple[str, pd.DataFrame]], results: pd.DataFrame) -> list[dict[str, Any]]:
    """The headline plot's data, one panel per task group with ranked lines.

    Args:
        summaries: ``(task, summary)`` pairs of the public tier (:func:`~.aggregate.summarize_task`).
        results: The rows of those summaries (for each line's weights and each solver's kind).

    Returns:
        Panels with ``group``, ``task``, ``instances`` (ranked), ``ylabel``, ``axis`` (``lo``, ``hi``,
        ``zero_at``, ``break_at``) and ``points``: ``label``, ``solver``, ``kind``, ``mae``, ``mae_std``,
        ``pde_solves``, ``amortized``, ``training`` (``""`` for methods without weights).
    """
    kinds = solver_kinds(results)
    by_task = dict(summaries)
    panels = []
    for group in GROUPS:
        task = representative_task(summaries, group)
        if task is None:
            continue
        summary = by_task[task]
        rows = results[results["task"] == task]
        ranked = summary[summary["rank"].notna() & summary[f"{METRIC}_mean"].notna()]
        points = []
        for _, line in ranked.iterrows():
            mine = rows[(rows["solver"] == line["solver"]) & (rows["params_hash"] == line["params_hash"])]
            kind = kinds.get(str(line["solver"]), "")
            points.append(
                {
                    "label": str(line["label"]),
                    "solver": str(line["solver"]),
                    "kind": kind,
                    "mae": float(line[f"{METRIC}_mean"]),
                    "mae_std": float(line[f"{METRIC}_std"]),
                    "pde_solves": float(line["pde_solves_mean"]),
                    "amortized": kind == "amortized",
                    "training": training_summary(weights_cards(mine)),
                }
            )
        panels.append(
            {
                "group": group,
                "task": task,
                "instances": int(ranked["instances"].max()),
                "ylabel": Y_LABELS.get(task.split("/", 1)[-1].split("-", 1)[0], METRIC.upper()),
                "axis": _axis(points),
                "points": points,
            }
        )
    return panels


def legend_label(point: dict[str, Any]) -> str:
    """A point's legend entry: its label, and what it cost besides PDE solves."""
    extra = [point["training"]] if point["training"] else []
    if point["amortized"]:
        extra.insert(0, "amortized")
    return point["label"] + (f" · {'; '.join(extra)}" if extra else "")


def headline_png(panels: list[dict[str, Any]], colors: dict[str, str]) -> bytes:
    """The headline plot as a PNG: one row per panel, its legend to the right.

    Args:
        panels: From :func:`headline_panels`.
        colors: ``{label: colour}`` (:func:`~.colors.palette`), shared with the page.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(panels), 1, figsize=(10.5, 2.9 * len(panels)), squeeze=False, dpi=110)
    for ax, panel in zip(axes[:, 0], panels, strict=True):
        axis = panel["axis"]
        for p in panel["points"]:
            x = p["pde_solves"] if p["pde_solves"] > 0 else axis["zero_at"]
            ax.scatter(
                [x],
                [p["mae"]],
                s=46,
                marker=MARKERS.get(p["kind"], "o"),
                color=colors.get(p["label"], "#444444"),
                edgecolor="black",
                linewidth=0.5,
                alpha=0.85,  # points of one budget stack up; a little transparency shows each of them
                label=legend_label(p),
                zorder=3,
            )
        ax.set_xscale("log")
        ax.set_xlim(axis["zero_at"] / 10**0.3, axis["hi"] * 1.3)
        ax.axvline(axis["break_at"], color="#9aa1ad", linestyle=":", linewidth=1)
        ticks = [axis["zero_at"]] + [
            10**k for k in range(round(math.log10(axis["lo"])), round(math.log10(axis["hi"])) + 1)
        ]
        ax.set_xticks(ticks, ["0"] + [f"{t:g}" for t in ticks[1:]])
        ax.minorticks_off()
        ax.set_ylim(0, 1.12 * max(p["mae"] for p in panel["points"]))
        ax.grid(alpha=0.3)
        ax.set_xlabel("PDE solves spent per instance (log; 0: none at inference)", fontsize=8)
        ax.set_ylabel(panel["ylabel"], fontsize=8)
        ax.set_title(f"{panel['group']}: {panel['task']} ({panel['instances']} ranked instances)", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7, frameon=False, borderaxespad=0)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


CAPTION = (
    "Model error against PDE solves spent, at each task's budget: one point per ranked method, its mean MAE "
    "over the task's ranked test instances against its mean PDE solves per instance (log axis). Points at 0 "
    "spent no PDE solve at inference; training cost, where a method has weights, is in the legend. Markers: "
    "circle classical, square learned prior (iterative), triangle amortized, diamond per-instance network, "
    "cross the initial model. MAE units per task: see the task cards."
)


def headline_markdown(panels: list[dict[str, Any]], figure: str) -> str:
    """The README's headline section: the figure and its caption (empty without panels)."""
    if not panels:
        return ""
    tasks = "; ".join(f"{text(p['group'])}: {text(p['task'])}" for p in panels)
    return "\n".join(
        [
            "## Quality at equal budget",
            "",
            f"![MAE against PDE solves per method]({figure})",
            "",
            f"{CAPTION} Representative task per group (the one with the most ranked methods): {tasks}.",
            "",
        ]
    )
