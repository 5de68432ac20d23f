"""The LD-DIM study: its claims as tables and a figure, from result rows of the ``ld-dim*`` suites.

Lin & He (2025, arXiv:2512.22421) claim that on Darcy flow LD-DIM is more accurate and more stable than a
PINN and a physics-embedded VAE, keeps sharp material interfaces and is less sensitive to its
initialisation. From rows of the suites ``ld-dim`` (both Darcy families at 16, 64 and 256 sensors),
``ld-dim-inits`` (five seeds per instance) and ``ld-dim-fwi`` this module builds

* :func:`accuracy_table`: per family and sensor count, each method's mean MAE, SSIM and relative L2 of
  log k, relative L2 of the predicted head field, wrong-phase share (Bimaterial), PDE solves and wall time,
  over the instances every compared method finished;
* :func:`init_table`: per family and method, the spread of the final MAE over the seeds of one instance
  (standard deviation and range, averaged over instances);
* :func:`fwi_table`: MAE and SSIM (normalised units) per OpenFWI family and method;
* :func:`sensors_figure`: MAE against the sensor count, one panel per family;
* :func:`convergence_lines` and :func:`convergence_figure`: the data misfit each method reported
  against wall time, at 64 sensors (median over instances; the PINN's is that of its head network at
  the sensors, no PDE solve).

Only rows with status ``done`` count; a cell that was not run is absent, never filled in. Run::

    python studies/ld_dim/tables.py leaderboard/results.parquet --figure docs/figures/ld_dim_sensors.png
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from invbench.leaderboard.aggregate import current_versions
from invbench.registry import DARCY_FAMILIES, DARCY_SENSOR_VARIANTS

METHODS: tuple[str, ...] = ("ld-dim", "vae", "pinn", "red-diffeq", "tikhonov", "tv", "initial")
"""Rows of the Darcy tables, in this order (methods without rows are left out)."""
DEFAULT_SENSORS = 64
STUDY_SUITES = ("ld-dim", "ld-dim-inits", "ld-dim-fwi")
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("metric_mae", "MAE", "{:.3f}"),
    ("metric_ssim", "SSIM", "{:.3f}"),
    ("metric_rel_l2", "rel. L2", "{:.3f}"),
    ("metric_head_rel_l2", "head rel. L2", "{:.4f}"),
    ("metric_wrong_phase", "wrong phase", "{:.1%}"),
    ("pde_solves", "PDE solves", "{:.0f}"),
    ("wall_time", "wall (s)", "{:.0f}"),
)
_DARCY = re.compile(r"^Darcy-(?P<family>[A-Za-z]+)(?:-S(?P<sensors>\d+))?$")


def study_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Done rows of the study's suites (rows of other suites may run other parameter sets)."""
    return rows[(rows["status"] == "done") & rows["suite"].isin(STUDY_SUITES)]


def darcy_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Done rows of the Darcy study tasks, with ``family`` and ``sensors`` columns."""
    done = study_rows(rows).copy()
    parsed = done["task_name"].str.extract(_DARCY)
    keep = parsed["family"].isin(DARCY_FAMILIES)
    done, parsed = done[keep], parsed[keep]
    done["family"] = parsed["family"]
    sensors = [int(k[1:]) for k in DARCY_SENSOR_VARIANTS]
    done["sensors"] = parsed["sensors"].fillna(str(DEFAULT_SENSORS)).astype(int)
    return done[done["sensors"].isin([DEFAULT_SENSORS, *sensors])]


def _first_repetition(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (task, instance, solver): the first repetition, the latest run of it."""
    rows = rows.sort_values("timestamp")
    rows = rows.drop_duplicates(["task", "instance", "solver", "repetition"], keep="last")
    return rows[rows["repetition"] == 0]


