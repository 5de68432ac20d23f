"""Attacks on the harness by a solver: each is refused or recorded, and the benchmark goes on."""

import numpy as np
import pytest

from invbench.core.errors import EpisodeStateError, HarnessOnlyError
from invbench.harness.execute import run_cell
from invbench.harness.isolation import kill_grace
from invbench.harness.runner import run_benchmark
from invbench.registry import make

from .test_execute import S, cell

TINY_FWI = "invbench/FWI-Tiny-v0"


@pytest.mark.parametrize("isolate", [True, False])
def test_the_instance_a_solver_holds_has_no_truth(isolate):
    row = run_cell(cell(S + "ReadTruth"), isolate=isolate).row
    assert row["status"] == "failed" and "no truth in the instance" in row["reason"]
    assert row["isolated"] is isolate


@pytest.mark.parametrize("road", ["true_model", "propagator"])
def test_the_public_roads_to_the_truth_and_the_physics_are_closed(road):
    row = run_cell(cell(S + "ReadTruth", {"road": road}, task=TINY_FWI)).row
    assert row["status"] == "failed"
    assert "HarnessOnlyError" in row["reason"] and "not available to a solver" in row["reason"]


def test_writing_the_truth_does_not_change_the_score():
    honest = run_cell(cell("initial")).row
    cheat = run_cell(cell(S + "WriteTruth")).row
    assert cheat["status"] == honest["status"] == "done"
    assert cheat["metric_mae"] == pytest.approx(honest["metric_mae"]) and cheat["metric_mae"] > 0


def test_a_solver_cannot_reset_to_another_instance():
    row = run_cell(cell(S + "ResetOther")).row
    assert row["status"] == "failed" and "cannot reset" in row["reason"]
    assert row["instance"] == 0 and row["pde_solves"] == 2  # its one step is still counted


def test_calling_the_simulator_directly_is_counted():
    row = run_cell(cell(S + "Internals", {"calls": 3})).row
    assert row["status"] == "done" and row["forward_solves"] == 3
    over = run_cell(cell(S + "Internals", {"calls": 10_000})).row
    assert over["status"] == "failed" and "BudgetExhaustedError" in over["reason"]
    assert over["pde_solves"] <= over["budget"]


def test_a_solver_side_environment_refuses_scoring_and_a_second_reset():
    harness = make("invbench/Darcy-Tiny-v0")
    harness.reset(options={"split": "test", "index": 1})
    public = harness.unwrapped.public_instance()
    assert public.truth is None and harness.unwrapped.instance.truth is not None
    env = make("invbench/Darcy-Tiny-v0")
    env.unwrapped.serve(public)
    with pytest.raises(EpisodeStateError, match="serves test #1"):
        env.reset(options={"split": "test", "index": 2})
    env.reset(options={"split": "test", "index": 1})
    misfit, _ = env.unwrapped.evaluate(public.initial, gradient=False)
    assert misfit == pytest.approx(harness.unwrapped.evaluate(public.initial, gradient=False)[0])
    with pytest.raises(EpisodeStateError, match="cannot reset"):
        env.reset(options={"split": "test", "index": 1})
    with pytest.raises(HarnessOnlyError):
        env.unwrapped.finalize(public.initial)
    with pytest.raises(ValueError, match="truth"):
        make("invbench/Darcy-Tiny-v0").unwrapped.serve(harness.unwrapped.instance)


def test_a_solver_that_swallows_the_timeout_is_killed_and_recorded():
    timeout = 0.5
    row = run_cell(cell(S + "Stubborn", timeout=timeout)).row
    assert row["status"] == "timeout" and "killed" in row["reason"]
    assert row["wall_time"] <= timeout + kill_grace(timeout) + 5


def test_an_estimate_returned_after_the_deadline_is_not_scored():
    row = run_cell(cell(S + "Stubborn", {"forever": False}, timeout=0.3)).row
    assert row["status"] == "timeout" and "not scored" in row["reason"]
    assert not any(k.startswith("metric_") for k in row)


@pytest.mark.parametrize(
    ("how", "says"),
    [("sys.exit", "SystemExit: 3"), ("os._exit", "exit code 3"), ("interrupt", "KeyboardInterrupt")],
)
def test_a_solver_that_leaves_the_process_gives_a_failed_row_and_the_run_goes_on(tmp_path, how, says):
    cells = [cell(S + "Exits", {"how": how}), cell("initial")]
    results = run_benchmark(cells, tmp_path)
    by_solver = dict(zip(results["solver"], results.to_dict("records"), strict=True))
    assert by_solver["exits"]["status"] == "failed" and says in by_solver["exits"]["reason"]
    assert by_solver["initial"]["status"] == "done"
    again = run_benchmark(cells, tmp_path, resume=True, retry_failed=True)
    assert len(again) == 2


def test_isolated_and_in_process_cells_score_the_same():
    a = run_cell(cell("adam", {"iterations": 3})).row
    b = run_cell(cell("adam", {"iterations": 3}), isolate=False).row
    for key in ("status", "pde_solves", "forward_solves", "adjoint_solves", "iterations"):
        assert a[key] == b[key]
    np.testing.assert_allclose(a["metric_mae"], b["metric_mae"], rtol=1e-6)
