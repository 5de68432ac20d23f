import subprocess
import sys

import pytest
import torch

from invbench.core.device import default_device
from invbench.physics.wave import OPENFWI, TINY, AcousticPropagator, Acquisition, simulate
from invbench.physics.wave import propagator as acoustic_module


def flat_layers(acq: Acquisition, vels=(1800.0, 2300.0, 2900.0, 3400.0), dtype=torch.float32) -> torch.Tensor:
    """A laterally invariant (FlatVel-like) model, shape (1, 1, nz, nx)."""
    v = torch.empty(1, 1, acq.nz, acq.nx, dtype=dtype)
    edges = torch.linspace(0, acq.nz, len(vels) + 1).round().long().tolist()
    for k, vel in enumerate(vels):
        v[..., edges[k] : edges[k + 1], :] = vel
    return v


def test_shape_dtype_device():
    v = flat_layers(TINY)
    d = AcousticPropagator(TINY)(v)
    assert d.shape == (1, *TINY.data_shape)
    assert d.dtype == v.dtype and d.device == v.device
    assert torch.isfinite(d).all() and float(d.abs().max()) > 0
    d64 = AcousticPropagator(TINY)(v.double())
    assert d64.dtype == torch.float64
    torch.testing.assert_close(d64.float(), d, rtol=1e-4, atol=1e-4 * float(d.abs().max()))


def test_default_device():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert default_device().type == expected


def test_gradient_matches_finite_differences():
    """Deepwave's adjoint gradient of a data misfit against central differences (float64)."""
    acq = Acquisition(
        nz=20, nx=20, dx=10.0, dt=1e-3, nt=150, src_x=(3, 16), rec_x=tuple(range(0, 20, 2)), freq=25.0
    )
    prop = AcousticPropagator(acq, pml_width=10, max_vel=3000.0)
    background = flat_layers(acq, vels=(1800.0, 2000.0, 2200.0, 2400.0), dtype=torch.float64)
    truth = background.clone()
    truth[..., 10:14, 6:12] += 300.0
    observed = prop(truth).detach()

    def misfit(v: torch.Tensor) -> torch.Tensor:
        return 0.5 * ((prop(v) - observed) ** 2).sum()

    v = background.clone().requires_grad_(True)
    misfit(v).backward()
    grad = v.grad
    assert grad is not None and float(grad.abs().max()) > 0

    gen = torch.Generator().manual_seed(0)
    direction = torch.randn(background.shape, generator=gen, dtype=torch.float64)
    eps = 1e-2
    fd = (misfit(background + eps * direction) - misfit(background - eps * direction)) / (2 * eps)
    analytic = (grad * direction).sum()
    assert float(abs(fd - analytic) / abs(analytic)) < 1e-6

    # single cells: corner (edge-padded into the PML), near the source, inside the anomaly
    for i, k in [(0, 0), (1, 5), (12, 8), (5, 19)]:
        e = torch.zeros_like(background)
        e[0, 0, i, k] = 1.0
        fd_cell = (misfit(background + eps * e) - misfit(background - eps * e)) / (2 * eps)
        assert float(abs(fd_cell - grad[0, 0, i, k])) < 1e-6 * float(grad.abs().max())


def test_batch_equals_separate_calls():
    prop = AcousticPropagator(TINY)
    base = flat_layers(TINY)
    other = base.clone()
    other[..., 10:20, 5:25] = 2600.0
    third = torch.full_like(base, 2100.0)
    batch = torch.cat([base, other, third])
    together = prop(batch)
    separate = torch.cat([prop(v[None]) for v in batch])
    scale = float(separate.abs().max())
    torch.testing.assert_close(together, separate, rtol=0, atol=1e-5 * scale)


def test_shot_subset():
    prop = AcousticPropagator(TINY)
    v = flat_layers(TINY)
    full = prop(v)
    sub = prop(v, shots=[2, 0])
    torch.testing.assert_close(sub, full[:, [2, 0]], rtol=0, atol=1e-5 * float(full.abs().max()))
    with pytest.raises(ValueError, match="shots"):
        prop(v, shots=[3])
    with pytest.raises(ValueError, match="shots"):
        prop(v, shots=[])


def test_flatvel_symmetry():
    """A laterally invariant model: shot 0 is shot 4 mirrored along the receivers."""
    d = AcousticPropagator(OPENFWI)(flat_layers(OPENFWI))
    scale = float(d.abs().max())
    torch.testing.assert_close(d[:, 0], d[:, 4].flip(-1), rtol=0, atol=1e-5 * scale)
    torch.testing.assert_close(d[:, 1], d[:, 3].flip(-1), rtol=0, atol=1e-5 * scale)


def test_simulate_is_the_propagator():
    v = flat_layers(TINY)
    torch.testing.assert_close(simulate(v, TINY, shots=[1]), AcousticPropagator(TINY)(v, shots=[1]))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda v: v[0], "shape"),
        (lambda v: v[..., :-1], "shape"),
        (lambda v: v.expand(2, 2, -1, -1), "shape"),
        (lambda v: v.numpy(), "torch.Tensor"),
        (lambda v: v.long(), "floating-point"),
        (lambda v: v.index_put((torch.tensor([0]),) * 4, torch.tensor(float("nan"))), "NaN"),
        (lambda v: v.index_put((torch.tensor([0]),) * 4, torch.tensor(float("inf"))), "infinite"),
        (lambda v: v.index_put((torch.tensor([0]),) * 4, torch.tensor(0.0)), "positive"),
        (lambda v: -v, "positive"),
    ],
)
def test_bad_input_raises_before_deepwave(monkeypatch, make, message):
    def no_deepwave():
        raise AssertionError("deepwave must not be reached with invalid input")

    monkeypatch.setattr(acoustic_module, "_deepwave", no_deepwave)
    with pytest.raises(ValueError, match=message):
        AcousticPropagator(TINY)(make(flat_layers(TINY)))


def test_bad_settings():
    with pytest.raises(ValueError, match="accuracy"):
        AcousticPropagator(TINY, accuracy=3)
    with pytest.raises(ValueError, match="pml_width"):
        AcousticPropagator(TINY, pml_width=0)
    with pytest.raises(ValueError, match="max_vel"):
        AcousticPropagator(TINY, max_vel=-1.0)


def test_package_import_does_not_load_deepwave():
    code = "import sys, invbench.physics; sys.exit('deepwave' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
