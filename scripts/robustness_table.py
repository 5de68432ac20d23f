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

Only rows with status ``done`` count; cells that were not run are simply absent (``n`` says how many
runs each mean has), never filled in. Example::

    python scripts/robustness_table.py results/red-diffeq/results.parquet \
        --out-md robustness.md --out-fig docs/figures/robustness.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from invbench.registry import ROBUSTNESS_FAMILIES, ROBUSTNESS_VARIANTS, make

CLEAN = "clean"
CONDITIONS: tuple[str, ...] = (CLEAN, *ROBUSTNESS_VARIANTS)
INITIAL = "initial model"
FOCUS = "red-diffeq"
COMPARED: tuple[str, ...] = (
    "red-diffeq (lam=0.75)",
    "tv (data_loss=mean_l1)",
    "tikhonov (data_loss=mean_l1)",
    "adam (data_loss=mean_l1)",
    "diffusion-fwi",
)
"""Columns of the family table: the released RED-DiffEq setting and every baseline on its L1 loss
(a label falls back to the plain solver name where that solver ran with one parameter set)."""


def parse_task(task_name: str) -> tuple[str, str] | None:
    """``"FWI-FlatVel-A-Noise10"`` -> ``("FlatVel-A", "Noise10")``; ``None`` outside the suite."""
    name = task_name.split("/")[-1].removesuffix("-v0")
    for family in ROBUSTNESS_FAMILIES:
        if name == f"FWI-{family}":
            return family, CLEAN
        for variant in ROBUSTNESS_VARIANTS:
            if name == f"FWI-{family}-{variant}":
                return family, variant
    return None


def load_rows(results: Path) -> pd.DataFrame:
    """Finished rows of the suite's tasks: family, condition, instance, solver, mae, ssim."""
    df = pd.read_parquet(results)
    df = df[df["status"] == "done"]
    parsed = df["task_name"].map(parse_task)
    df = df[parsed.notna()].copy()
    df["family"] = [p[0] for p in parsed[parsed.notna()]]
    df["condition"] = [p[1] for p in parsed[parsed.notna()]]
    out = df.rename(columns={"metric_mae": "mae", "metric_ssim": "ssim"})
    if "params" in out.columns:
        out["solver"] = label_variants(out)
    return out[["task", "family", "condition", "instance", "solver", "mae", "ssim", "pde_solves"]]


def label_variants(df: pd.DataFrame) -> pd.Series:
    """Solver labels that tell parameter variants apart: ``red-diffeq (lam=0)`` beside ``(lam=0.75)``.

    A solver run with a single parameter set keeps its plain name; otherwise each row's label lists
    the parameters whose values differ between that solver's rows.
    """
    labels = df["solver"].astype(str).copy()
    for solver, grp in df.groupby("solver"):
        params = grp["params"].map(lambda p: json.loads(p) if isinstance(p, str) and p else {})
        keys = sorted({k for p in params for k in p})
        varying = [k for k in keys if len({json.dumps(p.get(k), sort_keys=True) for p in params}) > 1]
        if varying:
            labels[grp.index] = [
                f"{solver} ({', '.join(f'{k}={p.get(k)}' for k in varying)})" for p in params
            ]
    return labels


def _is_focus(label: str) -> bool:
    return label == FOCUS or label.startswith(f"{FOCUS} (")


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
    focus = sorted(s for s in present if _is_focus(s))
    others = sorted(present - {INITIAL} - set(focus))
    return [INITIAL] * (INITIAL in present) + focus + others


def condition_table(rows: pd.DataFrame, metric: str, fmt: str) -> str:
    """Markdown table: solvers x conditions, ``metric`` mean ± std (n) over families and instances."""
    conds = [c for c in CONDITIONS if c in set(rows["condition"])]
    lines = [f"| solver | {' | '.join(conds)} |", "|---" * (len(conds) + 1) + "|"]
    for solver in solver_order(rows):
        sub = rows[rows["solver"] == solver]
        cells = [_cell(sub.loc[sub["condition"] == c, metric], fmt) for c in conds]
        lines.append(f"| {solver} | {' | '.join(cells)} |")
    return "\n".join(lines)


def compared_labels(rows: pd.DataFrame, wanted: tuple[str, ...] = COMPARED) -> list[str]:
    """The labels of ``wanted`` present in ``rows``, each falling back to its plain solver name."""
    present = set(rows["solver"])
    out = []
    for label in wanted:
        plain = label.split(" (")[0]
        if label in present:
            out.append(label)
        elif plain in present:
            out.append(plain)
    return out


