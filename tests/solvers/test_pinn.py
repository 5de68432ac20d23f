"""The Darcy PINN: its residual and boundary losses, training, determinism and its harness row."""

from __future__ import annotations

import math

import pytest
import torch

from invbench.core.solver import load_solver_class
from invbench.harness.cells import Cell, to_json
from invbench.harness.execute import run_cell
from invbench.physics.darcy.fv import DarcyProblem
from invbench.registry import make
from solvers.pinn.solver import PINN, DarcyPINN

FAST = {"adam_steps": 30, "lbfgs_iterations": 20, "hidden": 16}


def _env(seed=0, **kwargs):
    env = make("invbench/Darcy-Tiny-v0", **kwargs)
    env.reset(seed=seed, options={"index": 1})
    return env


def _model(source=1.0):
    return DarcyPINN(hidden=8, layers=2, center=0.0, scale=1.0, u_scale=1.0, r_scale=1.0, source=source)


def test_registered_and_darcy_only():
    assert load_solver_class("pinn") is PINN
    reason = PINN().applies_to(make("invbench/FWI-Tiny-v0", observed_solver="deepwave"))
    assert reason is not None and "darcy" in reason and "wavefield" in reason
    assert PINN().applies_to(_env()) is None


def test_residual_matches_a_manufactured_solution():
    model = _model(source=1.0)
    model.head = lambda xy: torch.sin(math.pi * xy[:, :1]) * torch.sin(math.pi * xy[:, 1:])
    model.log_k = lambda xy: xy[:, :1] + xy[:, 1:]
    xy = torch.rand(50, 2, dtype=torch.float32)
    x, y = xy[:, :1], xy[:, 1:]
    u = torch.sin(math.pi * x) * torch.sin(math.pi * y)
    k = torch.exp(x + y)
    u_x = math.pi * torch.cos(math.pi * x) * torch.sin(math.pi * y)
    u_y = math.pi * torch.sin(math.pi * x) * torch.cos(math.pi * y)
    expected = k * (-2 * math.pi**2 * u) + k * u_x + k * u_y + 1.0
    torch.testing.assert_close(model.residual(xy), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("bc", ["dirichlet0", "head_drop"])
def test_boundary_loss_vanishes_on_a_solution_and_not_elsewhere(bc):
    problem = DarcyProblem(n=16, bc=bc)
    env = _env(bc=bc)
    solver = PINN(boundary_points=9)
    solver.resolve_params(env)
    pts = solver._points(env.unwrapped, torch.device("cpu"))
    model = _model()
    if bc == "dirichlet0":
        model.head = lambda xy: xy[:, :1] * (1 - xy[:, :1]) * xy[:, 1:] * (1 - xy[:, 1:])
    else:
        model.head = lambda xy: 1.0 - xy[:, :1] + 0.0 * xy[:, 1:]
    assert float(solver._bc_loss(model, pts, problem).detach()) < 1e-12
    model.head = lambda xy: 0.5 + xy[:, 1:] ** 2 + 0.0 * xy[:, :1]
    assert float(solver._bc_loss(model, pts, problem).detach()) > 1e-2


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"hidden": 0}, "hidden must be an integer >= 1"),
        ({"w_pde": -1.0}, "w_pde must be a finite number"),
        ({"adam_steps": 0, "lbfgs_iterations": 0}, "at least 1"),
        ({"adam_lr": 0.0}, "adam_lr must be > 0"),
        ({"boundary_points": 1}, "boundary_points must be an integer >= 2"),
    ],
)
def test_bad_parameters_are_named(params, match):
    with pytest.raises(ValueError, match=match):
        PINN(**params).solve(_env())


def test_training_fits_the_heads_without_a_pde_solve():
    env = _env()
    progress = []
    est = PINN(**FAST).solve(env, callback=progress.append)
    base = env.unwrapped
    assert base.counter.used == 0
    assert est.shape == base.field_shape and base.field_low <= est.min() <= est.max() <= base.field_high
    phases = [p.info["phase"] for p in progress]
    assert phases[:30] == ["adam"] * 30 and phases[-1] == "lbfgs"
    evaluations = [p.info["network_evaluations"] for p in progress]
    assert evaluations == sorted(evaluations) and evaluations[-1] >= 50
    assert progress[-1].misfit < 0.5 * progress[0].misfit
    assert progress[-1].info["pde_loss"] < progress[0].info["pde_loss"]


def test_deterministic_under_a_seed_and_the_seed_moves_the_start():
    a = PINN(**FAST).solve(_env(seed=0))
    b = PINN(**FAST).solve(_env(seed=0))
    c = PINN(**FAST).solve(_env(seed=1))
    assert (a == b).all() and not (a == c).all()


def test_the_harness_row_records_network_evaluations_and_no_solves():
    cell = Cell(
        "pinn", "invbench/Darcy-Tiny-v0", "test", 1, "pinn", to_json(FAST), 0, 7, 7, 120.0,
        env_kwargs_json=to_json({"budget": 40}),
    )  # fmt: skip
    row = run_cell(cell).row
    assert row["status"] == "done", row["reason"] + row["traceback"]
    assert row["pde_solves"] == 0 and row["network_evaluations"] >= 50
    assert row["iterations"] >= 31 and row["metric_rel_l2"] > 0
