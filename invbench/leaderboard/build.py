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
from invbench.leaderboard.colors import palette
from invbench.leaderboard.figures import reconstructions_png
from invbench.leaderboard.headline import CAPTION, MARKERS, headline_markdown, headline_panels, headline_png
from invbench.leaderboard.markdown import readme, task_markdown, text
from invbench.leaderboard.method_cards import method_cards, method_cards_markdown
from invbench.leaderboard.overview import GROUPS, overview, overview_markdown
from invbench.leaderboard.task_cards import metric_definitions, superseded_by, task_cards, task_cards_markdown
from invbench.leaderboard.tiers import VERIFIED_LEGEND, split_tiers
from invbench.registry import TASKS

DATA_MARK = "__INVBENCH_LEADERBOARD_DATA__"
HEADLINE_FIGURE = "headline.png"
"""The headline plot's file beside the README (:mod:`~.headline`)."""
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
                "verified": bool(r.get("verified", False)),
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


def _public_curves(curves: pd.DataFrame) -> pd.DataFrame:
    """Curves of the public tier only (a hidden row's curve must not join the test plots)."""
    if curves.empty or "split" not in curves.columns:
        return curves
    return curves[curves["split"].astype(str) != "hidden"]


def _task_entry(
    task: str, rows: pd.DataFrame, curves: pd.DataFrame, examples: Path
) -> tuple[dict[str, Any], list[str], pd.DataFrame | None, pd.DataFrame | None]:
    """One task's page data, README sections, and summaries of its test rows and of its hidden tier.

    A summary is ``None`` where its tier has no rows.
    The public rows and the hidden tier are summarised apart, so each is ranked among its own lines.
    """
    public, hidden = split_tiers(rows)
    entry: dict[str, Any] = {"task": task, "rows": [], "curves": {}, "example": None, "hidden": None}
    sections, summary, tier = [], None, None
    if not public.empty:
        summary, facts = summarize_task(public)
        facts["superseded_by"] = superseded_by(task)
        sections.append(task_markdown(summary, facts))
        entry.update(
            facts=facts,
            rows=_rows_json(summary, facts["metrics"]),
            curves=mean_curves(curves, task, labels=_labels(summary)),
            example=_example(public, summary, examples, facts["rank_metric"]),
        )
    if not hidden.empty:
        tier, tier_facts = summarize_task(hidden)
        if public.empty:
            sections.append(f"## {text(task)}\n\nNo test rows: only its hidden tier.\n")
            entry["facts"] = tier_facts
        sections.append(task_markdown(tier, tier_facts, tier="hidden"))
        entry["hidden"] = {"facts": tier_facts, "rows": _rows_json(tier, tier_facts["metrics"])}
    return entry, sections, summary, tier


def build(results_dir: str | Path = "leaderboard", out: str | Path = "leaderboard") -> dict[str, Path]:
    """Write ``README.md`` and ``index.html`` for the results in ``results_dir`` into ``out``.

    The README opens with the overview, then the headline plot (written beside it as
    :data:`HEADLINE_FIGURE`) and, when ``results_dir`` holds runs of a study's tasks
    (:data:`STUDY_SECTIONS`, e.g. the ``red-diffeq`` suite), that study's section with its figure;
    then one section per task (its hidden tier, if any, ranked apart), the method cards and the task
    cards.

    Returns:
        The written paths, by name (``readme``, ``html``, ``headline`` with ranked lines, ``figure``
        with a suite section).
    """
    results_dir, out = Path(results_dir), Path(out)
    results, curves = load_results_dir(results_dir)
    public_curves = _public_curves(curves)
    generated = pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M UTC")
    sections, tasks, summaries, tiers = [], [], [], []
    order = _task_order(sorted(set(results["task"].astype(str))))
    for task in order:
        entry, task_sections, summary, tier = _task_entry(
            task, results[results["task"] == task], public_curves, results_dir / "examples"
        )
        tasks.append(entry)
        sections += task_sections
        if summary is not None:
            summaries.append((task, summary))
        if tier is not None:
            tiers.append((task, tier))
    public, _ = split_tiers(results)
    # colours follow the page's order of rows, test tier first, so README and page agree
    colors = palette(
        [r["label"] for t in tasks for r in t["rows"]]
        + [r["label"] for t in tasks if t["hidden"] for r in t["hidden"]["rows"]]
    )
    panels = headline_panels(summaries, public)
    cards = method_cards(results, summaries + tiers, link_base=out)
    t_cards = task_cards(results, order)
    head: list[str] = []
    methods = overview(summaries, public)
    if not methods.empty:
        head.append(overview_markdown(methods))
    if panels:
        head.append(headline_markdown(panels, HEADLINE_FIGURE))
    suite = study_section(public)
    if suite is not None:
        head.append(suite["markdown"])
    sections = head + sections + [method_cards_markdown(cards), task_cards_markdown(t_cards)]
    verified = any(r["verified"] for t in tasks for r in t["rows"] + (t["hidden"] or {}).get("rows", []))
    payload = _clean(
        {
            "generated": generated,
            "n_rows": len(results),
            "groups": list(GROUPS),
            "palette": colors,
            "overview": methods.to_dict("records"),
            "headline": {"panels": panels, "caption": CAPTION, "markers": MARKERS} if panels else None,
            "tasks": tasks,
            "suite": None if suite is None else {"tables": suite["tables"], "png": suite["png"]},
            "method_cards": cards,
            "task_cards": t_cards,
            "metric_definitions": {c["family"]: metric_definitions(c["family"]) for c in t_cards},
            "verified_legend": VERIFIED_LEGEND if verified else None,
        }
    )
    template = files("invbench.leaderboard").joinpath("template.html").read_text(encoding="utf-8")
    data = json.dumps(payload, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    html = template.replace(DATA_MARK, data)
    page = readme(sections, generated=generated, n_rows=len(results), verified=verified)
    paths = {"readme": out / "README.md", "html": out / "index.html"}
    atomic_write(paths["readme"], lambda f: f.write(page.encode("utf-8")))
    atomic_write(paths["html"], lambda f: f.write(html.encode("utf-8")))
    if panels:
        png = headline_png(panels, colors)
        paths["headline"] = out / HEADLINE_FIGURE
        atomic_write(paths["headline"], lambda f: f.write(png))
    if suite is not None:
        figure = base64.b64decode(suite["png"])
        paths["figure"] = out / suite["figure_name"]
        atomic_write(paths["figure"], lambda f: f.write(figure))
    return paths
