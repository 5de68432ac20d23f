r"""Tabulate the ``data-driven`` suite: each amortized solver against the initial model.

Reads a harness results file (the merged leaderboard, or ``invbench bench --suite data-driven ... --out
DIR``'s ``DIR/results.parquet``) and prints a markdown table: per family and data condition, each
solver's mean MAE over the test instances it finished, the initial model's on the same instances, and
on how many of them the solver's MAE is the lower. Only ``done`` rows of the suite's tasks count; a
cell that was not run is absent, never filled in. Example::

    python studies/data_driven/table.py leaderboard/results.parquet
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from studies.red_diffeq.robustness import suite_rows

INITIAL = "initial"
CONDITIONS = ("clean", "Noise5", "Noise10", "Noise20", "Missing14")
SOLVERS = ("inversionnet", "wavediffusion-stage1", "wavediffusion")


def comparison(results: pd.DataFrame, solvers: tuple[str, ...] = SOLVERS) -> pd.DataFrame:
    """One row per (solver, family, condition): mean MAEs on shared instances and the solver's wins.

    Rows are read as the ``red-diffeq`` study reads them (:func:`studies.red_diffeq.robustness.suite_rows`:
    finished rows of the four families' current task versions); a solver's rows are matched by the
    first word of their label, so ``inversionnet (checkpoint=fwi-inversionnet-lite)`` counts as
    ``inversionnet``.

    Args:
        results: Harness rows (any suites; only ``done`` FWI test rows of ``solvers`` and the initial
            model are used).
        solvers: The amortized solvers to compare.

    Returns:
        Columns ``solver, family, condition, n, mae, initial_mae, wins``; ``family`` carries the task
        version (``FlatFault-A v1``).
    """
    rows = suite_rows(results[results["split"] == "test"])
    rows = rows.assign(
        plain=rows["solver"].str.split(" (", regex=False).str[0],
        family=rows["family"] + " v" + rows["task"].str.rsplit("-v", n=1).str[1],
    )
    initial = rows[rows["plain"] == INITIAL].groupby(["task", "instance"])["mae"].first()
    out = []
    for solver in solvers:
        mine = rows[rows["plain"] == solver].groupby(["task", "instance", "family", "condition"])
        mine = mine["mae"].first().reset_index()
        mine["initial_mae"] = [
            initial.get((t, i)) for t, i in zip(mine["task"], mine["instance"], strict=True)
        ]
        mine = mine.dropna(subset=["initial_mae"])
        for (family, condition), group in mine.groupby(["family", "condition"]):
            out.append(
                {
                    "solver": solver,
                    "family": family,
                    "condition": condition,
                    "n": len(group),
                    "mae": group["mae"].mean(),
                    "initial_mae": group["initial_mae"].mean(),
                    "wins": int((group["mae"] < group["initial_mae"]).sum()),
                }
            )
    table = pd.DataFrame(out, columns=["solver", "family", "condition", "n", "mae", "initial_mae", "wins"])
    order = {c: k for k, c in enumerate(CONDITIONS)}
    return table.sort_values(
        ["solver", "family", "condition"], key=lambda s: s.map(order) if s.name == "condition" else s
    ).reset_index(drop=True)


def markdown(table: pd.DataFrame) -> str:
    """The comparison as a markdown table (MAE in the tasks' normalised units)."""
    lines = [
        "| solver | family | condition | solver MAE | initial model MAE | solver wins |",
        "|---|---|---|---:|---:|---:|",
    ]
    for r in table.itertuples():
        lines.append(
            f"| {r.solver} | {r.family} | {r.condition} | {r.mae:.3f} | {r.initial_mae:.3f} "
            f"| {r.wins}/{r.n} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Print (or write with ``--out-md``) the table of a results file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path)
    parser.add_argument("--out-md", type=Path, default=None)
    args = parser.parse_args(argv)
    if not args.results.is_file():
        parser.error(f"{args.results}: no such results file")
    text = markdown(comparison(pd.read_parquet(args.results)))
    if args.out_md is None:
        print(text, end="")
    else:
        args.out_md.write_text(text)


if __name__ == "__main__":
    main()
