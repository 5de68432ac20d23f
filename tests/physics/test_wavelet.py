import math

import pytest
import torch

from invbench.physics.wave.wavelet import ricker, ricker_length


def test_openfwi_length_and_peak():
    w = ricker(15.0, 1e-3, 1000)
    assert w.shape == (1000,)
    assert w.dtype == torch.float32
    assert ricker_length(15.0, 1e-3) == 147
    assert int(w.argmax()) == 73
    assert float(w[73]) == pytest.approx(1.0)
    assert torch.all(w[147:] == 0)
    assert float(w[146].abs()) > 0
    # symmetric about the peak
    torch.testing.assert_close(w[:73], w[74:147].flip(0))


def test_matches_formula():
    f, dt = 15.0, 1e-3
    w = ricker(f, dt, 200, dtype=torch.float64)
    for k in (0, 10, 60, 73, 100, 146):
        b = (math.pi * f * dt * (73 - k)) ** 2
        assert float(w[k]) == pytest.approx((1 - 2 * b) * math.exp(-b), abs=1e-15)


def test_truncated_when_nt_short():
    full = ricker(15.0, 1e-3, 1000, dtype=torch.float64)
    short = ricker(15.0, 1e-3, 50, dtype=torch.float64)
    assert short.shape == (50,)
    torch.testing.assert_close(short, full[:50])


def test_other_frequency():
    assert ricker_length(25.0, 1e-3) == 89
    assert int(ricker(25.0, 1e-3, 300).argmax()) == 44


@pytest.mark.parametrize("args", [(0.0, 1e-3, 10), (15.0, 0.0, 10), (15.0, 1e-3, 0)])
def test_bad_arguments(args):
    with pytest.raises(ValueError):
        ricker(*args)
