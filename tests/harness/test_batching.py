"""Batched cells: a batched solver's cells of one task solved together, each scored and stored alone."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from invbench.cli import app
from invbench.core.solver import load_solver_class
from invbench.core.vector import make_vec
from invbench.harness.batching import batches, resolve_batch_size
from invbench.harness.execute import run_batch, run_cell
from invbench.harness.runner import run_benchmark
from invbench.harness.store import ResultStore

from .test_execute import S, cell

TINY_FWI = "invbench/FWI-Tiny-v0"
TINY_DARCY = "invbench/Darcy-Tiny-v0"
SAME = ("metric_mae", "metric_rmse", "metric_ssim", "metric_data_misfit")
COUNTS = ("forward_solves", "adjoint_solves", "pde_solves", "budget", "iterations")


def cells_of(solver, params, task, n=3, **kw):
    return [cell(solver, params, task=task, index=i, seed=100 + i, **kw) for i in range(n)]


def test_batches_group_a_batched_solvers_cells_of_one_task_in_plan_order():
    a = cells_of("adam", {}, TINY_FWI, n=5)
    other = cells_of("adam", {"lr": 0.1}, TINY_FWI, n=2)
    alone = cells_of("initial", {}, TINY_FWI, n=2)
    darcy = cells_of("tv", {}, TINY_DARCY, n=2)
    plan = [a[0], alone[0], a[1], other[0], a[2], darcy[0], a[3], other[1], darcy[1], a[4], alone[1]]
    units = batches(plan, 2)
    ids = [[c.cell_id for c in u] for u in units]
    assert ids == [
        [a[0].cell_id, a[1].cell_id],
        [alone[0].cell_id],
        [other[0].cell_id, other[1].cell_id],
        [a[2].cell_id, a[3].cell_id],
        [darcy[0].cell_id, darcy[1].cell_id],
        [a[4].cell_id],
        [alone[1].cell_id],
    ]
    assert sorted(c.cell_id for u in units for c in u) == sorted(c.cell_id for c in plan)
    assert all(len(u) == 1 for u in batches(plan, 1))
    with pytest.raises(ValueError, match="at least 1"):
        batches(plan, 0)


def test_batch_size_auto_and_bad_values():
    plan = cells_of("adam", {}, TINY_FWI, device="cpu")
    assert resolve_batch_size("auto", plan) == 1 and resolve_batch_size("4", plan) == 4
    with pytest.raises(ValueError, match="positive integer or 'auto'"):
        resolve_batch_size("many", plan)
    with pytest.raises(ValueError, match="at least 1"):
        resolve_batch_size(0, plan)


@pytest.mark.parametrize(
    ("solver", "params", "task"),
    [
        ("adam", {"iterations": 8}, TINY_FWI),
        ("tv", {"iterations": 8, "data_loss": "mean_l1"}, TINY_FWI),
        ("tikhonov", {"iterations": 8}, TINY_DARCY),
    ],
)
def test_a_batched_cell_scores_as_the_same_cell_run_alone(solver, params, task):
    plan = cells_of(solver, params, task)
    alone = [run_cell(c).row for c in plan]
    together = [o.row for o in run_batch(plan)]
    for a, b in zip(alone, together, strict=True):
        assert a["status"] == b["status"] == "done", (a["reason"], b["reason"])
        assert (a["cell_id"], a["instance"], a["seed"]) == (b["cell_id"], b["instance"], b["seed"])
        for k in SAME:
            assert b[k] == pytest.approx(a[k], rel=1e-6, abs=0), k
        assert [b[k] for k in COUNTS] == [a[k] for k in COUNTS]
        assert (a["batch_size"], b["batch_size"]) == (1, 3)
        assert a["params"] == b["params"] and b["isolated"] is True
    maes = [r["metric_mae"] for r in together]
    assert len(set(maes)) == 3  # three different instances, not one estimate copied


def test_batched_adam_gives_each_instance_the_estimate_of_an_unbatched_run():
    vec = make_vec(TINY_FWI, num_envs=3)
    vec.reset(options={"split": "test", "index": [0, 1, 2]})
    solver = load_solver_class("adam")(iterations=5)
    estimates = solver.solve_batch(vec)
    for k in range(3):
        from invbench.registry import make

        env = make(TINY_FWI)
        env.reset(options={"split": "test", "index": k})
        single = load_solver_class("adam")(iterations=5).solve(env)
        np.testing.assert_array_equal(estimates[k], single)
        assert vec.bases[k].counter.used == env.unwrapped.counter.used == 10


def test_the_default_solve_batch_solves_one_after_another():
    vec = make_vec(TINY_DARCY, num_envs=2)
    vec.reset(options={"split": "test", "index": [0, 1]})
    solver = load_solver_class("lbfgs")(iterations=3)
    assert solver.batched is False
    out = solver.solve_batch(vec)
    assert len(out) == 2 and out[0].shape == vec.bases[0].field_shape
    assert all(b.counter.used > 0 for b in vec.bases)
    with pytest.raises(ValueError, match="callbacks"):
        solver.solve_batch(vec, callbacks=[None])


def test_a_diverging_instance_fails_alone_and_a_failing_batch_fails_every_cell():
    rows = [o.row for o in run_batch(cells_of(S + "BatchedBlowup", {"bad": 1}, TINY_FWI))]
    assert [r["status"] for r in rows] == ["done", "diverged", "done"]
    assert "misfit" in rows[1]["reason"] and np.isnan(rows[1].get("metric_mae", np.nan))
    assert all(r["pde_solves"] == 8 for r in rows)  # 4 batched evaluations, each counted per instance
    boom = [o.row for o in run_batch(cells_of(S + "BatchedBoom", {}, TINY_FWI))]
    assert [r["status"] for r in boom] == ["failed"] * 3
    assert all("boom in a batch" in r["reason"] and r["pde_solves"] == 2 for r in boom)


def test_a_batched_run_stores_one_row_per_cell_and_resumes_per_cell(tmp_path):
    plan = cells_of("adam", {"iterations": 3}, TINY_DARCY, n=4)
    first = run_benchmark(plan[:3], tmp_path, batch_size=2)
    assert len(first) == 3 and set(first["status"]) == {"done"}
    assert sorted(first["batch_size"]) == [1, 2, 2]
    store = ResultStore(tmp_path)
    assert set(store.finished()) == {c.cell_id for c in plan[:3]}
    again = run_benchmark(plan, tmp_path, batch_size=2, resume=True)
    assert len(again) == 4 and set(again["status"]) == {"done"}
    assert json.loads((tmp_path / "plan.json").read_text())["options"]["batch_size"] == 2


def test_cli_batch_size_is_checked(tmp_path):
    result = CliRunner().invoke(
        app, ["bench", "--suite", "smoke", "--out", str(tmp_path / "r"), "--batch-size", "lots"]
    )
    assert result.exit_code == 2 and "batch size must be a positive integer" in result.output
