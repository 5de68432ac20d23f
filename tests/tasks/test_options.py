"""Task options are checked when a task is made, with errors naming the option and its valid range."""

import gymnasium as gym
import numpy as np
import pytest

import invbench
from invbench.registry import make, task_options

TINY = "invbench/FWI-Tiny-v0"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"noise": float("nan")}, r"noise .* must be a finite number in \[0, inf\), got nan"),
        ({"noise": -0.1}, r"noise .* must be a finite number in \[0, inf\)"),
        ({"noise": "loud"}, "noise .* must be a number, got 'loud'"),
        ({"noise_type": "cauchy"}, "noise_type must be one of 'gaussian', 'laplace'"),
        ({"smooth_sigma": 0}, r"smooth_sigma \(cells\) must be a finite number in \(0, inf\), got 0.0"),
        ({"lowcut": 1e6}, r"lowcut \(Hz; the source wavelet peaks at 15 Hz\) must be .* in \[0, 15\)"),
        ({"lowcut": -1}, r"lowcut .* in \[0, 15\)"),
        ({"missing_traces": 1.5}, "missing_traces must be an integer, got 1.5"),
        ({"missing_traces": 999}, r"missing_traces must be an integer in \[0, \d+\), got 999"),
        ({"budget": 10.0}, "budget .* must be an integer, got 10.0"),
        ({"budget": 1}, r"budget .* \[2, \)"),
        ({"n_test": 0}, r"n_test must be an integer in \[1, \)"),
        ({"initial": "truth"}, "initial must be one of 'smooth', 'linear', 'homogeneous'"),
        ({"family": "FlatVel-Z"}, "family must be one of"),
        ({"misfit": "huber"}, "misfit must be one of 'l2', 'l1'"),
        ({"observed_solver": "magic"}, "observed_solver must be one of"),
    ],
)
def test_bad_fwi_options_raise_clear_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gym.make(TINY, **kwargs)


def test_unknown_option_names_the_task_and_close_matches():
    with pytest.raises(
        ValueError, match=r"invbench/FWI-Tiny-v0: unknown option 'nosie' \(did you mean 'noise'\?\)"
    ):
        make("FWI-Tiny-v0", nosie=0.1)
    # gymnasium.make straight away still refuses it, naming the class.
    with pytest.raises(
        ValueError, match=r"FWIEnv: unknown option 'nosie'.*valid options: acquisition, budget"
    ):
        gym.make(TINY, nosie=0.1)


def test_device_without_a_gpu_is_a_clear_error():
    if __import__("torch").cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ValueError, match="torch sees no CUDA GPU"):
        gym.make(TINY, device="cuda")


@pytest.mark.parametrize("task_id", invbench.task_ids())
def test_task_options_resolve_every_option_of_every_task(task_id):
    opts = task_options(task_id)
    assert "device" not in opts and opts["budget"] >= 2
    spec = gym.spec(task_id)
    for key, value in spec.kwargs.items():
        assert opts[key] == value
    env = make(task_id, **{k: v for k, v in opts.items() if k != "data_dir" or v is not None})
    assert env.unwrapped.budget == opts["budget"]
    env.close()


def test_task_options_apply_overrides_and_stay_json_ready():
    opts = task_options("Darcy-Tiny-v0", {"noise": 0.05, "sensor_coords": np.array([[0.5, 0.5]])})
    assert opts["noise"] == 0.05 and opts["sensor_coords"] == [[0.5, 0.5]] and opts["n"] == 16
    with pytest.raises(ValueError, match="unknown option 'sensor'"):
        task_options("Darcy-Tiny-v0", {"sensor": 4})
