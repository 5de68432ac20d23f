import gymnasium as gym
import numpy as np
import pytest
import torch

import invbench
from invbench.core.errors import BudgetExhaustedError, EpisodeStateError, InvalidActionError

TINY = "invbench/FWI-Tiny-v0"


@pytest.fixture(scope="module")
def env():
    e = gym.make(TINY)
    yield e
    e.close()


def _reset(env, index=0, split="test"):
    return env.reset(seed=0, options={"split": split, "index": index})


def test_registry_lists_all_families():
    ids = invbench.task_ids()
    fams = ["FlatVel", "CurveVel", "FlatFault", "CurveFault", "Style"]
    for fam in fams:
        for v in "AB":
            assert f"invbench/FWI-{fam}-{v}-v0" in ids
    assert TINY in ids


def test_robustness_variants_share_maps_and_degrade_the_data():
    clean = invbench.make("FWI-FlatVel-A-v0", observed_solver="deepwave")
    noisy = invbench.make("FWI-FlatVel-A-Noise10-v0", observed_solver="deepwave")
    holed = invbench.make("FWI-FlatVel-A-Missing14-v0", observed_solver="deepwave")
    (oc, _), (on, _), (oh, _) = (_reset(e, 2) for e in (clean, noisy, holed))
    for o in (on, oh):
        np.testing.assert_array_equal(o["initial_model"], oc["initial_model"])
    np.testing.assert_array_equal(noisy.unwrapped.instance.truth, clean.unwrapped.instance.truth)
    rms = np.sqrt(np.mean(oc["observed"].astype(np.float64) ** 2))
    resid = np.sqrt(np.mean((on["observed"].astype(np.float64) - oc["observed"]) ** 2))
    assert resid == pytest.approx(0.10 * rms, rel=0.05)
    assert int((oh["mask"] == 0).sum()) == 14 and int(oc["mask"].sum()) == 70
    missing = oh["mask"] == 0
    assert not oh["observed"][..., missing].any()
    np.testing.assert_array_equal(oh["observed"][..., ~missing], oc["observed"][..., ~missing])


def test_unknown_task_lists_close_matches():
    with pytest.raises(ValueError, match="FWI-FlatVel-A-v0"):
        invbench.make("invbench/FWI-FlatVell-A-v0")


def test_reset_is_deterministic_and_splits_differ(env):
    o1, i1 = _reset(env, 3)
    o2, _ = _reset(env, 3)
    np.testing.assert_array_equal(o1["observed"], o2["observed"])
    np.testing.assert_array_equal(o1["initial_model"], o2["initial_model"])
    o3, _ = _reset(env, 3, split="val")
    assert not np.array_equal(o1["initial_model"], o3["initial_model"])
    o4, _ = _reset(env, 4)
    assert not np.array_equal(o1["observed"], o4["observed"])
    assert i1["split"] == "test" and i1["index"] == 3


def test_observation_in_space_and_truth_hidden(env):
    obs, info = _reset(env, 1)
    assert env.observation_space.contains(obs)
    truth = env.unwrapped.instance.truth
    for v in obs.values():
        assert not (v.shape == truth.shape and np.array_equal(v, truth))
    for v in info.values():
        assert not isinstance(v, np.ndarray)
    obs, *_, info = env.step(obs["initial_model"])
    for v in obs.values():
        assert not (v.shape == truth.shape and np.array_equal(v, truth))


def test_step_counts_solves_and_returns_gradient(env):
    obs, _ = _reset(env, 0)
    obs2, reward, terminated, truncated, info = env.step(obs["initial_model"])
    assert info["forward_solves"] == 1 and info["adjoint_solves"] == 1 and info["pde_solves"] == 2
    assert reward == pytest.approx(-float(obs2["misfit"][0]))
    assert obs2["misfit"][0] > 0
    assert obs2["gradient"].shape == obs["initial_model"].shape
    assert np.abs(obs2["gradient"]).max() > 0
    assert not terminated and not truncated


def test_truth_has_zero_misfit_with_deepwave_observed_data():
    e = gym.make(TINY, observed_solver="deepwave")
    e.reset(seed=0, options={"index": 0})
    base = e.unwrapped
    misfit, _ = base.evaluate(base.instance.truth, gradient=False)
    assert misfit < 1e-10
    init_misfit, _ = base.evaluate(base.instance.initial, gradient=False)
    assert init_misfit > 1e-3


def test_reference_observed_data_is_close_but_not_identical(env):
    _reset(env, 0)
    base = env.unwrapped
    misfit, _ = base.evaluate(base.instance.truth, gradient=False)
    # no inverse crime: the reference scheme differs from deepwave, but only slightly
    assert 1e-8 < misfit < 1e-2


