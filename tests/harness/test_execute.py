"""One cell through the harness: statuses, counters, metrics, params, memory."""

import json

import numpy as np

from invbench.harness.cells import Cell, to_json
from invbench.harness.execute import run_cell
from invbench.harness.single import run_single

S = "tests.harness.solvers:"


def cell(solver, params=None, task="invbench/Darcy-Tiny-v0", **kw):
    base = dict(
        suite="test",
        task=task,
        split="test",
        index=0,
        solver=solver,
        params_json=to_json(params or {}),
        repetition=0,
        base_seed=0,
        seed=123,
        timeout=30.0,
    )
    base.update(kw)
    return Cell(**base)


def test_done_row_matches_invbench_run_and_records_everything():
    out = run_cell(cell("adam", {"iterations": 3}, task="invbench/FWI-Tiny-v0", save_example=True))
    row = out.row
    assert row["status"] == "done", row["reason"]
    ref, _ = run_single("FWI-Tiny-v0", "adam", seed=123, params={"iterations": 3}, timeout=30.0)
    assert ref.row["cell_id"] != row["cell_id"] and ref.metrics
    for k, v in ref.metrics.items():
        assert row[f"metric_{k}"] == v
    assert (row["forward_solves"], row["adjoint_solves"], row["pde_solves"]) == (3, 3, 6)
    assert row["budget"] == 100 and row["iterations"] == 3 and len(out.curve) == 3
    assert json.loads(row["params"]) == {"data_loss": "task", "iterations": 3, "lr": 0.03}
    assert len(row["params_hash"]) == 12
    assert row["peak_rss_mb"] > 50 and row["rss_delta_mb"] >= 0 and np.isnan(row["peak_gpu_mb"])
    assert row["device_type"] == "cpu" and row["torch_version"] and row["invbench_version"]
    assert row["checkpoint_hashes"] == "{}" and row["weights"] == "[]" and row["amortized"] is False
    assert (row["training_steps"], row["training_wall_time"], row["training_devices"]) == (0, 0.0, "")
    assert json.loads(row["task_options"])["budget"] == 100 and row["schema_version"] == 3
    assert [p["pde_solves"] for p in out.curve] == [2, 4, 6]
    assert set(out.example) == {"truth", "initial", "estimate"}


def test_iteration_cap_is_applied_and_recorded():
    row = run_cell(cell("adam", max_iterations=2)).row
    assert row["status"] == "done" and row["iterations"] == 2
    assert json.loads(row["params"])["iterations"] == 2


def test_failing_solver_gives_failed_row_with_message_and_counts():
    row = run_cell(cell(S + "Boom")).row
    assert row["status"] == "failed"
    assert row["reason"] == "RuntimeError: boom after one step"
    assert "Traceback" in row["traceback"]
    assert row["pde_solves"] == 2


def test_unloadable_solver_is_a_failed_row():
    row = run_cell(cell("tests.harness.solvers:Missing")).row
    assert row["status"] == "failed" and "Missing" in row["reason"]


def test_skipped_rows_carry_the_reason():
    row = run_cell(cell(S + "Fussy")).row
    assert row["status"] == "skipped" and row["reason"] == "needs a quantum computer"
    row = run_cell(cell("multiscale")).row
    assert row["status"] == "skipped" and "darcy" in row["reason"]
    assert row["pde_solves"] == 0


def test_cooperative_timeout():
    row = run_cell(cell(S + "Sleepy", timeout=0.3)).row
    assert row["status"] == "timeout" and "0.3" in row["reason"]
    assert 0.25 < row["wall_time"] < 2


def test_watchdog_stops_a_solver_that_never_reports():
    row = run_cell(cell(S + "Hang", timeout=0.3)).row
    assert row["status"] == "timeout" and "watchdog" in row["reason"]
    assert row["wall_time"] < 2


def test_divergence():
    row = run_cell(cell(S + "Blowup")).row
    assert row["status"] == "diverged" and "grew" in row["reason"]
    row = run_cell(cell(S + "NaNEstimate")).row
    assert row["status"] == "diverged" and "NaN" in row["reason"]


def test_weights_and_training_cost_are_recorded():
    out = run_cell(cell(S + "Initial"))
    row = out.row
    assert row["status"] == "done" and row["amortized"] is True
    assert json.loads(row["checkpoint_hashes"]) == {"prior": "ab" * 32}
    (record,) = json.loads(row["weights"])
    assert record["manifest_sha256"] == "cd" * 32 and out.weights == [record]
    assert (row["training_steps"], row["training_wall_time"], row["training_devices"]) == (100, 12.5, "cuda")
