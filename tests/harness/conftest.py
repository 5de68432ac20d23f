"""A small benchmark output shared by the leaderboard tests (Darcy-Tiny and FWI-Tiny, few iterations)."""

from __future__ import annotations

import pytest

from invbench.harness.cells import plan_cells
from invbench.harness.runner import run_benchmark
from invbench.harness.suites import get_suite


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
