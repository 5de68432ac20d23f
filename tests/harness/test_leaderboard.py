"""Leaderboard: build README/index.html from results; submit validates and merges."""

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from invbench.cli import app
from invbench.core.files import sha256_file
from invbench.harness.cells import to_json
from invbench.harness.seeds import derive_seed, short_hash
from invbench.harness.suites import SUITES
from invbench.leaderboard.aggregate import instance_ranges, summarize_task
from invbench.leaderboard.build import DATA_MARK, build
from invbench.leaderboard.markdown import task_markdown
from invbench.leaderboard.submit import submit
from invbench.leaderboard.validate import SubmissionError, validate_results
from invbench.registry import make

runner = CliRunner()


def page_data(html: str) -> dict:
    m = re.search(r'<script id="lb-data" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(m.group(1).replace("<\\/", "</"))


def test_build_writes_readme_and_self_contained_page(bench_dir, tmp_path):
    paths = build(bench_dir, tmp_path)
    readme = paths["readme"].read_text()
    assert "## invbench/FWI-Tiny-v0" in readme and "## invbench/Darcy-Tiny-v0" in readme
    assert "ranked by mae" in readme and "ranked by rel_l2" in readme
    assert "Budget: 100 PDE solves" in readme and "cpu" in readme
    assert not re.search(r"\| 1 \|", readme)  # smoke runs (3 iterations) are never ranked
    assert "| **adam (iterations=3)** |" in readme and "| reduced budget |" in readme
    assert " ± " in readme  # two instances: a spread
    assert "multiscale:" in readme.split("## invbench/Darcy-Tiny-v0")[1]  # skipped, with its reason
    assert "Parameters (as resolved for this task):" in readme
    assert re.search(
        r"- adam \(iterations=3\) <code>\w+</code>: <code>\{.*\"iterations\":", readme
    )  # each hash spelled out
    html = paths["html"].read_text()
    assert DATA_MARK not in html
    # self-contained: no external scripts, styles or images
    assert not re.search(r"""(src|href)=["']https?:""", html)
    assert "<link" not in html
    data = page_data(html)
    assert [t["task"] for t in data["tasks"]] == ["invbench/FWI-Tiny-v0", "invbench/Darcy-Tiny-v0"]
    fwi = data["tasks"][0]
    assert {r["solver"] for r in fwi["rows"]} == {"adam", "lbfgs", "multiscale"}
    assert fwi["example"]["png"].startswith("iVBOR")  # base64 PNG
    assert all(len(c) >= 2 for c in fwi["curves"].values())


def test_summary_ranks_and_averages_over_instances(bench_dir):
    results = pd.read_parquet(bench_dir / "results.parquet")
    rows = results[results["task"] == "invbench/FWI-Tiny-v0"]
    summary, facts = summarize_task(rows)
    assert facts["rank_metric"] == "mae" and facts["budget"] == [100] and facts["instances"] == 2
    assert summary["rank"].isna().all() and set(summary["note"]) == {"reduced budget"}
    adam = summary[summary["solver"] == "adam"].iloc[0]
    vals = rows.loc[rows["solver"] == "adam", "metric_mae"]
    assert adam["mae_mean"] == pytest.approx(vals.mean())
    assert adam["mae_std"] == pytest.approx(vals.std(ddof=1))


def _files(board) -> dict[str, str]:
    """sha256 of every file under a leaderboard folder."""
    return {str(p.relative_to(board)): sha256_file(p) for p in sorted(board.rglob("*")) if p.is_file()}


def _copy_bench(bench_dir, dest, rows: pd.DataFrame | None = None):
    """A submission folder: ``rows`` (default the bench's) beside the bench's curves and examples."""
    dest.mkdir(parents=True, exist_ok=True)
    (pd.read_parquet(bench_dir / "results.parquet") if rows is None else rows).to_parquet(
        dest / "results.parquet"
    )
    shutil.copy(bench_dir / "curves.parquet", dest / "curves.parquet")
    shutil.copytree(bench_dir / "examples", dest / "examples", dirs_exist_ok=True)
    shutil.copytree(bench_dir / "estimates", dest / "estimates", dirs_exist_ok=True)
    return dest / "results.parquet"


def _full_budget(rows: pd.DataFrame) -> pd.DataFrame:
    """The smoke rows as if run at the solvers' default iterations in a full suite."""
    params = rows["params"].map(
        lambda p: to_json({k: v for k, v in json.loads(p).items() if k != "iterations"})
    )
    return rows.assign(suite="standard", params=params)


def test_only_full_budget_rows_on_the_reference_instances_are_ranked(bench_dir):
    results = pd.read_parquet(bench_dir / "results.parquet")
    rows = _full_budget(results[results["task"] == "invbench/FWI-Tiny-v0"])
    summary, facts = summarize_task(rows)
    assert facts["ranked_instances"] == 2
    assert list(summary["rank"]) == sorted(summary["rank"]) and summary["rank"].iloc[0] == 1
    assert set(summary["label"]) == {"adam", "lbfgs", "multiscale"} and set(summary["note"]) == {""}
    # an lbfgs variant run on one instance only, and a smoke run of adam, join the table unranked
    variant = rows[(rows["solver"] == "lbfgs") & (rows["instance"] == 0)].assign(params_hash="v1")
    variant["params"] = variant["params"].map(lambda p: to_json(json.loads(p) | {"memory": 3}))
    smoke = results[(results["task"] == "invbench/FWI-Tiny-v0") & (results["solver"] == "adam")]
    summary, _ = summarize_task(pd.concat([rows, variant, smoke.assign(params_hash="s1")]))
    by_label = summary.set_index("label")
    assert by_label.loc["lbfgs (memory=3)", "note"] == "other instances (1 vs 2 ranked)"
    assert by_label.loc["adam (iterations=3)", "note"] == "reduced budget"
    assert by_label["rank"].notna().sum() == 3


def test_submit_adds_then_replaces_only_with_a_reason(bench_dir, tmp_path):
    board = tmp_path / "board"
    rows = pd.read_parquet(bench_dir / "results.parquet")
    rows["timestamp"] = rows["timestamp"] - pd.Timedelta(days=1)
    first = _copy_bench(bench_dir, tmp_path / "first", rows)
    report = submit(first, board)
    n = len(rows)
    assert (len(report.added), report.replaced, report.total, report.written) == (n, [], n, True)
    assert (board / "curves.parquet").is_file() and list((board / "examples").glob("*.npz"))
    again = submit(first, board)  # the same file again: nothing to do
    assert (again.added, again.unchanged, again.written) == ([], n, False)
    # a newer run of one cell is refused without a reason, and nothing changes
    newer = rows.iloc[:1].copy()
    newer["timestamp"] = newer["timestamp"] + pd.Timedelta(hours=1)
    newer["wall_time"] = 123.0
    (tmp_path / "newer").mkdir()
    newer.to_parquet(tmp_path / "newer" / "results.parquet")
    shutil.copytree(bench_dir / "estimates", tmp_path / "newer" / "estimates")
    before = _files(board)
    with pytest.raises(SubmissionError, match="1 published rows would be replaced"):
        submit(tmp_path / "newer" / "results.parquet", board)
    assert _files(board) == before
    dry = submit(tmp_path / "newer" / "results.parquet", board, replace="rerun", dry_run=True)
    assert len(dry.replaced) == 1 and not dry.written and _files(board) == before
    # with a reason it replaces that row only, and the old row goes to the history
    report = submit(tmp_path / "newer" / "results.parquet", board, replace="rerun after a fix")
    assert (report.added, len(report.replaced), report.total) == ([], 1, n)
    merged = pd.read_parquet(board / "results.parquet")
    assert (merged["wall_time"] == 123.0).sum() == 1
    history = pd.read_parquet(board / "history.parquet")
    assert len(history) == 1 and history["replace_reason"].iloc[0] == "rerun after a fix"
    assert history["wall_time"].iloc[0] == rows["wall_time"].iloc[0]
    # an older one is ignored
    newer["timestamp"] = newer["timestamp"] - pd.Timedelta(hours=5)
    newer["wall_time"] = 7.0
    newer.to_parquet(tmp_path / "newer" / "results.parquet")
    assert len(submit(tmp_path / "newer" / "results.parquet", board).ignored) == 1
    assert (pd.read_parquet(board / "results.parquet")["wall_time"] == 7.0).sum() == 0
    assert build(board, board)["html"].is_file()


def _bad(df: pd.DataFrame, kind: str) -> pd.DataFrame:
    df = df.copy()
    if kind == "missing column":
        return df.drop(columns=["seed"])
    if kind == "unknown version":
        df.loc[0, "task"] = "invbench/FWI-Tiny-v7"
        df.loc[0, "task_version"] = 7
    elif kind == "unknown task":
        df.loc[0, "task"] = "invbench/Heat-v0"
    elif kind == "nan required":
        df.loc[1, "wall_time"] = np.nan
    elif kind == "nan metric":
        done = df.index[df["status"] == "done"][0]
        df.loc[done, "metric_mae"] = np.nan
    elif kind == "bad status":
        df.loc[0, "status"] = "great"
    elif kind == "tampered params":
        df.loc[0, "params"] = '{"lr": 99}'
    elif kind == "duplicate key":
        df = pd.concat([df, df.iloc[:1]], ignore_index=True)
    elif kind == "skip without reason":
        df.loc[df["status"] == "skipped", "reason"] = ""
    elif kind in METRIC_ATTACKS:
        col, value = METRIC_ATTACKS[kind]
        df.loc[df.index[df["status"] == "done"][0], col] = value
    elif kind == "negative solves":
        done = df.index[df["status"] == "done"][0]
        df.loc[done, ["forward_solves", "adjoint_solves", "pde_solves"]] = [-5, 0, -5]
    elif kind == "solves over budget":
        done = df.index[df["status"] == "done"][0]
        df.loc[done, ["forward_solves", "adjoint_solves", "pde_solves"]] = [400, 100, 500]
    elif kind == "budget raised":
        df.loc[df["budget"] > 0, "budget"] = 10**6
    elif kind == "no such instance":
        df.loc[0, "instance"] = 9999
    elif kind == "train split":
        df.loc[0, "split"] = "train"
    elif kind == "garbage cell id":
        df.loc[0, "cell_id"] = "<garbage>"
    elif kind == "future timestamp":
        df.loc[0, "timestamp"] = pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=30)
    elif kind == "changed task option":
        done = df.index[df["status"] == "done"][0]
        options = json.loads(df.loc[done, "task_options"]) | {"noise": 0.0, "n_test": 10**6}
        df.loc[done, "task_options"] = to_json(options)
    elif kind == "skipped with metrics":
        done = df.index[df["status"] == "done"][0]
        df.loc[done, ["status", "reason"]] = ["skipped", "does not apply"]
    return df


