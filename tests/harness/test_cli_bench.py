"""``invbench bench`` end to end on a few fast cells."""

import pandas as pd
from typer.testing import CliRunner

from invbench.cli import app

runner = CliRunner()


def _tiny(out, instances, solvers="adam"):
    """``invbench bench`` arguments for Darcy-Tiny with two Adam iterations."""
    return [
        "bench",
        "--suite",
        "smoke",
        "--tasks",
        "Darcy-Tiny-v0",
        "--solvers",
        solvers,
        "--instances",
        str(instances),
        "-p",
        "adam.iterations=2",
        "--out",
        str(out),
    ]


def test_bench_runs_resumes_and_refuses_to_overwrite(tmp_path):
    args = _tiny(tmp_path, 2, solvers="adam,multiscale")
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


def test_bench_skips_cells_scored_in_another_table_and_shards_the_rest(tmp_path):
    first = tmp_path / "first"
    res = runner.invoke(app, _tiny(first, 2))
    assert res.exit_code == 0, res.output

    rest = tmp_path / "rest"
    res = runner.invoke(app, [*_tiny(rest, 4), "--skip-scored-in", str(first / "results.parquet")])
    assert res.exit_code == 0, res.output
    assert "2 of 4 planned cells are scored" in res.output
    assert sorted(pd.read_parquet(rest / "results.parquet")["instance"]) == [2, 3]

    # a folder works as well as its results.parquet; everything scored leaves nothing to run
    res = runner.invoke(app, [*_tiny(tmp_path / "none", 2), "--skip-scored-in", str(first)])
    assert res.exit_code == 0 and "nothing to run" in res.output
    assert not (tmp_path / "none").exists()

    lanes = []
    for k in (0, 1):
        res = runner.invoke(app, [*_tiny(tmp_path / "x", 4), "--shard", f"{k}/2", "--dry-run"])
        assert res.exit_code == 0, res.output
        lanes.append({line.split()[0] for line in res.output.splitlines() if "Darcy-Tiny-v0 #" in line})
    assert len(lanes[0]) == len(lanes[1]) == 2 and not lanes[0] & lanes[1]


def test_bench_refuses_a_bad_skip_table_or_shard(tmp_path):
    not_parquet = tmp_path / "results.parquet"
    not_parquet.write_text("not a table")
    no_columns = tmp_path / "other.parquet"
    pd.DataFrame({"x": [1]}).to_parquet(no_columns)
    for path in (tmp_path / "missing.parquet", not_parquet, no_columns):
        res = runner.invoke(app, [*_tiny(tmp_path / "out", 1), "--skip-scored-in", str(path)])
        assert res.exit_code == 2 and path.name in res.output, res.output
    for spec in ("2/2", "1", "a/b", "0/0"):
        res = runner.invoke(app, [*_tiny(tmp_path / "out", 1), "--shard", spec])
        assert res.exit_code == 2 and "shard" in res.output, res.output


def test_bench_help_names_every_suite():
    from invbench.harness.suites import SUITES

    res = runner.invoke(app, ["bench", "--help"], terminal_width=400)
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert all(name in text for name in SUITES), text
