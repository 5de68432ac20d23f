from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

import invbench
from baselines.gradient import AdamFWI
from invbench.core.errors import BudgetExhaustedError, InvalidActionError
from invbench.tasks.darcy.sensors import LOG_K_MAX, LOG_K_MIN, custom_layout, grid_layout

TINY = "invbench/Darcy-Tiny-v0"
GRF = "invbench/Darcy-GRF-v0"
BIMAT = "invbench/Darcy-Bimaterial-v0"
DARCY_IDS = [GRF, BIMAT, TINY]


@pytest.fixture(scope="module")
def env():
    e = gym.make(TINY)
    yield e
    e.close()


def _reset(env, index=0, split="test"):
    return env.reset(seed=0, options={"split": split, "index": index})


@pytest.mark.parametrize("task_id", DARCY_IDS)
def test_check_env_darcy(task_id):
    assert task_id in invbench.task_ids()
    e = gym.make(task_id, report_time=False)  # timings are the only non-deterministic info
    check_env(e.unwrapped, skip_render_check=True)


def test_spaces_and_stated_normalisation():
    grf = gym.make(GRF).unwrapped
    assert grf.action_space.shape == (1, 64, 64)
    assert (grf.action_space.low.min(), grf.action_space.high.max()) == (LOG_K_MIN, LOG_K_MAX)
    assert grf.data_shape == (64,)
    assert (grf.field_center, grf.field_scale) == (0.0, 1.0)
    bim = gym.make(BIMAT).unwrapped
    obs, _ = bim.reset(options={"index": 0})
    truth = bim.instance.truth
    np.testing.assert_allclose(np.unique(truth), np.log([3.0, 12.0]), rtol=1e-6)
    phases = (np.log([3.0, 12.0]) - bim.field_center) / bim.field_scale
    np.testing.assert_allclose(phases, [-1.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(obs["initial_model"], np.log(6.0), rtol=1e-6)


def test_reset_is_deterministic_and_splits_differ(env):
    o1, i1 = _reset(env, 3)
    o2, _ = _reset(env, 3)
    for k in ("observed", "sensor_coords", "initial_model"):
        np.testing.assert_array_equal(o1[k], o2[k])
    o3, _ = _reset(env, 3, split="val")
    assert not np.array_equal(o1["observed"], o3["observed"])
    o4, _ = _reset(env, 4)
    assert not np.array_equal(o1["observed"], o4["observed"])
    assert i1["split"] == "test" and i1["index"] == 3
    # a fresh environment reproduces the instance exactly
    o5, _ = gym.make(TINY).reset(options={"split": "test", "index": 3})
    np.testing.assert_array_equal(o1["observed"], o5["observed"])


def test_initial_guess_is_a_stated_constant(env):
    for i in range(3):
        obs, _ = _reset(env, i)
        np.testing.assert_array_equal(obs["initial_model"], np.zeros((1, 16, 16), np.float32))


def test_observation_in_space_and_truth_hidden(env):
    obs, info = _reset(env, 1)
    assert env.observation_space.contains(obs)
    truth = env.unwrapped.instance.truth
    true_head = env.unwrapped.head(truth)

    def assert_hidden(o, i):
        for v in o.values():
            assert not (v.shape == truth.shape and np.allclose(v, truth))
            assert not (v.size == true_head.size and np.allclose(v.reshape(true_head.shape), true_head))
        for v in i.values():
            assert not isinstance(v, np.ndarray)

    assert_hidden(obs, info)
    obs, *_, info = env.step(obs["initial_model"])
    assert env.observation_space.contains(obs)
    assert_hidden(obs, info)


def test_step_counts_one_forward_and_one_adjoint(env):
    obs, _ = _reset(env, 0)
    obs2, reward, terminated, truncated, info = env.step(obs["initial_model"])
    assert info["forward_solves"] == 1 and info["adjoint_solves"] == 1 and info["pde_solves"] == 2
    assert reward == pytest.approx(-float(obs2["misfit"][0]))
    assert obs2["misfit"][0] > 0
    assert obs2["gradient"].shape == (1, 16, 16)
    assert np.abs(obs2["gradient"]).max() > 0
    assert not terminated and not truncated


def test_gradient_paths_agree(env):
    obs, _ = _reset(env, 2)
    base = env.unwrapped
    m0 = obs["initial_model"] + 0.3 * np.sin(np.arange(16) / 3.0)[None, None, :].astype(np.float32)
    obs1, *_ = env.step(m0)
    m = torch.tensor(m0, requires_grad=True)
    j = base.data_misfit(m)[0]
    j.backward()
    np.testing.assert_allclose(float(j.detach()), obs1["misfit"][0], rtol=1e-6)
    np.testing.assert_allclose(m.grad.numpy(), obs1["gradient"], rtol=1e-5, atol=1e-7)
    assert base.counter.forward == 2 and base.counter.adjoint == 2


def test_gradient_matches_finite_differences():
    e = gym.make(TINY, budget=100).unwrapped
    e.reset(options={"index": 0})
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:16, 0:16] / 16.0
    m = (0.5 * np.sin(2 * np.pi * xx) * np.cos(np.pi * yy))[None].astype(np.float32)
    _, g = e.evaluate(m, gradient=True)
    eps = 1e-2
    for _ in range(3):
        d = rng.standard_normal(m.shape).astype(np.float32)
        jp, _ = e.evaluate(m + eps * d, gradient=False)
        jm, _ = e.evaluate(m - eps * d, gradient=False)
        fd = (jp - jm) / (2 * eps)
        an = float(np.sum(g.astype(np.float64) * d))
        assert an == pytest.approx(fd, rel=2e-3)
    # a single cell near a sensor: the local sensitivity is resolved too
    cell = np.zeros_like(m)
    cell[0, 6, 6] = 1.0
    jp, _ = e.evaluate(m + eps * cell, gradient=False)
    jm, _ = e.evaluate(m - eps * cell, gradient=False)
    assert float(g[0, 6, 6]) == pytest.approx((jp - jm) / (2 * eps), rel=5e-3)


def test_budget_is_shared_and_enforced():
    e = gym.make(TINY, budget=6)
    obs, _ = e.reset(options={"index": 0})
    base = e.unwrapped
    _, _, _, truncated, _ = e.step(obs["initial_model"])
    assert not truncated
    m = torch.tensor(obs["initial_model"], requires_grad=True)
    base.data_misfit(m)[0].backward()
    _, _, _, truncated, info = e.step(obs["initial_model"])
    assert truncated and info["pde_solves"] == 6 and info["budget_left"] == 0
    with pytest.raises(BudgetExhaustedError):
        e.step(obs["initial_model"])


def test_adam_lowers_misfit_and_log_k_error():
    e = gym.make(TINY)
    obs, _ = e.reset(options={"index": 1})
    base = e.unwrapped
    init = obs["initial_model"]
    misfits = []
    est = AdamFWI(iterations=50).solve(e, callback=lambda p: misfits.append(p.misfit))
    assert misfits[-1] < 0.2 * misfits[0]
    before = base._score(init, base.instance.truth)
    after = base.finalize(est)
    assert after["data_misfit"] < 0.2 * misfits[0]
    assert after["rel_l2"] < 0.9 * before["rel_l2"]
    assert after["rmse"] < 0.9 * before["rmse"]
    assert after["head_rel_l2"] < 0.5 * before["head_rel_l2"]


def test_finalize_scores_and_figure(tmp_path):
    e = gym.make(TINY).unwrapped
    obs, _ = e.reset(options={"index": 0})
    truth = e.instance.truth
    s = e.finalize(truth)
    assert s["rel_l2"] == 0 and s["mae"] == 0 and s["head_rel_l2"] == 0
    assert s["ssim"] == pytest.approx(1.0)
    assert s["data_misfit"] == pytest.approx(1e-4, rel=0.8)  # 1% noise
    arrays = e.figure_arrays(truth)
    assert arrays["true_head"].shape == arrays["predicted_head"].shape == (16, 16)
    np.testing.assert_array_equal(arrays["sensor_coords"], obs["sensor_coords"])
    from invbench.tasks.darcy.figure import plot_darcy_result

    est = np.clip(truth + 0.2, LOG_K_MIN, LOG_K_MAX)
    e.reset(options={"index": 0})
    metrics = e.finalize(est)
    figure = {
        "truth": truth,
        "estimate": est,
        "observed": obs["observed"],
        "predicted": e.final_prediction,
        **e.figure_arrays(est),
    }
    result = SimpleNamespace(
        task=TINY, solver="test", split="test", index=0, metrics=metrics, history=[], wall_time=1.0
    )
    plot_darcy_result(figure, result, tmp_path / "fig.png")
    assert (tmp_path / "fig.png").stat().st_size > 10_000


def test_bimaterial_scores_the_wrong_phase_share():
    e = gym.make(BIMAT, n=16, sensors=16).unwrapped
    e.reset(options={"index": 0})
    truth = e.instance.truth
    assert e.finalize(truth)["wrong_phase"] == 0.0
    centre = 0.5 * (np.log(3.0) + np.log(12.0))
    flipped = 2 * centre - truth  # every cell mirrored into the other phase
    e.reset(options={"index": 0})
    assert e.finalize(flipped)["wrong_phase"] == 1.0
    half = truth.copy()
    half[..., :8] = flipped[..., :8]
    e.reset(options={"index": 0})
    assert e.finalize(half)["wrong_phase"] == pytest.approx(0.5)
    grf = gym.make(TINY).unwrapped
    grf.reset(options={"index": 0})
    assert "wrong_phase" not in grf.finalize(grf.instance.truth)


@pytest.mark.parametrize(
    ("make_bad", "match"),
    [
        (lambda m: m[:, :5], "shape"),
        (lambda m: m[0], "shape"),
        (lambda m: np.where(np.arange(m.size).reshape(m.shape) == 7, np.nan, m), "NaN"),
        (lambda m: np.where(np.arange(m.size).reshape(m.shape) == 3, np.inf, m), "inf"),
        (lambda m: m * 0 + 9.0, "outside"),
        (lambda m: m * 0 - 9.0, "outside"),
    ],
)
def test_bad_actions_raise_clear_errors(env, make_bad, match):
    obs, _ = _reset(env, 0)
    with pytest.raises(InvalidActionError, match=match):
        env.step(make_bad(obs["initial_model"].copy()).astype(np.float32))
    assert env.unwrapped.counter.used == 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sensor_coords": [[0.5, 0.5], [1.2, 0.3]]}, "outside the domain"),
        ({"sensor_coords": [[0.5, -0.01]]}, "outside the domain"),
        ({"sensor_coords": [[0.5, np.nan]]}, "NaN"),
        ({"sensor_coords": [0.5, 0.5]}, "shape"),
        ({"sensor_coords": [[0.5, 0.5], [0.51, 0.52]]}, "same cell"),
        ({"sensor_coords": [[0.5, 0.5]], "sensor_layout": "random"}, "cannot be combined"),
        ({"sensors": 1024}, "do not fit"),
        ({"sensors": 50}, "perfect-square"),
        ({"sensors": 300, "sensor_layout": "random"}, "do not fit"),
        ({"sensors": 0, "sensor_layout": "random"}, r"sensors must be an integer in \[1, \)"),
        ({"sensor_layout": "spiral"}, "sensor_layout"),
        ({"sensor_layout": "custom"}, "needs sensor_coords"),
        ({"family": "Gaussian"}, "family"),
        ({"bc": "neumann"}, "bc"),
        ({"n": 8}, r"n \(grid cells per side.*\) must be an integer in \[11, \)"),
        ({"n": 16.0}, "must be an integer, got 16.0"),
        ({"noise": -0.1}, "noise"),
        ({"noise": float("nan")}, r"noise .* must be a finite number"),
        ({"noise_type": "cauchy"}, "noise_type must be one of 'gaussian', 'laplace'"),
        ({"nosie": 0.1}, r"unknown option 'nosie' \(did you mean 'noise'\?\); valid options: bc, budget"),
        ({"budget": 1}, r"budget .* must be an integer in \[2, \)"),
        ({"misfit": "l3"}, "misfit must be one of"),
    ],
)
def test_bad_options_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gym.make(TINY, **kwargs)