def family_table(rows: pd.DataFrame, wanted: tuple[str, ...] = COMPARED) -> str:
    """Markdown table: family x condition rows, mean MAE (instances) per compared solver.

    The lowest mean among the solvers run on the most instances of that row is in bold; a solver
    run on fewer instances is shown but not ranked, since its mean covers other instances.
    """
    labels = compared_labels(rows, wanted)
    lines = [f"| family | condition | {' | '.join(labels)} |", "|---|---" + "|---:" * len(labels) + "|"]
    for family in ROBUSTNESS_FAMILIES:
        for cond in CONDITIONS:
            sub = rows[(rows["family"] == family) & (rows["condition"] == cond)]
            if sub.empty or not set(labels) & set(sub["solver"]):
                continue
            stats = {lab: sub.loc[sub["solver"] == lab, "mae"].dropna() for lab in labels}
            most = max(len(v) for v in stats.values())
            ranked = {lab: v.mean() for lab, v in stats.items() if len(v) == most}
            best = min(ranked, key=ranked.__getitem__)
            cells = []
            for lab in labels:
                v = stats[lab]
                text = "–" if v.empty else f"{v.mean():.4f} ({len(v)})"
                cells.append(f"**{text}**" if lab == best and len(ranked) > 1 else text)
            lines.append(f"| {family} | {cond} | {' | '.join(cells)} |")
    return "\n".join(lines)


def paired_wins(rows: pd.DataFrame) -> str:
    """Markdown lines: on how many (task, instance) pairs each RED-DiffEq variant beats each other solver."""
    order = solver_order(rows)
    focus_labels = [s for s in order if _is_focus(s)]
    if not focus_labels:
        return f"No finished `{FOCUS}` runs."
    lines = []
    for label in focus_labels:
        focus = rows[rows["solver"] == label].set_index(["task", "instance"])["mae"]
        for solver in order:
            if _is_focus(solver):
                continue
            other = rows[rows["solver"] == solver].set_index(["task", "instance"])["mae"]
            both = focus.index.intersection(other.index)
            if len(both) == 0:
                continue
            wins = int((focus.loc[both] < other.loc[both]).sum())
            n = len(both)
            lines.append(f"- `{label}` has the lower MAE than `{solver}` on {wins} of {n} paired runs")
    return "\n".join(lines)


def _by_pair(rows: pd.DataFrame, label: str, cond: str) -> pd.Series:
    sub = rows[(rows["solver"] == label) & (rows["condition"] == cond)]
    return sub.set_index(["family", "instance"])["mae"].dropna()


def robustness_table(rows: pd.DataFrame, wanted: tuple[str, ...] = COMPARED) -> str:
    """Markdown table: RED-DiffEq against each compared baseline under every degraded condition.

    For a condition and a baseline, "lower MAE" counts the (family, instance) pairs both ran under
    that condition on which RED-DiffEq's MAE is lower; the MAE rise is each solver's MAE under the
    condition minus its clean-data MAE on the same pair, averaged over the pairs where both solvers
    have both runs, and "rises less" counts those pairs on which RED-DiffEq's rise is the smaller.
    Rows without a single shared pair are left out.
    """
    labels = compared_labels(rows, wanted)
    focus = next((lab for lab in labels if _is_focus(lab)), None)
    if focus is None:
        return f"No finished `{FOCUS}` runs among the compared solvers."
    head = (
        "| condition | baseline | RED-DiffEq lower MAE | MAE rise from clean, RED-DiffEq "
        "| MAE rise from clean, baseline | RED-DiffEq rises less |"
    )
    lines = [head, "|---|---|---:|---:|---:|---:|"]
    for cond in CONDITIONS[1:]:
        mine = _by_pair(rows, focus, cond)
        for other in (lab for lab in labels if lab != focus):
            theirs = _by_pair(rows, other, cond)
            both = mine.index.intersection(theirs.index)
            if len(both) == 0:
                continue
            wins = int((mine.loc[both] < theirs.loc[both]).sum())
            rise_mine = mine - _by_pair(rows, focus, CLEAN)
            rise_theirs = theirs - _by_pair(rows, other, CLEAN)
            common = rise_mine.dropna().index.intersection(rise_theirs.dropna().index)
            if len(common) == 0:
                rises = "– | – | –"
            else:
                a, b = rise_mine.loc[common], rise_theirs.loc[common]
                n = len(common)
                rises = f"{a.mean():+.4f} ({n}) | {b.mean():+.4f} ({n}) | {int((a < b).sum())} of {n}"
            lines.append(f"| {cond} | {other} | {wins} of {len(both)} | {rises} |")
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


