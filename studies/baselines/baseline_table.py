r"""Run baselines on tasks x instances and write a markdown table (mean ± std over instances).

Every run goes through :func:`invbench.harness.single.run_single`, so a row is scored exactly as
``invbench run`` and ``invbench bench`` score it. The first row of each task is the ``initial`` solver:
the initial model given to every solver, with zero PDE solves (the no-inversion baseline).

Example (the leaderboard's comparison; runs for hours on a CPU)::

    python studies/baselines/baseline_table.py --tasks FWI-FlatVel-A-v0,FWI-CurveFault-A-v0,Darcy-GRF-v0 \
        --solvers adam,lbfgs,tikhonov,tv,multiscale --instances 10 --out baselines.md

``--param KEY=VALUE`` sets a parameter of every solver that declares it; ``--param SOLVER.KEY=VALUE``
sets it for one solver. ``--option KEY=VALUE`` is a task option (noise, budget, ...). Values are
parsed as JSON when they can be. Std is the population std over instances (``ddof=0``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from invbench.core.solver import load_solver_class
from invbench.harness.single import run_single
from invbench.registry import make, resolve_task

INITIAL = "initial model (no inversion)"
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("MAE", "mae", ".4f"),
    ("RMSE", "rmse", ".4f"),
    ("SSIM", "ssim", ".4f"),
    ("data misfit", "data_misfit", ".3g"),
    ("PDE solves", "pde_solves", ".0f"),
    ("wall time (s)", "wall_time", ".1f"),
)


def _parse_kv(items: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"expected KEY=VALUE, got {item!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def solver_params(solver: str, params: dict[str, Any]) -> dict[str, Any]:
    """The ``--param`` values that apply to one solver (``KEY`` if declared, or ``SOLVER.KEY``)."""
    declared = load_solver_class(solver).defaults
    out = {k: v for k, v in params.items() if "." not in k and k in declared}
    out.update({k.split(".", 1)[1]: v for k, v in params.items() if k.startswith(f"{solver}.")})
    return out


def initial_row(task: str, index: int, split: str, seed: int, options: dict[str, Any]) -> dict[str, float]:
    """Scores of the initial model of one instance (the ``initial`` solver: zero PDE solves)."""
    record, _ = run_single(task, "initial", index=index, split=split, seed=seed, options=options)
    return {**record.metrics, "pde_solves": float(record.counters["pde_solves"]), "wall_time": 0.0}


def skip_reason(task: str, solver: str, options: dict[str, Any]) -> str | None:
    """Why ``solver`` does not apply to ``task`` (``None`` when it does)."""
    env = make(task, **options)
    reason = load_solver_class(solver)().applies_to(env)
    env.close()
    return reason


def run_task(
    task: str,
    solvers: Sequence[str],
    indices: Sequence[int],
    *,
    split: str,
    seed: int,
    params: dict[str, Any],
    options: dict[str, Any],
) -> tuple[dict[str, list[dict[str, float]]], dict[str, str], dict[str, dict[str, Any]]]:
    """Run every solver on every instance of one task.

    Returns:
        Rows per solver (one dict of metrics per instance), notes per solver (skipped or failed),
        and the resolved parameters each solver ran with.
    """
    rows: dict[str, list[dict[str, float]]] = {
        INITIAL: [initial_row(task, i, split, seed, options) for i in indices]
    }
    notes: dict[str, str] = {}
    used: dict[str, dict[str, Any]] = {}
    for solver in solvers:
        reason = skip_reason(task, solver, options)
        if reason is not None:
            notes[solver] = f"skipped: {reason}"
            continue
        rows[solver] = []
        for i in indices:
            t0 = time.perf_counter()
            try:
                result, _ = run_single(
                    task,
                    solver,
                    index=i,
                    split=split,
                    seed=seed,
                    options=options,
                    params=solver_params(solver, params),
                )
            except ValueError as e:  # a run that cannot start is reported, not fatal to the table
                notes[solver] = f"failed on instance {i}: {e}"
                continue
            if result.status != "done":
                notes[solver] = f"{result.status} on instance {i}: {result.reason}"
                continue
            used[solver] = result.params
            rows[solver].append(
                {**result.metrics, "pde_solves": result.counters["pde_solves"], "wall_time": result.wall_time}
            )
            print(
                f"{task} {solver} {split}[{i}] mae={result.metrics.get('mae', float('nan')):.4f} "
                f"solves={result.counters['pde_solves']} ({time.perf_counter() - t0:.1f} s)",
                file=sys.stderr,
            )
    return rows, notes, used


def variant_labels(solver: str, variants: Sequence[dict[str, Any]]) -> list[str]:
    """A row label per parameter set of one solver: its name, plus the parameters that differ between sets.

    A results table may hold one solver under several parameter sets (the leaderboard holds ``adam`` on the
    task's misfit and on RED-DiffEq's mean L1 loss); each set is its own row, never averaged together.
    """
    if len(variants) == 1:
        return [solver]
    keys = sorted({k for v in variants for k in v})
    differing = [k for k in keys if len({json.dumps(v.get(k), sort_keys=True) for v in variants}) > 1]
    return [solver + " (" + ", ".join(f"{k}={v.get(k)}" for k in differing) + ")" for v in variants]


def rows_from_results(
    results: Path,
    task: str,
    *,
    seed: int,
    solvers: Sequence[str] | None = None,
    indices: Sequence[int] | None = None,
) -> tuple[dict[str, list[dict[str, float]]], dict[str, str], dict[str, dict[str, Any]], list[int], str]:
    """Rows of one task from a harness ``results.parquet`` (``invbench bench``) instead of new runs.

    The initial-model row is scored here (no PDE solve) for the instances the harness ran. A solver run
    under several parameter sets gets one row per set (see :func:`variant_labels`).

    Args:
        results: A ``results.parquet`` written by ``invbench bench`` or the leaderboard's.
        task: The task id whose rows are tabulated.
        seed: Seed of the initial-model row (the initial model does not depend on it).
        solvers: Only these solvers (all in the file when ``None``).
        indices: Only these instances (all in the file when ``None``). A row that covers fewer instances
            than the table gets a note naming the ones it covers, since its mean is over those only.

    Returns:
        Rows per solver, notes (skipped/failed), parameters, the instance indices and the split.
    """
    import pandas as pd

    df = pd.read_parquet(results)
    df = df[df["task"] == task]
    if solvers is not None:
        df = df[df["solver"].isin(list(solvers))]
    if indices is not None:
        df = df[df["instance"].isin(list(indices))]
    if df.empty:
        raise ValueError(
            f"{results} has no rows for {task}" + (f" and solvers {list(solvers)}" if solvers else "")
        )
    split = str(df["split"].iloc[0])
    indices = sorted(int(i) for i in df["instance"].unique())
    task_instances = set(indices)
    rows: dict[str, list[dict[str, float]]] = {
        INITIAL: [initial_row(task, i, split, seed, {}) for i in indices]
    }
    notes: dict[str, str] = {}
    used: dict[str, dict[str, Any]] = {}
    for solver, by_solver in df.groupby("solver", sort=False):
        groups = list(by_solver.groupby("params", sort=True))
        labels = variant_labels(str(solver), [json.loads(p) for p, _ in groups])
        for label, (params, group) in zip(labels, groups, strict=True):
            done = group[group["status"] == "done"]
            other = group[group["status"] != "done"]
            if not other.empty:
                notes[label] = "; ".join(sorted({f"{r.status}: {r.reason}" for r in other.itertuples()}))
            if done.empty:
                continue
            used[label] = json.loads(params)
            covered = {int(i) for i in done["instance"]}
            if covered != task_instances:
                partial = (
                    f"instances {sorted(covered)} only (the table's mean is over {sorted(task_instances)})"
                )
                notes[label] = f"{notes[label]}; {partial}" if label in notes else partial
            rows[label] = [
                {
                    **{
                        c[len("metric_") :]: float(getattr(r, c))
                        for c in done.columns
                        if c.startswith("metric_")
                    },
                    "pde_solves": float(r.pde_solves),
                    "wall_time": float(r.wall_time),
                }
                for r in done.itertuples()
            ]
    return rows, notes, used, indices, split


def _cell(values: list[float], fmt: str) -> str:
    if not values:
        return "–"
    arr = np.asarray(values, dtype=np.float64)
    return f"{arr.mean():{fmt}} ± {arr.std():{fmt}}"


def markdown_table(
    task: str,
    rows: dict[str, list[dict[str, float]]],
    notes: dict[str, str],
    used: dict[str, dict[str, Any]],
    *,
    n: int,
    split: str,
) -> str:
    """One task's table: a row per solver, mean ± std of each column over the instances."""
    lines = [
        f"### {task}",
        "",
        f"{n} instance(s) of the {split} split; mean ± std (ddof=0) over instances.",
        "",
    ]
    lines.append("| solver | " + " | ".join(c[0] for c in COLUMNS) + " | runs |")
    lines.append("|---" * (len(COLUMNS) + 2) + "|")
    for solver, per_instance in rows.items():
        cells = [_cell([r[key] for r in per_instance if key in r], fmt) for _, key, fmt in COLUMNS]
        lines.append(f"| {solver} | " + " | ".join(cells) + f" | {len(per_instance)} |")
    lines.append("")
    for solver, note in notes.items():
        lines.append(f"- {solver}: {note}")
    for solver, p in used.items():
        lines.append(f"- {solver} parameters: `{json.dumps(p, sort_keys=True)}`")
    lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> str:
    """Command-line entry point; returns the markdown it wrote."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", required=True, help="comma-separated task ids")
    ap.add_argument("--solvers", default="adam,lbfgs,tikhonov,tv,multiscale", help="comma-separated solvers")
    group = ap.add_mutually_exclusive_group()
    group.add_argument(
        "--instances",
        type=int,
        default=None,
        help="use instances 0..N-1 (default 5; with --from-results all)",
    )
    group.add_argument("--indices", help="comma-separated instance indices")
    ap.add_argument("--split", default="test")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--param", action="append", default=[], help="[SOLVER.]KEY=VALUE")
    ap.add_argument("--option", action="append", default=[], help="task option KEY=VALUE")
    ap.add_argument("--out", type=Path, default=Path("baseline_table.md"))
    ap.add_argument("--json", type=Path, default=None, help="also write the per-instance rows as JSON")
    ap.add_argument(
        "--from-results",
        type=Path,
        default=None,
        help="tabulate an `invbench bench` results.parquet instead of running the solvers",
    )
    args = ap.parse_args(argv)
    chosen: list[int] | None = None
    if args.indices:
        chosen = [int(i) for i in args.indices.split(",")]
    elif args.instances is not None:
        chosen = list(range(args.instances))
    solvers = [s.strip() for s in args.solvers.split(",") if s.strip()]
    params, options = _parse_kv(args.param), _parse_kv(args.option)
    sections, raw = ["# Baselines", ""], {}
    if options:
        sections += [f"Task options: `{json.dumps(options, sort_keys=True)}`", ""]
    for task in (resolve_task(t.strip()) for t in args.tasks.split(",") if t.strip()):
        split = args.split
        if args.from_results is not None:
            rows, notes, used, indices, split = rows_from_results(
                args.from_results, task, seed=args.seed, solvers=solvers, indices=chosen
            )
        else:
            indices = chosen if chosen is not None else list(range(5))
            rows, notes, used = run_task(
                task, solvers, indices, split=split, seed=args.seed, params=params, options=options
            )
        sections.append(markdown_table(task, rows, notes, used, n=len(indices), split=split))
        raw[task] = rows
    text = "\n".join(sections)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    if args.json is not None:
        args.json.write_text(json.dumps(raw, indent=1, default=float))
    print(text)
    return text


if __name__ == "__main__":
    main()
