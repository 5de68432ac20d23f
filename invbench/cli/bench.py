"""``invbench bench``: a benchmark suite into a parquet results folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from invbench.cli.app import app, console, fail, solver_param_overrides, split_list
from invbench.harness.suites import SUITES


@app.command()
def bench(
    suite: Annotated[
        str, typer.Option(help=f"Suite: {', '.join(SUITES)} (invbench/harness/suites.py describes them).")
    ] = "smoke",
    tasks_: Annotated[
        list[str] | None,
        typer.Option("--tasks", help="Task ids replacing the suite's (repeat or comma-separate)."),
    ] = None,
    solvers: Annotated[
        list[str] | None,
        typer.Option(help="Solver names or module:Class replacing the suite's (repeat or comma-separate)."),
    ] = None,
    instances: Annotated[int | None, typer.Option(help="Instances per task (default: the suite's).")] = None,
    first_instance: Annotated[
        int, typer.Option(help="Index of the first instance (run a suite in slices).")
    ] = 0,
    seeds: Annotated[
        int | None, typer.Option(help="Repetitions (seeds) per cell (default: the suite's).")
    ] = None,
    base_seed: Annotated[int, typer.Option(help="Base seed every cell seed is derived from.")] = 0,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param", "-p", help="Solver parameter [SOLVER.]KEY=VALUE (without SOLVER: all that have KEY)."
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Results folder (default: results/SUITE).")] = None,
    executor: Annotated[str, typer.Option(help="local (this process) or dask.")] = "local",
    scheduler: Annotated[
        str | None, typer.Option(help="Address of a running dask scheduler (default: start a LocalCluster).")
    ] = None,
    workers: Annotated[int, typer.Option(help="Worker processes of the dask LocalCluster.")] = 2,
    device: Annotated[
        str, typer.Option(help="auto, cpu or cuda (cuda cells need a GPU resource on dask).")
    ] = "auto",
    timeout: Annotated[float | None, typer.Option(help="Seconds per cell (default: the suite's).")] = None,
    resume: Annotated[bool, typer.Option(help="Skip cells already finished in --out.")] = False,
    retry_failed: Annotated[
        bool, typer.Option(help="With --resume, run failed and timed-out cells again.")
    ] = False,
    skip_scored_in: Annotated[
        Path | None,
        typer.Option(
            help="Leave out cells that already have a done or diverged row in this results table "
            "(e.g. leaderboard/results.parquet)."
        ),
    ] = None,
    shard_: Annotated[
        str | None,
        typer.Option("--shard", help="Run only part K/N of the plan (every N-th cell from K), e.g. 0/2."),
    ] = None,
    batch_size: Annotated[
        str,
        typer.Option(
            help="Cells of one task a batched solver (adam, tikhonov, tv) solves together, one batched "
            "physics call per iteration: a number, or auto (1 on the CPU, 64 on CUDA)."
        ),
    ] = "auto",
    dry_run: Annotated[bool, typer.Option(help="List the planned cells and exit.")] = False,
) -> None:
    """Run a benchmark suite: tasks x instances x solvers x seeds, into a parquet results folder."""
    import time

    from invbench.core.device import default_device
    from invbench.harness.cells import plan_cells
    from invbench.harness.display import summary_table
    from invbench.harness.runner import ResultsExistError, run_benchmark, scored_cell_ids, shard
    from invbench.harness.suites import get_suite

    if device == "auto":
        device = default_device().type
    try:
        spec = get_suite(suite)
        cells = plan_cells(
            spec,
            tasks=split_list(tasks_),
            solvers=split_list(solvers),
            instances=instances,
            first_instance=first_instance,
            repetitions=seeds,
            base_seed=base_seed,
            user_params=solver_param_overrides(param),
            device=device,
            timeout=timeout,
        )
        if skip_scored_in is not None:
            scored = scored_cell_ids(skip_scored_in)
            planned = len(cells)
            cells = [c for c in cells if c.cell_id not in scored]
            console.print(f"{planned - len(cells)} of {planned} planned cells are scored in {skip_scored_in}")
        if shard_ is not None:
            cells = shard(cells, shard_)
    except ValueError as e:
        fail(str(e), e)
    out = out or Path("results") / suite
    console.print(
        f"[bold]invbench bench[/] suite={suite} cells={len(cells)} executor={executor} "
        f"device={device} out={out}"
    )
    if not cells:
        console.print("nothing to run")
        return
    if dry_run:
        for cell in cells:
            console.print(f"  {cell.cell_id}  {cell.label}  params={cell.params_json}  seed={cell.seed}")
        return
    t0 = time.perf_counter()
    try:
        results = run_benchmark(
            cells,
            out,
            executor=executor,
            scheduler=scheduler,
            workers=workers,
            resume=resume,
            retry_failed=retry_failed,
            console=console,
            options={"suite": suite, "device": device, "base_seed": base_seed},
            batch_size=batch_size,
        )
    except (ResultsExistError, ValueError) as e:
        fail(str(e), e)
    planned = {c.cell_id for c in cells}
    console.print(summary_table(results[results["cell_id"].isin(planned)], title=f"{suite}: summary"))
    console.print(
        f"{len(planned)} cells in {time.perf_counter() - t0:.1f} s; results in {out}/results.parquet"
    )


@app.command()
def verify(
    solver: Annotated[str, typer.Option(help="The solver to verify: a name, entry point or module:Class.")],
    suite: Annotated[
        str, typer.Option(help=f"Suite whose tasks and instance counts are run: {', '.join(SUITES)}.")
    ] = "standard",
    tasks_: Annotated[
        list[str] | None,
        typer.Option("--tasks", help="Task ids replacing the suite's (repeat or comma-separate)."),
    ] = None,
    instances: Annotated[int | None, typer.Option(help="Instances per task (default: the suite's).")] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="Solver parameter [SOLVER.]KEY=VALUE.")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Results folder (default: results/verify-SOLVER).")] = None,
    executor: Annotated[str, typer.Option(help="local (this process) or dask.")] = "local",
    workers: Annotated[int, typer.Option(help="Worker processes of the dask LocalCluster.")] = 2,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    resume: Annotated[bool, typer.Option(help="Skip cells already finished in --out.")] = False,
) -> None:
    """Maintainers: rerun a solver on the hidden split, in isolated workers, into signed rows.

    Needs the hidden tier's salt in $INVBENCH_HIDDEN_SALT. Every row is marked verified and signed
    (see invbench/harness/signing.py); `invbench leaderboard submit` accepts hidden-split rows only
    with a valid signature.
    """
    from invbench.core.device import default_device
    from invbench.core.seeding import HIDDEN_SPLIT, HiddenSplitError, hidden_salt
    from invbench.harness.cells import plan_cells
    from invbench.harness.display import summary_table
    from invbench.harness.runner import ResultsExistError, run_benchmark
    from invbench.harness.suites import get_suite

    try:
        hidden_salt()
    except HiddenSplitError as e:
        fail(f"invbench verify is for the maintainers: {e}", e)
    if device == "auto":
        device = default_device().type
    try:
        cells = plan_cells(
            get_suite(suite),
            tasks=split_list(tasks_),
            solvers=[solver],
            instances=instances,
            user_params=solver_param_overrides(param),
            device=device,
            split=HIDDEN_SPLIT,
        )
    except ValueError as e:
        fail(str(e), e)
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in solver)
    out = out or Path("results") / f"verify-{safe}"
    console.print(f"[bold]invbench verify[/] {solver} suite={suite} hidden cells={len(cells)} out={out}")
    try:
        results = run_benchmark(
            cells,
            out,
            executor=executor,
            workers=workers,
            resume=resume,
            console=console,
            options={"suite": suite, "device": device, "verify": True},
        )
    except (ResultsExistError, ValueError) as e:
        fail(str(e), e)
    planned = {c.cell_id for c in cells}
    console.print(summary_table(results[results["cell_id"].isin(planned)], title=f"verify {solver}: summary"))
    console.print(
        f"signed rows in {out}/results.parquet; publish them with "
        f"`invbench leaderboard submit {out}/results.parquet` (with the salt set)"
    )
