"""``invbench demo``: the first run: a small benchmark on the embedded default, and its leaderboard page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from invbench.cli.app import app, console, fail, split_list

DEMO_SUITE = "demo"


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Results folder; the page goes to OUT/board.")] = Path(
        "results/demo"
    ),
    workers: Annotated[
        int, typer.Option(help="Worker processes (one thread each); 1 runs the cells one after another.")
    ] = 2,
    tasks_: Annotated[
        list[str] | None, typer.Option("--tasks", help="Task ids replacing the demo's (e.g. the Tiny tasks).")
    ] = None,
    solvers: Annotated[
        list[str] | None, typer.Option(help="Solvers replacing the demo's (repeat or comma-separate).")
    ] = None,
    fresh: Annotated[bool, typer.Option(help="Start over instead of continuing a run in OUT.")] = False,
) -> None:
    """Run the demo benchmark and write its leaderboard page (about 8 minutes on 2 CPU cores).

    The initial model (no inversion), TV and RED-DiffEq on one procedural FlatVel-A instance in the
    OpenFWI geometry, and the initial model, Tikhonov, RED-DiffEq and LD-DIM on one Darcy-Bimaterial
    instance, each at its task's full budget, scored by the benchmark's harness (every solver in its
    own worker, the truth out of its reach). No downloads: the maps are procedural and the priors
    are shipped. Running it again continues where it stopped; --fresh starts over.
    """
    import shutil
    import time

    from invbench.harness.cells import plan_cells
    from invbench.harness.display import summary_table
    from invbench.harness.runner import run_benchmark
    from invbench.harness.suites import get_suite
    from invbench.leaderboard.build import build

    if workers < 1:
        fail(f"--workers must be at least 1, got {workers}")
    try:
        cells = plan_cells(
            get_suite(DEMO_SUITE), tasks=split_list(tasks_), solvers=split_list(solvers), device="cpu"
        )
    except ValueError as e:
        fail(str(e), e)
    if fresh and out.exists():
        shutil.rmtree(out)
    console.print(
        f"[bold]invbench demo[/]: {len(cells)} cells "
        f"({', '.join(sorted({c.task.split('/', 1)[-1] for c in cells}))}) on {workers} worker(s) -> {out}"
    )
    t0 = time.perf_counter()
    try:
        results = run_benchmark(
            cells,
            out,
            executor="dask" if workers > 1 else "local",
            workers=workers,
            resume=True,
            console=console,
            options={"suite": DEMO_SUITE, "device": "cpu"},
        )
    except ValueError as e:
        fail(str(e), e)
    planned = {c.cell_id for c in cells}
    mine = results[results["cell_id"].isin(planned)]
    console.print(summary_table(mine, title="invbench demo"))
    paths = build(out, out / "board")
    console.print(f"{len(planned)} cells in {time.perf_counter() - t0:.0f} s")
    console.print(f"leaderboard page: {paths['html']}  (tables: {paths['readme']})")
