"""The ``red-diffeq`` suite across its tasks: family x condition tables and a figure.

The per-task tables of the leaderboard rank solvers on one task; the suite's question (is RED-DiffEq
more accurate, and more robust to noise and missing traces, than the baselines?) needs the tasks
side by side. This module turns result rows of the suite's tasks (OpenFWI families, clean and
degraded) into

* :func:`family_table`: mean MAE per family and condition for each compared solver;
* :func:`robustness_table`: per degraded condition and baseline, RED-DiffEq's wins and each
  solver's MAE rise from clean data on the same (family, instance) pairs;
* :func:`figure`: MAE against data condition per family, and clean-data MAE per test instance.

``invbench leaderboard build`` adds them to the leaderboard (:func:`suite_section`), and
``studies/red_diffeq/robustness_table.py`` prints them with more tables for the README. Only rows with status
``done`` count; a cell that was not run is absent, never filled in.
"""

from __future__ import annotations

import base64
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from invbench.leaderboard.aggregate import current_versions
from invbench.registry import ROBUSTNESS_FAMILIES, ROBUSTNESS_VARIANTS

CLEAN = "clean"
CONDITIONS: tuple[str, ...] = (CLEAN, *ROBUSTNESS_VARIANTS)
INITIAL = "initial model"
FOCUS = "red-diffeq"
COMPARED: tuple[str, ...] = (
    "red-diffeq (prior=fwi-lite)",
    "red-diffeq (prior=fwi-long)",
    "red-diffeq (lam=0.75)",
    "tv (data_loss=mean_l1)",
    "tikhonov (data_loss=mean_l1)",
    "adam (data_loss=mean_l1)",
    "diffusion-fwi (prior=fwi-lite)",
    "diffusion-fwi",
)
"""Columns of the family table: the released RED-DiffEq setting (with each FWI prior it ran with) and
every baseline on its L1 loss, in the leaderboard's labels; a label falls back to the plain solver name
where rows carry no parameters to label by (``lam=0.75``: the labels of such tables)."""

FIGURE_NAME = "robustness.png"
SECTION_TITLE = "The red-diffeq suite across tasks"


@dataclass(frozen=True)
class Table:
    """A table as cell strings, formatted once for markdown and once for the web page.

    Attributes:
        header: Column titles.
        rows: One list of cell strings per row.
        text_columns: How many leading columns hold text (left-aligned); the rest are numbers.
        note: What to show instead when there is no table (``header`` empty).
    """

    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    text_columns: int = 2
    note: str = ""

    def markdown(self) -> str:
        """The table in markdown, or :attr:`note` when it has no columns."""
        if not self.header:
            return self.note
        numbers = len(self.header) - self.text_columns
        lines = [f"| {' | '.join(self.header)} |", "|" + "---|" * self.text_columns + "---:|" * numbers]
        lines += [f"| {' | '.join(row)} |" for row in self.rows]
        return "\n".join(lines)

    def cells(self) -> dict[str, Any]:
        """``{"header", "rows", "note"}`` for the web page's template."""
        return {"header": self.header, "rows": self.rows, "note": self.note}


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


def suite_rows(results: pd.DataFrame) -> pd.DataFrame:
    """Finished rows of the suite's tasks: task, family, condition, instance, solver, mae, ssim, pde_solves.

    Solvers run with several parameter sets get one label per set (:func:`label_variants`).
    """
    df = current_versions(results[results["status"] == "done"])
    parsed = df["task_name"].map(parse_task)
    df = df[parsed.notna()].copy()
    df["family"] = [p[0] for p in parsed[parsed.notna()]]
    df["condition"] = [p[1] for p in parsed[parsed.notna()]]
    out = df.rename(columns={"metric_mae": "mae", "metric_ssim": "ssim"})
    if "params" in out.columns:
        out["solver"] = label_variants(out)
    return out[["task", "family", "condition", "instance", "solver", "mae", "ssim", "pde_solves"]]


