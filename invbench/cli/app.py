"""The ``invbench`` Typer app, its console, and the helpers every command shares."""

from __future__ import annotations

import json
import os
from typing import Any, NoReturn

import typer
from rich.console import Console

app = typer.Typer(add_completion=False, help="invbench: benchmark inversion methods on PDE inverse problems.")
PIPED_WIDTH = 1000
"""Console width when output is not a terminal and ``COLUMNS`` is unset: tables keep their natural width
instead of rich's 80-column default, so piped ids and numbers are never cut."""


def make_console() -> Console:
    """The CLI's console: the terminal's width on a terminal (or ``COLUMNS``), else :data:`PIPED_WIDTH`."""
    probe = Console()
    if probe.is_terminal or os.environ.get("COLUMNS"):
        return probe
    return Console(width=PIPED_WIDTH)


console = make_console()


def fail(message: str, exc: Exception | None = None) -> NoReturn:
    """Print one error line (never wrapped, never a traceback) and exit with code 2."""
    console.print(f"[red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2) from exc


def parse_kv(items: list[str] | None) -> dict[str, Any]:
    """``["k=v", ...]`` -> ``{k: v}``, each value parsed as JSON when it can be (else a number or text)."""
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = number_or_text(v)
    return out


def number_or_text(text: str) -> Any:
    """``"nan"``, ``"inf"``, ``"1e-3"`` as floats (JSON has no spelling for the first two), else the text."""
    try:
        return float(text)
    except ValueError:
        return text


def split_list(items: list[str] | None) -> list[str] | None:
    """``["a,b", "c"]`` -> ``["a", "b", "c"]``; ``None`` for nothing."""
    out = [x.strip() for item in items or [] for x in item.split(",") if x.strip()]
    return out or None


def solver_param_overrides(items: list[str] | None) -> dict[str, dict[str, Any]]:
    """``SOLVER.KEY=VALUE`` (one solver) or ``KEY=VALUE`` (every solver declaring KEY)."""
    out: dict[str, dict[str, Any]] = {}
    for key, value in parse_kv(items).items():
        solver, _, name = key.rpartition(".")
        out.setdefault(solver or "*", {})[name] = value
    return out
