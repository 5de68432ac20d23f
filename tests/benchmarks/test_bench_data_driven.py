"""Benchmarks of the data-driven FWI methods and of their training pairs (issue 23 section 5).

Run with ``make bench`` (skipped by the default addopts). Nothing here asserts a time; the targets are:

* ``inversionnet``: one ``solve`` (one network evaluation) on an OpenFWI-size task
  (``invbench/FWI-FlatVel-A-v0`` test #0, 5 shots x 1000 samples x 70 receivers -> 70 x 70) with
  ``lite`` weights: target under 0.1 s per instance on this CPU;
* ``wavediffusion``: one instance of the paper's refinement (the last 10 denoising steps x 100 candidates,
  1000 seismic decodes) with ``lite`` stage-1 and stage-2 weights: target under 10 s per instance on this
  CPU; ``wavediffusion-stage1`` alone on the same instance beside it (no target);
* pair generation (:func:`invbench.data.pairs.generate_pairs` on FWI-FlatVel-A-v0): throughput in pairs
  per second with several velocity models per propagator call (``batch_size`` 8) against one model per
  call (``batch_size`` 1), recorded in ``extra_info``.

Shipped weights (``fwi-inversionnet-lite``, ``fwi-wavediffusion-stage1-lite``,
``fwi-wavediffusion-ldm-lite``) are used when they exist. Until then the benchmarks write ``lite``-size
weights with untrained parameters in the project's weights format (manifest sections as the trainers
write them, so the solvers accept them): a forward pass costs the same whatever the parameters' values,
so the timings hold; the estimates are meaningless. The whole file runs in under a minute on this CPU
(each benchmark under 30 s), so none is marked slow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import pytest
import torch

from invbench.core.solver import Solver
from invbench.nn.shipped import shipped_checkpoints
from invbench.nn.weights import write_weights

from .ready import ready, reset_env

TASK = "invbench/FWI-FlatVel-A-v0"
PAIRS = 8
"""Pairs simulated per round of the pair-generation benchmark."""
UNTRAINED = {
    "device": "cpu",
    "steps": 0,
    "wall_time_s": 0.0,
    "note": "untrained lite-size parameters written by tests/benchmarks/test_bench_data_driven.py "
    "(timing only)",
}


def _env() -> gym.Env:
    return reset_env(TASK)


def _shipped(name: str) -> str | None:
    return name if name in shipped_checkpoints() else None


@pytest.fixture(scope="module")
def acquisition() -> dict[str, Any]:
    """The task's acquisition as the weights' manifests record it."""
    return _env().unwrapped.acquisition.to_dict()


@pytest.fixture(scope="module")
def inversionnet_weights(acquisition, tmp_path_factory) -> str:
    """``fwi-inversionnet-lite`` when shipped, else untrained lite weights for the task's acquisition."""
    from invbench.data.pairs import decimate_time
    from solvers.inversionnet.network import InversionNet
    from solvers.inversionnet.presets import get_preset
    from solvers.inversionnet.solver import default_weights_name
    from solvers.inversionnet.train import ARCHITECTURE, KIND
    from solvers.inversionnet.transforms import DataTransform

    shipped = _shipped(default_weights_name())
    if shipped is not None:
        return shipped
    preset = get_preset("lite")
    dummy = torch.zeros(1, int(acquisition["nt"]), 1)  # the decimated trace length the network reads
    times = decimate_time(dummy, preset.time_decimation, float(acquisition["dt"])).shape[-2]
    shots, receivers = len(acquisition["src_x"]), len(acquisition["rec_x"])
    arch = preset.network_config(shots, times, receivers, (acquisition["nz"], acquisition["nx"]))
    torch.manual_seed(0)
    net = InversionNet(**arch)
    out = tmp_path_factory.mktemp("bench-inversionnet") / "fwi-inversionnet-lite-untrained.safetensors"
    write_weights(
        out,
        net.state_dict(),
        name=out.stem,
        kind=KIND,
        architecture=ARCHITECTURE,
        config=arch,
        training={**UNTRAINED, "preset": preset.name},
        dtype=preset.train.export_dtype,
        ema=preset.train.ema_decay > 0,
        extra={
            "task_family": "fwi",
            "transform": DataTransform(time_decimation=preset.time_decimation).to_dict(),
            "acquisition": acquisition,
        },
    )
    return str(out)


