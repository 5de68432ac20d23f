import math

import pytest
import torch

from invbench.physics.wave.filters import highpass, lowpass

DT = 1e-3


def _sine(freq: float, nt: int = 1000) -> torch.Tensor:
    t = torch.arange(nt, dtype=torch.float64) * DT
    return torch.sin(2 * math.pi * freq * t)


def _data(*freqs: float, nt: int = 1000, receivers: int = 3) -> torch.Tensor:
    """(batch=2, shot=1, time, receiver) data holding the given sinusoids."""
    trace = sum(_sine(f, nt) for f in freqs)
    return trace[None, None, :, None].expand(2, 1, nt, receivers).clone()


def test_periodic_sinusoids_exact():
    # 3 Hz and 20 Hz complete whole periods in 1 s: without padding the FFT is exact.
    low, high = _data(3.0), _data(20.0)
    both = low + high
    torch.testing.assert_close(lowpass(both, DT, 8.0, pad=False), low, atol=1e-10, rtol=0)
    torch.testing.assert_close(highpass(both, DT, 8.0, pad=False), high, atol=1e-10, rtol=0)


def test_tapered_sinusoid_with_padding():
    nt = 2000
    window = torch.hann_window(nt, periodic=False, dtype=torch.float64)
    low = (_sine(4.0, nt) * window)[None, None, :, None]
    high = (_sine(30.0, nt) * window)[None, None, :, None]
    out_low = lowpass(low + high, DT, 10.0)
    out_high = highpass(low + high, DT, 10.0)
    assert float((out_low - low).abs().max()) < 1e-3
    assert float((out_high - high).abs().max()) < 1e-3


def test_taper_values_at_cut():
    # Response is exactly 0.5 at f_cut and complementary everywhere.
    x = _data(10.0)
    y = lowpass(x, DT, 10.0, pad=False)
    torch.testing.assert_close(y, 0.5 * x, atol=1e-10, rtol=0)
    torch.testing.assert_close(y + highpass(x, DT, 10.0, pad=False), x)


def test_lowpass_plus_highpass_is_identity():
    x = torch.randn(2, 3, 500, 4, dtype=torch.float64)
    torch.testing.assert_close(lowpass(x, DT, 6.0) + highpass(x, DT, 6.0), x)


def test_zero_cut_returns_input():
    x = torch.randn(1, 2, 100, 3)
    assert lowpass(x, DT, 0.0) is x
    assert highpass(x, DT, -1.0) is x


def test_zero_phase_keeps_peak():
    nt = 512
    t = torch.arange(nt, dtype=torch.float64)
    pulse = torch.exp(-(((t - 200) / 6.0) ** 2))
    out = lowpass(pulse, DT, 20.0, dim=-1)
    assert int(out.argmax()) == 200
    torch.testing.assert_close(out[200 - 50 : 200], out[201:251].flip(0))


def test_one_dimensional_wavelet_and_shape():
    w = torch.randn(300)
    out = lowpass(w, DT, 10.0, dim=-1)
    assert out.shape == w.shape and out.dtype == w.dtype
    with pytest.raises(ValueError, match="dim"):
        lowpass(w, DT, 10.0)  # default dim=-2 is not an axis of a 1D tensor


def test_differentiable():
    x = torch.randn(1, 1, 40, 2, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda y: highpass(y, DT, 50.0, width=40.0), (x,))
    assert torch.autograd.gradcheck(lambda y: lowpass(y, DT, 50.0, pad=False), (x,))


def test_bad_arguments():
    x = torch.randn(1, 1, 40, 2)
    with pytest.raises(ValueError):
        lowpass(x, 0.0, 5.0)
    with pytest.raises(ValueError):
        highpass(x, DT, 5.0, width=-1.0)
    with pytest.raises(ValueError):
        lowpass(torch.ones(1, 1, 40, 2, dtype=torch.int64), DT, 5.0)