METRIC_ATTACKS = {
    "zero-free negative rmse": ("metric_rmse", -1.0),
    "ssim above one": ("metric_ssim", 1.5),
    "negative mae": ("metric_mae", -0.1),
    "infinite psnr of an imperfect estimate": ("metric_psnr", np.inf),
}


BAD = {
    "missing column": "missing required columns: seed",
    "unknown version": "unknown version; registered: invbench/FWI-Tiny-v0",
    "unknown task": "is not registered",
    "nan required": "'wall_time' has missing/NaN",
    "nan metric": "metric 'metric_mae' is NaN",
    "bad status": "unknown status ['great']",
    "tampered params": "params_hash does not match",
    "duplicate key": "several rows",
    "skip without reason": "need a reason",
    "zero-free negative rmse": "metric 'metric_rmse' outside [0, inf]",
    "ssim above one": "metric 'metric_ssim' outside [-1, 1]",
    "negative mae": "metric 'metric_mae' outside [0, inf]",
    "infinite psnr of an imperfect estimate": "infinite PSNR with a non-zero RMSE",
    "negative solves": "negative forward_solves",
    "solves over budget": "more PDE solves than the budget",
    "budget raised": "budget differs from the task's",
    "no such instance": "no such instance in its split",
    "train split": "split must be one of val, test",
    "garbage cell id": "cell_id is not 16 hexadecimal digits",
    "future timestamp": "timestamp lies in the future",
    "changed task option": "option 'n_test' differs from the registered task",
    "skipped with metrics": "skipped rows cannot have PDE solves or metrics",
}


