"""studies.red_diffeq.robustness: the red-diffeq suite side by side, as tables, a figure and a section."""

import base64

import numpy as np
import pandas as pd
import pytest

from invbench.leaderboard.build import build
from studies.red_diffeq import robustness as script

from ..suite_rows import suite_row as _row


def test_parse_task():
    assert script.parse_task("FWI-FlatVel-A") == ("FlatVel-A", "clean")
    assert script.parse_task("FWI-CurveFault-A-Noise10") == ("CurveFault-A", "Noise10")
    assert script.parse_task("FWI-CurveFault-A-Missing14") == ("CurveFault-A", "Missing14")
    assert script.parse_task("FWI-Style-A") is None and script.parse_task("Darcy-GRF") is None


def test_figure_panels_average_over_the_same_instances_at_every_condition():
    rows = pd.DataFrame(
        [
            {"family": "FlatVel-A", "condition": c, "instance": i, "solver": "red-diffeq", "mae": 0.1}
            for c, i in [("clean", 0), ("clean", 1), ("clean", 2), ("Noise10", 0), ("Noise10", 2)]
        ]
    )
    assert script.common_instances(rows, "red-diffeq") == [0, 2]


def test_panel_means_skip_a_condition_a_solver_ran_on_fewer_instances():
    rows = pd.DataFrame(
        [
            {"family": "FlatVel-A", "condition": c, "instance": i, "solver": "tv", "mae": m}
            for c, i, m in [("clean", 0, 0.1), ("clean", 1, 0.3), ("Noise10", 0, 0.05), ("Noise10", 9, 0.7)]
        ]
    )
    means = script.panel_means(rows, "tv", ["clean", "Noise10", "Noise20"], [0, 1])
    assert means[0] == pytest.approx(0.2)
    assert np.isnan(means[1]) and np.isnan(means[2])  # #1 missing at Noise10; nothing at Noise20


def test_family_table_does_not_rank_a_solver_run_on_fewer_instances():
    rows = pd.DataFrame(
        [
            {"family": "FlatVel-A", "condition": "clean", "instance": i, "solver": s, "mae": m}
            for i, s, m in [(0, "red-diffeq", 0.05), (1, "red-diffeq", 0.07), (0, "tv", 0.01)]
        ]
    )
    assert "| FlatVel-A | clean | 0.0600 (2) | 0.0100 (1) |" in script.family_table(rows)  # nothing to rank


def test_robustness_table_pairs_conditions_with_clean_runs():
    raw = [
        _row("FWI-FlatVel-A", 0, "red-diffeq", 0.05),
        _row("FWI-FlatVel-A", 0, "tv", 0.06),
        _row("FWI-FlatVel-A", 1, "red-diffeq", 0.07),
        _row("FWI-FlatVel-A", 1, "tv", 0.06),
        _row("FWI-FlatVel-A-Noise10", 0, "red-diffeq", 0.09),  # rises 0.04 against tv's 0.02
        _row("FWI-FlatVel-A-Noise10", 0, "tv", 0.08),
        _row("FWI-FlatVel-A-Noise10", 1, "red-diffeq", 0.08),  # rises 0.01 against tv's 0.04
        _row("FWI-FlatVel-A-Noise10", 1, "tv", 0.10),
        _row("FWI-FlatVel-A-Noise10", 2, "red-diffeq", 0.10),  # no clean run: a win, but no rise
        _row("FWI-FlatVel-A-Noise10", 2, "tv", 0.20),
        _row("FWI-FlatVel-A-Noise20", 0, "red-diffeq", 0.20),  # tv never ran Noise20
    ]
    df = pd.DataFrame(raw)
    parsed = df["task_name"].map(script.parse_task)
    df["family"] = [p[0] for p in parsed]
    df["condition"] = [p[1] for p in parsed]
    rows = df.rename(columns={"metric_mae": "mae", "metric_ssim": "ssim"})
    table = script.robustness_table(rows)
    lines = table.splitlines()
    assert lines[2] == "| Noise10 | tv | 2 of 3 | +0.0250 (2) | +0.0300 (2) | 1 of 2 |"
    assert len(lines) == 3  # no Noise20 row: tv has no run to pair with
    assert "No finished" in script.robustness_table(rows[rows["solver"] == "tv"])


