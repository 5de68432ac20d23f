import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import invbench


@pytest.mark.parametrize("task_id", invbench.task_ids())
def test_check_env(task_id):
    # report_time=False: wall-clock times are the only part of `info` that is not bit-reproducible,
    # and Gymnasium's checker compares `info` of two identically seeded steps exactly.
    env = gym.make(task_id, report_time=False)
    check_env(env.unwrapped, skip_render_check=True)
    env.close()
