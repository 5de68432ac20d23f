"""``leaderboard/README.md``: per task, every solver's mean ± std over instances and its rank."""

from __future__ import annotations

import html
import math
import re
import urllib.parse
from typing import Any

import pandas as pd

from invbench.leaderboard.aggregate import HIGHER_IS_BETTER
from invbench.leaderboard.tiers import VERIFIED_LEGEND, VERIFIED_MARK


def text(value: Any) -> str:
    """``value`` safe inside a Markdown table cell or list item.

    HTML is escaped and ``|``, backticks and line breaks neutralised, so a submitted name or reason can
    neither inject markup nor break the table.
    """
    escaped = html.escape(str(value), quote=False).replace("|", "&#124;").replace("`", "&#96;")
    return " ".join(escaped.split())


def code(value: Any) -> str:
    """``value`` as inline code, escaped as :func:`text`.

    An HTML ``<code>``, since a Markdown code span would show the entities literally.
    """
    return f"<code>{text(value)}</code>"


def inline(value: Any) -> str:
    """Docstring text for Markdown: ````code```` spans as :func:`code`, the rest as :func:`text`.

    Solver and task docstrings mark code the reStructuredText way; the spaces around a span survive,
    which :func:`text` alone would strip.
    """
    out = []
    for i, part in enumerate(str(value).split("``")):
        if i % 2:
            out.append(code(part))
            continue
        piece = text(part)
        lead = " " if part[:1].isspace() and piece else ""
        trail = " " if part[-1:].isspace() and piece else ""
        out.append(lead + piece + trail)
    return "".join(out)


def safe_url(url: str) -> str | None:
    """``url`` when it is an http(s) address or a relative path, percent-encoded for a Markdown link.

    Anything else (``javascript:``, ``data:``) gives ``None``: links come from code, but a card must
    never turn into a script however its text was written.
    """
    url = str(url).strip()
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", url) and not re.match(r"^https?://", url, re.I):
        return None
    return urllib.parse.quote(url, safe="/:#?&=%@+,;~.-_")


def link(label: Any, url: str | None) -> str:
    """A Markdown link ``[label](url)`` (the escaped label alone without a safe URL)."""
    target = safe_url(url) if url else None
    shown = text(label).replace("[", "&#91;").replace("]", "&#93;")  # a bracket would end the link text
    return f"[{shown}]({target})" if target else text(label)


def mean_std(mean: float, std: float) -> str:
    """``"0.1234 ± 0.012"``; the mean alone without a spread (one instance); ``"–"`` without a value."""
    if mean is None or math.isnan(mean):
        return "–"
    return f"{mean:.4g}" if std is None or math.isnan(std) else f"{mean:.4g} ± {std:.2g}"


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, spaces as ``-``."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def task_card_link(task: str) -> str:
    """A link to a task's card (the heading :func:`~.task_cards.card_markdown` writes)."""
    return f"[task card](#{github_anchor(f'Task card: {task}')})"


def task_markdown(summary: pd.DataFrame, facts: dict[str, Any], *, tier: str | None = None) -> str:
    """The section of one task, or with ``tier="hidden"`` the sub-section of its hidden tier.

    A hidden tier is ranked among its own rows only (the caller summarises them apart), so its ranks
    never mix with the test ranking above it.
    """
    metrics = facts["metrics"]
    key = facts["rank_metric"]
    budget = ", ".join(str(b) for b in facts["budget"]) or "–"
    devices = "; ".join(text(d) for d in facts["devices"]) or "–"
    arrow = {m: "↑" if m in HIGHER_IS_BETTER else "↓" for m in metrics}
    if tier is None:
        head = [
            f"## {text(facts['task'])}",
            "",
            f"What the task is: its {task_card_link(str(facts['task']))}."
            + (
                f" **An old version: results of the generator that {text(facts['superseded_by'])} replaced.**"
                if facts.get("superseded_by")
                else ""
            ),
            "",
        ]
    else:
        head = [
            f"### {text(facts['task'])}: {text(tier)} tier",
            "",
            f"Rows of the {text(tier)} split, ranked among themselves, never mixed into the test ranking.",
            "",
        ]
    lines = [
        *head,
        f"Budget: {budget} PDE solves per instance · device: {devices} · instances: {facts['instances']} · "
        f"ranked by {key} ({'higher' if key in HIGHER_IS_BETTER else 'lower'} is better) among full-budget "
        f"runs on the same {facts.get('ranked_instances', 0)} instances"
        f"{_backing(facts)}; other rows carry a note",
        "",
        "| rank | solver | params | scored/cells | "
        + " | ".join(f"{m} {arrow[m]}" for m in metrics)
        + " | PDE solves | wall time (s) | note |",
        "|" + "---|" * (7 + len(metrics)),
    ]
    skipped = []
    params = []
    for _, r in summary.iterrows():
        if r["scored"] == 0 and r["cells"] > 0 and str(r["status"]).startswith("skipped"):
            skipped.append(f"- {text(r['solver'])}: {text(r['reason'] or 'skipped')}")
            continue
        rank = "–" if pd.isna(r["rank"]) else str(int(r["rank"]))
        cells = [
            rank,
            f"**{text(r['label'])}**" + (f" {VERIFIED_MARK}" if r.get("verified", False) else ""),
            code(r["params_hash"]),
            f"{r['scored']}/{r['cells']}",
            *(mean_std(r[f"{m}_mean"], r[f"{m}_std"]) for m in metrics),
            mean_std(r["pde_solves_mean"], r["pde_solves_std"]),
            mean_std(r["wall_time_mean"], r["wall_time_std"]),
            text(r["note"]) or "",
        ]
        lines.append("| " + " | ".join(cells) + " |")
        params.append(f"- {text(r['label'])} {code(r['params_hash'])}: {code(r.get('params', ''))}")
        if r["scored"] < r["cells"]:
            skipped.append(f"- {text(r['label'])} ({text(r['status'])}): {text(r['reason'])}")
    if params:
        lines += ["", "Parameters (as resolved for this task):", "", *params]
    if skipped:
        lines += ["", "Not scored:", "", *skipped]
    return "\n".join(lines) + "\n"


def readme(sections: list[str], *, generated: str, n_rows: int, verified: bool = False) -> str:
    """The whole README; ``verified``: the board has verified lines, so the legend explains the mark."""
    head = [
        "# invbench leaderboard",
        "",
        f"Generated by `invbench leaderboard build` on {generated} from {n_rows} result rows "
        "(`results.parquet`). Open `index.html` for sortable tables and plots.",
        "",
        "Each entry is the mean ± standard deviation over test instances (repetitions averaged "
        "first) of runs that finished (`done` or `diverged`). Metrics and their units are defined "
        "in the task cards at the end (FWI: OpenFWI's normalised velocity (v − 3000) / 1500; Darcy: "
        "log k, not normalised); PDE solves count forward and adjoint solves; wall time is the "
        "solver's `solve` only (set-up excluded). What each method is: the method cards at the end.",
        "",
        *([VERIFIED_LEGEND, ""] if verified else []),
    ]
    return "\n".join(head) + "\n" + "\n".join(sections)


def _backing(facts: dict) -> str:
    """Which instances back the ranking, and how many the ``standard`` suite plans."""
    if not facts.get("ranked_set"):
        return ""
    planned = facts.get("standard_instances")
    plan = f", of the {planned} the standard suite plans" if planned and facts.get("split") == "test" else ""
    return f" ({text(facts.get('split', 'test'))} {facts['ranked_set']}{plan})"
