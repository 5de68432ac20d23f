"""``invbench leaderboard build`` and ``invbench leaderboard submit``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from invbench.cli.app import app, console, fail

leaderboard_app = typer.Typer(add_completion=False, help="Build and update the leaderboard.")
app.add_typer(leaderboard_app, name="leaderboard")


@leaderboard_app.command("build")
def leaderboard_build(
    results: Annotated[
        Path, typer.Option(help="Folder with results.parquet (a leaderboard or an `invbench bench` output).")
    ] = Path("leaderboard"),
    out: Annotated[Path, typer.Option(help="Where README.md and index.html go.")] = Path("leaderboard"),
) -> None:
    """Write README.md (tables) and index.html (sortable tables, plots, reconstructions)."""
    from invbench.leaderboard.build import build

    try:
        paths = build(results, out)
    except FileNotFoundError as e:
        fail(str(e), e)
    console.print(f"wrote {paths['readme']} and {paths['html']}")


@leaderboard_app.command("submit")
def leaderboard_submit(
    file: Annotated[
        Path, typer.Argument(help="A results.parquet (its curves.parquet and examples/ come along).")
    ],
    leaderboard: Annotated[Path, typer.Option(help="The leaderboard folder.")] = Path("leaderboard"),
) -> None:
    """Validate a results file and merge it into the leaderboard (latest row per key wins)."""
    from invbench.leaderboard.submit import submit
    from invbench.leaderboard.validate import SubmissionError

    try:
        report = submit(file, leaderboard)
    except SubmissionError as e:
        console.print(f"[red]rejected:[/] {e}", highlight=False)
        console.print("the leaderboard was not changed")
        raise typer.Exit(code=1) from e
    console.print(
        f"merged {file} into {leaderboard}/results.parquet: {report.added} added, "
        f"{report.replaced} replaced, {report.kept} older than the leaderboard's (ignored); "
        f"{report.total} rows in total"
    )