@pytest.mark.parametrize("kind", list(BAD))
def test_bad_submissions_are_rejected_and_change_nothing(bench_dir, tmp_path, kind):
    board = tmp_path / "board"
    submit(bench_dir / "results.parquet", board)
    before = {p.name: p.read_bytes() for p in board.rglob("*") if p.is_file()}
    bad_dir = tmp_path / "bad"
    bad_dir.mkdir()
    _bad(pd.read_parquet(bench_dir / "results.parquet"), kind).to_parquet(bad_dir / "results.parquet")
    shutil.copy(bench_dir / "curves.parquet", bad_dir / "curves.parquet")
    with pytest.raises(SubmissionError, match=re.escape(BAD[kind])):
        submit(bad_dir / "results.parquet", board)
    res = runner.invoke(
        app, ["leaderboard", "submit", str(bad_dir / "results.parquet"), "--leaderboard", str(board)]
    )
    assert res.exit_code == 1 and "rejected" in res.output and "not changed" in res.output
    assert {p.name: p.read_bytes() for p in board.rglob("*") if p.is_file()} == before


def test_a_perfect_estimate_with_infinite_psnr_is_accepted(bench_dir, tmp_path, monkeypatch):
    rows = pd.read_parquet(bench_dir / "results.parquet")
    done = rows.index[(rows["status"] == "done") & (rows["task"] == "invbench/FWI-Tiny-v0")][0]
    row = rows.loc[done]
    env = make(row["task"])
    # estimates are stored (and scored) in float16: a truth made of float16 values can be hit exactly
    where = (row["split"], int(row["instance"]))
    exact = env.unwrapped.true_model(*where).astype(np.float16)
    original = type(env.unwrapped).true_model

    def true_model(self, split, index):
        return exact.astype(np.float32) if (split, index) == where else original(self, split, index)

    monkeypatch.setattr(type(env.unwrapped), "true_model", true_model)
    perfect = env.unwrapped.rescore(exact, row["split"], int(row["instance"]))
    assert perfect["psnr"] == np.inf and perfect["mae"] == 0.0
    rows.loc[done, [f"metric_{k}" for k in perfect]] = list(perfect.values())
    rows = rows.loc[[done]]  # the other rows on this instance were scored against the real truth
    assert validate_results(rows) == []
    path = _copy_bench(bench_dir, tmp_path / "perfect", rows)
    (path.parent / "curves.parquet").unlink()
    name = f"{row['cell_id']}-{row['params_hash']}.npz"
    np.savez_compressed(path.parent / "estimates" / name, estimate=exact)
    report = submit(path, tmp_path / "board")
    assert len(report.added) == len(rows)


