"""WaveDiffusion: stage 1's architecture and transforms, training on tiny pairs, and the stage-1 solver."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from diffusers.models.resnet import ResnetBlock2D
from typer.testing import CliRunner

from invbench.core.files import sha256_file
from invbench.data.pairs import generate_pairs
from invbench.nn.training import TrainSpec
from invbench.nn.weights import WeightsError
from invbench.physics.wave.units import DATA_MAX, DATA_MIN
from invbench.registry import make
from solvers.wavediffusion.checkpoint import load_stage1
from solvers.wavediffusion.network import (
    SEISMIC_MULTIPLIERS,
    VELOCITY_MULTIPLIERS,
    WaveVQ,
    transition_factors,
)
from solvers.wavediffusion.presets import Stage1Preset, get_stage1_preset
from solvers.wavediffusion.solver import WaveDiffusionStage1, check_observed
from solvers.wavediffusion.train_stage1 import train_stage1
from solvers.wavediffusion.transforms import SeismicTransform, VelocityTransform, pick_shots

TASK = "invbench/FWI-Tiny-v0"
FAST = {"observed_solver": "deepwave"}


def tiny_stage1(steps: int = 6, lr: float = 3e-3) -> Stage1Preset:
    """A stage 1 of a few thousand parameters: 4 x 4 x 4 latent, 16 codes, 3 x 32 x 16 seismic input."""
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
    return Stage1Preset(
        name="tiny",
        seismic_channels=3,
        seismic_time=32,
        receivers=16,
        velocity_size=16,
        latent_size=4,
        embed_dim=4,
        codebook_size=16,
        base_channels=4,
        seismic_multipliers=(1, 1, 2, 2),
        velocity_multipliers=(1, 1, 2),
        layers_per_block=1,
        norm_groups=2,
        mid_attention=False,
        beta=0.25,
        time_decimation=4,
        seismic_weight=1.0,
        velocity_weight=1.0,
        latent_weight=1.0,
        train=train,
        source="test",
    )


@pytest.fixture(scope="module")
def pair_dirs(tmp_path_factory):
    """Two folders of FWI-Tiny train pairs (disjoint index ranges), at 4 ms."""
    root = tmp_path_factory.mktemp("wd-pairs")
    generate_pairs(TASK, 16, root / "a", shard_size=8, device="cpu")
    generate_pairs(TASK, 12, root / "b", start=100, shard_size=8, device="cpu")
    return [root / "a", root / "b"]


@pytest.fixture(scope="module")
def stage1_checkpoint(pair_dirs, tmp_path_factory):
    out = tmp_path_factory.mktemp("wd-weights") / "fwi-wavediffusion-stage1-tiny.safetensors"
    train_stage1(pair_dirs, tiny_stage1(), out=out, held_out=4, device="cpu")
    return out


def test_paper_sizes_give_the_papers_latent_codebook_and_blocks():
    with torch.device("meta"):
        net = WaveVQ()  # the defaults are the paper's sizes
    assert net.latent_shape == (32, 16, 16) and net.quantizer.embedding.weight.shape == (8192, 32)
    with torch.device("meta"):
        z = net.encode_seismic(torch.empty(2, 3, 1024, 64))
        assert tuple(z.shape) == (2, *net.latent_shape)
        assert tuple(net.encode_velocity(torch.empty(2, 1, 64, 64)).shape) == (2, *net.latent_shape)
        assert tuple(net.decode_seismic(z).shape) == (2, 3, 1024, 64)
        assert tuple(net.decode_velocity(z).shape) == (2, 1, 64, 64)
    for branch, mult in (
        (net.seismic_encoder, SEISMIC_MULTIPLIERS),
        (net.velocity_encoder, VELOCITY_MULTIPLIERS),
    ):
        assert len(branch.levels) == len(mult)
        for level, m in zip(branch.levels, mult, strict=True):
            blocks = [b for b in level if isinstance(b, ResnetBlock2D)]
            assert len(blocks) == 3 and blocks[-1].out_channels == 128 * m


def test_branches_halve_each_side_at_the_first_transitions_and_refuse_unreachable_sizes():
    factors = transition_factors((1024, 64), (16, 16), 8)
    assert [f[0] for f in factors] == [2] * 6 + [1] and [f[1] for f in factors] == [2, 2] + [1] * 5
    with pytest.raises(ValueError, match="cannot map"):
        transition_factors((1000, 64), (16, 16), 8)
    with pytest.raises(ValueError, match="cannot map"):
        transition_factors((64, 64), (16, 16), 2)  # needs two transitions, has one
    with pytest.raises(ValueError, match=r"latents must be \(B, 4, 4, 4\)"):
        WaveVQ(**tiny_stage1().network_config()).decode_velocity(torch.zeros(1, 4, 8, 8))


def test_transforms_keep_whole_shots_map_the_data_bounds_to_one_and_round_trip_velocity():
    assert pick_shots(5, 3) == (0, 2, 4) and pick_shots(3, 3) == (0, 1, 2)
    with pytest.raises(ValueError, match="cannot pick"):
        pick_shots(2, 3)
    t = SeismicTransform(pick_shots(5, 3), 8, 4, 1)
    d = torch.zeros(1, 5, 6, 4)
    d[0, 0], d[0, 2] = DATA_MIN, DATA_MAX
    x = t(d)
    assert x.shape == (1, 3, 8, 4)
    np.testing.assert_allclose(x[0, 0], -1.0, atol=1e-6)
    np.testing.assert_allclose(x[0, 1], 1.0, atol=1e-6)  # channel 1 is shot 2
    assert float(x[0, 2].abs().max()) < 1  # zero amplitude lies inside the range
    w = t.receiver_weights(torch.tensor([1.0, 0.0, 1.0, 1.0]))
    assert w.shape == (4,) and float(w[1]) == 0.0 and float(w[0]) == 1.0
    vt = VelocityTransform(64)
    v = torch.linspace(1600, 4400, 70).repeat(70, 1)[None, None]  # smooth lateral ramp
    back = vt.to_field(vt(v), (70, 70))
    assert float((back - v).abs().max()) < 30  # a 70 -> 64 -> 70 resize of a linear ramp
    over = vt.to_field(torch.full((1, 1, 64, 64), 2.0), (70, 70))
    assert float(over.max()) == vt.high


def test_presets_keep_the_papers_sizes_and_lite_scales_them_down():
    paper, lite = get_stage1_preset("paper"), get_stage1_preset("lite")
    assert (paper.seismic_time, paper.receivers, paper.velocity_size) == (1024, 64, 64)
    assert (paper.latent_size, paper.embed_dim, paper.codebook_size, paper.layers_per_block) == (
        16,
        32,
        8192,
        3,
    )
    for field in ("latent_size", "embed_dim", "codebook_size", "seismic_multipliers", "velocity_multipliers"):
        assert getattr(lite, field) == getattr(paper, field)
    assert lite.base_channels < paper.base_channels and lite.seismic_time < paper.seismic_time
    with pytest.raises(ValueError, match="unknown WaveDiffusion stage-1 preset"):
        get_stage1_preset("huge")


def test_stage1_loss_falls_on_tiny_pairs(pair_dirs, tmp_path):
    torch.set_num_threads(1)
    done = train_stage1(
        pair_dirs,
        tiny_stage1(steps=40, lr=5e-3),
        out=tmp_path / "s.safetensors",
        held_out=4,
        device="cpu",
        bf16=False,
    )
    losses = done.losses
    assert len(losses) == 40 and np.mean(losses[-8:]) < 0.8 * np.mean(losses[:8])


def test_export_records_data_and_cost_and_loads_verified(stage1_checkpoint):
    manifest = json.loads(stage1_checkpoint.with_suffix(".json").read_text())
    tr = manifest["training"]
    assert manifest["kind"] == "wavediffusion-stage1" and tr["steps"] == 6 and tr["device"] == "cpu"
    assert tr["wall_time_s"] > 0 and [p["start"] for p in tr["data"]["pairs"]] == [0, 100]
    held = tr["held_out"]
    assert (
        held["pairs"] == 4
        and 0 < held["mae"] <= held["rmse"] < 2
        and 1 <= held["codebook_entries_used"] <= 16
    )
    stage1 = load_stage1(str(stage1_checkpoint), "cpu")
    assert stage1.seismic.shots == (0, 1, 2) and stage1.seismic.time_decimation == 4
    assert not any(p.requires_grad for p in stage1.model.parameters())
    assert manifest["weights"]["sha256"] == sha256_file(stage1_checkpoint)


def test_a_changed_weights_file_is_refused(stage1_checkpoint, tmp_path):
    copy = tmp_path / stage1_checkpoint.name
    data = bytearray(stage1_checkpoint.read_bytes())
    data[-1] ^= 0xFF
    copy.write_bytes(bytes(data))
    copy.with_suffix(".json").write_text(stage1_checkpoint.with_suffix(".json").read_text())
    with pytest.raises(WeightsError, match="sha256 mismatch"):
        load_stage1(str(copy), "cpu")


def test_a_resumed_run_reproduces_an_uninterrupted_one(pair_dirs, tmp_path):
    whole = train_stage1(pair_dirs, tiny_stage1(), out=tmp_path / "a.safetensors", held_out=4, device="cpu")
    first = train_stage1(
        pair_dirs, tiny_stage1(), out=tmp_path / "b.safetensors", held_out=4, device="cpu", steps=3
    )
    rest = train_stage1(
        pair_dirs, tiny_stage1(), out=tmp_path / "b.safetensors", held_out=4, device="cpu", resume=True
    )
    assert first.step == 3 and rest.start_step == 3 and rest.losses == whole.losses


def test_stage1_solver_estimates_under_noise_and_missing_traces_without_a_pde_solve(stage1_checkpoint):
    env = make(TASK, noise=0.2, missing_traces=8, **FAST)
    env.reset(seed=0, options={"index": 1})
    solver = WaveDiffusionStage1(checkpoint=str(stage1_checkpoint))
    assert solver.applies_to(env) is None
    solver.setup(env)
    estimate = solver.solve(env)
    assert estimate.shape == (1, 32, 32) and estimate.dtype == np.float32 and np.isfinite(estimate).all()
    assert env.unwrapped.field_low <= estimate.min() and estimate.max() <= env.unwrapped.field_high
    assert env.unwrapped.counter.used == 0
    assert solver.weights()[0]["sha256"] == sha256_file(stage1_checkpoint)
    assert solver.training_cost()["data_pde_solves"] == 28


def test_unusable_data_are_errors_that_name_the_problem():
    good = torch.randn(3, 500, 32)
    check_observed(good, (3, 500, 32), "wavediffusion")
    with pytest.raises(ValueError, match="shape"):
        check_observed(good[:, :100], (3, 500, 32), "wavediffusion")
    bad = good.clone()
    bad[1, 2, 3] = float("inf")
    with pytest.raises(ValueError, match="1 NaN or infinite"):
        check_observed(bad, (3, 500, 32), "wavediffusion")
    with pytest.raises(ValueError, match="zero everywhere"):
        check_observed(torch.zeros(3, 500, 32), (3, 500, 32), "wavediffusion")


def test_skips_name_the_reason(stage1_checkpoint, tmp_path):
    reason = WaveDiffusionStage1(checkpoint=str(stage1_checkpoint)).applies_to(
        make("invbench/FWI-FlatVel-A-v0")
    )
    assert reason is not None and "another acquisition" in reason and "nz" in reason
    missing = WaveDiffusionStage1(checkpoint=str(tmp_path / "absent.safetensors")).applies_to(make(TASK))
    assert (
        missing is not None
        and "invbench generate-pairs" in missing
        and "--model wavediffusion-stage1" in missing
    )
    assert "--model wavediffusion-ldm" in missing
    default = WaveDiffusionStage1().applies_to(make(TASK))  # no shipped weights yet
    assert default is not None and "fwi-wavediffusion-stage1-lite" in default
    darcy = WaveDiffusionStage1(checkpoint=str(stage1_checkpoint)).applies_to(make("invbench/Darcy-Tiny-v0"))
    assert darcy is not None and "fwi" in darcy


def test_train_command_trains_stage1_on_pair_folders(tmp_path):
    from invbench.cli import app

    generate_pairs(TASK, 20, tmp_path / "pairs", device="cpu")
    out = tmp_path / "fwi-wavediffusion-stage1-lite.safetensors"
    args = [
        "train",
        "--model",
        "wavediffusion-stage1",
        "--steps",
        "1",
        "--out",
        str(out),
        "--device",
        "cpu",
        "--held-out",
        "2",
        "--pairs",
        str(tmp_path / "pairs"),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    manifest = json.loads(out.with_suffix(".json").read_text())
    lite = get_stage1_preset("lite").network_config()
    assert manifest["training"]["preset"] == "lite" and manifest["architecture"]["config"] == lite
    refused = CliRunner().invoke(app, ["train", "--model", "wavediffusion-stage1", "--out", str(out)])
    assert refused.exit_code == 2 and "needs --pairs" in refused.output
