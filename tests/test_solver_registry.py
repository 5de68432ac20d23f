"""The solver protocol: parameters per task family, the registry, and a user's own solver."""

import json
import sys
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import ClassVar

import pytest
from typer.testing import CliRunner

import invbench.core.solver as solver_mod
from invbench.cli import app
from invbench.core.solver import BUILTIN_SOLVERS, Solver, load_solver_class, task_family
from invbench.harness.single import run_single
from invbench.registry import make

REPO = Path(__file__).resolve().parents[1]
FAST_FWI = {"observed_solver": "deepwave"}


@pytest.fixture
def repo_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(REPO))


class _Toy(Solver):
    name = "toy"
    defaults: ClassVar[dict] = {"lr": 0.1, "iterations": 5}
    family_defaults: ClassVar[dict] = {"darcy": {"lr": 0.5}}

    def solve(self, env, *, callback=None):
        return env.unwrapped.instance.initial


def test_params_resolve_per_family_with_overrides_last():
    fwi = make("FWI-Tiny-v0")
    darcy = make("Darcy-Tiny-v0")
    assert task_family(fwi) == "fwi" and task_family(darcy) == "darcy"
    assert _Toy().params == {"lr": 0.1, "iterations": 5}
    assert _Toy().resolve_params(fwi) == {"lr": 0.1, "iterations": 5}
    toy = _Toy()
    assert toy.resolve_params(darcy) == {"lr": 0.5, "iterations": 5}
    assert toy.params["lr"] == 0.5
    assert _Toy(lr=0.2).resolve_params(darcy) == {"lr": 0.2, "iterations": 5}


def test_unknown_parameter_and_undeclared_family_default():
    with pytest.raises(ValueError, match="unknown parameters"):
        _Toy(step=1)
    with pytest.raises(TypeError, match="not declared in defaults"):

        class _Bad(Solver):
            defaults: ClassVar[dict] = {"lr": 0.1}
            family_defaults: ClassVar[dict] = {"fwi": {"momentum": 0.9}}


def test_families_give_a_skip_reason():
    class _FwiOnly(Solver):
        name = "fwi-only"
        families = ("fwi",)

        def solve(self, env, *, callback=None):
            return env.unwrapped.instance.initial

    assert _FwiOnly().applies_to(make("FWI-Tiny-v0")) is None
    reason = _FwiOnly().applies_to(make("Darcy-Tiny-v0"))
    assert reason is not None and "darcy" in reason


def test_a_solver_without_solve_is_refused(tmp_path, monkeypatch):
    (tmp_path / "half_solver_mod.py").write_text(
        "from invbench.core.solver import Solver\n\nclass Half(Solver):\n    name = 'half'\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ValueError, match="does not implement solve"):
        load_solver_class("half_solver_mod:Half")
    sys.modules.pop("half_solver_mod", None)


def test_builtin_names_load_their_solvers():
    for short, target in BUILTIN_SOLVERS.items():
        cls = load_solver_class(short)
        assert issubclass(cls, Solver) and cls.name == short, target


def test_unknown_name_lists_close_matches():
    with pytest.raises(ValueError, match=r"unknown solver 'tikhonv'.*Did you mean: tikhonov"):
        load_solver_class("tikhonv")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_such_module_xyz:Foo", "cannot load solver"),
        ("examples.my_solver:NoSuchClass", "cannot load solver"),
        ("json:JSONDecoder", "not an invbench.core.solver.Solver subclass"),
        (":MySolver", "expected 'package.module:Class'"),
        ("examples.my_solver:", "expected 'package.module:Class'"),
    ],
)
def test_bad_module_class_errors(repo_on_path, spec, message):
    with pytest.raises(ValueError, match=message):
        load_solver_class(spec)


def test_entry_point_solvers_are_found(repo_on_path, monkeypatch):
    ep = EntryPoint(name="my-sd", value="examples.my_solver:MySolver", group="invbench.solvers")
    monkeypatch.setattr(solver_mod, "entry_points", lambda group: [ep] if group == "invbench.solvers" else [])
    assert load_solver_class("my-sd").__name__ == "MySolver"
    assert "my-sd" in solver_mod.available_solvers()


def test_module_class_found_in_current_directory(tmp_path, monkeypatch):
    (tmp_path / "user_solver_mod.py").write_text(
        "from invbench.core.solver import Solver\n\nclass UserSolver(Solver):\n    name = 'user'\n"
        "    def solve(self, env, *, callback=None):\n        return None\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", ".", str(tmp_path))])
    monkeypatch.delitem(sys.modules, "user_solver_mod", raising=False)
    try:
        assert load_solver_class("user_solver_mod:UserSolver").name == "user"
    finally:
        sys.modules.pop("user_solver_mod", None)


def test_run_single_with_a_users_module_class(repo_on_path):
    result, outcome = run_single(
        "invbench/FWI-Tiny-v0",
        "examples.my_solver:MySolver",
        options=FAST_FWI,
        params={"iterations": 4},
    )
    arrays = outcome.figure
    assert result.solver == "my-steepest-descent"
    assert result.params == {"step": 0.02, "iterations": 4}
    assert result.counters["pde_solves"] == 8
    misfits = [h["misfit"] for h in result.history]
    assert len(misfits) == 4 and misfits[-1] < misfits[0]
    assert arrays["estimate"].shape == arrays["truth"].shape


def test_run_single_records_family_resolved_params(repo_on_path):
    result, _ = run_single("Darcy-Tiny-v0", "examples.my_solver:MySolver", params={"iterations": 2})
    assert result.params == {"step": 0.05, "iterations": 2}
    assert result.counters["pde_solves"] == 4


def test_cli_runs_a_users_module_class(repo_on_path, tmp_path):
    args = ["run", "--task", "FWI-Tiny-v0", "--solver", "examples.my_solver:MySolver"]
    args += ["-p", "iterations=2", "-o", "observed_solver=deepwave", "--out", str(tmp_path)]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    (result_file,) = tmp_path.glob("*/result.json")
    data = json.loads(result_file.read_text())
    assert data["solver"] == "my-steepest-descent" and data["counters"]["pde_solves"] == 4


def test_cli_reports_a_bad_module_class(tmp_path):
    args = ["run", "--task", "FWI-Tiny-v0", "--solver", "no_such_module_xyz:Foo", "--out", str(tmp_path)]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2 and "cannot load solver" in res.output
