"""``invbench tasks`` and ``invbench run`` (one inversion: a one-cell benchmark)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from invbench.cli.app import app, console, fail, parse_kv

DEFAULT_TASK = "invbench/FWI-FlatVel-A-v0"
DEFAULT_SOLVER = "adam"


@app.command()
def tasks() -> None:
    """List the registered tasks and their settings."""
    import gymnasium as gym

    from invbench.registry import task_ids

    table = Table(title="invbench tasks")
    for col in ("task id", "entry point", "settings"):
        table.add_column(col)
    for tid in task_ids():
        spec = gym.spec(tid)
        settings = ", ".join(f"{k}={v}" for k, v in spec.kwargs.items())
        table.add_row(tid, str(spec.entry_point).rsplit(".", 1)[-1], settings)
    console.print(table)


@app.command()
def solvers() -> None:
    """List the registered solvers: families, whether amortized, and their parameters with defaults."""
    from invbench.core.solver import available_solvers, load_solver_class

    table = Table(title="invbench solvers")
    for col in ("solver", "families", "amortized", "parameters (defaults; per-family overrides)"):
        table.add_column(col)
    for name, target in sorted(available_solvers().items()):
        try:
            cls = load_solver_class(name)
        except ValueError as e:
            table.add_row(name, "-", "-", f"cannot load {target}: {e}")
            continue
        params = ", ".join(f"{k}={v!r}" for k, v in cls.defaults.items()) or "none"
        for family, overrides in cls.family_defaults.items():
            params += f"; {family}: " + ", ".join(f"{k}={v!r}" for k, v in overrides.items())
        table.add_row(name, ", ".join(cls.families or ("all",)), "yes" if cls.amortized else "no", params)
    console.print(table)


def _run_help() -> str:
    """``invbench run``'s help, listing the task options and the solver names."""
    from invbench.core.options import NOT_OPTIONS, option_names
    from invbench.core.solver import available_solvers
    from invbench.registry import env_class, task_ids

    lines = [
        "Run one inversion (a one-cell benchmark), print its metrics, write result.json and a figure.",
        "",
    ]
    seen: set[type] = set()
    for tid in task_ids():
        cls = env_class(tid)
        if cls in seen:
            continue
        seen.add(cls)
        names = [n for n in option_names(cls) if n not in NOT_OPTIONS]
        lines.append(f"Task options (-o) of {cls.task_family} tasks: {', '.join(names)}.")
        lines.append("")
    lines.append(f"Solvers (--solver): {', '.join(sorted(available_solvers()))}, or package.module:Class.")
    lines.append("")
    lines.append("Tasks: `invbench tasks`. Solver parameters (-p) and their defaults: `invbench solvers`.")
    return "\n".join(lines)


@app.command(help=_run_help())
def run(
    task: Annotated[str, typer.Option(help="Task id (see `invbench tasks`).")] = DEFAULT_TASK,
    solver: Annotated[str, typer.Option(help="Solver name or module:Class.")] = DEFAULT_SOLVER,
    index: Annotated[int, typer.Option(help="Instance index.")] = 0,
    split: Annotated[str, typer.Option(help="Instance split: test, val or train.")] = "test",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    data_dir: Annotated[Path | None, typer.Option(help="Folder of real OpenFWI .npy files.")] = None,
    out: Annotated[Path, typer.Option(help="Folder under which the run's own folder is made.")] = Path(
        "runs"
    ),
    option: Annotated[list[str] | None, typer.Option("--option", "-o", help="Task option KEY=VALUE.")] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="Solver parameter KEY=VALUE.")
    ] = None,
    device: Annotated[str, typer.Option(help="auto (CUDA when present), cpu or cuda.")] = "auto",
    timeout: Annotated[float, typer.Option(help="Seconds allowed for the solve (0: no limit).")] = 0.0,
    overwrite: Annotated[bool, typer.Option(help="Replace an earlier result of this exact run.")] = False,
) -> None:
    """Run one inversion (the help text is :func:`_run_help`)."""
    from invbench.harness.single import RunExistsError, prepare_run, run_folder, run_prepared, write_run
    from invbench.harness.suites import planned_iterations
    from invbench.registry import env_class

    try:
        env_kwargs = parse_kv(option)
        solver_params = parse_kv(param)
        if data_dir is not None:
            env_kwargs["data_dir"] = str(data_dir)
        prepared = prepare_run(
            task,
            solver,
            index=index,
            split=split,
            seed=seed,
            options=env_kwargs,
            params=solver_params,
            device=device,
            timeout=timeout if timeout > 0 else float("inf"),
        )
        folder = run_folder(out, prepared, overwrite=overwrite)
    except (ValueError, TypeError, RunExistsError, typer.BadParameter) as e:
        fail(str(e), e)
    cell = prepared.cell
    console.print(
        f"[bold]invbench run[/] task={cell.task} solver={solver} split={split} index={index} seed={seed}",
        highlight=False,
    )
    with Progress(
        TextColumn("[bold blue]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("misfit {task.fields[misfit]}"),
        TextColumn("PDE solves {task.fields[solves]}"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        job = bar.add_task("preparing instance", total=None, misfit="-", solves=0)
        planned = planned_iterations(prepared.params)
        last = {"iteration": 0}

        def on_event(event: dict[str, Any]) -> None:
            if event["event"] != "iteration":
                return
            last["iteration"] = event["iteration"]
            bar.update(
                job,
                description="iteration",
                completed=event["iteration"],
                total=max(planned if planned is not None else event["budget"] // 2, event["iteration"]),
                misfit=f"{event['misfit']:.4g}",
                solves=event["pde_solves"],
            )

        record, outcome = run_prepared(prepared, on_event)
        if record.status == "done" and last["iteration"]:
            # A solver that converged early has finished: the bar shows the iterations it made.
            bar.update(job, total=last["iteration"], completed=last["iteration"])
    write_run(record, outcome, folder, plotter=env_class(cell.task).plotter)
    table = Table(title=f"{record.task} — {record.solver} ({record.status})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in record.metrics.items():
        table.add_row(k, f"{v:.5g}")
    c = record.counters
    table.add_row(
        "PDE solves (fwd + adj)", f"{c['pde_solves']} ({c['forward_solves']} + {c['adjoint_solves']})"
    )
    table.add_row("wall time (s)", f"{record.wall_time:.1f}")
    console.print(table)
    console.print(f"wrote {', '.join(record.files.values())}", highlight=False)
    if record.status != "done":
        console.print(f"[red]{record.status}:[/] {record.reason}", highlight=False)
        raise typer.Exit(code=1)
