import json

import pytest
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


def _run(tmp_path, *args):
    return runner.invoke(app, ["run", "--task", "FWI-Tiny-v0", "--out", str(tmp_path), *args])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-o", "nosie=0.1"], "unknown option 'nosie' (did you mean 'noise'?); valid options:"),
        (["-o", "noise=nan"], "must be a finite number in [0, inf), got nan"),
        (["-o", "noise=-1"], "must be a finite number in [0, inf), got -1.0"),
        (["-o", "smooth_sigma=0"], "smooth_sigma (cells) must be a finite number in (0, inf), got 0.0"),
        (["-o", "lowcut=1e6"], "lowcut (Hz; the source wavelet peaks at 15 Hz) must be a finite number"),
        (["-o", "missing_traces=2.5"], "missing_traces must be an integer, got 2.5"),
        (["-o", "budget=1"], "budget"),
        (["-o", "device=cpu"], "give the device with --device"),
        (["-p", "lrr=3"], "adam: unknown parameters ['lrr']"),
        (["--index", "20"], "index must be in [0, 20) for the test split, got 20"),
        (["--split", "dev"], "split must be one of"),
        (["--device", "tpu"], "device must be one of auto, cpu, cuda"),
        (["--solver", "multiscale", "--task", "Darcy-Tiny-v0"], "does not apply to invbench/Darcy-Tiny-v0"),
        (["-o", "noise"], "expected KEY=VALUE"),
    ],
)
def test_bad_input_is_one_error_line_and_exit_code_2(tmp_path, args, message):
    res = _run(tmp_path, *args)
    assert res.exit_code == 2, res.output
    lines = res.output.strip().splitlines()
    assert message in res.output and "Traceback" not in res.output
    assert len(lines) == 1 and lines[0].startswith("error:"), res.output
    assert not any(tmp_path.iterdir())


def test_run_records_everything_to_reproduce_it_and_never_overwrites(tmp_path):
    assert _run(tmp_path, "-p", "iterations=2", "-o", "noise=0.05").exit_code == 0
    (first,) = tmp_path.glob("*/result.json")
    data = json.loads(first.read_text())
    assert data["task"] == "invbench/FWI-Tiny-v0" and data["task_version"] == 0
    assert data["task_options"]["noise"] == 0.05 and data["task_options"]["smooth_sigma"] == 10.0
    assert data["params"] == {"data_loss": "task", "iterations": 2, "lr": 0.03}
    assert data["seed"] == 0 and data["device"].startswith("cpu") and data["status"] == "done"
    assert data["versions"]["torch_version"] and data["weights"] == [] and data["amortized"] is False
    assert data["command"].endswith("-o noise=0.05 -p iterations=2")
    assert data["row"]["cell_id"] and len(data["history"]) == 2
    again = _run(tmp_path, "-p", "iterations=2", "-o", "noise=0.05")
    assert again.exit_code == 2 and "already holds this run" in again.output and "--overwrite" in again.output
    assert json.loads(first.read_text()) == data
    # Other options or parameters get their own folder.
    assert _run(tmp_path, "-p", "iterations=2").exit_code == 0
    assert _run(tmp_path, "-p", "iterations=3", "-o", "noise=0.05").exit_code == 0
    assert len(list(tmp_path.glob("*/result.json"))) == 3
    assert _run(tmp_path, "-p", "iterations=2", "-o", "noise=0.05", "--overwrite").exit_code == 0


def test_run_help_lists_task_options_and_solvers():
    res = runner.invoke(app, ["run", "--help"], terminal_width=200)
    assert res.exit_code == 0
    for word in ("smooth_sigma", "lowcut", "sensor_layout", "red-diffeq", "initial", "multiscale"):
        assert word in res.output


def test_run_is_a_one_cell_benchmark(tmp_path):
    """``invbench run`` and ``invbench bench`` score a cell identically (one engine)."""
    assert _run(tmp_path, "-p", "iterations=2", "--seed", "5").exit_code == 0
    (result,) = tmp_path.glob("*/result.json")
    data = json.loads(result.read_text())
    from invbench.harness.cells import Cell
    from invbench.harness.execute import run_cell

    cell = Cell("x", "invbench/FWI-Tiny-v0", "test", 0, "adam", '{"iterations":2}', 0, 5, 5, 60.0)
    row = run_cell(cell).row
    for k, v in data["metrics"].items():
        assert row[f"metric_{k}"] == v
    assert row["params"] == data["row"]["params"] and row["pde_solves"] == data["counters"]["pde_solves"]


def test_solvers_lists_every_registered_solver_with_its_parameters():
    res = runner.invoke(app, ["solvers"], terminal_width=250)
    assert res.exit_code == 0, res.output
    for word in ("initial", "adam", "red-diffeq", "lr=0.03", "darcy: "):
        assert word in res.output


def test_piped_task_list_keeps_every_id_whole():
    import os
    import subprocess
    import sys

    from invbench.registry import task_ids

    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    code = "from invbench.cli import app; app(['tasks'])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    missing = [task for task in task_ids() if task not in out.stdout]
    assert not missing, f"cut from the piped table: {missing}"


def test_run_progress_counts_the_solvers_iterations_not_the_budget(tmp_path):
    args = ["run", "--task", "Darcy-Tiny-v0", "--solver", "adam", "-p", "iterations=3"]
    res = runner.invoke(app, [*args, "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "3/3" in res.output, res.output


def test_planned_iterations_sum_the_stages_a_solver_declares():
    from invbench.harness.suites import planned_iterations

    assert planned_iterations({"iterations": 300, "lr": 0.1}) == 300
    assert planned_iterations({"adam_steps": 1000, "lbfgs_iterations": 2000}) == 3000
    assert planned_iterations({"lr": 0.1, "flag": True}) is None