def accuracy_table(rows: pd.DataFrame, methods: Sequence[str] = METHODS) -> str:
    """Markdown: one table per (family, sensors), means over the instances all present methods finished."""
    rows = _first_repetition(darcy_rows(rows))
    out: list[str] = []
    for (family, sensors), group in rows.groupby(["family", "sensors"], sort=True):
        present = [m for m in methods if m in set(group["solver"])]
        shared = set.intersection(*(set(group.loc[group["solver"] == m, "instance"]) for m in present))
        if not shared:
            continue
        group = group[group["instance"].isin(shared)]
        cols = [c for c in COLUMNS if c[0] in group and group[c[0]].notna().any()]
        out += [
            f"**Darcy-{family}, {sensors} sensors** (test instances {', '.join(map(str, sorted(shared)))})",
            "",
            "| method | " + " | ".join(c[1] for c in cols) + " |",
            "|---|" + "---|" * len(cols),
        ]
        for m in present:
            sel = group[group["solver"] == m]
            cells = [fmt.format(sel[c].mean()) if sel[c].notna().any() else "–" for c, _, fmt in cols]
            out.append(f"| {m} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out) if out else "No finished Darcy rows of the LD-DIM study.\n"


def init_table(rows: pd.DataFrame, methods: Sequence[str] = ("ld-dim", "vae", "pinn")) -> str:
    """Markdown: spread of the final MAE over seeds of one instance (needs two or more repetitions)."""
    rows = darcy_rows(rows).sort_values("timestamp")
    rows = rows[rows["sensors"] == DEFAULT_SENSORS]
    rows = rows.drop_duplicates(["task", "instance", "solver", "repetition"], keep="last")
    out = [
        "| family | method | instances | seeds | mean MAE | std of MAE over seeds "
        "| range of MAE over seeds |",
        "|---|---|---|---|---|---|---|",
    ]
    for family in DARCY_FAMILIES:
        for m in methods:
            sel = rows[(rows["family"] == family) & (rows["solver"] == m)]
            per = sel.groupby("instance")["metric_mae"].agg(["std", "min", "max", "mean", "count"])
            per = per[per["count"] >= 2]
            if per.empty:
                continue
            out.append(
                f"| {family} | {m} | {len(per)} | {int(per['count'].min())} | {per['mean'].mean():.3f} "
                f"| {per['std'].mean():.3f} | {(per['max'] - per['min']).mean():.3f} |"
            )
    return "\n".join(out) + "\n" if len(out) > 2 else "No repeated-seed rows of the LD-DIM study.\n"


def fwi_plan_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Done rows that are cells of the ``ld-dim-fwi`` plan, whichever suite ran them.

    RED-DiffEq and TV on these instances were run by the red-diffeq suite with the same parameters
    and seeds; a cell id names all of that, so their rows are these cells.
    """
    from invbench.harness.cells import plan_cells
    from invbench.harness.suites import get_suite

    ids = {c.cell_id for c in plan_cells(get_suite("ld-dim-fwi"))}
    return rows[(rows["status"] == "done") & rows["cell_id"].isin(ids)]


def fwi_table(
    rows: pd.DataFrame,
    families: Sequence[str] = ("FlatVel-A", "CurveVel-A", "CurveFault-A"),
    methods: Sequence[str] = ("ld-dim", "vae", "red-diffeq", "tv", "initial"),
) -> str:
    """Markdown: mean MAE and SSIM (OpenFWI's normalised units) per family and method on shared instances.

    ``initial`` (the smoothed start every method gets) is taken from any suite's rows on the same
    instances.
    """
    done = _first_repetition(fwi_plan_rows(rows))
    start = rows[(rows["status"] == "done") & (rows["solver"] == "initial")]
    done = current_versions(pd.concat([done, _first_repetition(start)], ignore_index=True))
    header = "| method | " + " | ".join(f"{f} MAE | {f} SSIM" for f in families) + " |"
    out = [header, "|---|" + "---|---|" * len(families)]
    any_row = False
    for m in methods:
        cells = []
        for f in families:
            task = done[done["task_name"] == f"FWI-{f}"]
            present = [x for x in methods if x in set(task["solver"])]
            shared = (
                set.intersection(*(set(task.loc[task["solver"] == x, "instance"]) for x in present))
                if present
                else set()
            )
            sel = task[(task["solver"] == m) & task["instance"].isin(shared)]
            if sel.empty:
                cells += ["–", "–"]
                continue
            any_row = any_row or m != "initial"
            cells += [f"{sel['metric_mae'].mean():.3f}", f"{sel['metric_ssim'].mean():.3f}"]
        out.append(f"| {m} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n" if any_row else "No finished FWI rows of the LD-DIM study.\n"


def sensors_figure(rows: pd.DataFrame, path: str | Path, methods: Sequence[str] = METHODS) -> None:
    """PNG: mean MAE of log k against the sensor count, one panel per Darcy family."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = _first_repetition(darcy_rows(rows))
    fig, axes = plt.subplots(1, len(DARCY_FAMILIES), figsize=(10, 3.8), constrained_layout=True)
    for ax, family in zip(np.atleast_1d(axes), DARCY_FAMILIES, strict=True):
        sel = rows[rows["family"] == family]
        for m in methods:
            line = sel[sel["solver"] == m].groupby("sensors")["metric_mae"].mean()
            if not line.empty:
                ax.plot(line.index, line.values, marker="o", label=m)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("sensors")
        ax.set_ylabel("MAE of log k")
        ax.set_title(f"Darcy-{family}")
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].legend(fontsize=8)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def convergence_lines(
    rows: pd.DataFrame,
    curves: pd.DataFrame,
    methods: Sequence[str] = METHODS,
    *,
    sensors: int = DEFAULT_SENSORS,
    points: int = 50,
) -> dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]:
    """Median reported misfit against wall time, ``{(family, method): (times, medians)}``.

    Each cell's curve is resampled (its last value so far) on ``points`` times up to the longest cell of
    its method, so a median across instances is defined at every time (NaN before a cell's first
    report). Only the curves of cells that count in ``rows`` (done, first repetition, ``sensors``
    sensors) are used.
    """
    kept = _first_repetition(darcy_rows(rows))
    kept = kept[kept["sensors"] == sensors]
    family_of = dict(zip(kept["cell_id"], kept["family"], strict=True))
    curves = curves[curves["cell_id"].isin(family_of)]
    curves = curves[np.isfinite(curves["misfit"]) & (curves["misfit"] > 0)]
    lines: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
    for family in DARCY_FAMILIES:
        for m in methods:
            sel = curves[(curves["solver"] == m) & (curves["cell_id"].map(family_of) == family)]
            if sel.empty:
                continue
            grid = np.linspace(0.0, float(sel["wall_time"].max()), points)
            per_cell = []
            for _, cell in sel.sort_values("wall_time").groupby("cell_id"):
                t, y = cell["wall_time"].to_numpy(), cell["misfit"].to_numpy(dtype=float)
                idx = np.searchsorted(t, grid, side="right") - 1
                per_cell.append(np.where(idx >= 0, y[np.clip(idx, 0, None)], np.nan))
            stacked = np.array(per_cell)
            medians = np.full(points, np.nan)
            seen = ~np.isnan(stacked).all(axis=0)
            medians[seen] = np.nanmedian(stacked[:, seen], axis=0)
            lines[(family, m)] = (grid, medians)
    return lines