def label_variants(df: pd.DataFrame) -> pd.Series:
    """Solver labels that tell parameter variants apart, as the leaderboard spells them.

    Rows of a results table (with ``solver_spec``, ``task``, ``params`` and ``params_hash``) get the
    leaderboard's label (:func:`invbench.leaderboard.labels.variant_label`: the parameters that differ
    from the solver's defaults on the task, e.g. ``red-diffeq (prior=fwi-lite)`` and
    ``red-diffeq (lam=0, prior=fwi-lite)``), so a study table and the board name a run alike. Rows
    without those columns keep their plain name for a solver run with one parameter set, and list the
    parameters that differ between a solver's rows otherwise (``red-diffeq (lam=0)``).
    """
    if {"solver_spec", "task", "params", "params_hash"} <= set(df.columns):
        from invbench.leaderboard.labels import variant_label

        return pd.Series(
            [
                variant_label(
                    str(r.solver_spec), str(r.solver), str(r.task), str(r.params), str(r.params_hash)
                )
                for r in df.itertuples()
            ],
            index=df.index,
        )
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


def is_focus(label: str) -> bool:
    """Whether a solver label is RED-DiffEq (any parameter variant)."""
    return label == FOCUS or label.startswith(f"{FOCUS} (")


def compared_labels(rows: pd.DataFrame, wanted: tuple[str, ...] = COMPARED) -> list[str]:
    """The labels of ``wanted`` present in ``rows``.

    Each falls back to its plain solver name, else to the solver's only labelled variant, once per
    solver unless ``wanted`` names several of its variants that ran.
    """
    present = set(rows["solver"])
    out: list[str] = []
    for label in wanted:
        plain = label.split(" (")[0]
        taken = plain in out or any(o.startswith(f"{plain} (") for o in out)
        variants = sorted(p for p in present if p.startswith(f"{plain} ("))
        if label in present:
            out.append(label)
        elif taken:
            continue
        elif plain in present:
            out.append(plain)
        elif len(variants) == 1:  # the one variant that ran (e.g. a shortened test run)
            out.append(variants[0])
    return out


def family_table(rows: pd.DataFrame, wanted: tuple[str, ...] = COMPARED) -> str:
    """Markdown of :func:`family_cells`."""
    return family_cells(rows, wanted).markdown()


def family_cells(rows: pd.DataFrame, wanted: tuple[str, ...] = COMPARED) -> Table:
    """Family x condition rows, mean MAE (instances) per compared solver.

    The lowest mean among the solvers run on the most instances of that row is in bold; a solver
    run on fewer instances is shown but not ranked, since its mean covers other instances.
    """
    labels = compared_labels(rows, wanted)
    table = Table(header=["family", "condition", *labels])
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
            table.rows.append([family, cond, *cells])
    return table


def _by_pair(rows: pd.DataFrame, label: str, cond: str) -> pd.Series:
    sub = rows[(rows["solver"] == label) & (rows["condition"] == cond)]
    return sub.set_index(["family", "instance"])["mae"].dropna()


def robustness_table(rows: pd.DataFrame, wanted: tuple[str, ...] = COMPARED) -> str:
    """Markdown of :func:`robustness_cells`."""
    return robustness_cells(rows, wanted).markdown()


def robustness_cells(rows: pd.DataFrame, wanted: tuple[str, ...] = COMPARED) -> Table:
    """RED-DiffEq against each compared baseline under every degraded condition.

    For a condition and a baseline, "lower MAE" counts the (family, instance) pairs both ran under
    that condition on which RED-DiffEq's MAE is lower; the MAE rise is each solver's MAE under the
    condition minus its clean-data MAE on the same pair, averaged over the pairs where both solvers
    have both runs, and "rises less" counts those pairs on which RED-DiffEq's rise is the smaller.
    Rows without a single shared pair are left out.
    """
    labels = compared_labels(rows, wanted)
    focus = next((lab for lab in labels if is_focus(lab)), None)
    if focus is None:
        return Table(header=[], note=f"No finished `{FOCUS}` runs among the compared solvers.")
    table = Table(
        header=[
            "condition",
            "baseline",
            "RED-DiffEq lower MAE",
            "MAE rise from clean, RED-DiffEq",
            "MAE rise from clean, baseline",
            "RED-DiffEq rises less",
        ]
    )
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
                rises = ["–", "–", "–"]
            else:
                a, b = rise_mine.loc[common], rise_theirs.loc[common]
                n = len(common)
                rises = [f"{a.mean():+.4f} ({n})", f"{b.mean():+.4f} ({n})", f"{int((a < b).sum())} of {n}"]
            table.rows.append([cond, other, f"{wins} of {len(both)}", *rises])
    return table


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


