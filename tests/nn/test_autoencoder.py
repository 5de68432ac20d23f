"""Field autoencoders: a tiny one trains for a few steps, exports, loads verified, and round-trips shapes."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from invbench.nn.autoencoder import load_autoencoder
from invbench.nn.autoencoder.presets import VAESpec, get_vae_preset
from invbench.nn.autoencoder.train import train_autoencoder
from invbench.nn.weights import WeightsError


def tiny_preset():
    lite = get_vae_preset("lite")
    return replace(
        lite,
        vae=VAESpec((16, 16), 1, 2, norm_num_groups=8),
        train=replace(lite.train, batch_size=4, checkpoint_every=3, amp=False),
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = tmp_path_factory.mktemp("ae") / "tiny-vae.safetensors"
    result = train_autoencoder("darcy-grf", tiny_preset(), out=out, steps=6, device="cpu", seed=1)
    return out, result


def test_training_exports_a_verified_autoencoder(trained):
    out, result = trained
    assert result.step == 6 and len(result.losses) == 6 and all(np.isfinite(result.losses))
    manifest = result.manifest
    assert manifest["kind"] == "autoencoder" and manifest["training"]["steps"] == 6
    assert manifest["latent"]["shape"] == [2, 32, 32] and manifest["latent"]["scale"] > 0
    held = manifest["training"]["held_out"]
    assert held["fields"] == 256 and held["rmse_model_units"] > 0
    ae = load_autoencoder(out, device="cpu")
    fields = np.random.default_rng(0).standard_normal((3, 1, 64, 64)).astype(np.float32)
    z = ae.encode(fields)
    assert z.shape == (3, 2, 32, 32)
    z = z.clone().requires_grad_(True)
    decoded = ae.decode(z)
    assert decoded.shape == (3, 1, 64, 64)
    decoded.sum().backward()
    assert z.grad is not None and torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0


def test_decode_refuses_a_latent_of_the_wrong_shape(trained):
    ae = load_autoencoder(trained[0], device="cpu")
    with pytest.raises(ValueError, match="latents must be"):
        ae.decode(torch.zeros(1, 4, 16, 16))


def test_resume_reproduces_an_uninterrupted_run(trained, tmp_path):
    _, full = trained
    out = tmp_path / "resumed.safetensors"
    train_autoencoder("darcy-grf", tiny_preset(), out=out, steps=3, device="cpu", seed=1)
    with pytest.raises(WeightsError, match="--resume"):
        train_autoencoder("darcy-grf", tiny_preset(), out=out, steps=6, device="cpu", seed=1)
    resumed = train_autoencoder(
        "darcy-grf", tiny_preset(), out=out, steps=6, device="cpu", seed=1, resume=True
    )
    assert resumed.start_step == 3
    np.testing.assert_allclose(resumed.losses, full.losses, rtol=1e-5)


def test_a_diffusion_prior_is_not_an_autoencoder():
    with pytest.raises(WeightsError, match=r"autoencoder|latent"):
        load_autoencoder("darcy-grf-lite", device="cpu")


def test_bad_arguments_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown domain"):
        train_autoencoder("heat", out=tmp_path / "x.safetensors")
    with pytest.raises(ValueError, match="unknown autoencoder preset"):
        train_autoencoder("darcy-grf", "huge", out=tmp_path / "x.safetensors")
    with pytest.raises(ValueError, match=r"must end in \.safetensors"):
        train_autoencoder("darcy-grf", tiny_preset(), out=tmp_path / "x.pt")
    with pytest.raises(ValueError, match="not divisible"):
        VAESpec((16, 16, 16, 16), 1, 2, norm_num_groups=8).diffusers_config((70, 70))
