import json

import pytest

from invbench.core.solver import BUILTIN_SOLVERS
from invbench.harness.cells import plan_cells
from invbench.harness.suites import SUITES, get_suite
from invbench.registry import FWI_FAMILIES, SUPERSEDED, fwi_task_id


def test_smoke_suite_is_tiny_tasks_times_every_builtin_solver():
    smoke = get_suite("smoke")
    cells = plan_cells(smoke)
    assert {c.task for c in cells} == {"invbench/FWI-Tiny-v0", "invbench/Darcy-Tiny-v0"}
    assert {c.solver for c in cells} == set(BUILTIN_SOLVERS)
    assert len(cells) == 2 * 2 * len(BUILTIN_SOLVERS)
    assert all(c.max_iterations == smoke.max_iterations for c in cells)
    assert len({c.cell_id for c in cells}) == len(cells)


def test_standard_suite_covers_every_family():
    std = SUITES["standard"]
    counts = {ts.task: ts.instances for ts in std.tasks}
    assert all(counts[fwi_task_id(f)] == 10 for f in FWI_FAMILIES)
    assert counts["invbench/Darcy-GRF-v0"] == counts["invbench/Darcy-Bimaterial-v0"] == 20
    assert std.max_iterations is None


def test_red_diffeq_suite_pairs_clean_and_degraded_tasks():
    suite = get_suite("red-diffeq")
    cells = plan_cells(suite)
    tasks = {c.task for c in cells}
    assert len(tasks) == 4 * 5 and all(ts.instances == 3 for ts in suite.tasks)
    for fam in ("FlatVel-A", "CurveVel-A", "FlatFault-A", "CurveFault-A"):
        assert {fwi_task_id(fam), fwi_task_id(fam, "Noise20")} <= tasks
    assert "invbench/FWI-CurveFault-A-Noise20-v1" in tasks and "invbench/FWI-FlatVel-A-v0" in tasks
    assert {c.solver for c in cells} == {"red-diffeq", "diffusion-fwi", "tikhonov", "tv", "adam"}
    assert len(cells) == 20 * 3 * 5


def test_suites_run_no_superseded_task():
    for suite in SUITES.values():
        old = [ts.task for ts in suite.tasks if ts.task in SUPERSEDED]
        assert not old, f"{suite.name} runs superseded tasks {old}"


def test_overrides_and_params():
    cells = plan_cells(
        get_suite("smoke"),
        tasks=["FWI-Tiny-v0"],
        solvers=["adam"],
        instances=3,
        repetitions=2,
        base_seed=5,
        user_params={"adam": {"lr": 0.1}, "*": {"iterations": 4}},
    )
    assert len(cells) == 6
    assert {json.dumps(c.params, sort_keys=True) for c in cells} == {'{"iterations": 4, "lr": 0.1}'}
    assert len({c.seed for c in cells}) == 6
    # the cell id depends on what runs, not on the time limit
    again = plan_cells(
        get_suite("smoke"),
        tasks=["FWI-Tiny-v0"],
        solvers=["adam"],
        instances=3,
        repetitions=2,
        base_seed=5,
        user_params={"adam": {"lr": 0.1}, "*": {"iterations": 4}},
        timeout=1.0,
    )
    assert [c.cell_id for c in cells] == [c.cell_id for c in again]


def test_instance_slices_are_the_same_cells_as_the_whole_plan():
    suite = get_suite("red-diffeq")
    whole = plan_cells(suite, tasks=["FWI-FlatVel-A-v0"], solvers=["tv"])
    tail = plan_cells(suite, tasks=["FWI-FlatVel-A-v0"], solvers=["tv"], first_instance=1, instances=2)
    assert [c.index for c in whole] == [0, 1, 2] and [c.index for c in tail] == [1, 2]
    assert [(c.cell_id, c.seed) for c in tail] == [(c.cell_id, c.seed) for c in whole[1:]]
    assert not any(c.save_example for c in tail) and whole[0].save_example
    with pytest.raises(ValueError, match="first instance"):
        plan_cells(suite, first_instance=-1)


def test_bad_plans_raise():
    smoke = get_suite("smoke")
    with pytest.raises(ValueError, match="unknown task"):
        plan_cells(smoke, tasks=["FWI-Nope-v0"])
    with pytest.raises(ValueError, match="unknown solver"):
        plan_cells(smoke, solvers=["adamm"])
    with pytest.raises(ValueError, match="no parameters"):
        plan_cells(smoke, solvers=["adam"], user_params={"adam": {"lrr": 1}})
    with pytest.raises(ValueError, match="unknown suite"):
        get_suite("huge")


@pytest.mark.parametrize(
    ("user_params", "message"),
    [
        (
            {"ad": {"lr": 3}},
            r"-p ad.lr: 'ad' is not a solver of this run \(adam, lbfgs\) \(did you mean adam\?\)",
        ),
        (
            {"*": {"lrr": 3}},
            r"-p lrr: no solver of this run \(adam, lbfgs\) has a parameter 'lrr' \(did you mean lr\?\)",
        ),
        ({"adam": {"lrr": 3}}, r"solver 'adam' has no parameters \['lrr'\]"),
    ],
)
def test_unknown_solver_or_parameter_in_p_is_an_error(user_params, message):
    with pytest.raises(ValueError, match=message):
        plan_cells(get_suite("smoke"), solvers=["adam", "lbfgs"], user_params=user_params)


def test_p_for_one_solver_of_the_run_is_kept():
    cells = plan_cells(get_suite("smoke"), solvers=["adam", "lbfgs"], user_params={"adam": {"lr": 3}})
    assert {c.solver: c.params.get("lr") for c in cells} == {"adam": 3, "lbfgs": None}