@pytest.mark.parametrize("damage", ["curves without params_hash", "wrong-shape example", "pickled example"])
def test_a_half_valid_submission_leaves_every_file_byte_identical(bench_dir, tmp_path, damage):
    board = tmp_path / "board"
    rows = pd.read_parquet(bench_dir / "results.parquet")
    rows["timestamp"] = rows["timestamp"] - pd.Timedelta(days=1)
    submit(_copy_bench(bench_dir, tmp_path / "first", rows), board)
    build(board, board)
    before = _files(board)
    rerun = rows.assign(timestamp=rows["timestamp"] + pd.Timedelta(hours=1), wall_time=1.0)
    path = _copy_bench(bench_dir, tmp_path / "second", rerun)
    example = sorted((path.parent / "examples").glob("*.npz"))[0]
    if damage == "curves without params_hash":
        pd.read_parquet(path.parent / "curves.parquet").drop(columns="params_hash").to_parquet(
            path.parent / "curves.parquet"
        )
        expected = "missing curve columns: params_hash"
    elif damage == "wrong-shape example":
        arrays = dict(np.load(example))
        arrays["estimate"] = arrays["estimate"][..., :-3]
        np.savez(example, **arrays)
        expected = "must be one 2-D model shape"
    else:
        np.savez(example, truth=np.array([{"a": 1}], dtype=object))
        expected = "not a plain-array .npz"
    with pytest.raises(SubmissionError, match=re.escape(expected)):
        submit(path, board, replace="rerun")
    assert _files(board) == before
    assert not [p for p in board.iterdir() if p.name.startswith(".submit-")]


