"""The solver contract, checked for every registered solver (as Gymnasium checks every registered id).

Each solver declares its families and parameters, resolves them against a task, solves a Tiny task of
each family inside the budget, is deterministic under a seed on the CPU, reports its weights and
training cost, and skips a task it does not apply to with a reason. Solvers with a ``prior``
parameter get a tiny prior of the task's domain, solvers with a ``weights`` parameter an untrained tiny
autoencoder or latent diffusion model (the shipped ones are for full-size fields).
"""

from __future__ import annotations

import json

import pytest

from invbench.core.solver import available_solvers, load_solver_class
from invbench.harness.cells import Cell, to_json
from invbench.harness.execute import run_cell
from invbench.harness.suites import ITERATION_PARAMS
from invbench.registry import make
from tests.nn.conftest import write_tiny_autoencoder, write_tiny_checkpoint, write_tiny_latent_diffusion

SOLVERS = sorted(available_solvers())
TASKS = {"fwi": "invbench/FWI-Tiny-v0", "darcy": "invbench/Darcy-Tiny-v0"}
OPTIONS = {"fwi": {"budget": 40, "observed_solver": "deepwave"}, "darcy": {"budget": 40}}


@pytest.fixture(scope="module")
def tiny_priors(tiny_fwi_prior, tmp_path_factory):
    darcy = tmp_path_factory.mktemp("contract") / "darcy-grf-tiny.safetensors"
    write_tiny_checkpoint(darcy, domain="darcy-grf", shape=(16, 16))
    return {"fwi": str(tiny_fwi_prior), "darcy": str(darcy)}


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory):
    """Tiny untrained latent models: ``{(model, family): path}`` for the Tiny tasks' field shapes."""
    root = tmp_path_factory.mktemp("latent")
    weights = {}
    for family, domain, shape in (("darcy", "darcy-grf", (16, 16)), ("fwi", "fwi", (32, 32))):
        vae = root / f"{domain}-vae-tiny.safetensors"
        write_tiny_autoencoder(vae, domain=domain, shape=shape)
        ldm = root / f"{domain}-ldm-tiny.safetensors"
        write_tiny_latent_diffusion(ldm, vae)
        weights["vae", family], weights["ldm", family] = str(vae), str(ldm)
    return weights


@pytest.fixture(scope="module")
def tiny_models(tiny_priors, tiny_weights):
    return {"prior": tiny_priors, "weights": tiny_weights}


def _params(cls, family, models):
    params = {k: 2 for k in ITERATION_PARAMS if k in cls.defaults}
    if "prior" in cls.defaults:
        params["prior"] = models["prior"][family]
    if "weights" in cls.defaults:
        params["weights"] = models["weights"][cls.model, family]
    return params


def _cell(name, family, params):
    return Cell(
        "contract", TASKS[family], "test", 1, name, to_json(params), 0, 7, 7, 120.0,
        env_kwargs_json=to_json(OPTIONS[family]),
    )  # fmt: skip


@pytest.mark.parametrize("name", SOLVERS)
def test_declares_name_families_and_parameters(name):
    cls = load_solver_class(name)
    assert cls.name == name
    assert cls.families is None or (cls.families and set(cls.families) <= set(TASKS))
    assert isinstance(cls.amortized, bool) and isinstance(cls.defaults, dict)
    for family, overrides in cls.family_defaults.items():
        assert family in TASKS and set(overrides) <= set(cls.defaults)
    with pytest.raises(ValueError, match="unknown parameters"):
        cls(not_a_parameter_of_any_solver=1)


@pytest.mark.parametrize("family", sorted(TASKS))
@pytest.mark.parametrize("name", SOLVERS)
def test_solves_a_tiny_task_inside_the_budget_deterministically(name, family, tiny_models):
    cls = load_solver_class(name)
    params = _params(cls, family, tiny_models)
    env = make(TASKS[family], **OPTIONS[family])
    solver = cls(**params)
    reason = solver.applies_to(env)
    if cls.families is not None and family not in cls.families:
        assert isinstance(reason, str) and family in reason
        pytest.skip(reason)
    if reason is not None:
        assert isinstance(reason, str) and reason
        pytest.skip(reason)
    resolved = solver.resolve_params(env)
    assert set(resolved) == set(cls.defaults) and all(resolved[k] == v for k, v in params.items())
    env.close()
    first = run_cell(_cell(name, family, params))
    row = first.row
    assert row["status"] == "done", row["reason"] + row["traceback"]
    assert 0 <= row["pde_solves"] <= row["budget"] == 40
    assert row["pde_solves"] == row["forward_solves"] + row["adjoint_solves"]
    assert row["amortized"] is cls.amortized
    weights = json.loads(row["weights"])
    assert all(len(w["sha256"]) == len(w["manifest_sha256"]) == 64 and "training" in w for w in weights)
    assert row["training_steps"] == sum(w["training"]["steps"] for w in weights)
    again = run_cell(_cell(name, family, params)).row
    metrics = sorted(k for k in row if k.startswith("metric_"))
    assert metrics and [row[k] for k in metrics] == [again[k] for k in metrics]
    assert row["pde_solves"] == again["pde_solves"]


@pytest.mark.parametrize("name", [n for n in SOLVERS if "prior" in load_solver_class(n).defaults])
def test_missing_weights_skip_with_the_command_that_trains_them(name, tmp_path):
    env = make(TASKS["fwi"], **OPTIONS["fwi"])
    reason = load_solver_class(name)(prior=str(tmp_path / "absent.safetensors")).applies_to(env)
    assert reason is not None and "invbench train-prior --domain fwi" in reason


@pytest.mark.parametrize("name", [n for n in SOLVERS if "weights" in load_solver_class(n).defaults])
@pytest.mark.parametrize("family", sorted(TASKS))
def test_missing_latent_weights_skip_with_the_command_that_trains_them(name, family, tmp_path):
    env = make(TASKS[family], **OPTIONS[family])
    reason = load_solver_class(name)(weights=str(tmp_path / "absent.safetensors")).applies_to(env)
    assert reason is not None and "invbench train --model vae --domain" in reason
