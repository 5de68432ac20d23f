"""``invbench train``: a VAE, then a latent diffusion model on it, through the command line."""

import json

from typer.testing import CliRunner

from invbench.cli import app


def test_vae_then_ldm_beside_it(tmp_path):
    runner = CliRunner()
    vae = tmp_path / "darcy-grf-vae-lite.safetensors"
    args = [
        "train",
        "--model",
        "vae",
        "--domain",
        "darcy-grf",
        "--steps",
        "2",
        "--out",
        str(vae),
        "--device",
        "cpu",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(vae.with_suffix(".json").read_text())["training"]["steps"] == 2
    ldm = tmp_path / "darcy-grf-ldm-lite.safetensors"
    args = [
        "train",
        "--model",
        "ldm",
        "--domain",
        "darcy-grf",
        "--steps",
        "2",
        "--out",
        str(ldm),
        "--device",
        "cpu",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    manifest = json.loads(ldm.with_suffix(".json").read_text())
    assert manifest["kind"] == "latent-diffusion" and manifest["autoencoder"]["name"] == "darcy-grf-vae-lite"
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "--resume" in again.output


def test_bad_choices_are_one_line_errors(tmp_path):
    runner = CliRunner()
    bad = runner.invoke(app, ["train", "--model", "gan", "--domain", "darcy-grf"])
    assert bad.exit_code == 2 and "--model must be one of vae, ldm" in bad.output
    bad = runner.invoke(app, ["train", "--model", "vae", "--domain", "heat"])
    assert bad.exit_code == 2 and "--domain must be one of" in bad.output
    missing = tmp_path / "none.safetensors"
    bad = runner.invoke(
        app,
        [
            "train",
            "--model",
            "ldm",
            "--domain",
            "fwi",
            "--autoencoder",
            str(missing),
            "--out",
            str(tmp_path / "m.safetensors"),
        ],
    )
    assert bad.exit_code == 2 and "no such weights file" in bad.output
