"""Benchmark: one Tiny cell through the harness, with and without its worker process, against the
same solve called directly.

Run with ``make bench``; nothing here asserts a time. The harness's overhead per cell is
(harness - direct) / direct: its progress callback, watchdog, memory sampler and row building, and
with isolation the worker process (forked from a warm forkserver) and its second environment.
Every variant includes making the environment, reset, solve and finalize; none writes files.
"""

import pytest

from invbench.core.seeding import seed_everything
from invbench.core.solver import load_solver_class
from invbench.harness.cells import Cell, to_json
from invbench.harness.execute import run_cell
from invbench.registry import make

TASK = "invbench/FWI-Tiny-v0"
PARAMS = {"iterations": 10}
SEED = 0


def direct() -> dict:
    env = make(TASK)
    solver = load_solver_class("adam")(**PARAMS)
    seed_everything(SEED)
    env.reset(seed=SEED, options={"split": "test", "index": 0})
    solver.setup(env)
    estimate = solver.solve(env, callback=None)
    metrics = env.unwrapped.finalize(estimate)
    env.close()
    return metrics


def through_harness(isolate: bool = True) -> dict:
    cell = Cell(
        suite="bench",
        task=TASK,
        split="test",
        index=0,
        solver="adam",
        params_json=to_json(PARAMS),
        repetition=0,
        base_seed=0,
        seed=SEED,
        timeout=600.0,
    )
    out = run_cell(cell, isolate=isolate)
    assert out.row["status"] == "done"
    return out.row


@pytest.fixture(scope="module", autouse=True)
def _warm():
    direct()  # first deepwave call and the cached observed data are not what we measure
    through_harness()  # nor the start of the forkserver (once per benchmark run)


def test_bench_cell_direct(benchmark):
    metrics = benchmark.pedantic(direct, rounds=12, warmup_rounds=2)
    assert metrics["data_misfit"] > 0


def test_bench_cell_harness(benchmark):
    row = benchmark.pedantic(through_harness, rounds=12, warmup_rounds=2)
    assert row["pde_solves"] == 20


def test_bench_cell_harness_in_process(benchmark):
    row = benchmark.pedantic(through_harness, args=(False,), rounds=12, warmup_rounds=2)
    assert row["pde_solves"] == 20 and row["isolated"] is False
