import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from invbench.cli import app
from invbench.data.openfwi import DataFileError
from invbench.nn.diffusion.evaluate import draw_samples, fwi_map_stats, heldout_fields
from invbench.nn.diffusion.report import (
    prior_report,
    real_openfwi_maps,
    reference_fields,
    report_figure,
    report_markdown,
)
from tests.conftest import SHARED_OPENFWI

from .conftest import tiny_prior, write_tiny_checkpoint

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TINY = {"n_samples": 4, "n_reference": 8, "steps": 2}


def _maps(n, family="FlatVel-A", seed=0):
    return heldout_fields("fwi", n, seed=seed, families=(family,))


def _write_real(folder, n=10):
    folder.mkdir(exist_ok=True)
    np.savez_compressed(folder / "flatvel_a_train.npz", model=_maps(n, "FlatVel-A"))
    np.savez_compressed(folder / "curvevel_a_train.npz", model=_maps(n, "CurveVel-A"))
    return folder


def _finite_numbers(x):
    if isinstance(x, dict):
        for v in x.values():
            yield from _finite_numbers(v)
    elif isinstance(x, list):
        for v in x:
            yield from _finite_numbers(v)
    elif isinstance(x, float):
        yield x


def _check_report(rep, domain):
    for key in (
        "prior",
        "reference",
        "domain",
        "n_samples",
        "n_reference",
        "sampler",
        "denoising_loss",
        "stats",
        "stats_baseline",
        "pooled_sliced_wasserstein",
        "pooled_sliced_wasserstein_baseline",
    ):
        assert key in rep, key
    assert rep["domain"] == rep["prior"]["domain"] == domain
    assert rep["n_samples"] == 4 and rep["n_reference"] == 8
    json.dumps(rep, allow_nan=False)  # plain JSON, non-finite numbers as null
    assert all(math.isfinite(x) for x in _finite_numbers(rep))
    for key in ("pooled_sliced_wasserstein", "pooled_sliced_wasserstein_baseline"):
        assert math.isfinite(rep[key])
    assert math.isfinite(rep["denoising_loss"]["mean"]) and rep["denoising_loss"]["mean"] > 0
    for v in rep["stats"]["per_stat"].values():
        assert math.isfinite(v["w1"]) and math.isfinite(v["sample_mean"])


def test_darcy_report_markdown_and_figure(tmp_path):
    prior = tiny_prior("darcy-grf")
    rep = prior_report(prior, **TINY)
    _check_report(rep, "darcy-grf")
    assert rep["prior"]["name"] == "unnamed" and rep["prior"]["sha256"] is None
    assert set(rep["stats"]["per_stat"]) == {"mean", "variance", "corr_length", "fraction_high"}
    assert "real" not in rep
    md = report_markdown(rep)
    assert "| statistic | training mean | samples mean | W1 samples vs training | W1 baseline |" in md
    assert "| correlation length (cells) |" in md and "8 × 8 pooled fields" in md
    assert "(real)" not in md
    samples = draw_samples(prior, 3, steps=2)
    png = tmp_path / "fig.png"
    report_figure(prior, samples, reference_fields(prior, 4), png)
    assert png.read_bytes()[:8] == PNG_MAGIC and png.stat().st_size > 5_000


def test_fwi_report_against_real_maps(tmp_path):
    prior = tiny_prior("fwi", (70, 70))
    prior.manifest = {
        "name": "tiny-fwi",
        "weights": {"sha256": "ab" * 32},
        "training": {"steps": 7, "data": {"source": "procedural", "families": ["FlatVel-A"]}},
    }
    real = real_openfwi_maps(_write_real(tmp_path / "real"), n=8)
    samples = draw_samples(prior, 4, steps=2)
    rep = prior_report(prior, **TINY, real=real, samples=samples)
    _check_report(rep, "fwi")
    assert rep["prior"]["training_steps"] == 7 and rep["reference"]["families"] == ["FlatVel-A"]
    assert set(rep["real"]) == {"FlatVel-A", "CurveVel-A"}
    for entry in rep["real"].values():
        assert entry["n_maps"] == 8
        for part in ("samples", "procedural", "baseline"):
            assert math.isfinite(entry[part]["pooled_sliced_wasserstein"])
    # The given samples were used: the samples mean of v_mean is theirs.
    assert rep["stats"]["per_stat"]["v_mean"]["sample_mean"] == pytest.approx(samples.mean(), rel=1e-6)
    md = report_markdown(rep)
    assert "#### Prior `tiny-fwi` (fwi)" in md and "`abababababab…`, 7 training steps" in md
    assert "| statistic | samples | held-out procedural | FlatVel-A (real) | CurveVel-A (real) |" in md
    assert "| fraction of depth-monotone maps |" in md and "| FlatVel-A (8 maps) |" in md
    png = tmp_path / "fwi.png"
    report_figure(prior, samples, reference_fields(prior, 4), png, real=real)
    assert png.read_bytes()[:8] == PNG_MAGIC