def test_readme_escapes_submitted_text(bench_dir, tmp_path):
    rows = pd.read_parquet(bench_dir / "results.parquet")
    evil = rows["solver"] == "adam"
    rows.loc[evil, "solver"] = "<script>alert(1)</script>|evil"
    # the seed of a solver of that name (seeds derive from the solver's name)
    rows.loc[evil, "seed"] = [
        derive_seed(r.base_seed, r.task, r.split, r.instance, r.solver, r.repetition)
        for r in rows[evil].itertuples()
    ]
    skipped = rows.index[rows["status"] == "skipped"]
    rows.loc[skipped, "reason"] = "<img src=x onerror=alert(1)> | `tick`"
    board = tmp_path / "board"
    submit(_copy_bench(bench_dir, tmp_path / "evil", rows), board)
    text = build(board, board)["readme"].read_text()
    assert "<script>" not in text and "<img" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#124;evil" in text
    header, checked = "", 0
    for line in text.splitlines():
        header = line if line.startswith("| rank") else header
        if line.startswith("| ") and "evil" in line:
            assert line.count("|") == header.count("|")  # the name's "|" does not open a column
            checked += 1
    assert checked == 2


def test_unreadable_and_empty_files(tmp_path):
    junk = tmp_path / "junk.parquet"
    junk.write_text("not parquet")
    with pytest.raises(SubmissionError, match="not a readable parquet"):
        submit(junk, tmp_path / "board")
    with pytest.raises(SubmissionError, match="no such file"):
        submit(tmp_path / "nope.parquet", tmp_path / "board")
    assert validate_results(pd.DataFrame()) == ["the results table has no rows"]
    assert not (tmp_path / "board").exists()


def test_cli_build_and_submit(bench_dir, tmp_path):
    board = tmp_path / "board"
    res = runner.invoke(
        app, ["leaderboard", "submit", str(bench_dir / "results.parquet"), "--leaderboard", str(board)]
    )
    assert res.exit_code == 0, res.output
    assert "added: invbench/" in res.output and "rebuilt" in res.output
    assert (board / "index.html").is_file()
    res = runner.invoke(
        app, ["leaderboard", "submit", str(bench_dir / "results.parquet"), "--leaderboard", str(board)]
    )
    assert res.exit_code == 0 and "nothing new" in res.output
    res = runner.invoke(app, ["leaderboard", "build", "--results", str(board), "--out", str(board)])
    assert res.exit_code == 0, res.output
    assert (board / "README.md").is_file() and (board / "index.html").is_file()
    res = runner.invoke(
        app, ["leaderboard", "build", "--results", str(tmp_path / "empty"), "--out", str(board)]
    )
    assert res.exit_code == 2 and "no results" in res.output


