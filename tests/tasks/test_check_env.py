"""Gymnasium's own environment checker passes for every registered id, with default arguments."""

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import invbench


@pytest.mark.parametrize("task_id", invbench.task_ids())
def test_check_env_with_default_arguments(task_id):
    env = gym.make(task_id)
    check_env(env.unwrapped, skip_render_check=True)
    env.close()


def test_timings_are_opt_in_and_kept_out_of_the_default_info():
    env = gym.make("invbench/Darcy-Tiny-v0")
    _, info = env.reset(seed=0)
    assert "wall_time" not in info and "physics_time" not in info
    timed = gym.make("invbench/Darcy-Tiny-v0", report_time=True)
    _, info = timed.reset(seed=0)
    assert info["wall_time"] >= 0 and info["physics_time"] >= 0
