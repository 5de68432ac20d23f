"""Benchmarks of LD-DIM, the physics-embedded VAE and the PINN on Darcy-GRF 64 x 64 (shipped lite weights).

Run with ``make bench`` (skipped by the default addopts). Nothing here asserts a time:

* one iteration of ``ld-dim`` (DDIM sampler + decoder + forward/adjoint solve + backward), of ``vae``
  and of ``tikhonov`` on the same instance, so the cost of the decoder and the prior shows beside the solve;
* one whole ``ld-dim`` cell at its default budget (target: under 2 minutes on a 2-core CPU) and one
  ``pinn`` cell at its defaults (target: under 5 minutes), through the harness.

The latent-model benchmarks skip when the shipped weights are absent (``invbench train`` makes them).
"""

from __future__ import annotations

import pytest

from invbench.harness.cells import Cell, to_json
from invbench.harness.execute import run_cell

from .ready import ready

TASK = "invbench/Darcy-GRF-v0"


def _ready(name: str, **params: object):
    return ready(TASK, name, **params)


@pytest.mark.benchmark(group="darcy-iteration")
@pytest.mark.parametrize("name", ["ld-dim", "vae", "tikhonov"])
def test_one_iteration(benchmark, name):
    """One iteration: a fresh budget of 2 solves per round, so the solver stops after one step."""
    env, solver = _ready(name, iterations=1)

    def run():
        env.reset(seed=0, options={"split": "test", "index": 0})
        return solver.solve(env)

    est = benchmark.pedantic(run, rounds=5, warmup_rounds=1)
    assert est.shape == (1, 64, 64) and env.unwrapped.counter.used == 2


def _cell(name: str) -> dict:
    cell = Cell("bench", TASK, "test", 0, name, to_json({}), 0, 0, 0, 900.0)
    row = run_cell(cell).row
    if row["status"] == "skipped":
        pytest.skip(row["reason"])
    assert row["status"] == "done", row["reason"]
    return row


@pytest.mark.slow
@pytest.mark.benchmark(group="darcy-cell")
@pytest.mark.parametrize("name", ["ld-dim", "pinn"])
def test_default_cell(benchmark, name):
    """A whole cell at the solver's defaults (ld-dim: 300 iterations; pinn: Adam then L-BFGS)."""
    row = benchmark.pedantic(_cell, args=(name,), rounds=1, iterations=1)
    assert row["pde_solves"] == (0 if name == "pinn" else 600)
