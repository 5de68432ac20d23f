import numpy as np
import pytest
import torch

from invbench.core.misfit import relative_misfit
from invbench.tasks.fwi.metrics import ssim, velocity_metrics


def _layered(seed=0):
    rng = np.random.default_rng(seed)
    v = np.repeat(np.sort(rng.uniform(1500, 4500, 70))[:, None], 70, axis=1)
    return v[None].astype(np.float32)


def test_identical_maps_are_perfect():
    v = _layered()
    m = velocity_metrics(v, v)
    assert m["mae"] == 0 and m["rmse"] == 0 and m["rel_l2"] == 0
    assert m["ssim"] == pytest.approx(1.0)
    assert m["psnr"] == float("inf")


def test_constant_offset_in_normalised_units():
    v = _layered()
    m = velocity_metrics(v + 150.0, v)
    # 150 m/s is 0.1 in OpenFWI's normalised units
    assert m["mae"] == pytest.approx(0.1, rel=1e-5)
    assert m["rmse"] == pytest.approx(0.1, rel=1e-5)
    assert m["psnr"] == pytest.approx(10 * np.log10(4 / 0.01), rel=1e-5)
    assert m["ssim"] < 1.0


def test_ssim_decreases_with_noise():
    v = _layered()
    rng = np.random.default_rng(1)
    s1 = velocity_metrics(v + rng.normal(0, 50, v.shape), v)["ssim"]
    s2 = velocity_metrics(v + rng.normal(0, 300, v.shape), v)["ssim"]
    assert 1.0 > s1 > s2


def test_ssim_symmetric_and_bounded():
    rng = np.random.default_rng(2)
    a, b = rng.uniform(size=(32, 32)), rng.uniform(size=(32, 32))
    assert ssim(a, b) == pytest.approx(ssim(b, a))
    assert -1.0 <= ssim(a, b) <= 1.0


def test_metrics_reject_bad_input():
    v = _layered()
    with pytest.raises(ValueError, match="shape"):
        velocity_metrics(v[:, :10], v)
    bad = v.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        velocity_metrics(bad, v)


def test_relative_misfit():
    obs = torch.randn(3, 50, 8)
    assert float(relative_misfit(obs, obs)) == 0.0
    assert float(relative_misfit(torch.zeros_like(obs), obs)) == pytest.approx(1.0)
    assert float(relative_misfit(torch.zeros_like(obs), obs, kind="l1")) == pytest.approx(1.0)
    mask = torch.ones(1, 1, 8)
    mask[..., 0] = 0
    pred = obs.clone()
    pred[..., 0] += 100.0
    assert float(relative_misfit(pred, obs, mask=mask)) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="misfit kind"):
        relative_misfit(obs, obs, kind="huber")
