"""Method cards: what each method on the leaderboard is, where its code and weights are, what it cost.

Everything comes from the code and the files it ships, not from a table kept beside them: the summary
from the solver's module and class docstrings, the papers from
:attr:`~invbench.core.solver.Solver.references`, the parameters from ``defaults`` and ``family_defaults``,
the kind from
:func:`~.overview.method_kind`, the weights from what the board's rows recorded (``weights``,
``checkpoint_hashes``), each looked up in its shipped manifest (sha256, training device, steps and wall
time), with the weights file hashed again here so a card never vouches for a file that changed. A solver
this checkout cannot load (a submitted third-party method) still gets a card, saying so.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from invbench.core.files import sha256_file
from invbench.core.solver import BUILTIN_SOLVERS, Solver, load_solver_class
from invbench.leaderboard.markdown import code, inline, link, text
from invbench.leaderboard.overview import solver_kinds

REPO_ROOT = Path(__file__).resolve().parents[2]
"""The checkout's root: code paths on the cards are relative to it."""


def card_anchor(solver: str) -> str:
    """The id of a method's card on the page (``method-<solver>``, other characters as ``-``)."""
    return "method-" + "".join(c if c.isalnum() else "-" for c in solver.lower())


def _json_cells(value: Any) -> dict[str, Any] | list[Any]:
    try:
        parsed = json.loads(str(value)) if isinstance(value, str) else value
    except json.JSONDecodeError:
        return []
    return parsed if isinstance(parsed, dict | list) else []


def recorded_weights(rows: pd.DataFrame) -> dict[str, set[str]]:
    """Weights named by the rows that ran, ``{name: the sha256 values the rows recorded}``.

    Rows carry them twice (``weights`` records and the ``checkpoint_hashes`` map); rows written before
    ``weights`` existed have only the map, so both are read.
    """
    ran = rows[rows["status"].astype(str) != "skipped"] if "status" in rows.columns else rows
    found: dict[str, set[str]] = {}
    for value in ran["checkpoint_hashes"] if "checkpoint_hashes" in ran.columns else []:
        hashes = _json_cells(value)
        for name, sha in hashes.items() if isinstance(hashes, dict) else []:
            found.setdefault(str(name), set()).add(str(sha))
    for value in ran["weights"] if "weights" in ran.columns else []:
        records = _json_cells(value)
        for record in records if isinstance(records, list) else []:
            if isinstance(record, dict) and record.get("name"):
                found.setdefault(str(record["name"]), set()).update({str(record.get("sha256", ""))} - {""})
    return found


def _relative(path: Path, base: Path | None) -> str:
    """``path`` relative to ``base`` (a link from the generated page), else to the repository root."""
    path = path.resolve()
    if base is not None:
        return Path(os.path.relpath(path, base.resolve())).as_posix()
    try:
        return path.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return path.as_posix()


@cache
def _file_sha256(path: Path) -> str:
    return sha256_file(path)


def shipped_weights(name: str, link_base: Path | None = None) -> dict[str, Any] | None:
    """A shipped checkpoint's manifest facts, with its file hashed again (``None``: not shipped).

    Returns:
        ``name``, ``sha256`` (the manifest's), ``file_sha256`` (the file's own, now), ``manifest`` and
        ``readme`` (repository paths; links relative to ``link_base`` as ``manifest_link`` /
        ``readme_link``), and ``training``: ``device``, ``steps``, ``hours``.
    """
    from invbench.nn.shipped import shipped_checkpoints
    from invbench.nn.weights import checkpoint_paths, read_manifest

    path = shipped_checkpoints().get(name)
    if path is None:
        return None
    weights_path, manifest_path = checkpoint_paths(path)
    manifest = read_manifest(manifest_path)
    training = manifest.get("training") or {}
    readme = weights_path.parent / "README.md"
    return {
        "name": name,
        "sha256": str((manifest.get("weights") or {}).get("sha256", "")),
        "file_sha256": _file_sha256(weights_path),
        "manifest": _relative(manifest_path, None),
        "manifest_link": _relative(manifest_path, link_base),
        "readme": _relative(readme, None) if readme.is_file() else "",
        "readme_link": _relative(readme, link_base) if readme.is_file() else "",
        "training": {
            "device": str(training.get("device", "")),
            "steps": int(training.get("steps") or 0),
            "hours": float(training.get("wall_time_s") or 0.0) / 3600.0,
        },
    }


