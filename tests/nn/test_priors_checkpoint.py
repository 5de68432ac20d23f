import json
import pickle

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from invbench.core.files import sha256_file
from invbench.data.families import generate
from invbench.nn import shipped
from invbench.nn import weights as ckpt
from invbench.nn.diffusion.checkpoint import load_prior
from invbench.nn.weights import WeightsError

from .conftest import write_tiny_checkpoint


def _write(tmp_path, name="p", dtype="float32"):
    path = tmp_path / f"{name}.safetensors"
    prior, manifest = write_tiny_checkpoint(path, seed=3, dtype=dtype)
    return prior, path, manifest


def test_round_trip(tmp_path):
    prior, path, manifest = _write(tmp_path)
    assert json.loads(path.with_suffix(".json").read_text()) == manifest
    assert manifest["weights"]["sha256"] == sha256_file(path)
    for key in ("architecture", "domain", "normalization", "training", "versions", "created", "schedule"):
        assert key in manifest
    loaded = load_prior(path, device="cpu")
    assert loaded.manifest == manifest and loaded.normalization == prior.normalization
    for k, v in prior.unet.state_dict().items():
        assert torch.equal(loaded.unet.state_dict()[k], v), k
    a = prior.sample(2, steps=3, generator=torch.Generator().manual_seed(1))
    b = loaded.sample(2, steps=3, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    assert torch.equal(
        load_prior(path.with_suffix(".json"), device="cpu").sample(
            2, steps=3, generator=torch.Generator().manual_seed(1)
        ),
        a,
    )


def test_float16_export(tmp_path):
    prior, path, manifest = _write(tmp_path, dtype="float16")
    assert manifest["weights"]["dtype"] == "float16"
    assert all(v.dtype == torch.float16 for v in load_file(path).values())
    loaded = load_prior(path, device="cpu")
    for k, v in prior.unet.state_dict().items():
        assert torch.equal(loaded.unet.state_dict()[k], v.half().float()), k


def test_corrupted_file_is_refused(tmp_path):
    _, path, _ = _write(tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="sha256 mismatch") as err:
        load_prior(path, device="cpu")
    assert str(path) in str(err.value)


def test_manifest_weights_mismatch_is_refused(tmp_path):
    _, path, manifest = _write(tmp_path)
    manifest["architecture"]["config"]["block_out_channels"] = [8, 24]
    path.with_suffix(".json").write_text(json.dumps(manifest))
    with pytest.raises(WeightsError, match="shape mismatches") as err:
        load_prior(path, device="cpu")
    assert str(path) in str(err.value)


def test_unexpected_and_missing_weights_are_refused(tmp_path):
    _, path, manifest = _write(tmp_path)
    state = load_file(path)
    dropped = sorted(state)[0]
    del state[dropped]
    state["extra.weight"] = torch.zeros(3)
    save_file(state, path)
    manifest["weights"]["sha256"] = sha256_file(path)
    path.with_suffix(".json").write_text(json.dumps(manifest))
    with pytest.raises(WeightsError, match="missing weights") as err:
        load_prior(path, device="cpu")
    assert dropped in str(err.value) and "unexpected weights: extra.weight" in str(err.value)


@pytest.mark.parametrize("suffix", [".pt", ".bin", ".pkl", ".ckpt"])
def test_pickle_suffixes_are_refused(tmp_path, suffix):
    path = tmp_path / f"model{suffix}"
    torch.save({"w": torch.zeros(2)}, path)
    with pytest.raises(WeightsError, match="refusing to load") as err:
        load_prior(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize("writer", ["torch", "pickle"])
def test_pickle_content_disguised_as_safetensors_is_refused(tmp_path, writer):
    _, path, manifest = _write(tmp_path)
    if writer == "torch":
        torch.save({"w": torch.zeros(2)}, path)
    else:
        path.write_bytes(pickle.dumps({"w": [0.0, 1.0]}))
    manifest["weights"]["sha256"] = sha256_file(path)
    path.with_suffix(".json").write_text(json.dumps(manifest))
    with pytest.raises(WeightsError, match="pickle"):
        load_prior(path, device="cpu")


def test_safetensors_whose_header_length_starts_with_the_pickle_opcode_loads(tmp_path):
    """A header length with low byte 0x80 is valid safetensors, not pickle (it hid a shipped prior)."""
    path = tmp_path / "w.safetensors"
    for pad in range(64):
        save_file({"w": torch.arange(3.0)}, path, metadata={"pad": "x" * pad})
        if path.read_bytes()[:1] == b"\x80":
            break
    else:
        pytest.fail("no metadata length gave a header length ending in 0x80")
    ckpt._sniff(path)  # does not raise
    assert torch.equal(load_file(path)["w"], torch.arange(3.0))


def test_missing_manifest_is_refused(tmp_path):
    _, path, _ = _write(tmp_path)
    path.with_suffix(".json").unlink()
    with pytest.raises(WeightsError, match="missing manifest") as err:
        load_prior(path, device="cpu")
    assert "p.json" in str(err.value)


def test_foreign_manifest_is_refused(tmp_path):
    _, path, manifest = _write(tmp_path)
    manifest["format"] = "something-else"
    path.with_suffix(".json").write_text(json.dumps(manifest))
    with pytest.raises(WeightsError, match="not an invbench weights manifest"):
        load_prior(path, device="cpu")


def test_shipped_checkpoints_resolve_by_name(tmp_path, monkeypatch):
    _write(tmp_path, name="tiny-grf")
    monkeypatch.setattr(shipped, "shipped_weight_dirs", lambda: [tmp_path])
    assert list(shipped.shipped_checkpoints()) == ["tiny-grf"]
    assert load_prior("tiny-grf", device="cpu").manifest["name"] == "tiny-grf"
    with pytest.raises(WeightsError, match="tiny-grf"):
        load_prior("no-such-prior")


def test_shipped_weights_live_under_their_method():
    dirs = shipped.shipped_weight_dirs()
    assert any(d.parent.name == "red_diffeq" and d.parent.parent.name == "solvers" for d in dirs)
    assert all(d.name == "weights" and d.is_dir() for d in dirs)


def test_a_name_shipped_twice_is_refused(tmp_path, monkeypatch):
    for sub in ("a", "b"):
        _write(tmp_path / sub, name="twice")
    monkeypatch.setattr(shipped, "shipped_weight_dirs", lambda: [tmp_path / "a", tmp_path / "b"])
    with pytest.raises(WeightsError, match="twice"):
        shipped.shipped_checkpoints()


SHIPPED = {
    "fwi-lite": "fwi",
    "fwi-long": "fwi",
    "darcy-grf-lite": "darcy-grf",
    "darcy-bimaterial-lite": "darcy-bimaterial",
}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_lite_priors_load_offline_with_their_hash(name):
    """Each lite prior the README lists is package data, passes its sha256 check and has its domain."""
    found = shipped.shipped_checkpoints()
    assert name in found, f"{name} is not shipped; train it with solvers/red_diffeq/train_lite_priors.sh"
    prior = load_prior(name, device="cpu")
    assert prior.manifest["weights"]["sha256"] == sha256_file(found[name])
    assert prior.domain == SHIPPED[name]


@pytest.mark.parametrize("name", ["fwi-lite", "fwi-long"])
def test_shipped_fwi_priors_denoise_their_training_families(name):
    """Sanity: from x_t at t = 200, the predicted x0 of fresh training-family maps (B variants, a seed
    unseen in training) errs by under a quarter of the noisy input's error (both shipped: under 0.1)."""
    if name not in shipped.shipped_checkpoints():
        pytest.skip(f"{name} is not shipped")
    prior = load_prior(name, device="cpu")
    maps = np.concatenate([generate(f, 2, seed=12345) for f in ("FlatVel-B", "CurveFault-B")])
    x0 = prior.to_model_units(torch.as_tensor(maps, dtype=torch.float32).reshape(-1, 1, 70, 70))
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(0))
    x_t = prior.add_noise(x0, eps, 200)
    with torch.no_grad():
        denoised = prior.x0(x_t, 200)
    noisy_error = (x_t - x0).abs().mean()
    assert (denoised - x0).abs().mean() < 0.25 * noisy_error


def test_shipped_weights_stay_under_60_mb():
    """Every method's shipped weights together (priors, autoencoders, latent diffusion models)."""
    total = sum(path.stat().st_size for path in shipped.shipped_checkpoints().values())
    assert 0 < total < 60_000_000
