"""Results store: round trip, atomic writes, crash and resume, no pickle."""

import json
import os
import signal
import zipfile

import numpy as np
import pandas as pd
import pytest

from invbench.harness.cells import Cell, plan_cells, to_json
from invbench.harness.execute import run_cell
from invbench.harness.executors import LocalExecutor
from invbench.harness.runner import ResultsExistError, run_benchmark
from invbench.harness.store import ResultStore, load_example
from invbench.harness.suites import get_suite

S = "tests.harness.solvers:"


def darcy_cells(solver=S + "Initial", n=4, params=None):
    return plan_cells(
        get_suite("smoke"), tasks=["Darcy-Tiny-v0"], solvers=[solver], instances=n, user_params=params
    )


def test_round_trip(tmp_path):
    cells = plan_cells(
        get_suite("smoke"), tasks=["Darcy-Tiny-v0"], solvers=["adam", "multiscale"], instances=1
    )
    outcomes = [run_cell(c) for c in cells]
    store = ResultStore(tmp_path)
    for o in outcomes:
        store.write(o)
    results = store.consolidate()
    assert (tmp_path / "results.parquet").is_file() and (tmp_path / "curves.parquet").is_file()
    back = pd.read_parquet(tmp_path / "results.parquet")
    assert len(back) == 2 and set(back["status"]) == {"done", "skipped"}
    for o in outcomes:
        row = back[back["cell_id"] == o.row["cell_id"]].iloc[0]
        for k, v in o.row.items():
            if isinstance(v, float) and np.isnan(v):
                assert np.isnan(row[k]), k
            elif k == "timestamp":
                assert row[k] == v
            else:
                assert row[k] == v, k
    assert back["timestamp"].dt.tz is not None and back["pde_solves"].dtype == np.int64
    curves = pd.read_parquet(tmp_path / "curves.parquet")
    done = outcomes[0].row
    mine = curves[curves["cell_id"] == done["cell_id"]]
    assert list(mine["iteration"]) == list(range(1, done["iterations"] + 1))
    assert {"pde_solves", "wall_time", "misfit", "solver", "task", "params_hash", "seed"} <= set(
        curves.columns
    )
    assert len(results) == 2
    # examples are plain arrays: loadable without pickle, and the archive holds only .npy members
    ex = tmp_path / "examples" / f"{done['cell_id']}.npz"
    arrays = load_example(ex)
    assert arrays["truth"].shape == arrays["estimate"].shape == (1, 16, 16)
    assert all(n.endswith(".npy") for n in zipfile.ZipFile(ex).namelist())


def test_no_pickle_anywhere(tmp_path):
    run_benchmark(darcy_cells(n=1), tmp_path)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {p.suffix for p in files} == {".parquet", ".npz", ".json"}
    for path in files:
        if path.suffix == ".npz":
            load_example(path)  # allow_pickle=False: raises on any object array


def test_a_crash_while_writing_leaves_no_partial_file(tmp_path, monkeypatch):
    store = ResultStore(tmp_path)
    outcome = run_cell(darcy_cells(n=1)[0])

    def broken(self, f, **kw):
        f.write(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", broken)
    with pytest.raises(OSError, match="disk full"):
        store.write(outcome)
    monkeypatch.undo()
    assert store.finished() == {}
    assert not list(tmp_path.rglob("*.tmp")) and not list(tmp_path.rglob(".*"))
    store.write(outcome)
    assert store.finished() == {outcome.row["cell_id"]: "done"}


@pytest.fixture
def ctrl_c_raises():
    """Python's own SIGINT handler, even where the tests were started as a background job (which
    inherits SIGINT ignored, so the simulated Ctrl-C below would be lost)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_crash_mid_run_then_resume_runs_only_the_missing_cells(tmp_path, monkeypatch, ctrl_c_raises):
    cells = darcy_cells(n=4, params={"initial": {"crash_index": 2}})
    monkeypatch.setenv("INVBENCH_TEST_CRASH", str(os.getpid()))
    with pytest.raises(KeyboardInterrupt):
        run_benchmark(cells, tmp_path)
    store = ResultStore(tmp_path)
    first = store.finished()
    assert set(first) == {c.cell_id for c in cells[:2]}
    # consolidated despite the interruption
    assert len(pd.read_parquet(tmp_path / "results.parquet")) == 2
    mtimes = {p.name: p.stat().st_mtime_ns for p in store.cell_files()}

    with pytest.raises(ResultsExistError, match="--resume"):
        run_benchmark(cells, tmp_path)

    monkeypatch.delenv("INVBENCH_TEST_CRASH")
    ran = []

    class Recording(LocalExecutor):
        def map(self, cells, progress=None, *, batch_size=1):
            ran.extend(c.cell_id for c in cells)
            yield from super().map(cells, progress, batch_size=batch_size)

    results = run_benchmark(cells, tmp_path, executor=Recording(), resume=True)
    assert ran == [c.cell_id for c in cells[2:]]
    assert len(results) == 4 and set(results["status"]) == {"done"}
    assert {p.name: p.stat().st_mtime_ns for p in store.cell_files() if p.name in mtimes} == mtimes
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert len(plan["cells"]) == 4


def test_retry_failed(tmp_path):
    cells = darcy_cells(S + "Boom", n=1)
    run_benchmark(cells, tmp_path)
    ran = []

    class Recording(LocalExecutor):
        def map(self, cells, progress=None, *, batch_size=1):
            ran.extend(cells)
            yield from super().map(cells, progress)

    run_benchmark(cells, tmp_path, executor=Recording(), resume=True)
    assert ran == []
    run_benchmark(cells, tmp_path, executor=Recording(), resume=True, retry_failed=True)
    assert len(ran) == 1


def test_cell_is_plain_data():
    c = Cell(
        suite="s",
        task="invbench/Darcy-Tiny-v0",
        split="test",
        index=0,
        solver="adam",
        params_json=to_json({"lr": 0.1}),
        repetition=0,
        base_seed=0,
        seed=1,
        timeout=1.0,
    )
    assert c.params == {"lr": 0.1} and c.env_kwargs == {} and not c.uses_gpu
    assert Cell(**{**c.__dict__, "device": "cuda"}).uses_gpu