@pytest.fixture(scope="module")
def wavediffusion_weights(acquisition, tmp_path_factory) -> tuple[str, str]:
    """``(stage 1, stage 2)``: the shipped lite weights, else untrained lite ones side by side."""
    from diffusers import UNet2DModel

    from solvers.wavediffusion.checkpoint import STAGE1_KIND, load_stage1, stage1_name
    from solvers.wavediffusion.data import transforms_for
    from solvers.wavediffusion.ldm import ldm_name, write_ldm
    from solvers.wavediffusion.network import WaveVQ
    from solvers.wavediffusion.presets import get_ldm_preset, get_stage1_preset
    from solvers.wavediffusion.train_stage1 import ARCHITECTURE

    stage1_spec, ldm_spec = _shipped(stage1_name()), _shipped(ldm_name())
    if stage1_spec is not None and ldm_spec is not None:
        return stage1_spec, ldm_spec
    folder = tmp_path_factory.mktemp("bench-wavediffusion")
    s1 = get_stage1_preset("lite")
    seismic, velocity = transforms_for(
        acquisition,
        channels=s1.seismic_channels,
        time_samples=s1.seismic_time,
        receivers=s1.receivers,
        velocity_size=s1.velocity_size,
        time_decimation=s1.time_decimation,
    )
    torch.manual_seed(0)
    vq = WaveVQ(**s1.network_config())
    stage1_path = folder / f"{stage1_name()}-untrained.safetensors"
    write_weights(
        stage1_path,
        vq.state_dict(),
        name=stage1_path.stem,  # the LDM finds its stage 1 beside it by this name
        kind=STAGE1_KIND,
        architecture=ARCHITECTURE,
        config=s1.network_config(),
        training={**UNTRAINED, "preset": s1.name},
        dtype=s1.train.export_dtype,
        ema=s1.train.ema_decay > 0,
        extra={
            "task_family": "fwi",
            "seismic_transform": seismic.to_dict(),
            "velocity_transform": velocity.to_dict(),
            "acquisition": acquisition,
        },
        packages=("diffusers",),
    )
    stage1 = load_stage1(str(stage1_path), "cpu")
    ldm = get_ldm_preset("lite")
    c, h, w = stage1.model.latent_shape
    config = ldm.unet.diffusers_config((h, w), channels=c)
    unet = UNet2DModel(**config)
    ldm_path = folder / f"{ldm_name()}-untrained.safetensors"
    write_ldm(
        ldm_path,
        unet.state_dict(),
        name=ldm_path.stem,
        unet_config=config,
        schedule=ldm.schedule,
        latent_scale=1.0,
        stage1=stage1,
        training={**UNTRAINED, "preset": ldm.name},
        dtype=ldm.train.export_dtype,
        ema=ldm.train.ema_decay > 0,
    )
    return str(stage1_path), str(ldm_path)


def _ready(name: str, **params: object) -> tuple[gym.Env, Solver]:
    return ready(TASK, name, **params)


def _record(benchmark, weights: str, target_s: float | None) -> None:
    benchmark.extra_info["weights"] = Path(weights).name
    benchmark.extra_info["trained"] = weights in shipped_checkpoints()
    benchmark.extra_info["threads"] = torch.get_num_threads()
    if target_s is not None:
        benchmark.extra_info["target_s"] = target_s


@pytest.mark.benchmark(group="data-driven-inference")
def test_inversionnet_solve(benchmark, inversionnet_weights):
    """One InversionNet estimate (decimation, transforms, one network evaluation); target under 0.1 s."""
    env, solver = _ready("inversionnet", checkpoint=inversionnet_weights)
    _record(benchmark, inversionnet_weights, 0.1)
    est = benchmark.pedantic(solver.solve, args=(env,), rounds=10, warmup_rounds=1)
    assert est.shape == (1, 70, 70) and env.unwrapped.counter.used == 0


@pytest.mark.benchmark(group="data-driven-inference")
def test_wavediffusion_stage1_solve(benchmark, wavediffusion_weights):
    """Stage 1 alone as image-to-image inversion (encode, quantise, decode velocity); no target."""
    env, solver = _ready("wavediffusion-stage1", checkpoint=wavediffusion_weights[0])
    _record(benchmark, wavediffusion_weights[0], None)
    est = benchmark.pedantic(solver.solve, args=(env,), rounds=5, warmup_rounds=1)
    assert est.shape == (1, 70, 70) and env.unwrapped.counter.used == 0


@pytest.mark.benchmark(group="data-driven-inference")
def test_wavediffusion_solve(benchmark, wavediffusion_weights):
    """The paper's refinement (10 steps x 100 candidates, chunks of 25) on one instance; target under 10 s."""
    env, solver = _ready("wavediffusion", checkpoint=wavediffusion_weights[1])
    _record(benchmark, wavediffusion_weights[1], 10.0)
    benchmark.extra_info["refine_steps"] = solver.params["refine_steps"]
    benchmark.extra_info["candidates"] = solver.params["candidates"]
    est = benchmark.pedantic(solver.solve, args=(env,), rounds=3, iterations=1)
    assert est.shape == (1, 70, 70) and env.unwrapped.counter.used == 0


@pytest.mark.benchmark(group="pairs")
@pytest.mark.parametrize("batch_size", [1, 8])
def test_generate_pairs(benchmark, batch_size, tmp_path):
    """:data:`PAIRS` FWI-FlatVel-A pairs into a fresh folder per round, ``batch_size`` maps per call."""
    from invbench.data.pairs import PairsResult, generate_pairs

    folders = iter(range(1000))
    results: list[PairsResult] = []

    def fresh() -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (TASK, PAIRS, tmp_path / f"round-{next(folders)}"), {"batch_size": batch_size, "device": "cpu"}

    def run(task: str, n: int, out: Path, **kwargs: Any) -> PairsResult:
        result = generate_pairs(task, n, out, **kwargs)
        results.append(result)
        return result

    benchmark.pedantic(run, setup=fresh, rounds=3, warmup_rounds=1)
    timed = results[1:]  # the warm-up round is not timed
    wall = sum(r.wall_s for r in timed)
    benchmark.extra_info["batch_size"] = batch_size
    benchmark.extra_info["pairs_per_round"] = PAIRS
    benchmark.extra_info["threads"] = torch.get_num_threads()
    benchmark.extra_info["pairs_per_s"] = round(PAIRS * len(timed) / wall, 3)
    benchmark.extra_info["propagator_fraction"] = round(sum(r.simulate_s for r in timed) / wall, 3)
    assert all(r.new == PAIRS and r.n == PAIRS for r in results)
