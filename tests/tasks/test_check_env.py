import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import invbench
from invbench.registry import ROBUSTNESS_VARIANTS

# The degraded-data variants differ from their clean task only in options already covered by one
# variant of each kind; checking all sixteen would add minutes and no coverage.
_VARIANTS = tuple(f"-{suffix}-" for suffix in ROBUSTNESS_VARIANTS)
_CHECKED = [t for t in invbench.task_ids() if not any(v in t for v in _VARIANTS)] + [
    "invbench/FWI-CurveFault-A-Noise20-v0",
    "invbench/FWI-FlatVel-A-Missing14-v0",
]


@pytest.mark.parametrize("task_id", _CHECKED)
def test_check_env(task_id):
    # report_time=False: wall-clock times are the only part of `info` that is not bit-reproducible,
    # and Gymnasium's checker compares `info` of two identically seeded steps exactly.
    env = gym.make(task_id, report_time=False)
    check_env(env.unwrapped, skip_render_check=True)
    env.close()