def weights_cards(rows: pd.DataFrame, link_base: Path | None = None) -> list[dict[str, Any]]:
    """The weights the rows used, each with its shipped manifest's facts (see :func:`shipped_weights`).

    Each entry also has ``recorded`` (the hashes the rows recorded) and ``note``: empty when the file,
    its manifest and every row agree, otherwise what differs.
    """
    out = []
    for name, recorded in sorted(recorded_weights(rows).items()):
        entry = shipped_weights(name, link_base) or {"name": name, "sha256": "", "training": {}}
        entry = {**entry, "recorded": sorted(recorded)}
        if not entry["sha256"]:
            entry["note"] = "not shipped with this checkout; the rows recorded the hashes shown"
        elif entry["file_sha256"] != entry["sha256"]:
            entry["note"] = f"the file's sha256 is {entry['file_sha256']}, not its manifest's"
        elif set(recorded) - {entry["sha256"]}:
            entry["note"] = "some rows ran with other weights: " + ", ".join(
                sorted(set(recorded) - {entry["sha256"]})
            )
        else:
            entry["note"] = ""
        out.append(entry)
    return out


def training_summary(weights: list[dict[str, Any]]) -> str:
    """``"trained 1.7 h on cpu, 5,000 steps"`` summed over the weights; ``""`` without training facts."""
    steps = sum(int(w.get("training", {}).get("steps") or 0) for w in weights)
    hours = sum(float(w.get("training", {}).get("hours") or 0.0) for w in weights)
    devices = sorted({str(w["training"]["device"]) for w in weights if w.get("training", {}).get("device")})
    if not steps and not hours:
        return ""
    where = f" on {', '.join(devices)}" if devices else ""
    return f"trained {hours:.2g} h{where}, {steps:,} steps"


def _summary(cls: type[Solver]) -> str:
    """What the method is: its module's headline, then its class's (when it adds something)."""
    module = inspect.getdoc(sys.modules[cls.__module__]) or ""
    first = module.split("\n\n", 1)[0].replace("\n", " ").strip()
    own = (inspect.getdoc(cls) or "").split("\n\n", 1)[0].replace("\n", " ").strip()
    parts = [p if p.endswith(".") else p + "." for p in (first, own) if p]
    if len(parts) == 2 and parts[1].rstrip(".") in parts[0]:
        parts = parts[:1]
    return " ".join(parts)


def _value(v: Any) -> str:
    return v if isinstance(v, str) else f"{v:g}" if isinstance(v, float) else json.dumps(v)


def _code_facts(spec: str, link_base: Path | None) -> dict[str, Any]:
    """The facts a solver's class gives: summary, papers, code path, parameters, families, amortized."""
    try:
        cls = load_solver_class(spec)
    except ValueError as e:
        return {"loadable": False, "summary": "", "problem": str(e)}
    source = Path(inspect.getsourcefile(cls) or "")
    return {
        "loadable": True,
        "summary": _summary(cls),
        "references": [{"citation": r.citation, "url": r.url, "note": r.note} for r in cls.references],
        "code": _relative(source, None),
        "code_link": _relative(source, link_base),
        "class": f"{cls.__module__}:{cls.__qualname__}",
        "params": [[k, _value(v)] for k, v in cls.defaults.items()],
        "family_params": {f: [[k, _value(v)] for k, v in o.items()] for f, o in cls.family_defaults.items()},
        "families": list(cls.families) if cls.families is not None else None,
        "amortized": bool(cls.amortized),
    }


