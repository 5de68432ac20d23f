"""``invbench demo``: the demo suite's plan, and a small run end to end (Tiny tasks)."""

import pandas as pd
from typer.testing import CliRunner

from invbench.cli import app
from invbench.harness.cells import plan_cells
from invbench.harness.suites import get_suite
from invbench.leaderboard.labels import is_reduced

runner = CliRunner()


def test_the_demo_suite_shows_the_benchmark_at_full_budgets():
    cells = plan_cells(get_suite("demo"))
    by_task: dict[str, set[str]] = {}
    for cell in cells:
        by_task.setdefault(cell.task, set()).add(cell.solver)
    fwi, darcy = "invbench/FWI-FlatVel-A-v0", "invbench/Darcy-Bimaterial-v0"
    assert set(by_task) == {fwi, darcy}
    assert {"initial", "red-diffeq"} <= by_task[fwi] and {"initial", "red-diffeq", "ld-dim"} <= by_task[darcy]
    assert by_task[fwi] & {"tv", "tikhonov", "adam", "lbfgs"} and by_task[darcy] & {"tv", "tikhonov"}
    assert {c.index for c in cells} == {0} and all(c.max_iterations is None for c in cells)


def test_demo_runs_scores_and_writes_a_page_then_continues(tmp_path):
    out = tmp_path / "demo"
    args = ["demo", "--tasks", "invbench/FWI-Tiny-v0", "--solvers", "initial,adam", "--workers", "1"]
    res = runner.invoke(app, [*args, "--out", str(out)])
    assert res.exit_code == 0, res.output
    rows = pd.read_parquet(out / "results.parquet")
    assert set(rows["solver"]) == {"initial", "adam"} and set(rows["status"]) == {"done"}
    assert not any(map(is_reduced, rows["suite"], rows["solver_spec"], rows["task"], rows["params"]))
    html = (out / "board" / "index.html").read_text()
    assert "FWI-Tiny" in html and "adam" in html and (out / "board" / "README.md").is_file()
    again = runner.invoke(app, [*args, "--out", str(out)])
    assert again.exit_code == 0, again.output
    assert pd.read_parquet(out / "results.parquet")["timestamp"].equals(rows["timestamp"])