def save_figure(fig: Any, legend_ax: Any, path: Path | io.BytesIO, *, right: float) -> None:
    """Put ``legend_ax``'s legend at the figure's right edge (the axes end at ``right``), save, close."""
    import matplotlib.pyplot as plt

    handles, labels = legend_ax.get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="center right")
    fig.tight_layout(rect=(0, 0, right, 1))
    if isinstance(path, Path):
        path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, format="png")
    plt.close(fig)


def figure(rows: pd.DataFrame, path: Path | io.BytesIO) -> None:
    """MAE against data condition: one panel per family, the compared solvers (and the initial model).

    Each panel averages over the same instances at every condition (:func:`common_instances`);
    a second row shows the clean-data MAE of every test instance that ran. The initial model is
    drawn when ``rows`` holds rows labelled :data:`INITIAL`.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    families = [f for f in ROBUSTNESS_FAMILIES if f in set(rows["family"])]
    conds = [c for c in CONDITIONS if c in set(rows["condition"])]
    compared = compared_labels(rows)
    focus = next((lab for lab in compared if is_focus(lab)), None)
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
            focused = is_focus(solver)
            style = "--x" if solver == INITIAL else ("-o" if focused else "-.s")
            ax.plot(
                range(len(conds)),
                y,
                style,
                color=color,
                label=solver,
                linewidth=2.2 if focused else 1.2,
                markersize=8 if focused else 5,
            )
        ax.set_title(f"{family} (test #{', #'.join(map(str, keep))})", fontsize=9)
        ax.set_xticks(range(len(conds)), conds, rotation=30)
        ax.set_ylabel("MAE")
        ax.grid(alpha=0.3)
    save_figure(fig, axes[0][0], path, right=0.84)


def suite_section(results: pd.DataFrame) -> dict[str, str] | None:
    """The leaderboard's suite section: markdown tables and the figure, or ``None`` without suite runs.

    Returns:
        ``markdown`` (the section for the README, referring to :data:`FIGURE_NAME`), ``tables``
        (each table's ``title``, ``header`` and ``rows`` of cell strings, for the web page),
        ``png`` (the figure, base64) and ``figure_name`` (:data:`FIGURE_NAME`).
    """
    rows = suite_rows(results)
    if rows.empty or not compared_labels(rows):
        return None
    buf = io.BytesIO()
    figure(rows, buf)
    tables = [
        (
            "Mean MAE per family and condition (instances in brackets; bold: the lowest among the"
            " solvers run on the most instances of that row)",
            family_cells(rows),
        ),
        (
            "RED-DiffEq against each baseline (same family and instance; MAE rise = MAE under the"
            " condition minus clean-data MAE, mean over the pairs counted in brackets)",
            robustness_cells(rows),
        ),
    ]
    intro = "RED-DiffEq against the baselines on the OpenFWI families, on clean and on degraded data."
    parts = [f"## {SECTION_TITLE}", intro]
    for title, table in tables:
        parts += [f"{title}:", table.markdown()]
    parts.append(f"![MAE per family and data condition, and clean-data MAE per test instance]({FIGURE_NAME})")
    return {
        "markdown": "\n\n".join(parts) + "\n",
        "tables": [{"title": title, **table.cells()} for title, table in tables],
        "png": base64.b64encode(buf.getvalue()).decode("ascii"),
        "figure_name": FIGURE_NAME,
    }
