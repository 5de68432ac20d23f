import gymnasium as gym
import numpy as np

from baselines.gradient import AdamFWI
from invbench.tasks.fwi.metrics import velocity_metrics


def _solve(seed=0, iterations=15):
    env = gym.make("invbench/FWI-Tiny-v0", observed_solver="deepwave")
    obs, _ = env.reset(seed=seed, options={"index": 1})
    misfits = []
    est = AdamFWI(iterations=iterations).solve(env, callback=lambda p: misfits.append(p.misfit))
    return env, obs, est, misfits


def test_adam_lowers_misfit_and_respects_budget():
    env, obs, est, misfits = _solve()
    base = env.unwrapped
    assert len(misfits) == 15
    assert misfits[-1] < 0.5 * misfits[0]
    assert base.counter.used == 30 <= base.budget
    assert est.shape == obs["initial_model"].shape
    assert est.min() >= 1500 and est.max() <= 4500


def test_adam_stops_at_budget():
    env = gym.make("invbench/FWI-Tiny-v0", budget=10, observed_solver="deepwave")
    env.reset(options={"index": 0})
    misfits = []
    AdamFWI(iterations=300).solve(env, callback=lambda p: misfits.append(p.misfit))
    assert len(misfits) == 5 and env.unwrapped.counter.used == 10


def test_adam_is_deterministic():
    _, _, est1, m1 = _solve(iterations=5)
    _, _, est2, m2 = _solve(iterations=5)
    np.testing.assert_array_equal(est1, est2)
    assert m1 == m2


def test_adam_improves_model_on_tiny():
    env, obs, est, _ = _solve(iterations=40)
    truth = env.unwrapped.instance.truth
    assert velocity_metrics(est, truth)["mae"] < velocity_metrics(obs["initial_model"], truth)["mae"]
