"""``invbench leaderboard build``: ``README.md`` and a self-contained ``index.html`` from results.

The input is a folder with ``results.parquet`` (and optionally ``curves.parquet`` and
``examples/``): the published ``leaderboard/`` folder, or any ``invbench bench`` output.
"""

from __future__ import annotations

import base64
import json
import math
from importlib import import_module
from importlib.resources import files
from pathlib import Path
from typing import Any

import pandas as pd

from invbench.core.files import atomic_write
from invbench.harness.execute import METRIC_PREFIX
from invbench.harness.store import ResultStore, load_example
from invbench.leaderboard.aggregate import SCORED, mean_curves, summarize_task
from invbench.leaderboard.artifacts import find_example
from invbench.leaderboard.figures import reconstructions_png
from invbench.leaderboard.markdown import readme, task_markdown
from invbench.leaderboard.overview import GROUPS, overview, overview_markdown
from invbench.registry import TASKS

DATA_MARK = "__INVBENCH_LEADERBOARD_DATA__"
STUDY_SECTIONS: tuple[str, ...] = ("studies.red_diffeq.robustness:suite_section",)
"""Study sections that open the leaderboard, as ``module:function``.

Each function takes the results table and returns ``None`` (no runs of its study) or a dict with
``markdown``, ``tables`` (for the web page), ``png`` (base64) and ``figure_name``. Studies own their
tables; the leaderboard only places them.
"""


def study_section(results: pd.DataFrame) -> dict[str, Any] | None:
    """The first study section that has runs in ``results`` (see :data:`STUDY_SECTIONS`)."""
    for target in STUDY_SECTIONS:
        module, _, func = target.partition(":")
        section = getattr(import_module(module), func)(results)
        if section is not None:
            return section
    return None


def _clean(x: Any) -> Any:
    """JSON-safe values: NaN/inf -> null, numpy scalars -> Python."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, str):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _task_order(tasks: list[str]) -> list[str]:
    registered = [t for t in TASKS if t in tasks]
    return registered + sorted(set(tasks) - set(registered))


def _example(rows: pd.DataFrame, summary: pd.DataFrame, examples: Path, key: str) -> dict[str, Any] | None:
    """Truth, initial model and each solver's estimate on the first instance with stored examples."""
    counts = rows["cell_id"].value_counts()
    files = [
        find_example(examples, c, h, unique=counts[c] == 1)
        for c, h in zip(rows["cell_id"], rows["params_hash"], strict=True)
    ]
    have = rows.assign(_example=files)
    have = have[have["_example"].notna() & have["status"].isin(SCORED)]
    if have.empty:
        return None
    instance = int(have["instance"].min())
    at = have[have["instance"] == instance].sort_values("repetition" if "repetition" in have else "seed")
    panels, truth = [], None
    for _, entry in summary.iterrows():
        cell = at[(at["solver"] == entry["solver"]) & (at["params_hash"] == entry["params_hash"])]
        if cell.empty:
            continue
        arrays = load_example(cell["_example"].iloc[0])
        if truth is None:
            truth = arrays["truth"]
            panels.append(("initial", arrays["initial"]))
        value = cell[f"{METRIC_PREFIX}{key}"].iloc[0] if key else math.nan
        label = f"{entry['label']}" + (f"\n{key} {value:.3g}" if pd.notna(value) else "")
        panels.append((label, arrays["estimate"]))
    if truth is None:
        return None
    title = f"{rows['task'].iloc[0]} — {rows['split'].iloc[0]} instance {instance}"
    return {"instance": instance, "png": reconstructions_png(truth, panels, title)}


def _rows_json(summary: pd.DataFrame, metrics: list[str]) -> list[dict[str, Any]]:
    out = []
    for _, r in summary.iterrows():
        out.append(
            {
                "rank": r["rank"],
                "solver": r["solver"],
                "label": r["label"],
                "note": r["note"],
                "params_hash": r["params_hash"],
                "params": r["params"],
                "scored": r["scored"],
                "cells": r["cells"],
                "status": r["status"],
                "reason": r["reason"],
                "metrics": {m: [r[f"{m}_mean"], r[f"{m}_std"]] for m in metrics},
                "pde_solves": [r["pde_solves_mean"], r["pde_solves_std"]],
                "wall_time": [r["wall_time_mean"], r["wall_time_std"]],
            }
        )
    return out


def _labels(summary: pd.DataFrame) -> dict[tuple[str, str], str]:
    return {(str(r["solver"]), str(r["params_hash"])): str(r["label"]) for _, r in summary.iterrows()}


def load_results_dir(folder: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Results and curves of a leaderboard or bench output folder.

    Raises:
        FileNotFoundError: When the folder holds no results.
    """
    store = ResultStore(folder)
    results = store.results()
    if results.empty:
        raise FileNotFoundError(f"no results in {folder} (expected results.parquet or cells/*.parquet)")
    return results, store.curves()


def build(results_dir: str | Path = "leaderboard", out: str | Path = "leaderboard") -> dict[str, Path]:
    """Write ``README.md`` and ``index.html`` for the results in ``results_dir`` into ``out``.

    When ``results_dir`` holds runs of a study's tasks (:data:`STUDY_SECTIONS`, e.g. the
    ``red-diffeq`` suite), that study's section comes first, and its figure is written beside the
    README.

    Returns:
        The written paths, by name (``readme``, ``html`` and, with a suite section, ``figure``).
    """
    results_dir, out = Path(results_dir), Path(out)
    results, curves = load_results_dir(results_dir)
    generated = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M UTC")
    sections, tasks, summaries = [], [], []
    for task in _task_order(sorted(set(results["task"].astype(str)))):
        rows = results[results["task"] == task]
        summary, facts = summarize_task(rows)
        summaries.append((task, summary))
        sections.append(task_markdown(summary, facts))
        tasks.append(
            {
                "task": task,
                "facts": facts,
                "rows": _rows_json(summary, facts["metrics"]),
                "curves": mean_curves(curves, task, labels=_labels(summary)),
                "example": _example(rows, summary, results_dir / "examples", facts["rank_metric"]),
            }
        )
    suite = study_section(results)
    if suite is not None:
        sections.insert(0, suite["markdown"])
    methods = overview(summaries, results)
    if not methods.empty:
        sections.insert(0, overview_markdown(methods))
    payload = _clean(
        {
            "generated": generated,
            "n_rows": len(results),
            "groups": list(GROUPS),
            "overview": methods.to_dict("records"),
            "tasks": tasks,
            "suite": None if suite is None else {"tables": suite["tables"], "png": suite["png"]},
        }
    )
    template = files("invbench.leaderboard").joinpath("template.html").read_text(encoding="utf-8")
    data = json.dumps(payload, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    html = template.replace(DATA_MARK, data)
    text = readme(sections, generated=generated, n_rows=len(results))
    paths = {"readme": out / "README.md", "html": out / "index.html"}
    atomic_write(paths["readme"], lambda f: f.write(text.encode("utf-8")))
    atomic_write(paths["html"], lambda f: f.write(html.encode("utf-8")))
    if suite is not None:
        png = base64.b64decode(suite["png"])
        paths["figure"] = out / suite["figure_name"]
        atomic_write(paths["figure"], lambda f: f.write(png))
    return paths
