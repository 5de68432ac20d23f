"""The ``invbench`` command line: tasks, runs, benchmarks, the leaderboard, training and reporting priors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(add_completion=False, help="invbench: benchmark inversion methods on PDE inverse problems.")
console = Console()

DEFAULT_TASK = "invbench/FWI-FlatVel-A-v0"
DEFAULT_SOLVER = "adam"


def fail(message: str, exc: Exception | None = None) -> NoReturn:
    """Print one error line (never wrapped, never a traceback) and exit with code 2."""
    console.print(f"[red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2) from exc


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
            out[k] = _number_or_text(v)
    return out


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
    lines.append("Tasks: `invbench tasks`. Solver parameters (-p): see each solver's defaults in docs/.")
    return "\n".join(lines)


def _number_or_text(text: str) -> Any:
    """``"nan"``, ``"inf"``, ``"1e-3"`` as floats (JSON has no spelling for the first two), else the text."""
    try:
        return float(text)
    except ValueError:
        return text


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
    from invbench.registry import env_class

    try:
        env_kwargs = _parse_kv(option)
        solver_params = _parse_kv(param)
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

        def on_event(event: dict[str, Any]) -> None:
            if event["event"] != "iteration":
                return
            bar.update(
                job,
                description="iteration",
                completed=event["iteration"],
                total=max(event["budget"] // 2, event["iteration"]),
                misfit=f"{event['misfit']:.4g}",
                solves=event["pde_solves"],
            )

        record, outcome = run_prepared(prepared, on_event)
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


def _split_list(items: list[str] | None) -> list[str] | None:
    """``["a,b", "c"]`` -> ``["a", "b", "c"]``; ``None`` for nothing."""
    out = [x.strip() for item in items or [] for x in item.split(",") if x.strip()]
    return out or None


def _solver_param_overrides(items: list[str] | None) -> dict[str, dict[str, Any]]:
    """``SOLVER.KEY=VALUE`` (one solver) or ``KEY=VALUE`` (every solver declaring KEY)."""
    out: dict[str, dict[str, Any]] = {}
    for key, value in _parse_kv(items).items():
        solver, _, name = key.rpartition(".")
        out.setdefault(solver or "*", {})[name] = value
    return out


@app.command()
def bench(
    suite: Annotated[
        str, typer.Option(help="Suite: smoke or standard (see invbench/harness/suites.py).")
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
            tasks=_split_list(tasks_),
            solvers=_split_list(solvers),
            instances=instances,
            first_instance=first_instance,
            repetitions=seeds,
            base_seed=base_seed,
            user_params=_solver_param_overrides(param),
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
        )
    except (ResultsExistError, ValueError) as e:
        fail(str(e), e)
    planned = {c.cell_id for c in cells}
    console.print(summary_table(results[results["cell_id"].isin(planned)], title=f"{suite}: summary"))
    console.print(
        f"{len(planned)} cells in {time.perf_counter() - t0:.1f} s; results in {out}/results.parquet"
    )


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


@app.command("train-prior")
def train_prior_command(
    domain: Annotated[str, typer.Option(help="fwi, darcy-grf or darcy-bimaterial.")],
    preset: Annotated[
        str, typer.Option(help="lite (2-core CPU, about 1-2 h) or paper (RED-DiffEq's released set-up; GPU).")
    ] = "lite",
    data: Annotated[
        list[Path] | None,
        typer.Option(help="Folder of real OpenFWI files (fwi only; repeat for several families)."),
    ] = None,
    steps: Annotated[int | None, typer.Option(help="Total optimiser steps (default: the preset's).")] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Checkpoint NAME.safetensors (default: priors/DOMAIN-PRESET.safetensors)."),
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="Continue from the training state beside --out (NAME.train/) if any.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of the weights, the data stream and the noise.")] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
) -> None:
    """Train a diffusion prior (EMA weights exported as safetensors + JSON manifest; resumable)."""
    from invbench.nn.diffusion.train import train_prior

    out = out or Path("priors") / f"{domain}-{preset}.safetensors"
    console.print(f"[bold]invbench train-prior[/] domain={domain} preset={preset} out={out}")
    try:
        result = train_prior(
            domain,
            preset,
            out=out,
            steps=steps,
            data=data,
            seed=seed,
            resume=resume,
            device=None if device == "auto" else device,
            show_progress=True,
            console=console,
        )
    except ValueError as e:
        fail(str(e), e)
    loss = result.manifest["training"]["final_loss"]
    console.print(
        f"wrote {result.checkpoint} (+ .json): {result.step} steps, final loss "
        f"{'-' if loss is None else f'{loss:.4f}'}, {result.steps_per_second:.2f} steps/s this session"
    )


@app.command("prior-report")
def prior_report_command(
    prior: Annotated[
        str, typer.Argument(help="Shipped prior name (e.g. fwi-lite) or a NAME.safetensors checkpoint path.")
    ],
    real: Annotated[
        Path | None,
        typer.Option(
            help="FWI: folder with flatvel_a_train.npz / curvevel_a_train.npz to compare with real maps."
        ),
    ] = None,
    samples: Annotated[int, typer.Option(help="Prior samples to draw (DDIM).")] = 256,
    reference: Annotated[
        int,
        typer.Option(
            help="Held-out training-distribution fields (half vs half is the baseline); also real maps "
            "per family."
        ),
    ] = 512,
    steps: Annotated[int, typer.Option(help="DDIM steps per sample.")] = 50,
    seed: Annotated[int, typer.Option(help="Seed of the sampler, the held-out fields and real subset.")] = 0,
    out: Annotated[Path, typer.Option(help="Output folder for NAME.json, NAME.md and NAME.png.")] = Path(
        "reports/priors"
    ),
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
) -> None:
    """Write the quality report of a trained prior (JSON, markdown for the README, PNG) and print it."""
    import torch

    from invbench.nn.diffusion.checkpoint import load_prior
    from invbench.nn.diffusion.evaluate import draw_samples
    from invbench.nn.diffusion.report import (
        prior_report,
        real_openfwi_maps,
        reference_fields,
        report_figure,
        report_markdown,
    )

    if device not in ("auto", "cpu", "cuda"):
        fail(f"--device must be auto, cpu or cuda, got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        fail("--device cuda: no CUDA device is available")
    if min(samples, reference) < 4 or steps < 1:
        fail("--samples and --reference must be at least 4 and --steps at least 1")
    if real is not None and not real.is_dir():
        fail(f"--real {real}: no such folder")
    try:
        model = load_prior(prior, device=None if device == "auto" else device)
        real_maps = real_openfwi_maps(real, n=reference, seed=seed) if real is not None else None
        if real_maps and model.domain != "fwi":
            fail(f"--real applies to FWI priors only; {prior} is a {model.domain} prior")
    except ValueError as e:
        fail(str(e), e)
    name = model.manifest.get("name") or Path(prior).stem
    console.print(
        f"[bold]invbench prior-report[/] prior={name} domain={model.domain} samples={samples} "
        f"reference={reference} steps={steps} seed={seed} device={model.device}"
    )
    with Progress(
        TextColumn("[bold blue]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        job = bar.add_task("sampling", total=samples)
        drawn = draw_samples(
            model, samples, steps=steps, seed=seed, progress=lambda n: bar.update(job, completed=n)
        )
    with console.status("held-out fields, denoising loss and distances"):
        ref = reference_fields(model, reference, seed=seed)
        try:
            report = prior_report(model, steps=steps, seed=seed, real=real_maps, samples=drawn, reference=ref)
        except ValueError as e:
            fail(str(e), e)
    out.mkdir(parents=True, exist_ok=True)
    paths = {ext: out / f"{name}.{ext}" for ext in ("json", "md", "png")}
    paths["json"].write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
    markdown = report_markdown(report)
    paths["md"].write_text(markdown + "\n")
    report_figure(model, drawn, ref, paths["png"], real=real_maps)
    console.print(markdown, markup=False, highlight=False, soft_wrap=True)
    console.print(f"wrote {paths['json']}, {paths['md']} and {paths['png']}")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
