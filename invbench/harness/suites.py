"""Benchmark suites: which tasks, instances, solvers and budgets ``invbench bench`` runs.

This is the one place where suites are declared; read it to know exactly what a suite runs.

* ``smoke``: the Tiny tasks against every built-in solver (``invbench.core.solver.BUILTIN_SOLVERS``,
  read when the suite runs, so new baselines join automatically). Two test instances per task,
  solvers capped at :data:`SMOKE_MAX_ITERATIONS` iterations (the cap is a solver parameter, so it
  is recorded with the results) and a 60 s cell timeout, so the whole suite finishes in a few
  minutes on a 2-core CPU. It checks that everything runs; its numbers are not a ranking.
* ``standard``: every FWI family with 10 test instances and both Darcy tasks with 20, every
  built-in solver at its default parameters and the task's full PDE-solve budget. Meant for a GPU
  or a cluster (``--executor dask``).
* ``demo``: what ``invbench demo`` (and ``make demo``) runs: the initial model, TV and RED-DiffEq
  on FlatVel-A test #0 (OpenFWI geometry), and the initial model, Tikhonov, RED-DiffEq and LD-DIM
  on Darcy-Bimaterial test #0, all at their full budgets (each task set names its solvers). TV
  minimises the mean L1 data loss as in the ``red-diffeq`` suite, so its cell is that suite's cell.
* ``red-diffeq``: the evidence for RED-DiffEq's claims (Shan et al. 2025): the four families of its
  OpenFWI experiments, clean and degraded (:data:`invbench.registry.ROBUSTNESS_VARIANTS`: Gaussian
  noise at three levels, missing traces), 3 test instances each, RED-DiffEq against diffusion-FWI,
  Tikhonov, TV and plain Adam at their default budgets. The three classical baselines minimise the
  mean L1 data loss (``data_loss="mean_l1"``), as every method does in RED-DiffEq's released code; the
  tasks still score every result with their L2 misfit. 300 cells of 300+ wave-equation solves:
  a GPU job; on a CPU, run slices of it with ``--tasks``/``--solvers``/``--first-instance``/``--instances``
  (``studies/red_diffeq/robustness_table.py`` tabulates whatever has been run).
* ``red-diffeq-prior``: the cells that decide whether a stronger FWI prior changes the ``red-diffeq``
  suite's noise result: RED-DiffEq with ``prior="fwi-long"`` and TV (mean L1 loss) on the same four
  families, clean and at 10 % and 20 % noise (:data:`PRIOR_CONDITIONS`), test #0-#2: 72 cells, of which
  the TV ones on unchanged task versions are the ``red-diffeq`` suite's own (``--skip-scored-in`` skips them).
* ``data-driven``: the evidence for the amortized methods of issue 23 (InversionNet, WaveDiffusion's
  stage 1 alone and with its diffusion refinement) on the same four families, clean and degraded, 20
  test instances each: inference spends no PDE solve, so instances are cheap; the initial model is
  the reference every method must beat.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from invbench.registry import (
    DARCY_FAMILIES,
    DARCY_SENSOR_VARIANTS,
    FWI_FAMILIES,
    NAMESPACE,
    ROBUSTNESS_FAMILIES,
    ROBUSTNESS_VARIANTS,
    fwi_task_id,
)


@dataclass(frozen=True)
class TaskSet:
    """Instances of one task in a suite.

    Attributes:
        task: Full task id.
        instances: Number of instances, indices ``0 .. instances - 1`` of the split.
        split: Instance split (benchmarks score the ``test`` split).
        solvers: Solver specs run on this task, replacing the suite's (``None``: the suite's).
    """

    task: str
    instances: int
    split: str = "test"
    solvers: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Suite:
    """A named benchmark: tasks x instances x solvers x repetitions.

    Attributes:
        name: Suite name (``invbench bench --suite NAME``).
        description: One line shown by the CLI.
        tasks: The tasks and how many instances of each.
        solvers: Solver specs; ``None`` means every built-in solver at run time.
        repetitions: Seeds per (task, instance, solver) cell.
        max_iterations: Cap applied to the iteration-count parameters (:data:`ITERATION_PARAMS`)
            a solver resolves for each task (defaults, then family defaults), unless set
            explicitly; ``None`` leaves solvers at their defaults.
        solver_params: Extra parameters per solver name (``{"adam": {"lr": 0.05}}``).
        timeout: Seconds allowed for one cell's ``solve`` (see ``docs/harness.md``).
        diverge_factor: A run whose data misfit exceeds this multiple of its first misfit is
            stopped and recorded as ``diverged``.
        examples: Instances per task (indices ``0 .. examples - 1``, first repetition) whose truth
            and reconstructions are stored for the leaderboard's figures.
    """

    name: str
    description: str
    tasks: tuple[TaskSet, ...]
    solvers: tuple[str, ...] | None = None
    repetitions: int = 1
    max_iterations: int | None = None
    solver_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    timeout: float = 3 * 3600.0
    diverge_factor: float = 10.0
    examples: int = 1


ITERATION_PARAMS = (
    "iterations",
    "max_iter",
    "max_iterations",
    "n_iter",
    "steps",
    "num_steps",
    "epochs",
    "adam_steps",
    "lbfgs_iterations",
)
"""Solver parameters that count iterations; a suite's ``max_iterations`` caps each one declared."""


