import pandas as pd
import pytest

from studies.data_driven.table import comparison, main, markdown


def _row(task, instance, solver, mae, status="done"):
    return {
        "task": task,
        "task_name": task.removeprefix("invbench/").rsplit("-v", 1)[0],
        "metric_ssim": 0.5,
        "pde_solves": 0,
        "instance": instance,
        "solver": solver,
        "metric_mae": mae,
        "status": status,
        "split": "test",
    }


CLEAN = "invbench/FWI-FlatVel-A-v0"
NOISY = "invbench/FWI-CurveFault-A-Noise10-v1"
STALE = "invbench/FWI-CurveFault-A-Noise10-v0"


def test_comparison_pairs_instances_and_counts_wins():
    rows = [
        _row(CLEAN, 0, "initial", 0.10),
        _row(CLEAN, 1, "initial", 0.10),
        _row(CLEAN, 2, "initial", 0.10),
        _row(CLEAN, 0, "inversionnet", 0.05),
        _row(CLEAN, 1, "inversionnet", 0.20),
        _row(CLEAN, 2, "inversionnet", 0.01, status="failed"),  # not counted
        _row(CLEAN, 3, "inversionnet", 0.01),  # no initial model on #3: not counted
        _row(NOISY, 0, "inversionnet", 0.3),
        _row(NOISY, 0, "initial", 0.1),
        _row(STALE, 0, "inversionnet", 0.9),  # superseded by the -v1 task: not counted
        _row(STALE, 0, "initial", 0.1),
    ]
    table = comparison(pd.DataFrame(rows), solvers=("inversionnet",))
    clean = table[table["family"] == "FlatVel-A v0"].iloc[0]
    assert (clean["n"], clean["wins"]) == (2, 1)
    assert clean["mae"] == pytest.approx(0.125) and clean["initial_mae"] == pytest.approx(0.10)
    noisy = table[table["condition"] == "Noise10"].iloc[0]
    assert (noisy["n"], noisy["wins"]) == (1, 0) and noisy["family"] == "CurveFault-A v1"
    assert len(table) == 2
    assert "| inversionnet | FlatVel-A v0 | clean | 0.125 | 0.100 | 1/2 |" in markdown(table)


def test_main_names_a_missing_file(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main([str(tmp_path / "nope.parquet")])
    assert "no such results file" in capsys.readouterr().err
