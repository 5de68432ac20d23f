"""LD-DIM and the physics-embedded VAE on Darcy-Tiny with tiny untrained latent models."""

from __future__ import annotations

import pytest
import torch

from invbench.core.solver import load_solver_class
from invbench.nn.weights import WeightsError
from invbench.registry import make
from solvers.ld_dim.solver import LDDIM
from solvers.ld_dim.vae import PhysicsVAE
from tests.nn.conftest import write_tiny_autoencoder, write_tiny_latent_diffusion


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """``{"vae": path, "ldm": path}`` of tiny untrained Darcy-GRF models for 16 x 16 fields."""
    root = tmp_path_factory.mktemp("ld_dim")
    vae = root / "darcy-grf-vae-tiny.safetensors"
    write_tiny_autoencoder(vae, domain="darcy-grf", shape=(16, 16))
    ldm = root / "darcy-grf-ldm-tiny.safetensors"
    write_tiny_latent_diffusion(ldm, vae)
    return {"vae": str(vae), "ldm": str(ldm)}


def _env(budget=100, index=1, seed=0):
    env = make("invbench/Darcy-Tiny-v0", budget=budget)
    env.reset(seed=seed, options={"index": index})
    return env


def _solve(cls, weights, *, budget=100, seed=0, **params):
    env = _env(budget=budget, seed=seed)
    solver = cls(weights=weights, **params)
    assert solver.applies_to(env) is None
    solver.setup(env)
    progress = []
    est = solver.solve(env, callback=progress.append)
    return env, solver, est, progress


@pytest.mark.parametrize(("name", "cls"), [("ld-dim", LDDIM), ("vae", PhysicsVAE)])
def test_registered_and_auto_names_the_domains_lite_weights(name, cls):
    assert load_solver_class(name) is cls
    env = make("invbench/Darcy-GRF-v0")
    model = "ldm" if cls is LDDIM else "vae"
    assert cls().resolve_params(env)["weights"] == f"darcy-grf-{model}-lite"
    fwi = make("invbench/FWI-FlatVel-A-v0")
    assert cls().resolve_params(fwi)["weights"] == f"fwi-{model}-lite"


def test_the_wrong_kind_or_domain_of_weights_is_a_skip(tiny):
    env = _env()
    reason = PhysicsVAE(weights=tiny["ldm"]).applies_to(env)
    assert "'latent-diffusion' checkpoint, not 'autoencoder'" in reason
    assert "not 'latent-diffusion'" in LDDIM(weights=tiny["vae"]).applies_to(env)
    fwi = make("invbench/FWI-Tiny-v0", observed_solver="deepwave")
    assert "domain 'darcy-grf'" in PhysicsVAE(weights=tiny["vae"]).applies_to(fwi)


def test_weights_for_another_field_shape_are_a_skip(tmp_path):
    vae = tmp_path / "darcy-grf-vae-wide.safetensors"
    write_tiny_autoencoder(vae, domain="darcy-grf", shape=(32, 32))
    reason = PhysicsVAE(weights=str(vae)).applies_to(_env())
    assert reason is not None and "(32, 32)" in reason and "(16, 16)" in reason


def test_corrupt_weights_are_a_clear_error(tiny, tmp_path):
    import shutil

    vae = tmp_path / "corrupt.safetensors"
    shutil.copy(tiny["vae"], vae)
    shutil.copy(tiny["vae"].replace(".safetensors", ".json"), vae.with_suffix(".json"))
    data = bytearray(vae.read_bytes())
    data[-5] ^= 0xFF
    vae.write_bytes(data)
    solver = PhysicsVAE(weights=str(vae))
    with pytest.raises(WeightsError, match="corrupt"):
        solver.setup(_env())


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"mode": "sde"}, "mode must be one of"),
        ({"ddim_steps": 0}, "ddim_steps"),
        ({"t_min": 300, "t_max": 100}, "t_min <= t_max"),
        ({"lr": 0}, "lr must be > 0"),
        ({"inits": 0}, "inits must be a positive integer"),
        ({"lam": float("nan")}, "lam must be a finite number"),
    ],
)
def test_bad_parameters_are_named(tiny, params, match):
    env = _env()
    solver = LDDIM(weights=tiny["ldm"], **params)
    with pytest.raises(ValueError, match=match):
        solver.solve(env)


