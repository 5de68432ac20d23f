"""Latent diffusion: a tiny model trains on a tiny autoencoder's latents, exports, loads and samples."""

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from invbench.nn.autoencoder.presets import VAESpec, get_vae_preset
from invbench.nn.autoencoder.train import train_autoencoder
from invbench.nn.diffusion.presets import UNetSpec
from invbench.nn.latent_diffusion import get_ldm_preset, load_latent_diffusion
from invbench.nn.latent_diffusion.train import train_latent_diffusion
from invbench.nn.weights import WeightsError

TINY_UNET = UNetSpec((8, 16), 1, (False, False), mid_attention=False, norm_num_groups=4, attention_head_dim=8)


def tiny_vae_preset():
    lite = get_vae_preset("lite")
    return replace(
        lite,
        vae=VAESpec((16, 16), 1, 2, norm_num_groups=8),
        train=replace(lite.train, batch_size=4, checkpoint_every=3, amp=False),
    )


def tiny_ldm_preset():
    lite = get_ldm_preset("lite")
    return replace(
        lite, unet=TINY_UNET, train=replace(lite.train, batch_size=4, checkpoint_every=2, warmup_steps=0)
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ldm")
    ae = folder / "tiny-vae.safetensors"
    train_autoencoder("darcy-grf", tiny_vae_preset(), out=ae, steps=3, device="cpu", seed=1)
    out = folder / "tiny-ldm.safetensors"
    result = train_latent_diffusion(ae, tiny_ldm_preset(), out=out, steps=4, device="cpu", seed=2)
    return ae, out, result


def test_training_exports_a_model_tied_to_its_autoencoder(trained):
    ae, out, result = trained
    assert result.step == 4 and all(np.isfinite(result.losses))
    manifest = result.manifest
    assert manifest["kind"] == "latent-diffusion" and manifest["domain"] == "darcy-grf"
    ae_manifest = json.loads(ae.with_suffix(".json").read_text())
    assert manifest["autoencoder"] == {"name": "tiny-vae", "sha256": ae_manifest["weights"]["sha256"]}
    model = load_latent_diffusion(out, device="cpu")
    assert model.latent_shape == (2, 32, 32)
    fields = model.sample(2, steps=3, generator=torch.Generator().manual_seed(0))
    assert fields.shape == (2, 1, 64, 64) and torch.isfinite(fields).all()


def test_ddim_is_deterministic_and_differentiable_in_the_noise(trained):
    model = load_latent_diffusion(trained[1], device="cpu")
    noise = torch.randn(1, *model.latent_shape, generator=torch.Generator().manual_seed(3))
    a = model.ddim(noise, 3)
    assert torch.equal(a, model.ddim(noise, 3))
    z = noise.clone().requires_grad_(True)
    model.decode(model.ddim(z, 3, grad=True)).sum().backward()
    assert z.grad is not None and torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0


def test_loading_refuses_another_autoencoder(trained, tmp_path):
    out = trained[1]
    other = tmp_path / "tiny-vae.safetensors"
    train_autoencoder("darcy-grf", tiny_vae_preset(), out=other, steps=3, device="cpu", seed=5)
    with pytest.raises(WeightsError, match="trained on autoencoder 'tiny-vae'"):
        load_latent_diffusion(out, device="cpu", autoencoder=other)


def test_a_missing_autoencoder_is_a_clear_error(tmp_path):
    with pytest.raises(WeightsError, match="no such weights file"):
        train_latent_diffusion(
            tmp_path / "none.safetensors", tiny_ldm_preset(), out=tmp_path / "m.safetensors"
        )


def test_unknown_preset_is_named():
    with pytest.raises(ValueError, match="unknown latent diffusion preset 'huge'"):
        get_ldm_preset("huge")


def test_a_latent_the_unet_cannot_halve_is_padded_and_cropped_back():
    from diffusers import UNet2DModel

    from invbench.nn.latent_diffusion.model import unet_eps

    spec = UNetSpec((8, 16, 16), 1, (False, False, False), mid_attention=False, norm_num_groups=4)
    unet = UNet2DModel(**spec.diffusers_config((18, 18), channels=4)).eval()
    w = torch.randn(2, 4, 18, 18)  # FWI: 72 x 72 model grid / 4; a three-level UNet needs multiples of 4
    with pytest.raises(RuntimeError):
        unet(w, torch.zeros(2, dtype=torch.long))
    out = unet_eps(unet, w, torch.zeros(2, dtype=torch.long)).sample
    assert out.shape == w.shape
    # the crop is the centre: the prediction of the padded input, without the one added ring
    padded = unet(torch.nn.functional.pad(w, (1, 1, 1, 1)), torch.zeros(2, dtype=torch.long)).sample
    torch.testing.assert_close(out, padded[..., 1:19, 1:19])
