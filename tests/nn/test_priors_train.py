import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from invbench.cli import app
from invbench.nn.diffusion.checkpoint import load_prior
from invbench.nn.diffusion.presets import FWI_TRAINING_FAMILIES
from invbench.nn.diffusion.train import train_prior
from invbench.nn.normalize import normalization_for
from invbench.nn.sources import FWIFamilies, make_source
from invbench.nn.train_state import state_dir
from invbench.nn.weights import WeightsError

from .conftest import tiny_preset

DARCY = {"domain": "darcy-bimaterial", "field_shape": (16, 16)}


def test_loss_falls(tmp_path):
    res = train_prior(**DARCY, preset=tiny_preset(), out=tmp_path / "p.safetensors", steps=60, seed=0)
    first, last = np.mean(res.losses[:15]), np.mean(res.losses[-15:])
    assert res.step == 60 and len(res.losses) == 60
    assert last < 0.7 * first, (first, last)
    assert res.manifest["training"]["final_loss"] == pytest.approx(np.mean(res.losses[-100:]))


def test_resume_continues_and_reproduces_an_uninterrupted_run(tmp_path):
    preset = tiny_preset()
    straight = train_prior(**DARCY, preset=preset, out=tmp_path / "a.safetensors", steps=40)
    part = train_prior(**DARCY, preset=preset, out=tmp_path / "b.safetensors", steps=25)
    assert part.step == 25
    state = json.loads((state_dir(tmp_path / "b.safetensors") / "state.json").read_text())
    assert state["step"] == 25
    with pytest.raises(WeightsError, match="--resume"):
        train_prior(**DARCY, preset=preset, out=tmp_path / "b.safetensors", steps=40)
    resumed = train_prior(**DARCY, preset=preset, out=tmp_path / "b.safetensors", steps=40, resume=True)
    assert resumed.start_step == 25 and resumed.step == 40 and len(resumed.losses) == 40
    assert resumed.manifest["training"]["steps"] == 40
    np.testing.assert_allclose(resumed.losses, straight.losses, rtol=1e-5)
    a, b = load_file(tmp_path / "a.safetensors"), load_file(tmp_path / "b.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-6)


def test_resume_refuses_a_changed_configuration(tmp_path):
    out = tmp_path / "c.safetensors"
    train_prior(**DARCY, preset=tiny_preset(), out=out, steps=10)
    with pytest.raises(WeightsError, match="lr"):
        train_prior(**DARCY, preset=tiny_preset(lr=1e-3), out=out, steps=20, resume=True)


def test_resume_without_state_starts_fresh(tmp_path):
    res = train_prior(**DARCY, preset=tiny_preset(), out=tmp_path / "d.safetensors", steps=5, resume=True)
    assert res.start_step == 0 and res.step == 5


def test_fwi_training_end_to_end(tmp_path):
    out = tmp_path / "fwi.safetensors"
    res = train_prior("fwi", tiny_preset(), out=out, steps=3, field_shape=(14, 14))
    assert res.manifest["training"]["data"]["families"] == list(FWI_TRAINING_FAMILIES)
    prior = load_prior(out, device="cpu")
    assert prior.domain == "fwi" and prior.model_shape == (16, 16)
    assert prior.sample(1, steps=2, generator=torch.Generator().manual_seed(0)).shape == (1, 1, 14, 14)


def test_procedural_batches_depend_only_on_seed_and_step():
    src = FWIFamilies(["FlatVel-A", "CurveFault-B"], seed=3)
    a, b = src.batch(7, 5), src.batch(7, 5)
    assert a.shape == (5, 1, 70, 70) and np.array_equal(a, b)
    assert not np.array_equal(a, src.batch(8, 5))
    with pytest.raises(ValueError, match="fwi domain only"):
        make_source("darcy-grf", seed=0, field_shape=(64, 64), data=[Path("x")])


def test_cli_train_prior(tmp_path, monkeypatch):
    monkeypatch.setattr("invbench.nn.diffusion.train.get_preset", lambda name: tiny_preset())
    out = tmp_path / "cli.safetensors"
    args = ["train-prior", "--domain", "darcy-grf", "--preset", "lite", "--steps", "4", "--out", str(out)]
    monkeypatch.setattr(
        "invbench.nn.diffusion.train.normalization_for",
        lambda domain, shape=None: normalization_for(domain, (16, 16)),
    )
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "4 steps" in result.output and out.exists() and out.with_suffix(".json").exists()
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 2 and "--resume" in again.output
    more = CliRunner().invoke(app, [*args[:-4], "--steps", "6", "--out", str(out), "--resume"])
    assert more.exit_code == 0, more.output
    assert json.loads(out.with_suffix(".json").read_text())["training"]["steps"] == 6
    bad = CliRunner().invoke(app, ["train-prior", "--domain", "heat"])
    assert bad.exit_code == 2 and "unknown domain" in bad.output


def test_training_on_openfwi_files(tmp_path):
    folder = tmp_path / "FlatVel_B"
    folder.mkdir()
    maps = np.stack([np.full((1, 70, 70), 1500.0 + 100 * i, dtype=np.float32) for i in range(5)])
    np.save(folder / "model1.npy", maps)
    src = make_source("fwi", seed=0, field_shape=(70, 70), data=[folder])
    batch = src.batch(0, 8)
    assert batch.shape == (8, 1, 70, 70)
    assert set(np.unique(batch)) <= set(np.unique(maps))
    out = tmp_path / "real.safetensors"
    res = train_prior("fwi", tiny_preset(batch_size=4), out=out, steps=2, data=[folder])
    spec = res.manifest["training"]["data"]
    assert spec["source"] == "openfwi" and spec["n_maps"] == 5
    assert load_prior(out, device="cpu").model_shape == (72, 72)


def test_redirected_output_gets_a_line_per_saved_state(tmp_path):
    import io

    from rich.console import Console

    buf = io.StringIO()
    console = Console(file=buf, force_terminal=False, width=200)
    train_prior(
        **DARCY,
        preset=tiny_preset(),
        out=tmp_path / "e.safetensors",
        steps=25,
        show_progress=True,
        console=console,
    )
    lines = [ln for ln in buf.getvalue().splitlines() if "state saved" in ln]
    assert [ln.split(",")[0] for ln in lines] == ["e: step 10/25", "e: step 20/25"]
    assert all("steps/s" in ln and "loss 0." in ln for ln in lines)


def test_bf16_autocast_can_be_chosen_on_the_cpu(tmp_path):
    res = train_prior(
        **DARCY, preset=tiny_preset(), out=tmp_path / "bf.safetensors", steps=30, seed=0, bf16=True
    )
    assert res.manifest["training"]["amp_bf16"] is True and np.isfinite(res.losses).all()
    assert np.mean(res.losses[-10:]) < np.mean(res.losses[:10])
    plain = train_prior(**DARCY, preset=tiny_preset(), out=tmp_path / "fp.safetensors", steps=2, seed=0)
    assert plain.manifest["training"]["amp_bf16"] is False  # off on the CPU unless asked for


def test_warm_restart_continues_from_the_exported_weights_alone(tmp_path):
    import shutil

    out = tmp_path / "w.safetensors"
    first = train_prior(**DARCY, preset=tiny_preset(), out=out, steps=20, seed=0)
    exported = load_file(out)
    shutil.rmtree(state_dir(out))  # a fresh machine has only what was committed: weights + manifest
    more = train_prior(**DARCY, preset=tiny_preset(), out=out, steps=30, seed=0, resume=True)
    assert more.start_step == 20 and more.step == 30
    training = more.manifest["training"]
    assert training["steps"] == 30 and training["warm_restarts"] == [20]
    assert training["run_config"]["seed"] == 0
    # the coarse curve keeps the first session's points and adds this one's
    assert training["loss_curve"][: len(first.manifest["training"]["loss_curve"])] == pytest.approx(
        first.manifest["training"]["loss_curve"]
    )
    assert training["wall_time_s"] >= first.manifest["training"]["wall_time_s"]
    # it trained on from the exported weights, not from a fresh initialisation
    again = load_file(out)
    drift = max(float((again[k].float() - exported[k].float()).abs().max()) for k in exported)
    train_prior(**DARCY, preset=tiny_preset(), out=tmp_path / "f.safetensors", steps=10, seed=5)
    assert (
        0
        < drift
        < max(
            float((load_file(tmp_path / "f.safetensors")[k].float() - exported[k].float()).abs().max())
            for k in exported
        )
    )


def test_warm_restart_refuses_another_run_configuration(tmp_path):
    import shutil

    out = tmp_path / "x.safetensors"
    train_prior(**DARCY, preset=tiny_preset(), out=out, steps=10, seed=0)
    shutil.rmtree(state_dir(out))
    with pytest.raises(WeightsError, match=r"run configuration changed.*seed"):
        train_prior(**DARCY, preset=tiny_preset(), out=out, steps=20, seed=1, resume=True)


def test_procedural_fwi_source_records_generator_versions():
    from invbench.data.families import NEWEST_VERSION

    spec = FWIFamilies(["FlatVel-B", "CurveFault-B"], seed=0).spec()
    assert spec["generator_versions"] == {
        "FlatVel-B": NEWEST_VERSION["FlatVel-B"],
        "CurveFault-B": NEWEST_VERSION["CurveFault-B"],
    }
    assert spec["generator_versions"]["CurveFault-B"] == 1
