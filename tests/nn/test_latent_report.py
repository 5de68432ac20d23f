"""The latent diffusion quality report: reconstruction errors, sample statistics, markdown, figure, CLI."""

import json
from types import SimpleNamespace

import numpy as np
from typer.testing import CliRunner

from invbench.cli import app
from invbench.nn.latent_diffusion.checkpoint import load_latent_diffusion
from invbench.nn.latent_diffusion.report import (
    latent_figure,
    latent_markdown,
    latent_report,
    reconstruction_errors,
    reference_fields,
)
from tests.nn.conftest import write_tiny_autoencoder, write_tiny_latent_diffusion


def _fake(shift=0.0, domain="darcy-bimaterial"):
    return SimpleNamespace(domain=domain, encode=lambda x: x, decode=lambda z: z + shift)


def test_reconstruction_errors_are_in_physical_units_with_the_wrong_phase_share():
    fields = reference_fields("darcy-bimaterial", (16, 16), 6)
    assert fields.shape == (6, 1, 16, 16)
    exact = reconstruction_errors(_fake(), fields)
    assert exact == {"mae": 0.0, "rmse": 0.0, "rel_l2": 0.0, "wrong_phase": 0.0}
    shifted = reconstruction_errors(_fake(shift=2.0), fields)
    assert abs(shifted["mae"] - 2.0) < 1e-5 and abs(shifted["rmse"] - 2.0) < 1e-5
    assert shifted["wrong_phase"] == float((fields < np.log(6.0)).mean())  # every low cell crosses
    assert "wrong_phase" not in reconstruction_errors(_fake(domain="darcy-grf"), fields)


def test_report_markdown_figure_and_cli(tmp_path):
    vae = tmp_path / "darcy-bimaterial-vae-tiny.safetensors"
    write_tiny_autoencoder(vae, domain="darcy-bimaterial", shape=(16, 16))
    path = tmp_path / "darcy-bimaterial-ldm-tiny.safetensors"
    write_tiny_latent_diffusion(path, vae)
    ldm = load_latent_diffusion(path, device="cpu")
    report = latent_report(ldm, n_samples=6, n_reference=12, steps=2, batch_size=4)
    assert report["arrays"]["samples"].shape == report["arrays"]["gaussian"].shape == (6, 1, 16, 16)
    for key in ("samples", "gaussian_latents", "baseline"):
        assert set(report[key]["per_stat"]) == {"mean", "variance", "corr_length", "fraction_high"}
    assert 0 <= report["reconstruction"]["wrong_phase"] <= 1
    md = latent_markdown(report)
    assert "darcy-bimaterial-ldm-tiny" in md and "wrong phase" in md and "fraction of high-phase cells" in md
    latent_figure(ldm, report, tmp_path / "fig.png")
    assert (tmp_path / "fig.png").stat().st_size > 5_000
    args = ["--out", str(tmp_path / "out"), "--samples", "4", "--reference", "8", "--steps", "2"]
    result = CliRunner().invoke(app, ["latent-report", str(path), *args])
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "out" / "darcy-bimaterial-ldm-tiny-report.json").read_text())
    assert saved["ldm"]["name"] == "darcy-bimaterial-ldm-tiny" and "arrays" not in saved
    assert (tmp_path / "out" / "darcy-bimaterial-ldm-tiny-samples.png").is_file()
    bad = CliRunner().invoke(app, ["latent-report", str(tmp_path / "absent.safetensors")])
    assert bad.exit_code != 0 and "absent" in bad.output
