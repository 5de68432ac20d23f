"""studies/ld_dim/tables.py tabulates finished rows of the LD-DIM suites and invents none."""

import pandas as pd

from studies.ld_dim import tables

INITS = "ld-dim-inits"


def _row(task, instance, solver, mae, *, status="done", repetition=0, suite="ld-dim", wrong=None, t=0):
    row = {
        "task": f"invbench/{task}-v0",
        "task_name": task,
        "suite": suite,
        "instance": instance,
        "solver": solver,
        "repetition": repetition,
        "status": status,
        "metric_mae": mae,
        "metric_ssim": 1.0 - mae,
        "metric_rel_l2": mae / 2,
        "metric_head_rel_l2": mae / 10,
        "pde_solves": 600,
        "wall_time": 10.0,
        "timestamp": pd.Timestamp("2026-12-06", tz="UTC") + pd.Timedelta(seconds=t),
    }
    if wrong is not None:
        row["metric_wrong_phase"] = wrong
    return row


def test_accuracy_table_uses_shared_instances_of_the_study_only():
    rows = pd.DataFrame(
        [
            _row("Darcy-GRF", 0, "ld-dim", 0.2),
            _row("Darcy-GRF", 1, "ld-dim", 0.4),
            _row("Darcy-GRF", 0, "tv", 0.5),
            _row("Darcy-GRF", 1, "tv", 0.9, status="failed"),  # instance 1 is not shared
            _row("Darcy-GRF", 0, "tv", 0.1, suite="standard"),  # another suite's run: ignored
            _row("Darcy-GRF-S16", 0, "ld-dim", 0.6),
            _row("Darcy-Bimaterial", 0, "vae", 0.3, wrong=0.05),
            _row("Darcy-Bimaterial", 0, "vae", 0.35, wrong=0.07, t=5),  # rerun: the latest counts
        ]
    )
    text = tables.accuracy_table(rows)
    assert "**Darcy-GRF, 64 sensors** (test instances 0)" in text
    assert "| ld-dim | 0.200 |" in text and "| tv | 0.500 |" in text
    assert "**Darcy-GRF, 16 sensors**" in text and "| ld-dim | 0.600 |" in text
    assert "| vae | 0.350 |" in text and "7.0%" in text
    assert "256 sensors" not in text and "pinn" not in text


def test_init_table_spreads_over_seeds_and_needs_repetitions():
    rows = pd.DataFrame(
        [
            _row("Darcy-GRF", 0, "ld-dim", m, repetition=r, suite="ld-dim-inits")
            for r, m in enumerate([0.2, 0.4])
        ]
        + [_row("Darcy-GRF", 0, "pinn", 0.5, suite=INITS)]
    )
    text = tables.init_table(rows)
    assert "| GRF | ld-dim | 1 | 2 | 0.300 | 0.141 | 0.200 |" in text and "pinn" not in text
    assert "No repeated-seed rows" in tables.init_table(rows[rows["solver"] == "pinn"])


def test_fwi_table_takes_the_plans_cells_from_any_suite_and_figure(tmp_path):
    from invbench.harness.cells import plan_cells
    from invbench.harness.suites import get_suite

    plan = {(c.task, c.index, c.solver): c.cell_id for c in plan_cells(get_suite("ld-dim-fwi"))}
    task = "invbench/FWI-FlatVel-A-v0"
    rows = pd.DataFrame(
        [
            _row("FWI-FlatVel-A", 0, "ld-dim", 0.1, suite="ld-dim-fwi")
            | {"cell_id": plan[task, 0, "ld-dim"]},
            _row("FWI-FlatVel-A", 0, "tv", 0.08, suite="red-diffeq") | {"cell_id": plan[task, 0, "tv"]},
            _row("FWI-FlatVel-A", 0, "tv", 0.01, suite="red-diffeq") | {"cell_id": "other-params"},
            _row("FWI-FlatVel-A", 0, "initial", 0.2, suite="red-diffeq") | {"cell_id": "start"},
            _row("Darcy-GRF", 0, "ld-dim", 0.2) | {"cell_id": "d"},
            _row("Darcy-GRF-S256", 0, "ld-dim", 0.1) | {"cell_id": "e"},
        ]
    )
    text = tables.fwi_table(rows)
    assert "| ld-dim | 0.100 | 0.900 |" in text and "| tv | 0.080 | 0.920 |" in text
    assert "| initial | 0.200 |" in text and "0.010" not in text
    tables.sensors_figure(rows, tmp_path / "s.png")
    assert (tmp_path / "s.png").stat().st_size > 5_000


def test_convergence_lines_take_medians_over_counted_cells_only(tmp_path):
    rows = pd.DataFrame(
        [
            _row("Darcy-GRF", 0, "ld-dim", 0.2),
            _row("Darcy-GRF", 1, "ld-dim", 0.3),
            _row("Darcy-GRF", 2, "ld-dim", 0.3, status="failed"),
            _row("Darcy-GRF-S256", 0, "ld-dim", 0.1),
        ]
    )
    rows["cell_id"] = ["a", "b", "failed", "s256"]

    def curve(cell, times, misfits):
        return pd.DataFrame(
            {"cell_id": cell, "solver": "ld-dim", "wall_time": times, "misfit": misfits, "iteration": 1}
        )

    curves = pd.concat(
        [
            curve("a", [0.0, 5.0, 10.0], [1.0, 0.5, 0.1]),
            curve("b", [0.0, 10.0], [3.0, 0.3]),
            curve("failed", [0.0, 10.0], [100.0, 100.0]),
            curve("s256", [0.0, 20.0], [100.0, 100.0]),
        ]
    )
    lines = tables.convergence_lines(rows, curves, points=3)
    assert set(lines) == {("GRF", "ld-dim")}
    times, medians = lines[("GRF", "ld-dim")]
    assert list(times) == [0.0, 5.0, 10.0]
    assert list(medians) == [2.0, 1.75, 0.2]
    tables.convergence_figure(rows, curves, tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 5_000
