"""Training pairs of data-driven FWI: the train split's maps, their data, storage, resume and refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from invbench.data import pairs as pairs_module
from invbench.data.pairs import decimate_time, generate_pairs, read_manifest, read_pairs
from invbench.registry import make

TASK = "invbench/FWI-Tiny-v0"


@pytest.fixture(scope="module")
def tiny_pairs(tmp_path_factory):
    """Six FWI-Tiny pairs in shards of four, two maps per propagator call."""
    out = tmp_path_factory.mktemp("pairs") / "tiny"
    generate_pairs(TASK, 6, out, shard_size=4, batch_size=2, device="cpu")
    return out


def test_pairs_are_the_train_instances_with_their_clean_data(tiny_pairs):
    pairs = read_pairs(tiny_pairs)
    assert pairs.data.dtype == np.float16 and pairs.data.shape == (6, 3, 125, 32)  # 500 samples / 4
    assert pairs.velocity.shape == (6, 1, 32, 32) and pairs.dt == pytest.approx(0.004)
    assert list(pairs.index) == list(range(6))
    # The environment's own train instance 4, observed with deepwave and no noise, is pair 4.
    env = make(TASK, observed_solver="deepwave")
    env.reset(seed=0, options={"split": "train", "index": 4})
    base = env.unwrapped
    assert np.array_equal(pairs.velocity[4], base.true_model("train", 4))
    observed = decimate_time(base.instance.observed[None].float(), 4, base.acquisition.dt)[0].numpy()
    stored = pairs.data[4].astype(np.float32)
    assert np.abs(stored - observed).max() <= 2e-3 * np.abs(observed).max()  # float16 rounding only
    # ... and no val or test map is among the pairs.
    test_maps = [base.true_model("test", i) for i in range(3)]
    assert not any(np.array_equal(v, t) for v in pairs.velocity for t in test_maps)


def test_manifest_records_what_was_simulated_and_its_cost(tiny_pairs):
    manifest = read_manifest(tiny_pairs)
    config = manifest["config"]
    assert config["split"] == "train" and config["task"] == TASK and config["time_decimation"] == 4
    assert manifest["n"] == manifest["pde_solves"] == 6
    assert [s["count"] for s in manifest["shards"]] == [4, 2]
    assert manifest["timing"]["wall_s"] > 0 and manifest["timing"]["devices"] == ["cpu"]
    assert manifest["data"]["shape"] == [3, 125, 32] and manifest["data"]["dtype"] == "float16"


def test_the_batch_size_does_not_change_the_pairs(tiny_pairs, tmp_path):
    generate_pairs(TASK, 6, tmp_path / "b", shard_size=4, batch_size=5, device="cpu")
    a, b = read_pairs(tiny_pairs), read_pairs(tmp_path / "b")
    assert np.array_equal(a.velocity, b.velocity)
    np.testing.assert_allclose(a.data.astype(np.float32), b.data.astype(np.float32), rtol=0, atol=1e-3)


def test_a_killed_run_resumes_after_its_last_shard(tiny_pairs, tmp_path, monkeypatch):
    out = tmp_path / "resumed"
    real = pairs_module._write_shard
    calls = []

    def dies_on_the_second_shard(*args, **kwargs):
        calls.append(args[4])  # first pair of the shard
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(pairs_module, "_write_shard", dies_on_the_second_shard)
    with pytest.raises(KeyboardInterrupt):
        generate_pairs(TASK, 6, out, shard_size=4, batch_size=2, device="cpu")
    assert read_manifest(out)["n"] == 4
    monkeypatch.setattr(pairs_module, "_write_shard", real)
    again = generate_pairs(TASK, 6, out, shard_size=4, batch_size=2, device="cpu")
    assert again.new == 2 and again.n == 6
    done = generate_pairs(TASK, 6, out, shard_size=4, batch_size=2, device="cpu")
    assert done.new == 0
    a, b = read_pairs(tiny_pairs), read_pairs(out)
    assert np.array_equal(a.velocity, b.velocity) and np.array_equal(a.data, b.data)


def test_growing_a_folder_completes_its_partial_last_shard(tmp_path):
    generate_pairs(TASK, 3, tmp_path / "g", shard_size=4, device="cpu")
    grown = generate_pairs(TASK, 5, tmp_path / "g", shard_size=4, device="cpu")
    assert grown.n == 5 and [s["count"] for s in read_manifest(tmp_path / "g")["shards"]] == [4, 1]
    assert list(read_pairs(tmp_path / "g").index) == list(range(5))


@pytest.mark.parametrize("split", ["val", "test", "hidden"])
def test_val_test_and_hidden_splits_are_refused(split, tmp_path):
    with pytest.raises(ValueError, match=f"only from the 'train' split, not '{split}'"):
        generate_pairs(TASK, 2, tmp_path / split, split=split, device="cpu")
    assert not (tmp_path / split).exists()


def test_other_settings_in_the_same_folder_are_refused(tiny_pairs):
    with pytest.raises(ValueError, match="time_decimation: saved 4, now 2"):
        generate_pairs(TASK, 6, tiny_pairs, time_decimation=2, shard_size=4, device="cpu")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task": "invbench/Darcy-Tiny-v0"}, "are for FWI tasks"),
        ({"n": 0}, "n must be an integer >= 1"),
        ({"time_decimation": 0}, "time_decimation must be an integer >= 1"),
        ({"start": -1}, "start must be an integer >= 0"),
    ],
)
def test_bad_arguments_name_the_problem(kwargs, message, tmp_path):
    args = {"task": TASK, "n": 2, "out": tmp_path / "x", "device": "cpu", **kwargs}
    with pytest.raises(ValueError, match=message):
        generate_pairs(args.pop("task"), args.pop("n"), args.pop("out"), **args)


def test_a_changed_shard_is_detected(tmp_path):
    out = tmp_path / "c"
    generate_pairs(TASK, 2, out, device="cpu")
    shard = out / read_manifest(out)["shards"][0]["file"]
    shard.write_bytes(shard.read_bytes()[:-8] + b"corrupt!")
    with pytest.raises(ValueError, match="sha256 differs"):
        read_pairs(out)
    with pytest.raises(ValueError, match=r"no pairs\.json"):
        read_pairs(tmp_path / "absent")


def test_decimation_keeps_the_signal_and_stops_noise_aliasing():
    base = make(TASK, observed_solver="deepwave").unwrapped
    from invbench.physics.wave.propagator import AcousticPropagator

    v = torch.from_numpy(base.true_model("train", 0))[None]
    d = AcousticPropagator(base.acquisition, device="cpu")(v)  # (1, 3, 500, 32) at 1 ms
    dt = base.acquisition.dt
    # Clean 15 Hz data have no energy near the new Nyquist frequency: the filter changes nothing there.
    np.testing.assert_allclose(decimate_time(d, 4, dt), d[..., ::4, :], atol=1e-3 * float(d.abs().max()))
    # Decimating in two steps is decimating once.
    twice = decimate_time(decimate_time(d, 2, dt), 2, 2 * dt)
    np.testing.assert_allclose(twice, decimate_time(d, 4, dt), atol=1e-3 * float(d.abs().max()))
    # White noise: plain subsampling keeps all its power, the anti-aliased decimation about a fifth of it.
    noise = torch.randn(1, 3, 4000, 32, generator=torch.Generator().manual_seed(0))
    ratio = float(decimate_time(noise, 4, dt).var() / noise[..., ::4, :].var())
    assert 0.1 < ratio < 0.5


def test_generate_pairs_command_and_its_refusal(tmp_path):
    from invbench.cli import app

    runner = CliRunner()
    out = tmp_path / "cli"
    args = ["generate-pairs", "--task", "FWI-Tiny-v0", "--n", "2", "--out", str(out), "--device", "cpu"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "wrote 2 pairs" in result.output and "per 1000 pairs" in result.output
    assert json.loads((out / "pairs.json").read_text())["n"] == 2
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "already holds 2 pairs" in again.output
    refused = runner.invoke(app, [*args, "--split", "test"])
    assert refused.exit_code == 2 and "only from the 'train' split" in refused.output