def common_instances(sub: pd.DataFrame, focus: str) -> list[int]:
    """Instances of one family on which ``focus`` ran under every condition it ran at all.

    Plotting means over different instance sets per condition would show instance difficulty as
    if it were the effect of noise, so each panel keeps only these instances.
    """
    mine = sub[sub["solver"] == focus]
    sets = [set(g["instance"]) for _, g in mine.groupby("condition")]
    return sorted(set.intersection(*sets)) if sets else sorted(set(sub["instance"]))


def panel_means(sub: pd.DataFrame, solver: str, conds: list[str], keep: list[int]) -> list[float]:
    """Mean MAE of ``solver`` at each condition over exactly the instances ``keep`` (NaN otherwise).

    A solver that ran on only some of a panel's instances at a condition gets no point there, so a
    line never joins means over different instances.
    """
    mine = sub[(sub["solver"] == solver) & sub["instance"].isin(keep)]
    out = []
    for cond in conds:
        at = mine[mine["condition"] == cond]
        complete = set(at["instance"]) == set(keep) and len(at) == len(keep)
        out.append(float(at["mae"].mean()) if complete else float("nan"))
    return out


def clean_bars(ax: Any, clean: pd.DataFrame, colors: dict[str, str]) -> None:
    """Bars of clean-data MAE per test instance, one bar per solver (absent where not run)."""
    instances = sorted(set(clean["instance"]))
    width = 0.8 / max(len(colors), 1)
    for k, (solver, color) in enumerate(colors.items()):
        mae = clean[clean["solver"] == solver].set_index("instance")["mae"]
        x = np.arange(len(instances)) + (k - (len(colors) - 1) / 2) * width
        heights = [float(mae.get(i, np.nan)) for i in instances]
        ax.bar(x, heights, width, color=color)
    ax.set_xticks(range(len(instances)), [f"clean #{i}" for i in instances])
    ax.set_ylabel("MAE")
    ax.grid(alpha=0.3, axis="y")


def solver_colors(labels: list[str]) -> dict[str, str]:
    """One matplotlib cycle colour per compared solver, in the order given (shared by every figure)."""
    return {lab: f"C{k}" for k, lab in enumerate(labels)}


def save_figure(fig: Any, legend_ax: Any, path: Path, *, right: float) -> None:
    """Put ``legend_ax``'s legend at the figure's right edge (the axes end at ``right``), save, close."""
    import matplotlib.pyplot as plt

    handles, labels = legend_ax.get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="center right")
    fig.tight_layout(rect=(0, 0, right, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def figure(rows: pd.DataFrame, path: Path) -> None:
    """MAE against data condition: one panel per family, the compared solvers and the initial model.

    Each panel averages over the same instances at every condition (:func:`common_instances`);
    a second row shows the clean-data MAE of every test instance that ran.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    families = [f for f in ROBUSTNESS_FAMILIES if f in set(rows["family"])]
    conds = [c for c in CONDITIONS if c in set(rows["condition"])]
    compared = compared_labels(rows)
    focus = next((lab for lab in compared if _is_focus(lab)), None)
    # one colour per solver, shared by the lines (top row) and the bars (bottom row)
    colors = {INITIAL: "0.4"} if INITIAL in set(rows["solver"]) else {}
    colors |= solver_colors(compared)
    fig, axes = plt.subplots(2, len(families), figsize=(3.6 * len(families) + 1.8, 6.4), squeeze=False)
    for ax, family in zip(axes[1], families, strict=True):
        clean_bars(ax, rows[(rows["family"] == family) & (rows["condition"] == CLEAN)], colors)
    for ax, family in zip(axes[0], families, strict=True):
        sub = rows[rows["family"] == family]
        keep = common_instances(sub, focus) if focus else sorted(set(sub["instance"]))
        for solver, color in colors.items():
            y = panel_means(sub, solver, conds, keep)
            is_focus = _is_focus(solver)
            style = "--x" if solver == INITIAL else ("-o" if is_focus else "-.s")
            ax.plot(
                range(len(conds)),
                y,
                style,
                color=color,
                label=solver,
                linewidth=2.2 if is_focus else 1.2,
                markersize=8 if is_focus else 5,
            )
        ax.set_title(f"{family} (test #{', #'.join(map(str, keep))})", fontsize=9)
        ax.set_xticks(range(len(conds)), conds, rotation=30)
        ax.set_ylabel("MAE")
        ax.grid(alpha=0.3)
    save_figure(fig, axes[0][0], path, right=0.84)


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
