"""Shared test fixtures: an isolated cache directory, the path to the shared real data, and a small
benchmark output (Darcy-Tiny and FWI-Tiny, few iterations) used by the leaderboard and study tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from invbench.harness.cells import plan_cells
from invbench.harness.runner import run_benchmark
from invbench.harness.suites import get_suite

SHARED_OPENFWI = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "openfwi"


@pytest.fixture(autouse=True, scope="session")
def _session_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep simulated observed data in a per-session cache, never in the user's cache."""
    mp = pytest.MonkeyPatch()
    mp.setenv("INVBENCH_CACHE_DIR", str(tmp_path_factory.mktemp("invbench-cache")))
    yield
    mp.undo()


@pytest.fixture(scope="session")
def bench_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    cells = plan_cells(
        get_suite("smoke"),
        solvers=["adam", "lbfgs", "multiscale"],
        instances=2,
        user_params={"*": {"iterations": 3}},
    )
    run_benchmark(cells, out)
    return out


@pytest.fixture(scope="session")
def suite_dir(bench_dir, tmp_path_factory):
    """``bench_dir``'s FWI-Tiny rows relabelled as runs of the red-diffeq suite (FlatVel-A, clean and
    at 10 % noise, lbfgs standing in for red-diffeq): enough to render the suite section."""
    from invbench.harness.store import ResultStore

    rows = ResultStore(bench_dir).results()
    rows = rows[rows["task_name"] == "FWI-Tiny"].copy()
    rows["solver"] = rows["solver"].replace({"lbfgs": "red-diffeq"})
    # stand-ins at their defaults: the study labels them by their plain names, as the board would
    rows["solver_spec"], rows["params"] = rows["solver"], "{}"
    noisy = rows.copy()
    noisy["metric_mae"] = noisy["metric_mae"] * 1.5
    noisy["cell_id"] = noisy["cell_id"] + "n"
    for df, name in ((rows, "FWI-FlatVel-A"), (noisy, "FWI-FlatVel-A-Noise10")):
        df["task"], df["task_name"] = f"invbench/{name}-v0", name
    out = tmp_path_factory.mktemp("suite")
    pd.concat([rows, noisy], ignore_index=True).to_parquet(out / "results.parquet")
    return out
