"""studies.red_diffeq.prior_diagnosis: the prior's denoising energy, paired across fields, and its summary."""

import importlib

import numpy as np
import pandas as pd
import pytest
import torch

from tests.nn.conftest import tiny_prior


@pytest.fixture(scope="module")
def script():
    return importlib.import_module("studies.red_diffeq.prior_diagnosis")


class OraclePrior:
    """Wraps a prior so that its clean-field prediction is always ``target`` (model units)."""

    def __init__(self, prior, target: torch.Tensor) -> None:
        self._prior, self._target = prior, target

    def __getattr__(self, name):
        return getattr(self._prior, name)

    def x0(self, x_t, t, clip=True):
        return self._target.expand_as(x_t)


def _fields(rng, n=3, shape=(16, 16)):
    return rng.uniform(2000.0, 4000.0, size=(n, *shape)).astype(np.float32)


def test_energy_is_paired_and_seeded(script):
    prior = tiny_prior("fwi", (16, 16))
    fields = _fields(np.random.default_rng(0))
    fields[1] = fields[0]
    e = script.denoising_energy(prior, fields, timesteps=5, draws=2, seed=3)
    assert e.shape == (3,) and np.all(e > 0)
    assert e[0] == e[1]  # the same draws for every field
    assert np.array_equal(e, script.denoising_energy(prior, fields, timesteps=5, draws=2, seed=3))
    assert not np.array_equal(e, script.denoising_energy(prior, fields, timesteps=5, draws=2, seed=4))


def test_oracle_prior_gives_its_target_zero_energy(script):
    prior = tiny_prior("fwi", (16, 16))
    fields = _fields(np.random.default_rng(1))
    target = prior.to_model_units(torch.as_tensor(fields[:1, None]))
    e = script.denoising_energy(OraclePrior(prior, target), fields, timesteps=8, draws=1)
    assert e[0] == pytest.approx(0.0, abs=1e-6)
    assert np.all(e[1:] > 1e-3)


def test_energy_rejects_bad_fields(script):
    prior = tiny_prior("fwi", (16, 16))
    with pytest.raises(ValueError, match="shape"):
        script.denoising_energy(prior, np.zeros((16, 16), np.float32))
    bad = _fields(np.random.default_rng(2))
    bad[0, 3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        script.denoising_energy(prior, bad)


def test_markdown_counts_estimates_below_truth(script):
    red, tv = "red-diffeq (lam=0.75)", "tv (data_loss=mean_l1)"
    rows = []
    energies = {
        ("FlatVel-A", 0): {"truth": 0.01, "initial": 0.02, red: 0.005, tv: 0.03},
        ("FlatVel-A", 1): {"truth": 0.01, "initial": 0.005, red: 0.02},
        ("CurveVel-A", 0): {"truth": 0.02, "initial": 0.03},
    }
    for (family, inst), cands in energies.items():
        for cand, e in cands.items():
            rows.append({"family": family, "instance": inst, "candidate": cand, "energy": e, "mae": 0.1})
    text = script.markdown(pd.DataFrame(rows))
    assert f"`{red}`'s estimate a lower energy than the true model on 1 of 2 instances" in text
    assert f"`{tv}`'s estimate a lower energy than the true model on 0 of 1 instances" in text
    assert "on 1 of 3 instances (FlatVel-A 1/2, CurveVel-A 0/1)" in text
    assert "| CurveVel-A | 0 | 0.0200 | 0.0300 | – | – |" in text


def test_diagnose_and_figure_on_a_tiny_board(script, tmp_path, monkeypatch):
    prior = tiny_prior("fwi", (16, 16))
    rng = np.random.default_rng(5)
    truth, initial = _fields(rng, n=2)
    monkeypatch.setattr(script, "instance_fields", lambda family, inst: (truth[None], initial[None]))
    example = tmp_path / "ex.npz"
    np.savez(example, estimate=(0.5 * (truth + initial))[None], truth=truth[None], initial=initial[None])
    rows = pd.DataFrame(
        [{"family": "FlatVel-A", "instance": 0, "solver": "red-diffeq", "mae": 0.05, "example": example}]
    )
    result = script.diagnose(rows, prior, ["FlatVel-A", "CurveVel-A"], 2, timesteps=4, draws=1)
    assert len(result) == 2 * 2 * 2 + 1  # truth and initial everywhere, one estimate
    est = result[result["candidate"] == "red-diffeq"].iloc[0]
    assert (est["family"], est["instance"], est["mae"]) == ("FlatVel-A", 0, 0.05)
    assert len(est["curve"]) == len(est["steps"]) == 4
    script.figure(result, tmp_path / "fig.png")
    assert (tmp_path / "fig.png").stat().st_size > 0
    with pytest.raises(ValueError, match="no instance"):
        script.figure(result[result["candidate"] != "red-diffeq"], tmp_path / "none.png")


def test_diagnose_refuses_an_example_of_another_true_model(script, tmp_path, monkeypatch):
    prior = tiny_prior("fwi", (16, 16))
    truth, initial, other = _fields(np.random.default_rng(6), n=3)
    monkeypatch.setattr(script, "instance_fields", lambda family, inst: (truth[None], initial[None]))
    example = tmp_path / "ex.npz"
    np.savez(example, estimate=initial[None], truth=other[None], initial=initial[None])
    rows = pd.DataFrame(
        [{"family": "FlatVel-A", "instance": 0, "solver": "tv", "mae": 0.05, "example": example}]
    )
    with pytest.raises(ValueError, match="not FlatVel-A test #0's"):
        script.diagnose(rows, prior, ["FlatVel-A"], 1, timesteps=2, draws=1)
