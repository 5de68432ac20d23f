"""Benchmarks: ``env.step`` (forward + gradient) against a raw deepwave call on the same inputs.

Run with ``make bench`` (pytest-benchmark); nothing here asserts a time. The environment's
overhead is (step - raw) / raw; the README reports the measured numbers and cell-updates per
second (grid cells incl. PML x time steps x shots x 2 for forward + adjoint, per second).
"""

import deepwave
import gymnasium as gym
import numpy as np
import pytest
import torch

from invbench.physics.wave.acquisition import OPENFWI
from invbench.physics.wave.wavelet import ricker


@pytest.fixture(scope="module")
def fwi_env():
    env = gym.make("invbench/FWI-FlatVel-A-v0", budget=10**6)
    obs, _ = env.reset(seed=0, options={"index": 0})
    return env, obs


def test_bench_env_step(benchmark, fwi_env):
    env, obs = fwi_env
    m = obs["initial_model"]
    benchmark.extra_info["cells_per_solve"] = _cell_updates()
    benchmark.pedantic(env.step, args=(m,), rounds=10, warmup_rounds=1)


def test_bench_raw_deepwave(benchmark, fwi_env):
    env, obs = fwi_env
    prop = env.unwrapped.propagator
    acq = OPENFWI
    s, r, nt = acq.n_shots, acq.n_receivers, acq.nt
    observed = torch.from_numpy(obs["observed"])
    v0 = torch.from_numpy(obs["initial_model"])[0]
    src_loc = torch.tensor([[[acq.src_z, x]] for x in acq.src_x])
    rec_loc = torch.tensor([[acq.rec_z, x] for x in acq.rec_x]).expand(s, r, 2).contiguous()
    amp = -ricker(acq.freq, acq.dt, nt + 1).expand(s, 1, nt + 1)
    courant = prop._courant_number(4500.0)

    def raw() -> np.ndarray:
        v = v0.clone().requires_grad_(True)
        out = deepwave.scalar(
            v,
            acq.dx,
            acq.dt,
            source_amplitudes=amp,
            source_locations=src_loc,
            receiver_locations=rec_loc,
            accuracy=4,
            pml_width=prop.pml_width,
            pml_freq=acq.freq,
            max_vel=4500.0,
            courant_number=courant,
        )
        d = out.receiver_amplitudes[..., 1:].transpose(-1, -2)
        loss = ((d - observed) ** 2).sum() / (observed**2).sum()
        loss.backward()
        return v.grad.numpy()

    benchmark.extra_info["cells_per_solve"] = _cell_updates()
    benchmark.pedantic(raw, rounds=10, warmup_rounds=1)


def _cell_updates() -> int:
    acq = OPENFWI
    pml = 20
    return (acq.nz + 2 * pml) * (acq.nx + 2 * pml) * (acq.nt + 1) * acq.n_shots