@pytest.mark.parametrize("count", [16, 64, 256])
def test_regular_sensor_grids(count):
    e = gym.make(GRF, sensors=count)
    obs, _ = e.reset(options={"index": 0})
    c = obs["sensor_coords"]
    assert c.shape == (count, 2) and obs["observed"].shape == (count,)
    assert e.observation_space.contains(obs)
    s = int(np.sqrt(count))
    xs, ys = np.unique(c[:, 0]), np.unique(c[:, 1])
    assert xs.size == ys.size == s
    np.testing.assert_allclose(np.diff(xs), 1.0 / s, atol=1e-6)  # evenly spaced
    assert abs(xs.mean() - 0.5) <= 0.5 / 64 + 1e-6  # centred to within half a cell
    layout = e.unwrapped.sensors
    rows, cols = np.divmod(layout.cells, 64)
    np.testing.assert_allclose(c, np.stack([(cols + 0.5) / 64, (rows + 0.5) / 64], 1), atol=1e-7)
    np.testing.assert_allclose(obs["observed"], e.unwrapped.instance.observed.numpy())


def test_grid_layout_fills_a_small_grid():
    layout = grid_layout(256, 16)
    np.testing.assert_array_equal(layout.cells, np.arange(256))


def test_random_sensors_are_distinct_seeded_per_instance():
    e = gym.make(TINY, sensors=40, sensor_layout="random")
    o1, _ = e.reset(options={"index": 0})
    c1 = o1["sensor_coords"]
    assert c1.shape == (40, 2) and e.observation_space.contains(o1)
    assert np.unique(e.unwrapped.sensors.cells).size == 40
    o2, _ = e.reset(options={"index": 1})
    assert not np.array_equal(c1, o2["sensor_coords"])
    o3, _ = gym.make(TINY, sensors=40, sensor_layout="random").reset(options={"index": 0})
    np.testing.assert_array_equal(c1, o3["sensor_coords"])
    np.testing.assert_array_equal(o1["observed"], o3["observed"])
    # the forward model samples the current instance's sensors
    base = e.unwrapped
    e.reset(options={"index": 0})
    with torch.no_grad():
        d = base.operator(torch.from_numpy(base.instance.truth))
    np.testing.assert_allclose(d.numpy(), base.head(base.instance.truth).reshape(-1)[base.sensors.cells])