@pytest.mark.parametrize("mode", ["noise", "red"])
def test_ld_dim_spends_two_solves_per_iteration_and_stops_at_the_budget(tiny, mode):
    env, solver, est, progress = _solve(
        LDDIM, tiny["ldm"], budget=11, iterations=300, mode=mode, ddim_steps=3
    )
    base = env.unwrapped
    assert len(progress) == 5 and base.counter.used == 10 <= base.budget
    assert base.counter.forward == base.counter.adjoint == 5
    assert est.shape == base.field_shape
    assert base.field_low <= est.min() and est.max() <= base.field_high
    ldm, autoencoder = solver.weights()
    assert ldm["name"] == "darcy-grf-ldm-tiny" and autoencoder["name"] == "darcy-grf-vae-tiny"


@pytest.mark.parametrize(("cls", "model"), [(LDDIM, "ldm"), (PhysicsVAE, "vae")])
def test_the_data_misfit_falls(tiny, cls, model):
    _, _, _, progress = _solve(cls, tiny[model], iterations=30, lr=0.1, lam=0.0)
    misfits = [p.misfit for p in progress]
    assert len(misfits) == 30 and min(misfits[-5:]) < 0.9 * misfits[0]


def test_deterministic_under_a_seed_and_the_seed_moves_the_start(tiny):
    a = _solve(LDDIM, tiny["ldm"], iterations=3, ddim_steps=2, seed=0)[2]
    b = _solve(LDDIM, tiny["ldm"], iterations=3, ddim_steps=2, seed=0)[2]
    c = _solve(LDDIM, tiny["ldm"], iterations=3, ddim_steps=2, seed=1)[2]
    assert (a == b).all() and not (a == c).all()


def test_several_inits_share_the_budget_and_the_best_fit_is_returned(tiny):
    env = _env(budget=61)
    solver = PhysicsVAE(weights=tiny["vae"], iterations=30, inits=3)
    solver.setup(env)
    finals = []  # the decoded last iterate of each start (the only no-grad decodes in solve)
    field = solver.field

    def recording_field(theta):
        out = field(theta)
        if not torch.is_grad_enabled():
            finals.append(out[0].float().numpy())
        return out

    solver.field = recording_field
    progress = []
    est = solver.solve(env, callback=progress.append)
    starts = [p.info["start"] for p in progress]
    assert sorted(set(starts)) == [0, 1, 2] and env.unwrapped.counter.used <= 60
    last = {s: p.misfit for s, p in zip(starts, progress, strict=True)}
    assert len(finals) == 3 and len(set(last.values())) == 3
    best = min(last, key=last.get)
    base = env.unwrapped
    expected = finals[best].clip(base.field_low, base.field_high)
    assert (est == expected).all() and not (est == finals[max(last, key=last.get)]).all()


def test_red_penalty_gradient_is_the_stopgrad_residual_over_n(tiny):
    solver = LDDIM(weights=tiny["ldm"], mode="red", t_min=100, t_max=100)
    env = _env()
    solver.setup(env)
    solver.resolve_params(env)
    start = torch.Generator().manual_seed(0)
    theta = torch.randn(solver.variable_shape(), generator=start, requires_grad=True)
    gen = torch.Generator().manual_seed(3)
    solver.penalty(theta, gen).backward()
    gen = torch.Generator().manual_seed(3)
    torch.randint(100, 101, (1,), generator=gen)
    eps = torch.randn(theta.shape, generator=gen)
    with torch.no_grad():
        residual = solver.net.eps(solver.net.add_noise(theta.detach(), eps, 100), 100) - eps
    torch.testing.assert_close(theta.grad, residual / theta.numel())


def test_noise_mode_field_is_differentiable_in_the_initial_noise(tiny):
    solver = LDDIM(weights=tiny["ldm"], ddim_steps=4)
    env = _env()
    solver.setup(env)
    solver.resolve_params(env)
    theta = torch.randn(solver.variable_shape(), requires_grad=True)
    solver.field(theta).sum().backward()
    assert theta.grad is not None and theta.grad.abs().sum() > 0