def test_gradient_paths_agree(env):
    obs, _ = _reset(env, 2)
    base = env.unwrapped
    m0 = obs["initial_model"]
    obs1, *_ = env.step(m0)
    m = torch.tensor(m0, requires_grad=True)
    j = base.data_misfit(m)[0]
    j.backward()
    np.testing.assert_allclose(float(j.detach()), obs1["misfit"][0], rtol=1e-5)
    np.testing.assert_allclose(
        m.grad.numpy(), obs1["gradient"], rtol=1e-4, atol=1e-6 * np.abs(obs1["gradient"]).max()
    )
    assert base.counter.forward == 2 and base.counter.adjoint == 2


def test_operator_batched_counts_per_instance(env):
    obs, _ = _reset(env, 0)
    base = env.unwrapped
    m = torch.tensor(np.stack([obs["initial_model"]] * 3))
    with torch.no_grad():
        d = base.operator(m)
    assert d.shape == (3, *base.data_shape)
    assert base.counter.forward == 3 and base.counter.adjoint == 0


def test_budget_is_shared_and_enforced():
    e = gym.make(TINY, budget=6)
    obs, _ = e.reset(seed=0, options={"index": 0})
    base = e.unwrapped
    _, _, _, truncated, info = e.step(obs["initial_model"])
    assert not truncated
    m = torch.tensor(obs["initial_model"], requires_grad=True)
    base.data_misfit(m)[0].backward()
    _, _, _, truncated, info = e.step(obs["initial_model"])
    assert truncated and info["pde_solves"] == 6 and info["budget_left"] == 0
    with pytest.raises(BudgetExhaustedError):
        e.step(obs["initial_model"])
    with pytest.raises(BudgetExhaustedError):
        with torch.no_grad():
            base.operator(torch.tensor(obs["initial_model"]))


@pytest.mark.parametrize(
    ("make_bad", "match"),
    [
        (lambda m: m[:, :5], "shape"),
        (lambda m: np.where(np.arange(m.size).reshape(m.shape) == 7, np.nan, m), "NaN"),
        (lambda m: m * 0 + 9000.0, "outside"),
        (lambda m: m * 0 + 100.0, "outside"),
    ],
)
def test_bad_actions_raise_clear_errors(env, make_bad, match):
    obs, _ = _reset(env, 0)
    with pytest.raises(InvalidActionError, match=match):
        env.step(make_bad(obs["initial_model"].copy()).astype(np.float32))
    assert env.unwrapped.counter.used == 0


def test_step_before_reset_and_after_finalize():
    e = gym.make(TINY).unwrapped
    with pytest.raises(EpisodeStateError):
        e.step(np.full(e.field_shape, 2000.0, np.float32))
    obs, _ = e.reset(seed=0, options={"index": 0})
    scores = e.finalize(obs["initial_model"])
    assert {"mae", "rmse", "ssim", "rel_l2", "psnr", "data_misfit"} <= set(scores)
    with pytest.raises(EpisodeStateError):
        e.step(obs["initial_model"])


def test_noise_missing_traces_and_lowcut_options():
    clean = gym.make(TINY)
    noisy = gym.make(TINY, noise=0.1, noise_type="laplace")
    holes = gym.make(TINY, missing_traces=5)
    lowcut = gym.make(TINY, lowcut=8.0)
    oc, _ = clean.reset(options={"index": 0})
    on, _ = noisy.reset(options={"index": 0})
    on2, _ = noisy.reset(options={"index": 0})
    np.testing.assert_array_equal(on["observed"], on2["observed"])
    rel = np.linalg.norm(on["observed"] - oc["observed"]) / np.linalg.norm(oc["observed"])
    assert rel == pytest.approx(0.1, rel=0.1)
    oh, _ = holes.reset(options={"index": 0})
    assert oh["mask"].sum() == oh["mask"].size - 5
    assert np.all(oh["observed"][:, :, oh["mask"] == 0] == 0)
    ol, _ = lowcut.reset(options={"index": 0})
    spec_c = np.abs(np.fft.rfft(oc["observed"], axis=1)).mean(axis=(0, 2))
    spec_l = np.abs(np.fft.rfft(ol["observed"], axis=1)).mean(axis=(0, 2))
    freqs = np.fft.rfftfreq(oc["observed"].shape[1], d=1e-3)
    low = (freqs > 0) & (freqs < 5.0)
    high = (freqs > 15.0) & (freqs < 40.0)
    ratio_low = spec_l[low].sum() / spec_c[low].sum()
    ratio_high = spec_l[high].sum() / spec_c[high].sum()
    assert ratio_low < 0.4 * ratio_high


@pytest.mark.parametrize("kind", ["smooth", "linear", "homogeneous"])
def test_initial_models(kind):
    e = gym.make(TINY, initial=kind)
    obs, _ = e.reset(options={"index": 0})
    init = obs["initial_model"]
    truth = e.unwrapped.instance.truth
    assert init.shape == truth.shape
    assert not np.array_equal(init, truth)
    if kind == "homogeneous":
        assert np.ptp(init) == 0
    if kind == "linear":
        assert np.ptp(init[0], axis=1).max() == 0
