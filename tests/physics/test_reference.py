from pathlib import Path

import numpy as np
import pytest
import torch

from invbench.physics.wave import OPENFWI, TINY, AcousticPropagator, Acquisition, reference_forward
from invbench.physics.wave.reference import NBC, sponge_damping
from invbench.physics.wave.wavelet import ricker

DATA_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "openfwi"
FLATVEL = DATA_DIR / "flatvel_a_train.npz"


def flat_layers(acq: Acquisition, vels=(1800.0, 2300.0, 2900.0, 3400.0), dtype=torch.float32) -> torch.Tensor:
    """A laterally invariant (FlatVel-like) model, shape (1, 1, nz, nx)."""
    v = torch.empty(1, 1, acq.nz, acq.nx, dtype=dtype)
    edges = torch.linspace(0, acq.nz, len(vels) + 1).round().long().tolist()
    for k, vel in enumerate(vels):
        v[..., edges[k] : edges[k + 1], :] = vel
    return v


def rel_l2(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def naive_openfwi(v: torch.Tensor, acq: Acquisition, nbc: int) -> torch.Tensor:
    """Unbatched, unoptimised transcription of the scheme with torch.roll (one shot at a time)."""
    vp = torch.nn.functional.pad(v, (nbc,) * 4, mode="replicate")[0, 0].double()
    a = (nbc - 1) * acq.dx
    kappa = 3.0 * float(v.min()) * np.log(1e7) / (2.0 * a)
    ramp = kappa * (torch.arange(nbc, dtype=torch.float64) * acq.dx / a) ** 2
    damp = torch.zeros_like(vp)
    damp[:nbc, :] = ramp.flip(0)[:, None]
    damp[-nbc:, :] = ramp[:, None]
    damp[:, :nbc] = ramp.flip(0)[None, :]
    damp[:, -nbc:] = ramp[None, :]
    alpha, k = (vp * acq.dt / acq.dx) ** 2, damp * acq.dt
    w = ricker(acq.freq, acq.dt, acq.nt, dtype=torch.float64)
    out = torch.zeros(acq.n_shots, acq.nt, acq.n_receivers, dtype=torch.float64)
    rz, rx = acq.rec_z + nbc, torch.tensor(acq.rec_x) + nbc
    for s, sx in enumerate(acq.src_x):
        p0, p1 = torch.zeros_like(vp), torch.zeros_like(vp)
        for it in range(acq.nt):
            lap1 = sum(p1.roll(sh, d) for sh in (1, -1) for d in (0, 1))
            lap2 = sum(p1.roll(sh, d) for sh in (2, -2) for d in (0, 1))
            p = (2 - 5 * alpha - k) * p1 - (1 - k) * p0 + alpha * (4 / 3 * lap1 - 1 / 12 * lap2)
            p[acq.src_z + nbc, sx + nbc] += (vp[acq.src_z + nbc, sx + nbc] * acq.dt) ** 2 * w[it]
            out[s, it] = p[rz, rx]
            p0, p1 = p1, p
    return out[None]


def test_shape_dtype_no_grad():
    v = flat_layers(TINY).requires_grad_(True)
    d = reference_forward(v, TINY)
    assert d.shape == (1, *TINY.data_shape)
    assert d.dtype == v.dtype and not d.requires_grad
    assert torch.isfinite(d).all()


def test_matches_naive_transcription():
    # A thin sponge (8 cells) so that waves reach the outer edge and the periodic wrap matters.
    acq = Acquisition(nz=16, nx=16, nt=300, src_x=(2, 13), rec_x=tuple(range(16)), rec_z=3, freq=25.0)
    v = flat_layers(acq, dtype=torch.float64)
    v[..., 8:12, 4:9] = 2600.0
    fast = reference_forward(v, acq, nbc=8)
    torch.testing.assert_close(
        fast, naive_openfwi(v, acq, nbc=8), rtol=0, atol=1e-12 * float(fast.abs().max())
    )


def test_sponge_damping_profile():
    v = flat_layers(TINY, dtype=torch.float64)
    d = sponge_damping(v, TINY.dx)[0, 0]
    assert d.shape == (TINY.nz + 2 * NBC, TINY.nx + 2 * NBC)
    assert torch.all(d[NBC : NBC + TINY.nz, NBC : NBC + TINY.nx] == 0)
    a = (NBC - 1) * TINY.dx
    d_max = 3 * 1800.0 * np.log(1e7) / (2 * a)
    assert float(d[NBC + 5, 0]) == pytest.approx(d_max)  # outermost left column
    assert float(d[-1, NBC + 5]) == pytest.approx(d_max)  # outermost bottom row
    assert float(d[NBC - 1, NBC + 5]) == 0.0  # first sponge row: zero distance
    assert float(d[NBC - 11, NBC + 5]) == pytest.approx(d_max * (10 / (NBC - 1)) ** 2)
    # corners take the lateral profile
    assert float(d[0, NBC - 11]) == pytest.approx(d_max * (10 / (NBC - 1)) ** 2)


def test_batch_equals_separate_calls():
    base = flat_layers(TINY)
    other = torch.full_like(base, 2200.0)
    other[..., 16:, :] = 3000.0
    together = reference_forward(torch.cat([base, other]), TINY)
    separate = torch.cat([reference_forward(base, TINY), reference_forward(other, TINY)])
    torch.testing.assert_close(together, separate, rtol=0, atol=1e-6 * float(separate.abs().max()))


def test_flatvel_symmetry():
    d = reference_forward(flat_layers(OPENFWI), OPENFWI)
    scale = float(d.abs().max())
    torch.testing.assert_close(d[:, 0], d[:, 4].flip(-1), rtol=0, atol=1e-5 * scale)
    torch.testing.assert_close(d[:, 1], d[:, 3].flip(-1), rtol=0, atol=1e-5 * scale)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda v: v[0], "shape"),
        (lambda v: v.index_put((torch.tensor([0]),) * 4, torch.tensor(float("nan"))), "NaN"),
        (lambda v: v - 5000.0, "positive"),
    ],
)
def test_bad_input(make, message):
    with pytest.raises(ValueError, match=message):
        reference_forward(make(flat_layers(TINY)), TINY)


