"""Classical baselines on the Tiny tasks: misfit goes down, the budget holds, runs repeat exactly."""

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

from baselines.lbfgs import LBFGS
from baselines.multiscale import Multiscale, split_iterations
from baselines.regularized import Tikhonov, TotalVariation, mean_data_power, tikhonov_penalty, tv_penalty
from invbench.core.solver import load_solver_class
from invbench.registry import make

REPO = Path(__file__).resolve().parents[2]
FWI_TINY = ("FWI-Tiny-v0", {"observed_solver": "deepwave"})
DARCY_TINY = ("Darcy-Tiny-v0", {})
FWI_SOLVERS = ("lbfgs", "tikhonov", "tv", "multiscale")
DARCY_SOLVERS = ("adam", "lbfgs", "tikhonov", "tv")
CASES = [(FWI_TINY, s) for s in FWI_SOLVERS] + [(DARCY_TINY, s) for s in DARCY_SOLVERS]
IDS = [f"{t[0]}-{s}" for t, s in CASES]


def _env(task, budget=None, index=1):
    tid, kwargs = task
    if tid.startswith("Darcy"):
        pytest.importorskip("invbench.tasks.darcy.env")
    extra = {} if budget is None else {"budget": budget}
    env = make(tid, **kwargs, **extra)
    env.reset(seed=0, options={"index": index})
    return env


def _initial_misfit(task, index=1):
    env = _env(task, index=index)
    return env.unwrapped.finalize(env.unwrapped.instance.initial)["data_misfit"]


def _solve(task, solver, iterations, budget=None, index=1):
    env = _env(task, budget=budget, index=index)
    history = []
    est = load_solver_class(solver)(iterations=iterations).solve(env, callback=history.append)
    return env, est, history


@pytest.mark.parametrize(("task", "solver"), CASES, ids=IDS)
def test_baseline_lowers_misfit_within_budget(task, solver):
    env, est, history = _solve(task, solver, iterations=8)
    base = env.unwrapped
    assert base.counter.used <= base.budget
    assert 1 <= len(history) <= 8
    assert [p.iteration for p in history] == list(range(1, len(history) + 1))
    assert all(p.info["pde_solves"] <= base.budget for p in history)
    assert est.shape == base.field_shape and est.dtype == np.float32
    assert base.field_low <= est.min() and est.max() <= base.field_high
    assert base.finalize(est)["data_misfit"] < 0.9 * _initial_misfit(task)


@pytest.mark.parametrize(("task", "solver"), CASES, ids=IDS)
def test_baseline_stops_at_a_small_budget(task, solver):
    env, est, history = _solve(task, solver, iterations=300, budget=10)
    assert env.unwrapped.counter.used <= 10
    assert env.unwrapped.counter.used >= 8  # it spends what it has
    assert len(history) >= 1 and np.isfinite(est).all()


@pytest.mark.parametrize(("task", "solver"), CASES, ids=IDS)
def test_baseline_is_deterministic(task, solver):
    _, est1, h1 = _solve(task, solver, iterations=3)
    _, est2, h2 = _solve(task, solver, iterations=3)
    np.testing.assert_array_equal(est1, est2)
    assert [p.misfit for p in h1] == [p.misfit for p in h2]


def test_adam_is_tikhonov_without_regularisation():
    """Both run the one shared Adam loop: with lam = 0 the iterates match exactly; lam > 0 changes them."""
    _, adam, h_adam = _solve(FWI_TINY, "adam", iterations=3)
    env = _env(FWI_TINY)
    h0: list = []
    tik0 = Tikhonov(iterations=3, lam=0.0, reg_scale="relative").solve(env, callback=h0.append)
    np.testing.assert_array_equal(adam, tik0)
    assert [p.misfit for p in h_adam] == [p.misfit for p in h0]
    env = _env(FWI_TINY)
    tik = Tikhonov(iterations=3, lam=10.0, reg_scale="relative").solve(env)
    assert np.abs(tik - adam).max() > 0


def test_lbfgs_counts_line_search_evaluations():
    env, _, history = _solve(FWI_TINY, "lbfgs", iterations=5)
    counter = env.unwrapped.counter
    # Every objective evaluation (including line-search trials) is one step: 1 forward + 1 adjoint.
    assert counter.forward == counter.adjoint >= len(history) + 1


def test_applies_to_reasons():
    fwi, darcy = _env(FWI_TINY), _env(DARCY_TINY)
    for name in ("adam", "lbfgs", "tikhonov", "tv", "multiscale"):
        assert load_solver_class(name)().applies_to(fwi) is None
    for name in ("adam", "lbfgs", "tikhonov", "tv"):
        assert load_solver_class(name)().applies_to(darcy) is None
    reason = Multiscale().applies_to(darcy)
    assert reason is not None and "darcy" in reason and "time" in reason


def test_family_defaults_resolve():
    fwi, darcy = _env(FWI_TINY), _env(DARCY_TINY)
    assert Tikhonov().resolve_params(fwi)["reg_scale"] == "mean"
    assert Tikhonov().resolve_params(fwi)["lam"] == 0.01
    assert TotalVariation().resolve_params(darcy)["reg_scale"] == "relative"
    assert LBFGS().resolve_params(darcy) == LBFGS.defaults