def test_report_refuses_real_maps_that_do_not_fit():
    maps = {"FlatVel-A": _maps(4)}
    with pytest.raises(ValueError, match="FWI priors only"):
        prior_report(tiny_prior("darcy-grf"), **TINY, real=maps)
    with pytest.raises(ValueError, match=r"field shape \(14, 14\)"):
        prior_report(tiny_prior("fwi", (14, 14)), **TINY, real=maps)


def test_real_openfwi_maps_loader(tmp_path):
    folder = _write_real(tmp_path / "real")
    every = real_openfwi_maps(folder, n=None)
    assert set(every) == {"FlatVel-A", "CurveVel-A"} and every["FlatVel-A"].shape == (10, 1, 70, 70)
    some = real_openfwi_maps(folder, n=4, seed=3)
    assert some["CurveVel-A"].shape == (4, 1, 70, 70) and some["CurveVel-A"].dtype == np.float32
    np.testing.assert_array_equal(some["CurveVel-A"], real_openfwi_maps(folder, n=4, seed=3)["CurveVel-A"])
    rows = {m.tobytes() for m in every["CurveVel-A"]}
    assert all(m.tobytes() in rows for m in some["CurveVel-A"])
    (folder / "curvevel_a_train.npz").unlink()
    assert set(real_openfwi_maps(folder, n=4)) == {"FlatVel-A"}


def test_real_openfwi_maps_errors(tmp_path):
    with pytest.raises(DataFileError, match="no such folder"):
        real_openfwi_maps(tmp_path / "absent")
    with pytest.raises(DataFileError, match="holds none of"):
        real_openfwi_maps(tmp_path)
    (tmp_path / "flatvel_a_train.npz").write_bytes(b"not a zip archive")
    with pytest.raises(DataFileError, match=r"flatvel_a_train\.npz"):
        real_openfwi_maps(tmp_path)
    np.savez(tmp_path / "flatvel_a_train.npz", velocity=_maps(2))
    with pytest.raises(DataFileError, match=r"flatvel_a_train\.npz.*no 'model' array"):
        real_openfwi_maps(tmp_path)


def _said(res):
    return " ".join(res.output.split())  # rich wraps long lines


def _checkpoint(tmp_path, domain="darcy-grf", shape=(16, 16), name="tiny-grf"):
    path = tmp_path / f"{name}.safetensors"
    write_tiny_checkpoint(path, domain=domain, shape=shape, seed=2, steps=3)
    return path


def test_cli_prior_report_end_to_end(tmp_path):
    path = _checkpoint(tmp_path)
    out = tmp_path / "reports"
    args = ["prior-report", str(path), "--samples", "4", "--reference", "8", "--steps", "2"]
    res = CliRunner().invoke(app, [*args, "--seed", "1", "--out", str(out), "--device", "cpu"])
    assert res.exit_code == 0, res.output
    rep = json.loads((out / "tiny-grf.json").read_text())
    assert rep["prior"]["name"] == "tiny-grf" and rep["prior"]["training_steps"] == 3
    assert len(rep["prior"]["sha256"]) == 64 and rep["sampler"]["seed"] == 1
    md = (out / "tiny-grf.md").read_text()
    assert "| statistic | training mean |" in md and "| mean log k |" in res.output
    assert (out / "tiny-grf.png").read_bytes()[:8] == PNG_MAGIC


def test_cli_prior_report_errors(tmp_path):
    runner = CliRunner()
    out = ["--out", str(tmp_path / "out")]
    res = runner.invoke(app, ["prior-report", "no-such-prior", *out])
    assert res.exit_code == 2 and "no such weights file or shipped weights; shipped: " in _said(res)
    path = _checkpoint(tmp_path)
    res = runner.invoke(app, ["prior-report", str(path), "--real", str(tmp_path / "absent"), *out])
    assert res.exit_code == 2 and "absent: no such folder" in _said(res)
    real = _write_real(tmp_path / "r", n=4)
    res = runner.invoke(app, ["prior-report", str(path), "--real", str(real), *out])
    assert res.exit_code == 2 and "--real applies to FWI priors only" in _said(res)
    assert not (tmp_path / "out").exists()


@pytest.mark.realdata
def test_report_against_shared_openfwi_maps():
    if not (SHARED_OPENFWI / "flatvel_a_train.npz").exists():
        pytest.skip(f"real OpenFWI maps not found in {SHARED_OPENFWI}")
    real = real_openfwi_maps(SHARED_OPENFWI, n=8)
    assert set(real) == {"FlatVel-A", "CurveVel-A", "CurveFault-A"}
    for family, maps in real.items():
        assert maps.shape == (8, 1, 70, 70) and maps.min() >= 1500 and maps.max() <= 4500
        monotone = fwi_map_stats(maps)["monotonic"]
        if family.endswith("Vel-A"):
            assert np.all(monotone == 1.0)  # the Vel-A families never decrease with depth
        else:
            assert np.mean(monotone) < 1.0  # faults put fast rock above slow in most maps
    rep = prior_report(tiny_prior("fwi", (70, 70)), **TINY, real=real)
    assert set(rep["real"]) == set(real)
    assert math.isfinite(rep["real"]["FlatVel-A"]["procedural"]["pooled_sliced_wasserstein"])
