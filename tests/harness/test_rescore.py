"""Submissions are re-scored from their stored estimates; hidden-tier rows need a valid signature."""

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from invbench.cli import app
from invbench.core.seeding import SALT_ENV
from invbench.harness.cells import plan_cells, to_json
from invbench.harness.runner import run_benchmark
from invbench.harness.store import estimate_name
from invbench.harness.suites import get_suite
from invbench.leaderboard.rescore import ATOL, RTOL, estimates_of, rescore
from invbench.leaderboard.submit import submit
from invbench.leaderboard.validate import SubmissionError

runner = CliRunner()
TEST_SALT = "invbench-test-salt"


def _submission(src, dest, rows=None):
    """A copy of results folder ``src`` (rows replaced by ``rows`` when given)."""
    shutil.copytree(src, dest)
    if rows is not None:
        rows.to_parquet(dest / "results.parquet")
    return dest / "results.parquet"


def _scored(rows: pd.DataFrame, task: str = "invbench/FWI-Tiny-v0") -> int:
    return rows.index[(rows["status"] == "done") & (rows["task"] == task)][0]


def test_an_honest_submission_rescores_within_the_float16_tolerance(bench_dir):
    rows = pd.read_parquet(bench_dir / "results.parquet")
    estimates, missing = estimates_of(rows, bench_dir / "estimates")
    assert missing == [] and len(estimates) == int(rows["status"].isin(["done", "diverged"]).sum())
    assert {a.dtype for a in estimates.values()} == {np.dtype(np.float16)}
    assert rescore(rows, estimates) == []
    # and the tolerance is not so loose that a forged one-percent better MAE passes
    idx = _scored(rows)
    assert 0.01 * rows.loc[idx, "metric_mae"] > ATOL + RTOL * rows.loc[idx, "metric_mae"]


@pytest.mark.parametrize("task", ["invbench/FWI-Tiny-v0", "invbench/Darcy-Tiny-v0"])
def test_a_better_reported_metric_is_refused_naming_the_row(bench_dir, tmp_path, task):
    rows = pd.read_parquet(bench_dir / "results.parquet")
    idx = _scored(rows, task)
    rows.loc[idx, "metric_mae"] *= 0.99
    path = _submission(bench_dir, tmp_path / "forged", rows)
    with pytest.raises(SubmissionError, match=rf"row {idx} \({re.escape(task)} .*mae"):
        submit(path, tmp_path / "board")
    assert not (tmp_path / "board" / "results.parquet").exists()


def test_another_rows_estimate_or_none_is_refused(bench_dir, tmp_path):
    rows = pd.read_parquet(bench_dir / "results.parquet")
    fwi = rows[(rows["status"] == "done") & (rows["task"] == "invbench/FWI-Tiny-v0")]
    a, b = fwi.iloc[0], fwi[fwi["instance"] != fwi.iloc[0]["instance"]].iloc[0]
    path = _submission(bench_dir, tmp_path / "swapped")
    folder = path.parent / "estimates"
    shutil.copy(
        folder / estimate_name(b["cell_id"], b["params_hash"]),
        folder / estimate_name(a["cell_id"], a["params_hash"]),
    )
    with pytest.raises(SubmissionError, match="metrics differ from its estimate's"):
        submit(path, tmp_path / "board")
    (folder / estimate_name(a["cell_id"], a["params_hash"])).unlink()
    with pytest.raises(SubmissionError, match="no stored estimate"):
        submit(path, tmp_path / "board")


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ("instance", "cell_spec's index differs from the row's instance"),
        ("seed", "seed is not the one derived for its cell"),
        ("spec", "cell_id is not the id of its cell_spec"),
        ("no spec", "missing column cell_spec"),
    ],
)
def test_the_cell_id_and_seed_are_recomputed(bench_dir, tmp_path, edit, expected):
    rows = pd.read_parquet(bench_dir / "results.parquet")
    if edit == "instance":
        rows.loc[0, "instance"] = 1 - rows.loc[0, "instance"]
    elif edit == "seed":
        rows.loc[0, "seed"] += 1
    elif edit == "spec":
        spec = json.loads(rows.loc[0, "cell_spec"]) | {"max_iterations": 10**6}
        rows.loc[0, "cell_spec"] = to_json(spec)
    else:
        rows = rows.drop(columns="cell_spec")
    with pytest.raises(SubmissionError, match=re.escape(expected)):
        submit(_submission(bench_dir, tmp_path / "edited", rows), tmp_path / "board")