def test_rows_differing_only_in_resolved_params_keep_their_own_example_and_curve(bench_dir, tmp_path):
    """Same cell id, new params_hash (a changed default): both rows keep their figures."""
    board = tmp_path / "board"
    submit(bench_dir / "results.parquet", board)
    rows = pd.read_parquet(bench_dir / "results.parquet")
    first = rows[rows["cell_id"].map(lambda c: (bench_dir / "examples" / f"{c}.npz").is_file())].iloc[:1]
    cid, old_hash = first["cell_id"].iloc[0], first["params_hash"].iloc[0]
    old_estimate = np.load(board / "examples" / f"{cid}-{old_hash}.npz")["estimate"]
    # a rerun of the same request whose defaults now resolve differently
    rerun = tmp_path / "rerun"
    (rerun / "examples").mkdir(parents=True)
    new = first.copy()
    new["params"] = to_json(json.loads(new["params"].iloc[0]) | {"iterations": 2})
    new["params_hash"] = short_hash(new["params"].iloc[0])
    new["timestamp"] = new["timestamp"] + pd.Timedelta(seconds=1)
    new.to_parquet(rerun / "results.parquet")
    (rerun / "estimates").mkdir()
    shutil.copy(
        bench_dir / "estimates" / f"{cid}-{old_hash}.npz",
        rerun / "estimates" / f"{cid}-{new['params_hash'].iloc[0]}.npz",
    )
    arrays = dict(np.load(bench_dir / "examples" / f"{cid}.npz"))
    arrays["estimate"] = arrays["estimate"] + 1.0
    np.savez(rerun / "examples" / f"{cid}.npz", **arrays)
    curve = pd.read_parquet(bench_dir / "curves.parquet")
    curve = curve[curve["cell_id"] == cid].assign(params_hash=new["params_hash"].iloc[0], misfit=9.0)
    curve.to_parquet(rerun / "curves.parquet")
    report = submit(rerun / "results.parquet", board)
    assert (len(report.added), report.total) == (1, len(rows) + 1)
    kept = np.load(board / "examples" / f"{cid}-{old_hash}.npz")["estimate"]
    added = np.load(board / "examples" / f"{cid}-{new['params_hash'].iloc[0]}.npz")["estimate"]
    np.testing.assert_array_equal(kept, old_estimate)
    np.testing.assert_array_equal(added, old_estimate + 1.0)
    curves = pd.read_parquet(board / "curves.parquet")
    mine = curves[curves["cell_id"] == cid]
    assert set(mine["params_hash"]) == {old_hash, new["params_hash"].iloc[0]}
    assert (mine.loc[mine["params_hash"] == old_hash, "misfit"] != 9.0).all()


def test_submit_renames_short_named_examples_of_an_older_leaderboard(bench_dir, tmp_path):
    board = tmp_path / "board"
    submit(bench_dir / "results.parquet", board)
    for path in (board / "examples").glob("*.npz"):  # the layout before example names carried the hash
        path.rename(path.with_name(path.stem.split("-")[0] + ".npz"))
    assert build(board, tmp_path / "page")["html"].is_file()  # still readable before migrating
    data = page_data((tmp_path / "page" / "index.html").read_text())
    assert data["tasks"][0]["example"]["png"].startswith("iVBOR")
    submit(bench_dir / "results.parquet", board)  # nothing new, but the board is migrated
    names = sorted(p.name for p in (board / "examples").glob("*.npz"))
    rows = pd.read_parquet(board / "results.parquet")
    expected = {f"{c}-{h}.npz" for c, h in zip(rows["cell_id"], rows["params_hash"], strict=True)}
    assert names and set(names) <= expected


def test_each_ranking_says_which_instances_back_it(suite_dir):
    assert instance_ranges((5, 0, 2, 1)) == "#0–#2, #5" and instance_ranges(()) == ""
    rows = pd.read_parquet(suite_dir / "results.parquet")
    rows = _full_budget(rows[rows["task"] == "invbench/FWI-FlatVel-A-v0"])
    summary, facts = summarize_task(rows)
    ranked = sorted(rows["instance"].unique())
    assert facts["ranked_set"] == instance_ranges(tuple(ranked)) and facts["split"] == "test"
    planned = next(ts.instances for ts in SUITES["standard"].tasks if ts.task == "invbench/FWI-FlatVel-A-v0")
    text = task_markdown(summary, facts)
    assert f"(test {facts['ranked_set']}, of the {planned} the standard suite plans)" in text


def test_results_of_a_superseded_task_version_are_labelled_old(bench_dir, tmp_path):
    from invbench.registry import SUPERSEDED

    old = next(t for t in SUPERSEDED if "CurveFault-A-v0" in t)
    rows = pd.read_parquet(bench_dir / "results.parquet")
    rows = rows[rows["task"] == "invbench/FWI-Tiny-v0"].assign(task=old, task_name=old.split("/")[1][:-3])
    (tmp_path / "old").mkdir()
    rows.to_parquet(tmp_path / "old" / "results.parquet")
    text = build(tmp_path / "old", tmp_path / "board")["readme"].read_text()
    assert f"An old version: results of the generator that {SUPERSEDED[old]} replaced." in text
