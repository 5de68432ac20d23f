"""The leaderboard overview: one line per method, mean rank per task group, its kind."""

import json

import pandas as pd
import pytest

from invbench.leaderboard.build import build
from invbench.leaderboard.overview import method_kind, overview, task_group

from .test_leaderboard import _full_budget, page_data


@pytest.mark.parametrize(
    ("task", "group"),
    [
        ("invbench/FWI-FlatVel-A-v0", "FWI clean"),
        ("invbench/FWI-CurveFault-B-v1", "FWI clean"),
        ("invbench/FWI-FlatVel-A-Noise10-v0", "FWI degraded"),
        ("invbench/FWI-CurveVel-A-Missing14-v0", "FWI degraded"),
        ("invbench/Darcy-GRF-S16-v0", "Darcy"),
        ("invbench/FWI-Tiny-v0", None),
        ("invbench/Darcy-Tiny-v0", None),
    ],
)
def test_task_groups(task, group):
    assert task_group(task) == group


def test_method_kinds():
    assert method_kind("tv", False, "[]") == "classical"
    assert method_kind("initial", False, "[]") == "reference (no inversion)"
    assert method_kind("my_pkg:Net", True, "[]") == "amortized"
    assert method_kind("my_pkg:Prior", False, json.dumps([{"name": "p"}])) == "learned prior (iterative)"
    assert method_kind("pinn", False, "[]") == "per-instance network"


def _summary(lines):
    return pd.DataFrame(
        [{"label": label, "solver": label.split(" ")[0], "scored": 1, "rank": rank} for label, rank in lines]
    )


def test_mean_rank_per_group_counts_only_ranked_tasks():
    summaries = [
        ("invbench/FWI-FlatVel-A-v0", _summary([("tv", 1.0), ("adam", 2.0)])),
        ("invbench/FWI-CurveVel-A-v0", _summary([("tv", 2.0), ("adam", 1.0)])),
        ("invbench/FWI-FlatVel-A-Noise10-v0", _summary([("tv", 1.0), ("adam", float("nan"))])),
        ("invbench/FWI-Tiny-v0", _summary([("tv", 9.0), ("adam", 9.0)])),  # smoke: left out
    ]
    results = pd.DataFrame({"solver": ["tv", "adam"], "solver_spec": ["tv", "adam"]})
    table = overview(summaries, results).set_index("method")
    assert table.loc["tv", "FWI clean rank"] == 1.5 and table.loc["tv", "FWI clean tasks"] == 2
    assert table.loc["tv", "FWI degraded rank"] == 1.0 and table.loc["tv", "wins"] == 2
    assert table.loc["adam", "FWI degraded tasks"] == 0 and pd.isna(table.loc["adam", "FWI degraded rank"])
    assert table.loc["adam", "tasks_run"] == 3 and table.loc["adam", "tasks_ranked"] == 2
    assert table.loc["tv", "kind"] == "classical" and pd.isna(table.loc["tv", "Darcy rank"])
    assert list(table.index) == ["tv", "adam"]  # best mean rank first


def test_build_opens_with_the_overview(bench_dir, tmp_path):
    rows = _full_budget(pd.read_parquet(bench_dir / "results.parquet"))
    fwi = rows[rows["task_name"] == "FWI-Tiny"].assign(
        task="invbench/FWI-FlatVel-A-v0", task_name="FWI-FlatVel-A"
    )
    board = tmp_path / "board"
    board.mkdir()
    fwi.to_parquet(board / "results.parquet")
    paths = build(board, board)
    readme = paths["readme"].read_text()
    assert readme.index("## Overview") < readme.index("## invbench/FWI-FlatVel-A-v0")
    line = next(x for x in readme.splitlines() if x.startswith("| lbfgs "))
    assert "| classical | " in line and "(1)" in line
    data = page_data(paths["html"].read_text())
    assert {r["method"] for r in data["overview"]} == {"adam", "lbfgs", "multiscale"}
    assert data["groups"] == ["FWI clean", "FWI degraded", "Darcy"]
