"""Benchmarks: instance-steps per second of the vector environment for B = 1, 2, 4 and 8.

One ``vec.step`` evaluates B FWI-FlatVel-A instances (OpenFWI geometry, forward + adjoint) in one
batched deepwave call; throughput is B / (time per step). Compare with B = 1 on the same machine and
thread count (``torch.set_num_threads``). Run with ``make bench``; nothing here asserts a time.
"""

import pytest
import torch

from invbench import make_vec


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("num_envs", [1, 2, 4, 8])
def test_bench_vector_step(benchmark, num_envs, threads):
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        vec = make_vec("invbench/FWI-FlatVel-A-v0", num_envs=num_envs, budget=10**6)
        obs, _ = vec.reset(seed=0)
        benchmark.extra_info["instances_per_step"] = num_envs
        benchmark.pedantic(vec.step, args=(obs["initial_model"],), rounds=3, warmup_rounds=1)
        vec.close()
    finally:
        torch.set_num_threads(before)