def planned_iterations(params: dict[str, Any]) -> int | None:
    """Iterations a solver with these resolved parameters plans: the sum of its :data:`ITERATION_PARAMS`.

    A solver with several stages (the PINN's Adam steps then L-BFGS iterations) counts them in one
    sequence; ``None`` when it declares none (a progress bar then falls back on the PDE-solve budget).
    """
    counts = [
        int(v)
        for k, v in params.items()
        if k in ITERATION_PARAMS and isinstance(v, int | float) and not isinstance(v, bool) and v >= 0
    ]
    return sum(counts) if counts else None


SMOKE_MAX_ITERATIONS = 20

PRIOR_CONDITIONS = ("", "Noise10", "Noise20")
"""Conditions of the ``red-diffeq-prior`` suite: clean data and the two noise levels where the study
found RED-DiffEq behind TV."""

SUITES: dict[str, Suite] = {
    "smoke": Suite(
        name="smoke",
        description="Tiny tasks x every built-in solver, few iterations: checks that everything runs.",
        tasks=(
            TaskSet(f"{NAMESPACE}/FWI-Tiny-v0", instances=2),
            TaskSet(f"{NAMESPACE}/Darcy-Tiny-v0", instances=2),
        ),
        max_iterations=SMOKE_MAX_ITERATIONS,
        timeout=60.0,
    ),
    "standard": Suite(
        name="standard",
        description="All FWI families (10 instances) and both Darcy tasks (20), default budgets.",
        tasks=(
            *(TaskSet(fwi_task_id(family), instances=10) for family in FWI_FAMILIES),
            TaskSet(f"{NAMESPACE}/Darcy-GRF-v0", instances=20),
            TaskSet(f"{NAMESPACE}/Darcy-Bimaterial-v0", instances=20),
        ),
        examples=2,
    ),
    "red-diffeq": Suite(
        name="red-diffeq",
        description="RED-DiffEq vs baselines on 4 FWI families, clean, noisy and missing traces (3 inst.).",
        tasks=tuple(
            TaskSet(fwi_task_id(family, variant), instances=3)
            for family in ROBUSTNESS_FAMILIES
            for variant in ("", *ROBUSTNESS_VARIANTS)
        ),
        solvers=("red-diffeq", "diffusion-fwi", "tikhonov", "tv", "adam"),
        solver_params={name: {"data_loss": "mean_l1"} for name in ("tikhonov", "tv", "adam")},
        examples=1,
    ),
    "red-diffeq-prior": Suite(
        name="red-diffeq-prior",
        description="The deciding cells of the stronger FWI prior: RED-DiffEq with fwi-long vs TV on 4 "
        "families, clean, Noise10 and Noise20 (3 inst.).",
        tasks=tuple(
            TaskSet(fwi_task_id(family, variant), instances=3)
            for family in ROBUSTNESS_FAMILIES
            for variant in PRIOR_CONDITIONS
        ),
        solvers=("red-diffeq", "tv"),
        solver_params={"red-diffeq": {"prior": "fwi-long"}, "tv": {"data_loss": "mean_l1"}},
        examples=1,
    ),
    "data-driven": Suite(
        name="data-driven",
        description="InversionNet and WaveDiffusion (amortized) on 4 FWI families, clean and degraded (20).",
        tasks=tuple(
            TaskSet(fwi_task_id(family, variant), instances=20)
            for family in ROBUSTNESS_FAMILIES
            for variant in ("", *ROBUSTNESS_VARIANTS)
        ),
        solvers=("inversionnet", "wavediffusion-stage1", "wavediffusion", "initial"),
        examples=1,
    ),
    "ld-dim": Suite(
        name="ld-dim",
        description="LD-DIM vs its baselines on both Darcy families at 16, 64 and 256 sensors (5 inst.).",
        tasks=tuple(
            TaskSet(f"{NAMESPACE}/Darcy-{family}{suffix}-v0", instances=5)
            for family in DARCY_FAMILIES
            for suffix in ("", *(f"-{v}" for v in DARCY_SENSOR_VARIANTS))
        ),
        solvers=("ld-dim", "vae", "pinn", "red-diffeq", "tikhonov", "tv", "initial"),
        examples=2,
    ),
    "ld-dim-inits": Suite(
        name="ld-dim-inits",
        description="Sensitivity to the initialisation: 5 seeds of LD-DIM, VAE and PINN on Darcy (3 inst.).",
        tasks=tuple(TaskSet(f"{NAMESPACE}/Darcy-{family}-v0", instances=3) for family in DARCY_FAMILIES),
        solvers=("ld-dim", "vae", "pinn"),
        repetitions=5,
        examples=0,
    ),
    "demo": Suite(
        name="demo",
        description="What invbench demo runs: the initial model, a classical baseline, RED-DiffEq (and "
        "LD-DIM on Darcy) on one OpenFWI-geometry FWI instance and one Darcy instance, full budgets.",
        tasks=(
            TaskSet(f"{NAMESPACE}/FWI-FlatVel-A-v0", instances=1, solvers=("initial", "tv", "red-diffeq")),
            TaskSet(
                f"{NAMESPACE}/Darcy-Bimaterial-v0",
                instances=1,
                solvers=("initial", "tikhonov", "red-diffeq", "ld-dim"),
            ),
        ),
        solver_params={"tv": {"data_loss": "mean_l1"}},
        examples=1,
    ),
    "ld-dim-fwi": Suite(
        name="ld-dim-fwi",
        description="Latent-space FWI: LD-DIM and VAE vs RED-DiffEq and TV on 3 OpenFWI families (3 inst.).",
        tasks=tuple(
            TaskSet(fwi_task_id(family), instances=3)
            for family in ("FlatVel-A", "CurveVel-A", "CurveFault-A")
        ),
        solvers=("ld-dim", "vae", "red-diffeq", "tv"),
        solver_params={"tv": {"data_loss": "mean_l1"}},
        examples=1,
    ),
}


def get_suite(name: str) -> Suite:
    """The suite called ``name``.

    Raises:
        ValueError: For an unknown name, listing the known suites.
    """
    if name not in SUITES:
        raise ValueError(f"unknown suite {name!r}; known suites: {', '.join(SUITES)}")
    return SUITES[name]
