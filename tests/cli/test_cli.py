import json

from typer.testing import CliRunner

from invbench.cli import app

runner = CliRunner()


def test_tasks_lists_registered_ids():
    res = runner.invoke(app, ["tasks"])
    assert res.exit_code == 0, res.output
    assert "FWI-FlatVel-A-v0" in res.output and "FWI-Tiny-v0" in res.output


def test_run_writes_result_and_figure(tmp_path):
    res = runner.invoke(
        app,
        [
            "run",
            "--task",
            "FWI-Tiny-v0",
            "--solver",
            "adam",
            "--param",
            "iterations=3",
            "--out",
            str(tmp_path),
        ],
    )
    assert res.exit_code == 0, res.output
    results = list(tmp_path.glob("*/result.json"))
    figures = list(tmp_path.glob("*/figure.png"))
    assert len(results) == 1 and len(figures) == 1
    data = json.loads(results[0].read_text())
    assert data["counters"]["pde_solves"] == 6
    assert {"mae", "rmse", "ssim", "data_misfit"} <= set(data["metrics"])
    assert figures[0].stat().st_size > 10_000


def test_unknown_task_and_solver_errors(tmp_path):
    res = runner.invoke(app, ["run", "--task", "FWI-FlatVel-Z-v0", "--out", str(tmp_path)])
    assert res.exit_code == 2
    assert "unknown task id" in res.output and "FWI-FlatVel-A-v0" in res.output
    res = runner.invoke(app, ["run", "--task", "FWI-Tiny-v0", "--solver", "adamm", "--out", str(tmp_path)])
    assert res.exit_code == 2
    assert "unknown solver" in res.output and "adam" in res.output