@pytest.fixture(scope="module")
def verified_dir(tmp_path_factory):
    """adam on hidden instance 0 of the smoke suite's tasks, run by the maintainers' harness."""
    mp = pytest.MonkeyPatch()
    mp.setenv(SALT_ENV, TEST_SALT)
    out = tmp_path_factory.mktemp("verified")
    cells = plan_cells(
        get_suite("smoke"),
        solvers=["adam"],
        instances=1,
        user_params={"*": {"iterations": 3}},
        split="hidden",
    )
    run_benchmark(cells, out)
    mp.undo()
    return out


def test_verify_rows_are_signed_and_accepted_only_with_the_salt(verified_dir, tmp_path, monkeypatch):
    rows = pd.read_parquet(verified_dir / "results.parquet")
    assert set(rows["split"]) == {"hidden"} and rows["verified"].all() and rows["isolated"].all()
    assert rows["signature"].str.fullmatch(r"[0-9a-f]{64}").all()
    monkeypatch.delenv(SALT_ENV, raising=False)
    with pytest.raises(SubmissionError, match=f"only the maintainers, who hold \\${SALT_ENV}"):
        submit(verified_dir / "results.parquet", tmp_path / "board")
    monkeypatch.setenv(SALT_ENV, TEST_SALT)
    report = submit(verified_dir / "results.parquet", tmp_path / "board")
    assert len(report.added) == len(rows)
    board = pd.read_parquet(tmp_path / "board" / "results.parquet")
    assert board["verified"].all()


@pytest.mark.parametrize("forgery", ["better mae", "fewer solves", "other salt", "unsigned test row"])
def test_a_forged_or_edited_verified_row_is_refused(verified_dir, tmp_path, monkeypatch, forgery):
    monkeypatch.setenv(SALT_ENV, TEST_SALT)
    rows = pd.read_parquet(verified_dir / "results.parquet")
    idx = _scored(rows)
    expected = "its signature does not match the row and its estimate"
    if forgery == "better mae":
        rows.loc[idx, "metric_mae"] *= 0.5
    elif forgery == "fewer solves":
        rows.loc[idx, ["forward_solves", "pde_solves"]] -= 1
    elif forgery == "other salt":
        monkeypatch.setenv(SALT_ENV, "someone else's salt")
    else:  # a test-split row claiming to be verified
        rows = rows.assign(split="test", verified=False)
        rows.loc[idx, "verified"] = True
        expected = "only hidden-split rows can be verified"
    with pytest.raises(SubmissionError, match=re.escape(expected)):
        submit(_submission(verified_dir, tmp_path / "forged", rows), tmp_path / "board")


def test_an_unverified_hidden_row_is_refused(bench_dir, tmp_path):
    rows = pd.read_parquet(bench_dir / "results.parquet").assign(split="hidden")
    with pytest.raises(
        SubmissionError, match=re.escape("hidden-split rows must come from `invbench verify`")
    ):
        submit(_submission(bench_dir, tmp_path / "hidden", rows), tmp_path / "board")


def test_cli_verify_needs_the_salt(monkeypatch):
    monkeypatch.delenv(SALT_ENV, raising=False)
    res = runner.invoke(app, ["verify", "--solver", "adam", "--suite", "smoke"])
    assert res.exit_code == 2 and SALT_ENV in res.output and "maintainers" in res.output
