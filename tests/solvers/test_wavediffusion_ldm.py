"""WaveDiffusion stage 2: latent diffusion training, the refinement's best-of-K choice, the PDE deviation."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from invbench.core.files import sha256_file
from invbench.nn.diffusion.presets import UNetSpec
from invbench.nn.training import TrainSpec
from invbench.nn.weights import WeightsError
from invbench.registry import make
from solvers.wavediffusion.checkpoint import load_stage1
from solvers.wavediffusion.ldm import load_ldm, make_scheduler
from solvers.wavediffusion.metric import deviation_report, environment_propagator, pde_deviation
from solvers.wavediffusion.presets import SCHEDULE, LDMPreset, get_ldm_preset
from solvers.wavediffusion.refine import closest, refine
from solvers.wavediffusion.solver import WaveDiffusion, WaveDiffusionStage1
from solvers.wavediffusion.train_ldm import train_ldm
from solvers.wavediffusion.train_stage1 import train_stage1
from tests.solvers.test_wavediffusion import FAST, TASK, pair_dirs, stage1_checkpoint, tiny_stage1  # noqa: F401


def tiny_ldm(steps: int = 6, lr: float = 3e-3) -> LDMPreset:
    train = TrainSpec(
        batch_size=4,
        lr=lr,
        steps=steps,
        ema_decay=0.9,
        ema_every=1,
        ema_start=2,
        checkpoint_every=3,
        export_dtype="float32",
    )
    unet = UNetSpec((8, 16), 1, (False, False), mid_attention=False, norm_num_groups=4, attention_head_dim=8)
    return LDMPreset("tiny", unet, SCHEDULE, train, "test")


@pytest.fixture(scope="module")
def ldm_checkpoint(pair_dirs, stage1_checkpoint, tmp_path_factory):  # noqa: F811
    out = stage1_checkpoint.parent / "fwi-wavediffusion-ldm-tiny.safetensors"
    train_ldm(str(stage1_checkpoint), pair_dirs, tiny_ldm(), out=out, held_out=4, device="cpu")
    return out


def test_paper_preset_is_the_papers_unet_schedule_and_batch():
    paper = get_ldm_preset("paper")
    assert paper.unet.block_out_channels == tuple(128 * m for m in (1, 2, 2, 4, 4))
    s = paper.schedule
    assert (s.num_train_timesteps, s.beta_schedule, s.beta_start, s.beta_end) == (
        1000,
        "linear",
        0.0015,
        0.0155,
    )
    assert paper.train.batch_size == 16
    betas = make_scheduler(s).betas
    assert float(betas[0]) == pytest.approx(0.0015) and float(betas[-1]) == pytest.approx(0.0155)
    assert torch.allclose(betas.diff(), betas.diff()[0].expand(999), rtol=1e-3)  # linear in beta
    lite = get_ldm_preset("lite")
    assert lite.schedule == s and lite.unet.block_out_channels[0] < 128


def test_ldm_loss_falls_on_tiny_latents(pair_dirs, stage1_checkpoint, tmp_path):  # noqa: F811
    torch.set_num_threads(1)
    done = train_ldm(
        str(stage1_checkpoint),
        pair_dirs,
        tiny_ldm(steps=60, lr=5e-3),
        out=tmp_path / "l.safetensors",
        held_out=4,
        device="cpu",
        bf16=False,
    )
    assert len(done.losses) == 60 and np.mean(done.losses[-15:]) < 0.9 * np.mean(done.losses[:15])


def test_export_records_its_stage1_and_loads_verified(ldm_checkpoint, stage1_checkpoint):  # noqa: F811
    manifest = json.loads(ldm_checkpoint.with_suffix(".json").read_text())
    tr = manifest["training"]
    assert manifest["kind"] == "wavediffusion-ldm" and tr["steps"] == 6 and tr["device"] == "cpu"
    assert manifest["autoencoder"]["sha256"] == sha256_file(stage1_checkpoint)
    assert manifest["latent"]["shape"] == [4, 4, 4] and manifest["latent"]["scale"] > 0
    assert tr["held_out"]["pairs"] == 4 and tr["held_out"]["l1_eps"] > 0
    ldm = load_ldm(str(ldm_checkpoint), "cpu")
    assert ldm.latent_shape == (4, 4, 4) and ldm.stage1.manifest["weights"]["sha256"] == sha256_file(
        stage1_checkpoint
    )


def test_another_stage1_under_the_recorded_name_is_refused(ldm_checkpoint, pair_dirs, tmp_path):  # noqa: F811
    for f in (ldm_checkpoint, ldm_checkpoint.with_suffix(".json")):
        shutil.copy(f, tmp_path / f.name)
    other = tmp_path / "fwi-wavediffusion-stage1-tiny.safetensors"
    train_stage1(pair_dirs, tiny_stage1(steps=2), out=other, held_out=4, device="cpu", seed=1)
    with pytest.raises(WeightsError, match="only fits the stage 1 it was trained on"):
        load_ldm(str(tmp_path / ldm_checkpoint.name), "cpu")


def test_closest_picks_the_constructed_nearest_candidate_over_recorded_traces():
    target = torch.zeros(1, 2, 3, 4)
    cands = torch.stack([torch.full((2, 3, 4), 0.5), torch.full((2, 3, 4), 0.2), torch.full((2, 3, 4), 0.3)])
    k, d = closest(cands, target)
    assert k == 1 and torch.allclose(d, torch.tensor([0.25, 0.04, 0.09]) * 24)
    cands[1, :, :, 0] = 9.0  # far off on receiver 0 only ...
    assert closest(cands, target)[0] == 2
    w = torch.tensor([0.0, 1.0, 1.0, 1.0])  # ... which the mask says was not recorded
    assert closest(cands, target, w)[0] == 1


def test_refinement_keeps_the_candidate_closest_to_the_observed_data():
    sched = make_scheduler(SCHEDULE)
    shape = (1, 2, 4, 4)
    w0 = torch.randn(shape, generator=torch.Generator().manual_seed(1))

    def eps_fn(w, t):  # a stand-in network: the noise it predicts depends on the sample
        return 0.5 * w

    def identity(w):  # a stand-in decoder: the latent is its own data
        return w.clone()

    def run(target):
        gen = torch.Generator().manual_seed(7)
        return refine(
            w0,
            target,
            eps_fn=eps_fn,
            decode_seismic=identity,
            scheduler=sched,
            steps=3,
            candidates=20,
            chunk=6,
            generator=gen,
            record=True,
        )

    _, first = run(torch.zeros(shape))
    # A target equal to the 13th candidate of the first step: the same draws must now keep exactly it.
    target = first.candidates[0][12:13].clone()
    final, trace = run(target)
    assert trace.timesteps == [2, 1, 0] and trace.chosen[0] == 12 and float(trace.distances[0][12]) == 0.0
    for cands, dist, k in zip(trace.candidates, trace.distances, trace.chosen, strict=True):
        recomputed = ((cands - target) ** 2).flatten(1).sum(1)
        assert torch.allclose(dist, recomputed) and k == int(torch.argmin(recomputed))
    assert torch.equal(final, trace.candidates[-1][trace.chosen[-1]][None])
    assert torch.allclose(
        trace.candidates[-1], trace.candidates[-1][:1].expand(20, *shape[1:])
    )  # t = 0: no noise
    with pytest.raises(ValueError, match="refinement steps"):
        refine(w0, target, eps_fn=eps_fn, decode_seismic=identity, scheduler=sched, steps=0)
    with pytest.raises(ValueError, match="one latent"):
        refine(torch.zeros(2, 2, 4, 4), target, eps_fn=eps_fn, decode_seismic=identity, scheduler=sched)


class _FixedPair(torch.nn.Module):
    """Decoders that return one fixed velocity map and one fixed seismic record for every latent."""

    def __init__(self, v: torch.Tensor, s: torch.Tensor) -> None:
        super().__init__()
        self.v, self.s = v, s

    def decode_velocity(self, z):
        return self.v.expand(z.shape[0], *self.v.shape[1:])

    def decode_seismic(self, z):
        return self.s.expand(z.shape[0], *self.s.shape[1:])


def test_pde_deviation_is_zero_for_a_consistent_pair_and_positive_otherwise(stage1_checkpoint):  # noqa: F811
    stage1 = load_stage1(str(stage1_checkpoint), "cpu")
    prop = environment_propagator(TASK, device="cpu")
    acq = make(TASK).unwrapped.acquisition
    common = {
        "propagator": prop,
        "seismic": stage1.seismic,
        "velocity": stage1.velocity,
        "field_shape": (acq.nz, acq.nx),
        "dt": acq.dt,
    }
    ramp = torch.linspace(-0.6, 0.7, 16)[:, None].expand(16, 16)  # faster with depth, in [-1, 1]
    v = ramp.reshape(1, 1, 16, 16).clone()
    from invbench.data.pairs import decimate_time

    with torch.no_grad():
        d = prop(stage1.velocity.to_field(v, (acq.nz, acq.nx)))
        s = stage1.seismic(decimate_time(d, stage1.seismic.time_decimation, acq.dt))
    z = torch.zeros(3, *stage1.model.latent_shape)
    consistent = pde_deviation(_FixedPair(v, s), z, **common)
    assert consistent.shape == (3,) and float(consistent.abs().max()) < 1e-10
    off = pde_deviation(_FixedPair(v, s + 0.1), z, **common)
    assert torch.allclose(off, torch.full((3,), 0.01), rtol=1e-3)
    other_map = pde_deviation(_FixedPair(v.flip(-2), s), z, **common)
    assert float(other_map.min()) > 1e-4


def test_deviation_report_covers_the_papers_three_groups(ldm_checkpoint, pair_dirs):  # noqa: F811
    from invbench.data.pairs import load_training_data, read_pairs

    ldm = load_ldm(str(ldm_checkpoint), "cpu")
    pairs = read_pairs(pair_dirs[1])
    held = load_training_data(pairs, ldm.stage1.seismic.time_decimation)[-4:]
    acq = make(TASK).unwrapped.acquisition
    report = deviation_report(
        ldm,
        held,
        propagator=environment_propagator(TASK, "cpu"),
        field_shape=(acq.nz, acq.nx),
        dt=acq.dt,
        n_random=3,
        steps=5,
        keep=(999, 0),
    )
    assert report["reconstruction"]["n"] == 4 and report["random"]["n"] == 3
    assert set(report["reverse"]) >= {-1} and len(report["reverse"]) == 3
    assert all(np.isfinite(g["mean"]) and g["mean"] > 0 for g in [report["reconstruction"], report["random"]])


def test_wavediffusion_estimates_under_noise_without_a_pde_solve_and_repeats_under_a_seed(ldm_checkpoint):
    def solve(seed, **opts):
        env = make(TASK, **opts, **FAST)
        env.reset(seed=seed, options={"index": 1})
        solver = WaveDiffusion(checkpoint=str(ldm_checkpoint), candidates=12, chunk=5)
        assert solver.applies_to(env) is None
        solver.setup(env)
        return env, solver, solver.solve(env)

    env, solver, estimate = solve(0, noise=0.2, missing_traces=8)
    assert estimate.shape == (1, 32, 32) and estimate.dtype == np.float32 and np.isfinite(estimate).all()
    assert env.unwrapped.field_low <= estimate.min() and estimate.max() <= env.unwrapped.field_high
    assert env.unwrapped.counter.used == 0
    assert [w["name"] for w in solver.weights()] == [
        "fwi-wavediffusion-stage1-tiny",
        "fwi-wavediffusion-ldm-tiny",
    ]
    assert solver.training_cost()["data_pde_solves"] == 28  # the same two folders, counted once
    assert np.array_equal(solve(0, noise=0.2, missing_traces=8)[2], estimate)
    stage1 = WaveDiffusionStage1(checkpoint=str(solver.stage1.spec))
    stage1.setup(env)
    assert not np.array_equal(stage1.solve(env), estimate)  # the refinement moved the latent
    env.unwrapped.instance.observed[0, 5, 3] = float("nan")
    with pytest.raises(ValueError, match="1 NaN or infinite"):
        solver.solve(env)


def test_skips_name_the_commands_that_make_the_weights(ldm_checkpoint, tmp_path):
    missing = WaveDiffusion(checkpoint=str(tmp_path / "absent.safetensors")).applies_to(make(TASK))
    assert (
        missing is not None
        and "--model wavediffusion-ldm" in missing
        and "invbench generate-pairs" in missing
    )
    default = WaveDiffusion().applies_to(make(TASK))
    assert default is not None and "fwi-wavediffusion-ldm-lite" in default
    lonely = tmp_path / ldm_checkpoint.name  # the LDM without its stage 1
    for f in (ldm_checkpoint, ldm_checkpoint.with_suffix(".json")):
        shutil.copy(f, tmp_path / f.name)
    reason = WaveDiffusion(checkpoint=str(lonely)).applies_to(make(TASK))
    assert reason is not None and "fwi-wavediffusion-stage1-tiny" in reason
    other = WaveDiffusion(checkpoint=str(ldm_checkpoint)).applies_to(make("invbench/FWI-FlatVel-A-v0"))
    assert other is not None and "another acquisition" in other


def test_train_command_trains_the_ldm_on_a_stage1(pair_dirs, stage1_checkpoint, tmp_path):  # noqa: F811
    from invbench.cli import app

    out = tmp_path / "fwi-wavediffusion-ldm-lite.safetensors"
    args = [
        "train",
        "--model",
        "wavediffusion-ldm",
        "--autoencoder",
        str(stage1_checkpoint),
        "--steps",
        "1",
        "--out",
        str(out),
        "--device",
        "cpu",
        "--held-out",
        "4",
        "--pairs",
        str(pair_dirs[0]),
        "--pairs",
        str(pair_dirs[1]),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    manifest = json.loads(out.with_suffix(".json").read_text())
    assert manifest["training"]["preset"] == "lite" and manifest["architecture"]["config"]["in_channels"] == 4
    refused = CliRunner().invoke(app, ["train", "--model", "vae", "--domain", "fwi", "--autoencoder", "x"])
    assert (
        refused.exit_code == 2
        and "--autoencoder applies to --model ldm and wavediffusion-ldm only" in refused.output
    )
    missing = CliRunner().invoke(
        app,
        [
            "train",
            "--model",
            "wavediffusion-ldm",
            "--pairs",
            str(pair_dirs[0]),
            "--out",
            str(tmp_path / "x.safetensors"),
            "--device",
            "cpu",
        ],
    )
    assert missing.exit_code == 2 and "fwi-wavediffusion-stage1-lite" in missing.output


def test_a_benchmark_cell_records_an_amortized_row_with_both_stages(ldm_checkpoint):
    from invbench.harness.cells import Cell, to_json
    from invbench.harness.execute import run_cell

    params = {"checkpoint": str(ldm_checkpoint), "candidates": 8, "chunk": 8}
    cell = Cell(
        "t", TASK, "test", 1, "wavediffusion", to_json(params), 0, 7, 7, 120.0,
        env_kwargs_json=to_json({"budget": 40, **FAST, "noise": 0.1}),
    )  # fmt: skip
    row = run_cell(cell).row
    assert row["status"] == "done", row["reason"] + row["traceback"]
    assert row["amortized"] is True and row["pde_solves"] == 0 and row["training_steps"] == 12  # 6 + 6
    names = [w["name"] for w in json.loads(row["weights"])]
    assert names == ["fwi-wavediffusion-stage1-tiny", "fwi-wavediffusion-ldm-tiny"]
    assert np.isfinite(row["metric_mae"])
    assert run_cell(cell).row["metric_mae"] == row["metric_mae"]  # the seed fixes the candidates