def test_lambda_conversion_matches_mean_loss_balance():
    env = _env(FWI_TINY)
    base = env.unwrapped
    inst = base.instance
    d = inst.observed.double()
    mean_sq = float((d**2).mean())  # no missing traces here: the mean over every entry
    assert math.isclose(mean_data_power(inst.observed, inst.mask, "l2"), mean_sq, rel_tol=1e-9)
    solver = Tikhonov()
    solver.resolve_params(env)
    assert math.isclose(solver.effective_lambda(env), 0.01 / mean_sq, rel_tol=1e-9)
    solver = Tikhonov(reg_scale="relative", lam=0.2)
    solver.resolve_params(env)
    assert solver.effective_lambda(env) == 0.2


def test_regularizers_on_known_fields():
    import torch

    ramp = torch.arange(5.0).repeat(4, 1)[None]  # (1, 4, 5): +1 along x, constant in depth
    assert math.isclose(float(tikhonov_penalty(ramp)), 1.0)
    assert math.isclose(float(tv_penalty(ramp, 0.0)), 1.0)
    assert math.isclose(float(tv_penalty(torch.zeros(1, 4, 5), 1e-4)), 2e-4, rel_tol=1e-6)


def test_multiscale_stage_plan():
    assert split_iterations(300, 4) == [75, 75, 75, 75]
    assert split_iterations(5, 4) == [1, 1, 1, 2]
    assert split_iterations(2, 4) == [0, 0, 1, 1]


def test_multiscale_full_band_stage_is_the_env_misfit():
    env = _env(FWI_TINY)
    base = env.unwrapped
    history = []
    Multiscale(cutoffs=[0.0], iterations=1).solve(env, callback=history.append)
    env2 = _env(FWI_TINY)
    misfit0, _ = env2.unwrapped.evaluate(env2.unwrapped.instance.initial, gradient=False)
    assert math.isclose(history[0].misfit, misfit0, rel_tol=1e-5)
    assert base.counter.used == 2


@pytest.mark.slow
@pytest.mark.parametrize("solver", ["tikhonov", "tv"])
def test_regularized_lower_model_error_on_flatvel(solver):
    # The default 300-iteration schedule, cut by the budget after 60 steps (1.5-2 min on one core).
    env = make("FWI-FlatVel-A-v0", budget=120)
    obs, _ = env.reset(seed=0, options={"index": 0})
    initial_mae = env.unwrapped.finalize(obs["initial_model"])["mae"]
    env.reset(seed=0, options={"index": 0})
    est = load_solver_class(solver)().solve(env)
    assert env.unwrapped.counter.used == 120
    assert env.unwrapped.finalize(est)["mae"] < 0.95 * initial_mae


def test_baseline_table_script(tmp_path):
    module = importlib.import_module("studies.baselines.baseline_table")
    out = tmp_path / "table.md"
    module.main(
        [
            "--tasks", "FWI-Tiny-v0",
            "--solvers", "adam,tv,multiscale",
            "--instances", "2",
            "--param", "iterations=2",
            "--option", "observed_solver=deepwave",
            "--out", str(out),
        ]
    )  # fmt: skip
    text = out.read_text()
    assert "initial model (no inversion)" in text
    for name in ("adam", "tv", "multiscale", "MAE", "SSIM", "PDE solves", " ± "):
        assert name in text
    rows = [line for line in text.splitlines() if line.startswith("| adam")]
    assert len(rows) == 1 and "| 4 ± 0 |" in rows[0]


def test_baseline_table_keeps_parameter_sets_apart(tmp_path):
    """Rows of one solver under two parameter sets are two rows, and --solvers filters the file."""
    import pandas as pd

    module = importlib.import_module("studies.baselines.baseline_table")
    rows = [
        {"task": "invbench/FWI-Tiny-v0", "split": "test", "instance": i, "solver": solver, "params": params,
         "status": "done", "reason": "", "pde_solves": 10, "wall_time": 1.0, "metric_mae": mae}
        for solver, params, mae, i in [
            ("adam", '{"data_loss": "task", "lr": 0.03}', 0.1, 0),
            ("adam", '{"data_loss": "mean_l1", "lr": 0.03}', 0.3, 0),
            ("adam", '{"data_loss": "mean_l1", "lr": 0.03}', 0.5, 1),
            ("tv", '{"lam": 0.1}', 0.2, 0),
        ]
    ]  # fmt: skip
    results = tmp_path / "results.parquet"
    pd.DataFrame(rows).to_parquet(results)
    table, notes, used, indices, _ = module.rows_from_results(
        results, "invbench/FWI-Tiny-v0", seed=0, solvers=["adam"]
    )
    assert indices == [0, 1] and "tv" not in table
    assert [r["mae"] for r in table["adam (data_loss=task)"]] == [0.1]
    assert [r["mae"] for r in table["adam (data_loss=mean_l1)"]] == [0.3, 0.5]
    assert "instances [0] only" in notes["adam (data_loss=task)"]
    assert "adam (data_loss=mean_l1)" not in notes
    assert used["adam (data_loss=mean_l1)"]["data_loss"] == "mean_l1"
    assert module.variant_labels("tv", [{"lam": 0.1}]) == ["tv"]
    only_first, _, _, indices, _ = module.rows_from_results(
        results, "invbench/FWI-Tiny-v0", seed=0, indices=[0]
    )
    assert indices == [0] and [r["mae"] for r in only_first["adam (data_loss=mean_l1)"]] == [0.3]
