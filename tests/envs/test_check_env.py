import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import invbench

FAST = ["invbench/FWI-Tiny-v0"]


@pytest.mark.parametrize("task_id", FAST)
def test_check_env_fast(task_id):
    env = gym.make(task_id, report_time=False)  # timings are the only non-deterministic info
    check_env(env.unwrapped, skip_render_check=True)


@pytest.mark.slow
@pytest.mark.parametrize("task_id", [t for t in invbench.task_ids() if t not in FAST])
def test_check_env_all(task_id):
    env = gym.make(task_id, report_time=False)  # timings are the only non-deterministic info
    check_env(env.unwrapped, skip_render_check=True)