def convergence_figure(
    rows: pd.DataFrame,
    curves: pd.DataFrame,
    path: str | Path,
    methods: Sequence[str] = METHODS,
    *,
    sensors: int = DEFAULT_SENSORS,
) -> None:
    """PNG of :func:`convergence_lines`: one panel per Darcy family, log misfit against wall time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines = convergence_lines(rows, curves, methods, sensors=sensors)
    fig, axes = plt.subplots(1, len(DARCY_FAMILIES), figsize=(10, 3.8), constrained_layout=True)
    for ax, family in zip(np.atleast_1d(axes), DARCY_FAMILIES, strict=True):
        for m in methods:
            if (family, m) in lines:
                ax.plot(*lines[(family, m)], label=m)
        ax.set_yscale("log")
        ax.set_xlabel("wall time (s)")
        ax.set_ylabel("reported relative misfit")
        ax.set_title(f"Darcy-{family}, {sensors} sensors")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the study's tables from a results parquet file; optionally write the figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="results.parquet (a bench folder's or the leaderboard's)")
    parser.add_argument("--figure", type=Path, help="write the MAE-vs-sensors figure here")
    parser.add_argument("--curves", type=Path, help="curves.parquet beside the results, for --convergence")
    parser.add_argument("--convergence", type=Path, help="write the misfit-vs-time figure here")
    args = parser.parse_args(argv)
    rows = pd.read_parquet(args.results)
    print(accuracy_table(rows))
    print(init_table(rows))
    print(fwi_table(rows))
    if args.figure:
        sensors_figure(rows, args.figure)
        print(f"wrote {args.figure}")
    if args.convergence:
        curves_path = args.curves or args.results.with_name("curves.parquet")
        convergence_figure(rows, pd.read_parquet(curves_path), args.convergence)
        print(f"wrote {args.convergence}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
