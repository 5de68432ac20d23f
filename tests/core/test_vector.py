"""The vector environment: B instances in one batched call, equal to B single environments."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode

from invbench import make_vec
from invbench.core.errors import BudgetExhaustedError, HarnessOnlyError
from invbench.registry import make

TASKS = ["invbench/FWI-Tiny-v0", "invbench/Darcy-Tiny-v0"]
B = 3


def _actions(obs: dict[str, np.ndarray], space: gym.spaces.Box, step: int) -> np.ndarray:
    """A different, valid field per sub-environment and step."""
    scale = 1.0 + 0.02 * (step + 1) * (np.arange(B) - 1)[:, None, None, None]
    return np.clip(obs["initial_model"] * scale, space.low, space.high).astype(np.float32)


def _assert_obs_equal(batched: dict, k: int, single: dict) -> None:
    assert set(batched) == set(single)
    for key, value in single.items():
        np.testing.assert_allclose(
            batched[key][k], value, rtol=1e-5, atol=1e-5 * (np.abs(value).max() + 1e-30)
        )


@pytest.mark.parametrize("task", TASKS)
def test_steps_equal_those_of_b_single_environments(task):
    vec = make_vec(task, num_envs=B)
    obs, info = vec.reset(seed=7)
    assert list(info["index"]) == list(range(B))  # sub-environment k draws test instance k
    singles = [make(task) for _ in range(B)]
    for k, env in enumerate(singles):
        single_obs, _ = env.reset(seed=7 + k, options={"split": "test", "index": k})
        _assert_obs_equal(obs, k, single_obs)
    for step in range(3):
        actions = _actions(obs, vec.single_action_space, step)
        obs, rewards, terminated, truncated, info = vec.step(actions)
        for k, env in enumerate(singles):
            s_obs, s_reward, s_term, s_trunc, s_info = env.step(actions[k])
            _assert_obs_equal(obs, k, s_obs)
            assert rewards[k] == pytest.approx(s_reward, rel=1e-5)
            assert (terminated[k], truncated[k]) == (s_term, s_trunc)
            for name in ("forward_solves", "adjoint_solves", "pde_solves", "budget_left"):
                assert info[name][k] == s_info[name]
    assert list(info["pde_solves"]) == [6] * B
    vec.close()


@pytest.mark.parametrize("task", TASKS)
def test_autoreset_and_truncation_follow_gymnasiums_sync_vector_env(task):
    """Against Gymnasium's own reference implementation of the vector API, budget ends included."""
    ours = make_vec(task, num_envs=B, budget=6)
    theirs = gym.vector.SyncVectorEnv(
        [lambda: make(task, budget=6) for _ in range(B)], autoreset_mode=AutoresetMode.NEXT_STEP
    )
    assert ours.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    assert ours.observation_space == theirs.observation_space and ours.action_space == theirs.action_space
    obs, _ = ours.reset(seed=3, options={"split": "test", "index": [0] * B})
    ref, _ = theirs.reset(seed=3, options={"split": "test", "index": 0})
    seen_reset = False
    for step in range(5):
        for k in range(B):
            _assert_obs_equal(obs, k, {key: v[k] for key, v in ref.items()})
        actions = _actions(obs, ours.single_action_space, step)
        obs, rewards, terminated, truncated, info = ours.step(actions)
        ref, ref_rewards, ref_term, ref_trunc, ref_info = theirs.step(actions)
        np.testing.assert_allclose(rewards, ref_rewards, rtol=1e-5)
        np.testing.assert_array_equal(truncated, ref_trunc)
        np.testing.assert_array_equal(terminated, ref_term)
        np.testing.assert_array_equal(info["pde_solves"], ref_info["pde_solves"])
        seen_reset |= bool((info["pde_solves"] == 0).all())
    assert seen_reset  # budget 6 = 3 steps, then the next step reset every sub-environment
    ours.close()
    theirs.close()


def test_the_batched_operator_counts_per_instance_and_never_overruns():
    vec = make_vec("invbench/FWI-Tiny-v0", num_envs=B, budget=4)
    obs, _ = vec.reset()
    m = torch.tensor(obs["initial_model"], requires_grad=True)
    pred = vec.operator(m)
    assert pred.shape == (B, *vec.bases[0].data_shape)
    vec.misfits(pred).sum().backward()
    assert [b.counter.forward for b in vec.bases] == [1] * B and [b.counter.adjoint for b in vec.bases] == [
        1
    ] * B
    with torch.no_grad():
        vec.operator(m.detach()[:2], envs=[0, 1])
    assert [b.counter.used for b in vec.bases] == [3, 3, 2]
    with pytest.raises(BudgetExhaustedError):
        vec.operator(m.detach().clone().requires_grad_(True))  # 2 more solves do not fit envs 0 and 1
    assert [b.counter.used for b in vec.bases] == [3, 3, 2]


def test_bad_reset_options_and_actions_are_named():
    vec = make_vec("invbench/Darcy-Tiny-v0", num_envs=2)
    with pytest.raises(ValueError, match="index lists 3 instances for 2 sub-environments"):
        vec.reset(options={"index": [0, 1, 2]})
    with pytest.raises(ValueError, match="must be a list of 2 instance indices"):
        vec.reset(options={"index": 4})
    with pytest.raises(ValueError, match="unknown reset options"):
        vec.reset(options={"instance": [0, 1]})
    obs, _ = vec.reset()
    with pytest.raises(ValueError, match="one field per sub-environment"):
        vec.step(obs["initial_model"][:1])
    with pytest.raises(ValueError, match="num_envs must be at least 1"):
        make_vec("invbench/Darcy-Tiny-v0", num_envs=0)


def test_a_solver_cannot_call_the_batched_physics_outside_the_count():
    harness = make("invbench/Darcy-Tiny-v0")
    harness.reset(options={"split": "test", "index": 0})
    env = make("invbench/Darcy-Tiny-v0")
    env.unwrapped.serve(harness.unwrapped.public_instance())
    obs, _ = env.reset(options={"split": "test", "index": 0})
    with pytest.raises(HarnessOnlyError, match="uncounted solve"):
        env.unwrapped._simulate_batch(torch.tensor(obs["initial_model"][None]), [env.unwrapped])


def test_gymnasium_make_vec_builds_the_batched_vector_env():
    vec = gym.make_vec("invbench/Darcy-Tiny-v0", num_envs=2, budget=10)
    assert type(vec).__name__ == "InverseProblemVectorEnv" and vec.num_envs == 2
    obs, info = vec.reset(seed=0)
    assert list(info["index"]) == [0, 1] and obs["initial_model"].shape[0] == 2
    _, _, _, _, info = vec.step(obs["initial_model"])
    assert list(info["budget"]) == [10, 10] and list(info["pde_solves"]) == [2, 2]
    vec.close()
