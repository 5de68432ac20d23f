import itertools
import math

import numpy as np
import pytest

from invbench.data.darcy_fields import gaussian_field
from invbench.nn.diffusion.evaluate import (
    compare_stats,
    correlation_length,
    darcy_field_stats,
    denoising_loss,
    fwi_map_stats,
    heldout_fields,
    quality_report,
    sliced_wasserstein,
)

from .conftest import tiny_prior


def _layered(velocities, depths, nz=20, nx=6):
    v = np.empty((nz, nx))
    edges = [0, *depths, nz]
    for vel, (a, b) in zip(velocities, itertools.pairwise(edges), strict=True):
        v[a:b] = vel
    return v


def test_fwi_map_stats_on_handmade_maps():
    mono = _layered([1500, 2500, 3500], [6, 13])
    inverted = _layered([2000, 3500, 2500, 4000], [5, 10, 15])
    smeared = mono.copy()
    smeared[6] = 2000  # a boundary smeared over two cells counts once
    s = fwi_map_stats(np.stack([mono, inverted, smeared])[:, None])
    np.testing.assert_array_equal(s["layers"], [3, 4, 3])
    np.testing.assert_array_equal(s["distinct_velocities"], [3, 4, 4])
    np.testing.assert_array_equal(s["monotonic"], [1, 0, 1])
    assert s["monotonic_fraction"][0] == 1.0
    assert s["monotonic_fraction"][1] == pytest.approx(1 - 1 / 19)
    assert s["v_mean"][0] == pytest.approx(mono.mean())


def test_fwi_stats_of_generated_families():
    s = fwi_map_stats(heldout_fields("fwi", 16, families=("FlatVel-A",)))
    assert np.all(s["monotonic"] == 1.0)  # A families never decrease with depth
    assert np.all((s["layers"] >= 1) & (s["layers"] <= 8))  # interfaces below 100 m/s are not counted


def test_correlation_length():
    assert correlation_length(np.ones((1, 16, 16)))[0] == 0.0
    rough = correlation_length(gaussian_field(8, 0, n=32, tau=12.0))
    smooth = correlation_length(gaussian_field(8, 0, n=32, tau=3.0))
    assert np.all(smooth > 0) and np.mean(smooth) > 1.5 * np.mean(rough)


def test_darcy_field_stats():
    f = heldout_fields("darcy-bimaterial", 6, field_shape=(16, 16))
    s = darcy_field_stats(f, threshold=math.log(6))
    assert set(s) == {"mean", "variance", "corr_length", "fraction_high"}
    assert np.all((s["fraction_high"] > 0) & (s["fraction_high"] < 1))
    np.testing.assert_allclose(s["mean"], f.mean(axis=(1, 2, 3)), rtol=1e-6)


def test_sliced_wasserstein():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((300, 3))
    assert sliced_wasserstein(a, a) == 0.0
    assert sliced_wasserstein(a[:, :1], a[:, :1] + 2.0) == pytest.approx(2.0)
    near = sliced_wasserstein(a, rng.standard_normal((300, 3)))
    far = sliced_wasserstein(a, rng.standard_normal((300, 3)) + 1.0)
    assert near < 0.2 < far
    assert sliced_wasserstein(a, a + 1.0) == pytest.approx(sliced_wasserstein(a + 1.0, a))
    with pytest.raises(ValueError, match="dimension"):
        sliced_wasserstein(a, a[:, :2])


def test_compare_stats_structure():
    ref = {"x": np.arange(10.0), "y": np.ones(10)}
    out = compare_stats({"x": np.arange(10.0) + 1, "y": np.ones(10)}, ref)
    assert out["per_stat"]["x"]["w1"] == pytest.approx(1.0)
    assert out["per_stat"]["y"]["w1"] == 0.0 and math.isnan(out["per_stat"]["y"]["w1_over_ref_std"])
    assert out["sliced_wasserstein"] > 0 and out["constant_in_reference"] == ["y"]


def test_a_constant_reference_statistic_does_not_blow_up_the_standardised_distance():
    """A GRF's spatial mean is ~0 in every training field (std ~1e-11): dividing by that would give ~1e7."""
    rng = np.random.default_rng(0)
    ref = {"mean": rng.normal(0, 1e-11, 200), "var": rng.normal(1, 0.1, 200)}
    same = {"mean": rng.normal(0.01, 0.01, 200), "var": rng.normal(1, 0.1, 200)}
    shifted = {"mean": rng.normal(0.01, 0.01, 200), "var": rng.normal(1.5, 0.1, 200)}
    a, b = compare_stats(same, ref), compare_stats(shifted, ref)
    assert a["constant_in_reference"] == ["mean"] and a["sliced_wasserstein"] < 0.5
    assert b["sliced_wasserstein"] > 5 * a["sliced_wasserstein"]  # the spread statistic still counts
    assert a["per_stat"]["mean"]["w1"] == pytest.approx(0.01, abs=0.003)  # its W1 is kept, in its units


def test_denoising_loss_is_deterministic():
    prior = tiny_prior("darcy-grf")
    fields = heldout_fields("darcy-grf", 4, field_shape=(16, 16))
    a = denoising_loss(prior, fields, timesteps=(10, 500), seed=1)
    b = denoising_loss(prior, fields, timesteps=(10, 500), seed=1)
    assert a == b and set(a["per_t"]) == {10, 500} and a["mean"] > 0


@pytest.mark.parametrize("domain", ["darcy-bimaterial", "fwi"])
def test_quality_report_on_a_tiny_prior(domain):
    shape = (16, 16) if domain != "fwi" else (14, 14)
    prior = tiny_prior(domain, shape)
    ref = heldout_fields(domain, 8, field_shape=shape)
    rep = quality_report(prior, ref, n_samples=4, steps=2, batch_size=2)
    assert rep["domain"] == domain and rep["n_samples"] == 4
    assert set(rep["stats"]["per_stat"]) == set(rep["stats_baseline"]["per_stat"])
    for key in ("pooled_sliced_wasserstein", "pooled_sliced_wasserstein_baseline"):
        assert np.isfinite(rep[key])
    assert np.isfinite(rep["stats"]["sliced_wasserstein"]) and np.isfinite(rep["denoising_loss"]["mean"])