def method_cards(
    results: pd.DataFrame,
    summaries: list[tuple[str, pd.DataFrame]],
    link_base: Path | None = None,
) -> list[dict[str, Any]]:
    """One card per solver on the board, built-in solvers in registry order, then the others by name.

    Args:
        results: Every results row of the board.
        summaries: ``(task, summary)`` pairs (:func:`~.aggregate.summarize_task`): the variants shown.
        link_base: The folder the page and README are written to (links are made relative to it).

    Returns:
        JSON-ready cards: ``solver``, ``anchor``, ``spec``, ``kind``, ``tasks`` (tasks where it scored),
        ``variants`` (its labels on the board), ``weights`` (:func:`weights_cards`), ``training`` and the
        facts of its class (``loadable``, ``summary``, ``references``, ``code``, ``class``, ``params``,
        ``family_params``, ``families``, ``amortized``).
    """
    kinds = solver_kinds(results)
    order = list(BUILTIN_SOLVERS)
    solvers = sorted(
        {str(s) for s in results["solver"]},
        key=lambda s: (s not in order, order.index(s) if s in order else 0, s),
    )
    cards = []
    for solver in solvers:
        rows = results[results["solver"].astype(str) == solver]
        spec = str(rows["solver_spec"].iloc[-1]) if "solver_spec" in rows.columns else solver
        # a skipped line (a Darcy prior named on an FWI-only solver) is not a variant that ran
        variants = [
            str(label)
            for _, summary in summaries
            for label in summary.loc[
                (summary["solver"].astype(str) == solver) & (summary["scored"] > 0), "label"
            ]
        ]
        weights = weights_cards(rows, link_base)
        cards.append(
            {
                "solver": solver,
                "anchor": card_anchor(solver),
                "spec": spec,
                "kind": kinds.get(solver, ""),
                "tasks": int(rows.loc[rows["status"].isin(("done", "diverged")), "task"].nunique()),
                "variants": list(dict.fromkeys(variants)),
                "weights": weights,
                "training": training_summary(weights),
                **_code_facts(spec, link_base),
            }
        )
    return cards


def _params_line(card: dict[str, Any]) -> str:
    shown = ", ".join(code(f"{k}={v}") for k, v in card["params"]) or "none"
    for family, overrides in card["family_params"].items():
        shown += f"; on {text(family)} tasks: " + ", ".join(code(f"{k}={v}") for k, v in overrides)
    return shown


def card_markdown(card: dict[str, Any]) -> str:
    """One method card as a Markdown subsection."""
    lines = [f"### Method: {text(card['solver'])}", ""]
    if card["loadable"]:
        lines += [inline(card["summary"]), ""]
    applies = ", ".join(card.get("families") or []) or "every task family"
    lines.append(
        f"- **kind**: {text(card['kind'] or 'unknown')}"
        + (" (trained offline; inference spends no or few PDE solves)" if card.get("amortized") else "")
        + (f" · applies to: {text(applies)}" if card["loadable"] else "")
        + f" · scored on {card['tasks']} task(s)"
    )
    if card["variants"]:
        lines.append("- **on the board as**: " + ", ".join(text(v) for v in card["variants"]))
    if not card["loadable"]:
        lines.append(f"- **code**: not in this checkout ({code(card['spec'])})")
    else:
        lines.append(
            f"- **code**: {link(card['code'], card['code_link'])} ({code(card['class'])}, "
            f"registered as {code(card['solver'])})"
        )
        papers = [
            link(r["citation"], r["url"]) + (f" ({text(r['note'])})" if r["note"] else "")
            for r in card["references"]
        ]
        lines.append("- **papers**: " + ("; ".join(papers) or "none (no published method)"))
        lines.append(f"- **parameters** (defaults): {_params_line(card)}")
    if card["weights"]:
        total = f"all together {text(card['training'])}" if card["training"] else "training cost not recorded"
        lines.append(f"- **weights** ({total}):")
        for w in card["weights"]:
            sha = w["sha256"] or ", ".join(w["recorded"])
            cost = w.get("training") or {}
            trained = (
                f"; trained {cost['hours']:.2g} h on {text(cost['device'] or '?')}, {cost['steps']:,} steps"
                if cost
                else ""
            )
            where = f"; {link('manifest', w['manifest_link'])}" if w.get("manifest_link") else ""
            where += f", {link('README', w['readme_link'])}" if w.get("readme_link") else ""
            note = f"; **{text(w['note'])}**" if w["note"] else ""
            lines.append(f"  - {text(w['name'])}: sha256 {code(sha)}{trained}{where}{note}")
    elif card["kind"] in ("learned prior (iterative)", "amortized"):
        lines.append("- **weights**: none recorded by its rows")
    return "\n".join(lines) + "\n"


def method_cards_markdown(cards: list[dict[str, Any]]) -> str:
    """The method cards section of the README (empty without cards)."""
    if not cards:
        return ""
    head = [
        "## Method cards",
        "",
        "What each method on the board is, read from its code: the solver class's docstrings, its "
        "`references`, `defaults` and `family_defaults`; for learned methods, the weights its rows "
        "used with the sha256 of the shipped file (checked against the file when the page was built) "
        "and what training them cost.",
        "",
    ]
    return "\n".join(head) + "\n".join(card_markdown(c) for c in cards)
