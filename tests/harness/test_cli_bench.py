"""``invbench bench`` end to end on a few fast cells."""

import pandas as pd
from typer.testing import CliRunner

from invbench.cli import app

runner = CliRunner()


def test_bench_runs_resumes_and_refuses_to_overwrite(tmp_path):
    args = [
        "bench",
        "--suite",
        "smoke",
        "--tasks",
        "Darcy-Tiny-v0",
        "--solvers",
        "adam,multiscale",
        "--instances",
        "2",
        "-p",
        "adam.iterations=2",
        "--out",
        str(tmp_path),
    ]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "summary" in res.output and "4 cells" in res.output
    df = pd.read_parquet(tmp_path / "results.parquet")
    assert sorted(df["status"]) == ["done", "done", "skipped", "skipped"]
    assert set(df.loc[df["solver"] == "adam", "iterations"]) == {2}

    res = runner.invoke(app, args)
    assert res.exit_code == 2 and "--resume" in res.output
    res = runner.invoke(app, [*args, "--resume"])
    assert res.exit_code == 0, res.output
    assert "already finished" in res.output
    assert len(pd.read_parquet(tmp_path / "results.parquet")) == 4


def test_bench_dry_run_and_errors(tmp_path):
    res = runner.invoke(app, ["bench", "--suite", "smoke", "--dry-run", "--seeds", "2"])
    assert res.exit_code == 0, res.output
    assert "FWI-Tiny-v0 #1 adam r1" in res.output
    res = runner.invoke(app, ["bench", "--suite", "nope"])
    assert res.exit_code == 2 and "unknown suite" in res.output
    res = runner.invoke(app, ["bench", "--solvers", "adamm", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "unknown solver" in res.output
    res = runner.invoke(app, ["bench", "--executor", "spark", "--instances", "1", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "unknown executor" in res.output
