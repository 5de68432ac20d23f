"""Gymnasium's own environment checker passes for every registered id, with default arguments."""

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import invbench

# One task per environment class, geometry and kind of degradation runs by default: the checker takes
# 7-25 s per FWI task on this CPU (about 500 s for all of them), and the others differ from these only
# in their velocity family's maps, which tests/data checks. `make test-all` runs every id.
DEFAULT_CHECKED = {
    "invbench/FWI-Tiny-v0",
    "invbench/FWI-FlatVel-A-v0",
    "invbench/FWI-CurveFault-A-v1",
    "invbench/FWI-Wide-CurveVel-A-v0",
    "invbench/FWI-FlatVel-A-Noise10-v0",
    "invbench/FWI-CurveVel-A-Missing14-v0",
}


def _checked_ids() -> list:
    return [
        task_id
        if task_id in DEFAULT_CHECKED or task_id.startswith("invbench/Darcy-")
        else pytest.param(task_id, marks=pytest.mark.slow)
        for task_id in invbench.task_ids()
    ]


def test_the_default_selection_names_registered_ids():
    assert DEFAULT_CHECKED <= set(invbench.task_ids())


@pytest.mark.parametrize("task_id", _checked_ids())
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