def test_custom_sensors_snap_to_cells():
    pts = [[0.0, 0.0], [1.0, 1.0], [0.5, 0.26]]
    layout = custom_layout(pts, 16)
    assert sorted(layout.cells.tolist()) == [0, 4 * 16 + 8, 255]
    e = gym.make(TINY, sensor_coords=pts)
    obs, _ = e.reset(options={"index": 0})
    assert obs["observed"].shape == (3,)
    np.testing.assert_allclose(obs["sensor_coords"][-1], [15.5 / 16, 15.5 / 16])


def test_noise_level_is_realised():
    clean = gym.make(TINY, sensors=256, noise=0.0)
    noisy = gym.make(TINY, sensors=256, noise=0.1)
    rels = []
    for i in range(3):
        oc, _ = clean.reset(options={"index": i})
        on, _ = noisy.reset(options={"index": i})
        rms = np.sqrt(np.mean(oc["observed"].astype(np.float64) ** 2))
        rels.append(np.std(on["observed"] - oc["observed"]) / rms)
    assert np.mean(rels) == pytest.approx(0.1, rel=0.1)
    on2, _ = noisy.reset(options={"index": 2})
    np.testing.assert_array_equal(on["observed"], on2["observed"])  # noise seeded per instance
    base = clean.unwrapped
    clean.reset(options={"index": 0})
    assert base.evaluate(base.instance.truth, gradient=False)[0] < 1e-10


def test_head_drop_boundary_condition():
    e = gym.make(TINY, bc="head_drop")
    obs, _ = e.reset(options={"index": 0})
    assert 0.0 < obs["observed"].min() and obs["observed"].max() < 1.0  # heads between the two boundaries
    obs2, *_ = e.step(obs["initial_model"])
    assert np.isfinite(obs2["gradient"]).all() and np.abs(obs2["gradient"]).max() > 0
    u = e.unwrapped.head(obs["initial_model"])
    assert np.all(np.diff(u, axis=1) < 0)  # homogeneous: head falls from left to right


@pytest.mark.parametrize(("suffix", "count"), [("S16", 16), ("S256", 256)])
@pytest.mark.parametrize("family", ["GRF", "Bimaterial"])
def test_sensor_variants_share_the_plain_tasks_fields(family, suffix, count):
    plain = gym.make(f"invbench/Darcy-{family}-v0").unwrapped
    variant = gym.make(f"invbench/Darcy-{family}-{suffix}-v0").unwrapped
    plain.reset(options={"index": 2})
    obs, _ = variant.reset(options={"index": 2})
    assert obs["observed"].shape == (count,) and plain.data_shape == (64,)
    np.testing.assert_array_equal(variant.instance.truth, plain.instance.truth)