# --- deepwave against the reference -------------------------------------------------------------


def test_agreement_small_grid():
    """Measured rel. L2 0.071 % (TINY, 32 x 32, 3 shots, 0.5 s)."""
    v = flat_layers(TINY)
    ref = reference_forward(v, TINY)
    pred = AcousticPropagator(TINY)(v)
    assert rel_l2(pred, ref) < 1.0e-3
    # the alignment matters: without the one-sample shift or with deepwave's sign it is far off
    assert rel_l2(torch.roll(pred, 1, dims=2), ref) > 5e-2
    assert rel_l2(-pred, ref) > 1.9


def test_agreement_openfwi_layered():
    """Measured rel. L2 0.142 % (OpenFWI acquisition, 70 x 70, 5 shots, 1 s)."""
    v = flat_layers(OPENFWI)
    assert rel_l2(AcousticPropagator(OPENFWI)(v), reference_forward(v, OPENFWI)) < 2.0e-3


def _flatvel_maps() -> np.ndarray:
    if not FLATVEL.exists():
        pytest.skip(f"OpenFWI data not found at {FLATVEL}")
    return np.load(FLATVEL)["model"]


@pytest.mark.realdata
def test_agreement_real_flatvel():
    """The first four FlatVel-A maps whose top layer is slower than 2500 m/s.

    Measured rel. L2 over all shots: 0.090 %, 0.080 %, 0.077 %, 0.144 % (maps 1, 3, 4, 5). Over 60
    random maps the median is 0.17 % and 90 % are below 0.37 %; the exceptions are maps with a fast
    top layer (see the next test).
    """
    maps = _flatvel_maps()
    idx = [i for i in range(len(maps)) if maps[i, 0, 0].min() < 2500][:4]
    v = torch.from_numpy(maps[idx].copy())
    ref = reference_forward(v, OPENFWI)
    pred = AcousticPropagator(OPENFWI)(v)
    rel = ((pred - ref).flatten(1).norm(dim=1) / ref.flatten(1).norm(dim=1)).tolist()
    assert max(rel) < 2.0e-3, f"rel. L2 per map {idx}: {rel}"


@pytest.mark.realdata
def test_fast_top_layer_disagreement_is_openfwi_sponge():
    """Map 0 (top layer 3544 m/s): OpenFWI's 120-cell sponge leaks late energy deepwave's PML does not.

    Measured rel. L2 3.2 % against the 120-cell reference, but 0.062 % against the same scheme with
    a 240-cell sponge: the difference is in the reference's boundary, not in the propagator.
    """
    v = torch.from_numpy(_flatvel_maps()[:1].copy())
    pred = AcousticPropagator(OPENFWI)(v)
    assert rel_l2(pred, reference_forward(v, OPENFWI)) > 1.0e-2
    assert rel_l2(pred, reference_forward(v, OPENFWI, nbc=240)) < 1.0e-3
