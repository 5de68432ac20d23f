"""The ``invbench`` command line: list tasks, run one inversion."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(add_completion=False, help="invbench: benchmark inversion methods on PDE inverse problems.")
console = Console()

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


def _parse_kv(items: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        if "=" not in item:
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


@app.command()
def run(
    task: Annotated[str, typer.Option(help="Task id (see `invbench tasks`).")] = DEFAULT_TASK,
    solver: Annotated[str, typer.Option(help="Solver name or module:Class.")] = DEFAULT_SOLVER,
    index: Annotated[int, typer.Option(help="Instance index.")] = 0,
    split: Annotated[str, typer.Option(help="Instance split: test, val or train.")] = "test",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    data_dir: Annotated[Path | None, typer.Option(help="Folder of real OpenFWI .npy files.")] = None,
    out: Annotated[Path, typer.Option(help="Output folder for result.json and figure.png.")] = Path("runs"),
    option: Annotated[list[str] | None, typer.Option("--option", "-o", help="Task option KEY=VALUE.")] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="Solver parameter KEY=VALUE.")
    ] = None,
) -> None:
    """Run one inversion, print its metrics, write a JSON result and a figure."""
    from invbench.run import run_one, write_result

    env_kwargs = _parse_kv(option)
    solver_params = _parse_kv(param)
    console.print(
        f"[bold]invbench run[/] task={task} solver={solver} split={split} index={index} seed={seed}"
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

        def on_iter(p: Any) -> None:
            total = p.info["budget"] // 2
            bar.update(
                job,
                description="iteration",
                completed=p.iteration,
                total=total,
                misfit=f"{p.misfit:.4g}",
                solves=p.info["pde_solves"],
            )

        try:
            result, arrays = run_one(
                task,
                solver,
                index=index,
                split=split,
                seed=seed,
                data_dir=data_dir,
                env_kwargs=env_kwargs,
                solver_params=solver_params,
                callback=on_iter,
            )
        except ValueError as e:
            console.print(f"[red]error:[/] {e}")
            raise typer.Exit(code=2) from e
    run_dir = out / f"{result.task.replace('/', '_')}__{result.solver}__{split}{index}__seed{seed}"
    write_result(result, arrays, run_dir)
    table = Table(title=f"{result.task} — {result.solver}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in result.metrics.items():
        table.add_row(k, f"{v:.5g}")
    table.add_row(
        "PDE solves (fwd + adj)",
        f"{result.counters['pde_solves']} "
        f"({result.counters['forward_solves']} + {result.counters['adjoint_solves']})",
    )
    table.add_row("wall time (s)", f"{result.wall_time:.1f}")
    console.print(table)
    console.print(f"wrote {result.files['result']} and {result.files['figure']}")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
