"""The dask executor: a two-worker LocalCluster gives the same results as the local executor."""

import os

import pandas as pd
import pytest

from invbench.harness.cells import plan_cells
from invbench.harness.executors import DaskExecutor
from invbench.harness.runner import run_benchmark, run_cells
from invbench.harness.store import ResultStore
from invbench.harness.suites import get_suite

pytest.importorskip("distributed")

METRICS = ["metric_mae", "metric_rmse", "metric_ssim", "metric_rel_l2", "metric_data_misfit"]


def _omp_threads() -> str | None:
    return os.environ.get("OMP_NUM_THREADS")


@pytest.mark.slow
def test_two_worker_local_cluster_matches_local_executor(tmp_path):
    cells = plan_cells(
        get_suite("smoke"),
        solvers=["adam", "multiscale", "tests.harness.solvers:Boom"],
        instances=2,
        user_params={"adam": {"iterations": 3}},
    )
    local = run_benchmark(cells, tmp_path / "local")
    events = []
    with DaskExecutor(workers=2) as exe:
        assert len(exe.client.scheduler_info()["workers"]) == 2
        assert set(exe.client.run(_omp_threads).values()) == {"1"}
        remote = run_cells(cells, ResultStore(tmp_path / "dask"), exe, progress=events.append)
    a = local.sort_values("cell_id", ignore_index=True)
    b = remote.sort_values("cell_id", ignore_index=True)
    assert list(a["cell_id"]) == list(b["cell_id"])
    assert list(a["status"]) == list(b["status"])
    assert list(a["reason"]) == list(b["reason"])
    assert list(a["pde_solves"]) == list(b["pde_solves"])
    pd.testing.assert_frame_equal(a[METRICS], b[METRICS], check_exact=True)
    # the results were written by the client; progress came back from the workers
    assert (tmp_path / "dask" / "results.parquet").is_file()
    assert {e["event"] for e in events} >= {"start", "iteration"}
