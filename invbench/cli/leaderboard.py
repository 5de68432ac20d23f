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
    replace: Annotated[
        str | None,
        typer.Option(
            metavar="REASON",
            help="Allow newer rows to replace published ones, and say why (kept in history.parquet).",
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Check and report what would change; write nothing.")] = False,
    rebuild: Annotated[
        bool, typer.Option("--build/--no-build", help="Rebuild README.md and index.html afterwards.")
    ] = True,
) -> None:
    """Validate a results file and merge it into the leaderboard, then rebuild the page.

    New keys are added; a row newer than the published row of its key replaces it only with
    --replace; older rows are ignored. Nothing is written unless the whole submission is valid.
    """
    from invbench.leaderboard.build import build
    from invbench.leaderboard.submit import submit
    from invbench.leaderboard.validate import SubmissionError

    try:
        report = submit(file, leaderboard, replace=replace, dry_run=dry_run)
    except SubmissionError as e:
        console.print(f"[red]rejected:[/] {e}", highlight=False)
        console.print("the leaderboard was not changed")
        raise typer.Exit(code=1) from e
    verb = "would add" if dry_run else "added"
    for label in report.added:
        console.print(f"  {verb}: {label}", highlight=False)
    for label in report.replaced:
        console.print(f"  {'would replace' if dry_run else 'replaced'}: {label}", highlight=False)
    for label in report.ignored:
        console.print(f"  ignored (older than the published row): {label}", highlight=False)
    console.print(
        f"{file} -> {leaderboard}/results.parquet: {len(report.added)} {verb}, "
        f"{len(report.replaced)} {'would be replaced' if dry_run else 'replaced'}, "
        f"{len(report.ignored)} ignored as older, {report.unchanged} unchanged; "
        f"{report.total} rows in total",
        highlight=False,
    )
    if dry_run:
        console.print("dry run: nothing was written")
        return
    if not report.written:
        console.print("nothing new: the leaderboard was not changed")
        return
    if rebuild:
        paths = build(leaderboard, leaderboard)
        console.print(f"rebuilt {paths['readme']} and {paths['html']}")
    else:
        console.print(f"run `invbench leaderboard build --results {leaderboard}` to update the page")