def test_suite_section_needs_suite_runs_of_a_compared_solver():
    assert script.suite_section(pd.DataFrame([_row("Darcy-GRF", 0, "tv", 0.5)])) is None
    assert script.suite_section(pd.DataFrame([_row("FWI-FlatVel-A", 0, "lbfgs", 0.5)])) is None
    section = script.suite_section(
        pd.DataFrame([_row("FWI-FlatVel-A", 0, "red-diffeq", 0.05), _row("FWI-FlatVel-A", 0, "tv", 0.06)])
    )
    assert section is not None
    family = section["tables"][0]
    assert family["header"] == ["family", "condition", "red-diffeq", "tv"]
    assert family["rows"] == [["FlatVel-A", "clean", "**0.0500 (1)**", "0.0600 (1)"]]
    assert section["tables"][1]["rows"] == []  # no degraded condition ran
    assert base64.b64decode(section["png"])[:8] == b"\x89PNG\r\n\x1a\n"


def test_build_puts_the_suite_first_with_its_figure(suite_dir, bench_dir, tmp_path):
    paths = build(suite_dir, tmp_path)
    readme = paths["readme"].read_text()
    assert readme.index(f"## {script.SECTION_TITLE}") < readme.index("## invbench/FWI-FlatVel-A-v0")
    assert f"]({script.FIGURE_NAME})" in readme
    assert paths["figure"] == tmp_path / script.FIGURE_NAME
    assert paths["figure"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # 1.5x the clean MAE under noise, for every solver: red-diffeq's rise is lower only if its MAE is
    rows = script.suite_rows(pd.read_parquet(suite_dir / "results.parquet"))
    clean = rows[rows["condition"] == "clean"].set_index("instance")
    red, adam = clean[clean["solver"] == "red-diffeq"]["mae"], clean[clean["solver"] == "adam"]["mae"]
    rise = f"{(red * 0.5).mean():+.4f} (2) | {(adam * 0.5).mean():+.4f} (2)"
    assert f"| Noise10 | adam | {int((red < adam.loc[red.index]).sum())} of 2 | {rise} |" in readme
    # without suite runs: no section and no figure
    plain = build(bench_dir, tmp_path / "plain")
    assert "figure" not in plain and script.SECTION_TITLE not in plain["readme"].read_text()


def test_tables_give_the_same_cells_to_markdown_and_to_the_web_page():
    rows = script.suite_rows(
        pd.DataFrame(
            [
                _row("FWI-FlatVel-A", 0, "red-diffeq", 0.05),
                _row("FWI-FlatVel-A-Noise10", 0, "red-diffeq", 0.08),
                _row("FWI-FlatVel-A", 0, "tv", 0.06),
                _row("FWI-FlatVel-A-Noise10", 0, "tv", 0.07),
            ]
        )
    )
    table = script.robustness_cells(rows)
    assert table.rows == [["Noise10", "tv", "0 of 1", "+0.0300 (1)", "+0.0100 (1)", "0 of 1"]]
    lines = table.markdown().splitlines()
    assert lines[1] == "|---|---|---:|---:|---:|---:|"
    assert lines[2] == "| Noise10 | tv | 0 of 1 | +0.0300 (1) | +0.0100 (1) | 0 of 1 |"
    assert table.cells()["rows"] == table.rows
    empty = script.robustness_cells(rows[rows["solver"] == "tv"])
    assert empty.header == [] and empty.markdown() == empty.cells()["note"]
    assert "No finished" in empty.note


def test_a_superseded_task_version_is_dropped_once_its_successor_has_rows():
    from invbench.registry import SUPERSEDED

    old = next(t for t in SUPERSEDED if t.endswith("FWI-CurveFault-A-v0"))
    row = {"status": "done", "task_name": "FWI-CurveFault-A", "instance": 0, "solver": "tv"}
    row |= {"metric_mae": 0.1, "metric_ssim": 0.5, "pde_solves": 600}
    rows = pd.DataFrame([row | {"task": old}, row | {"task": SUPERSEDED[old], "metric_mae": 0.2}])
    assert list(script.suite_rows(rows)["mae"]) == [0.2]
    assert list(script.suite_rows(rows.iloc[:1])["mae"]) == [0.1]  # the old rows alone still count
