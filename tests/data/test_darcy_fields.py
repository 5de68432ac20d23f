"""Tests for the Darcy conductivity-field generators."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from invbench.data.darcy_fields import bimaterial_log_k, gaussian_field, grf_log_k, kl_coefficients

LOG3, LOG12 = np.log(3.0), np.log(12.0)


@pytest.mark.parametrize("fn", [grf_log_k, bimaterial_log_k])
@pytest.mark.parametrize("n", [8, 33, 64])
def test_shape_and_dtype(fn, n):
    out = fn(3, 0, n=n)
    assert out.shape == (3, n, n)
    assert out.dtype == np.float64
    assert np.all(np.isfinite(out))
    assert fn(0, 0, n=n).shape == (0, n, n)


@pytest.mark.parametrize("fn", [grf_log_k, bimaterial_log_k])
def test_deterministic(fn):
    a = fn(4, 42)
    np.testing.assert_array_equal(a, fn(4, 42))
    np.testing.assert_array_equal(a, fn(4, np.random.default_rng(42)))
    np.testing.assert_array_equal(a[:2], fn(2, 42))  # field i does not depend on n_fields
    assert not np.array_equal(a, fn(4, 43))
    assert not np.array_equal(a[0], a[1])


def test_golden_values():
    """Pinned values: the same seed gives the same fields on every machine."""
    f = grf_log_k(2, 123, n=8)
    np.testing.assert_allclose(
        f[1, 2, :4],
        [1.8451962469551226, 1.7753233363217364, 1.396472097940424, 0.5546296341934559],
        rtol=1e-12,
    )
    np.testing.assert_allclose(f[0, 7, 5], 1.204995911448508, rtol=1e-12)
    phase = (bimaterial_log_k(1, 123, n=8)[0] == LOG12).astype(int)
    np.testing.assert_array_equal(phase[0], [0, 0, 0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(phase[:, 0], [0, 0, 0, 0, 1, 1, 1, 1])


@pytest.mark.parametrize(("mean", "std"), [(0.0, 1.0), (-1.5, 0.5), (2.0, 2.0)])
def test_mean_and_variance_scaling(mean, std):
    f = grf_log_k(400, 7, n=32, mean=mean, std=std)
    np.testing.assert_allclose(f.mean(axis=(1, 2)), mean, atol=1e-12)  # every field, exactly
    spatial_var = f.var(axis=(1, 2))
    # Expected spatial variance is std^2; the standard error of the mean over 400 fields is ~1.5% of it.
    assert spatial_var.mean() == pytest.approx(std**2, rel=0.06)
    # Fields are Gaussian samples, not individually standardised: their variances scatter.
    assert spatial_var.std() > 0.1 * std**2


def test_raw_amplitude_matches_kl_coefficients():
    g = gaussian_field(400, 3, n=32)
    expected = np.sum(kl_coefficients(32) ** 2)
    assert g.var(axis=(1, 2)).mean() == pytest.approx(expected, rel=0.06)
    np.testing.assert_allclose(grf_log_k(5, 3, n=32, std=None), gaussian_field(5, 3, n=32))
    # The total variance converges under refinement (alpha = 2 > d/2): resolution-independent scaling.
    assert np.sum(kl_coefficients(128) ** 2) == pytest.approx(expected, rel=1e-3)


def test_bimaterial_values_and_phases():
    b = bimaterial_log_k(200, 11, n=32)
    values = np.unique(b)
    assert values.tolist() == [LOG3, LOG12]  # exactly log 3 and log 12, sharp interfaces
    high = (b == LOG12).mean(axis=(1, 2))
    assert np.all(high > 0.0) and np.all(high < 1.0)  # both phases in every field
    assert high.mean() == pytest.approx(0.5, abs=0.05)
    # Thresholding the underlying field at zero: high phase exactly where the Gaussian field is >= 0.
    np.testing.assert_array_equal(b == LOG12, gaussian_field(200, 11, n=32) >= 0.0)


def test_bimaterial_custom_values():
    b = bimaterial_log_k(2, 0, n=16, k_low=1.0, k_high=4.0)
    assert set(np.unique(b).tolist()) == {0.0, np.log(4.0)}


def test_correlation_decreases_with_lag():
    f = grf_log_k(300, 5, n=64)
    lags = [1, 2, 4, 8, 16, 32]
    corr = []
    for lag in lags:
        a, b = f[:, :, :-lag].ravel(), f[:, :, lag:].ravel()
        corr.append(np.corrcoef(a, b)[0, 1])
    assert corr[0] > 0.9
    assert all(c1 > c2 for c1, c2 in itertools.pairwise(corr)), corr
    assert corr[-1] < 0.3
    # Isotropic covariance: the same along y.
    cy = np.corrcoef(f[:, :-4, :].ravel(), f[:, 4:, :].ravel())[0, 1]
    assert cy == pytest.approx(corr[2], abs=0.05)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_fields": -1, "seed": 0},
        {"n_fields": 2, "seed": 0, "n": 1},
        {"n_fields": 2, "seed": 0, "alpha": 1.0},
        {"n_fields": 2, "seed": 0, "tau": 0.0},
        {"n_fields": 2, "seed": "abc"},
        {"n_fields": 2, "seed": 1.5},
    ],
)
@pytest.mark.parametrize("fn", [grf_log_k, bimaterial_log_k])
def test_bad_arguments(fn, kwargs):
    with pytest.raises(ValueError):
        fn(**kwargs)


def test_bad_scaling_and_conductivity():
    with pytest.raises(ValueError):
        grf_log_k(2, 0, std=-1.0)
    with pytest.raises(ValueError):
        grf_log_k(2, 0, mean=np.nan)
    with pytest.raises(ValueError, match="positive"):
        bimaterial_log_k(2, 0, k_low=0.0)
    with pytest.raises(ValueError, match="positive"):
        bimaterial_log_k(2, 0, k_high=-3.0)
