"""The weights format holds any torch module, not only diffusion UNets."""

import json

import pytest
import torch

from invbench.core.files import sha256_file
from invbench.nn.weights import WeightsError, load_module, weights_record, write_weights

TRAINING = {"device": "cpu", "steps": 7, "wall_time_s": 1.5}


def _write(tmp_path, **kw):
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 2)
    path = tmp_path / "lin.safetensors"
    manifest = write_weights(
        path,
        net.state_dict(),
        name="lin",
        kind="test-linear",
        architecture="torch.nn:Linear",
        config={"in_features": 3, "out_features": 2},
        training=TRAINING,
        **kw,
    )
    return net, path, manifest


def test_any_module_round_trips_with_its_manifest(tmp_path):
    net, path, manifest = _write(tmp_path, extra={"note": {"what": "a linear map"}})
    assert manifest["format"] == "invbench-weights" and manifest["kind"] == "test-linear"
    assert manifest["note"] == {"what": "a linear map"} and manifest["weights"]["n_parameters"] == 8
    loaded, read = load_module(path, device="cpu")
    assert isinstance(loaded, torch.nn.Linear) and not loaded.training
    assert all(not p.requires_grad for p in loaded.parameters())
    x = torch.randn(4, 3)
    assert torch.equal(loaded(x), net(x).detach()) and read == manifest


def test_weights_record_hashes_the_manifest_too(tmp_path):
    _, path, manifest = _write(tmp_path)
    record = weights_record(path)
    assert record["sha256"] == sha256_file(path) and record["training"] == TRAINING
    assert record["manifest_sha256"] == sha256_file(path.with_suffix(".json"))
    manifest["training"]["steps"] = 8
    path.with_suffix(".json").write_text(json.dumps(manifest))
    assert weights_record(path)["manifest_sha256"] != record["manifest_sha256"]


def test_an_architecture_that_does_not_match_the_tensors_is_refused(tmp_path):
    _, path, manifest = _write(tmp_path)
    manifest["architecture"]["config"]["out_features"] = 5
    path.with_suffix(".json").write_text(json.dumps(manifest))
    with pytest.raises(WeightsError, match=r"shape mismatches: bias \(2,\) != \(5,\)"):
        load_module(path, device="cpu")


@pytest.mark.parametrize(
    ("cls", "match"),
    [("torch.nn:NoSuchLayer", "cannot be imported"), ("json:JSONDecoder", "not a torch.nn.Module")],
)
def test_an_architecture_that_is_not_a_module_is_refused(tmp_path, cls, match):
    _, path, manifest = _write(tmp_path)
    manifest["architecture"]["class"] = cls
    path.with_suffix(".json").write_text(json.dumps(manifest))
    with pytest.raises(WeightsError, match=match):
        load_module(path, device="cpu")


def test_changed_weights_are_refused(tmp_path):
    _, path, _ = _write(tmp_path)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="sha256 mismatch"):
        load_module(path, device="cpu")
