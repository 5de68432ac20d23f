r"""Tabulate and plot the ``red-diffeq`` suite: accuracy on clean, noisy and missing-trace data.

Reads a harness results file (``invbench bench --suite red-diffeq ... --out DIR`` writes
``DIR/results.parquet``; any slice of the suite, or the merged leaderboard, will do) and writes

* a family table: per family and data condition, the mean MAE of each compared solver over its
  instances, the lowest among those run on the most instances in bold;
* a markdown table of MAE and SSIM per solver and data condition (mean ± std over every finished
  (family, instance) of that condition, with the number of runs ``n``), the initial model given to
  every solver as the first row;
* a paired comparison: for each baseline, on how many (task, instance) pairs RED-DiffEq has the lower
  MAE (pairs where both finished);
* a robustness table: per degraded condition and compared baseline, how often RED-DiffEq has the
  lower MAE, and how much each one's MAE rises from clean data on the same (family, instance) pairs;
* a figure: MAE against data condition, one panel per family, one line per compared solver, each
  panel averaged over the instances RED-DiffEq ran at every condition (a solver missing one of
  them at a condition gets no point there).

The family table, the robustness table and the figure come from
:mod:`studies.red_diffeq.robustness`, which ``invbench leaderboard build`` also puts in the
leaderboard. Only rows with status ``done`` count; cells that were not run are simply absent
(``n`` says how many runs each mean has), never filled in. Example::

    python studies/red_diffeq/robustness_table.py results/red-diffeq/results.parquet \
        --out-md robustness.md --out-fig docs/figures/robustness.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from invbench.registry import make
from studies.red_diffeq.robustness import (
    CONDITIONS,
    FOCUS,
    INITIAL,
    Table,
    family_table,
    figure,
    is_focus,
    robustness_table,
    suite_rows,
)


def load_rows(results: Path) -> pd.DataFrame:
    """Finished rows of the suite's tasks in a results file (:func:`suite_rows`)."""
    return suite_rows(pd.read_parquet(results))


def initial_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Scores of the initial model for every (family, condition, instance) present in ``rows``.

    The initial model is the same for every condition of a family, so this costs one environment
    reset (and one scoring forward solve) per distinct (task, instance).
    """
    records = []
    for (task, instance), grp in rows.groupby(["task", "instance"]):
        env = make(task)
        env.reset(seed=0, options={"split": "test", "index": int(instance)})
        metrics = env.unwrapped.finalize(env.unwrapped.instance.initial)
        env.close()
        first = grp.iloc[0]
        records.append(
            {
                "task": task,
                "family": first["family"],
                "condition": first["condition"],
                "instance": int(instance),
                "solver": INITIAL,
                "mae": metrics["mae"],
                "ssim": metrics["ssim"],
                "pde_solves": 0,
            }
        )
    return pd.DataFrame.from_records(records)


def _cell(values: pd.Series, fmt: str) -> str:
    v = values.dropna().to_numpy(dtype=float)
    if len(v) == 0:
        return "–"
    return f"{v.mean():{fmt}} ± {v.std():{fmt}} (n={len(v)})"


def solver_order(rows: pd.DataFrame) -> list[str]:
    """Initial model first, then RED-DiffEq (each variant), then the others alphabetically."""
    present = set(rows["solver"])
    focus = sorted(s for s in present if is_focus(s))
    others = sorted(present - {INITIAL} - set(focus))
    return [INITIAL] * (INITIAL in present) + focus + others


def condition_table(rows: pd.DataFrame, metric: str, fmt: str) -> str:
    """Markdown table: solvers x conditions, ``metric`` mean ± std (n) over families and instances."""
    conds = [c for c in CONDITIONS if c in set(rows["condition"])]
    table = Table(header=["solver", *conds], text_columns=len(conds) + 1)
    for solver in solver_order(rows):
        sub = rows[rows["solver"] == solver]
        table.rows.append([solver, *(_cell(sub.loc[sub["condition"] == c, metric], fmt) for c in conds)])
    return table.markdown()


def paired_wins(rows: pd.DataFrame) -> str:
    """Markdown lines: on how many (task, instance) pairs each RED-DiffEq variant beats each other solver."""
    order = solver_order(rows)
    focus_labels = [s for s in order if is_focus(s)]
    if not focus_labels:
        return f"No finished `{FOCUS}` runs."
    lines = []
    for label in focus_labels:
        focus = rows[rows["solver"] == label].set_index(["task", "instance"])["mae"]
        for solver in order:
            if is_focus(solver):
                continue
            other = rows[rows["solver"] == solver].set_index(["task", "instance"])["mae"]
            both = focus.index.intersection(other.index)
            if len(both) == 0:
                continue
            wins = int((focus.loc[both] < other.loc[both]).sum())
            n = len(both)
            lines.append(f"- `{label}` has the lower MAE than `{solver}` on {wins} of {n} paired runs")
    return "\n".join(lines)


def markdown(rows: pd.DataFrame) -> str:
    """The whole report: family table, pooled MAE and SSIM tables, paired comparison, robustness table."""
    return "\n\n".join(
        [
            "MAE per family and condition, mean over instances (how many in brackets; velocity"
            " normalised to [-1, 1] as OpenFWI does; lower is better):",
            family_table(rows),
            "MAE of every solver and variant, pooled over families (mean ± std over runs):",
            condition_table(rows, "mae", ".4f"),
            "SSIM, pooled the same way (higher is better):",
            condition_table(rows, "ssim", ".3f"),
            "Paired comparison (same task, same instance):",
            paired_wins(rows),
            "Robustness against each baseline (same family and instance; MAE rise = MAE under the"
            " condition minus clean-data MAE, mean over the pairs counted in brackets):",
            robustness_table(rows),
        ]
    )


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", type=Path, help="results.parquet written by `invbench bench`")
    ap.add_argument("--out-md", type=Path, help="write the markdown here (default: print it)")
    ap.add_argument("--out-fig", type=Path, help="write the figure (PNG) here")
    ap.add_argument("--no-initial", action="store_true", help="skip the initial-model row (no env resets)")
    args = ap.parse_args(argv)
    if not args.results.is_file():
        raise SystemExit(f"no results file at {args.results}")
    rows = load_rows(args.results)
    if rows.empty:
        raise SystemExit(f"{args.results} has no finished runs of the red-diffeq suite's tasks")
    if not args.no_initial:
        rows = pd.concat([initial_rows(rows), rows], ignore_index=True)
    text = markdown(rows)
    if args.out_md:
        args.out_md.write_text(text + "\n")
    else:
        print(text)
    if args.out_fig:
        figure(rows, args.out_fig)


if __name__ == "__main__":
    main()
