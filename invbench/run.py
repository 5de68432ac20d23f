"""Run one solver on one task instance: the engine behind ``invbench run``."""

from __future__ import annotations

import importlib
import json
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from invbench.core.solver import Progress, ProgressCallback, Solver, load_solver_class
from invbench.registry import make


@dataclass
class RunResult:
    """What one inversion produced.

    Attributes:
        task: Task id.
        solver: Solver name.
        params: The solver's parameters.
        split: Instance split.
        index: Instance index.
        seed: Random seed of the run.
        metrics: Model metrics and the final data misfit.
        counters: PDE-solve counters and times reported by the environment.
        wall_time: Seconds spent in ``solve`` (set-up excluded).
        setup_time: Seconds spent in ``setup``.
        device: Device the physics ran on.
        history: Per-iteration misfit and PDE solves.
        files: Paths of written artefacts.
    """

    task: str
    solver: str
    params: dict[str, Any]
    split: str
    index: int
    seed: int
    metrics: dict[str, float]
    counters: dict[str, float]
    wall_time: float
    setup_time: float
    device: str
    history: list[dict[str, float]] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    plotter: str = ""


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and CUDA) and numpy's legacy global generator."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)


def run_one(
    task: str,
    solver: str | Solver,
    *,
    index: int = 0,
    split: str = "test",
    seed: int = 0,
    data_dir: str | Path | None = None,
    env_kwargs: dict[str, Any] | None = None,
    solver_params: dict[str, Any] | None = None,
    callback: ProgressCallback | None = None,
) -> tuple[RunResult, dict[str, np.ndarray]]:
    """Solve one instance and score it.

    Args:
        task: Task id (``invbench/`` prefix optional).
        solver: Solver short name, ``"module:Class"``, or a solver object.
        index: Instance index within the split.
        split: ``"test"``, ``"val"`` or ``"train"``.
        seed: Seed for torch/numpy and the environment.
        data_dir: Real OpenFWI files to draw the maps (and data) from.
        env_kwargs: Extra task options (noise, budget, ...).
        solver_params: Solver parameters overriding its defaults.
        callback: Receives each iteration's :class:`Progress`.

    Returns:
        The result and the arrays for figures: ``truth``, ``initial``, ``estimate``,
        ``observed``, ``predicted``.

    Raises:
        ValueError: When the solver does not apply to the task.
    """
    kwargs = dict(env_kwargs or {})
    if data_dir is not None:
        kwargs["data_dir"] = str(data_dir)
    env = make(task, **kwargs)
    base = env.unwrapped
    solver_obj = solver if isinstance(solver, Solver) else load_solver_class(solver)(**(solver_params or {}))
    reason = solver_obj.applies_to(env)
    if reason is not None:
        raise ValueError(f"solver {solver_obj.name!r} does not apply to {task}: {reason}")
    seed_everything(seed)
    env.reset(seed=seed, options={"split": split, "index": index})
    t0 = time.perf_counter()
    solver_obj.resolve_params(env)
    solver_obj.setup(env)
    setup_time = time.perf_counter() - t0
    history: list[dict[str, float]] = []

    def record(p: Progress) -> None:
        history.append(
            {
                "iteration": p.iteration,
                "misfit": p.misfit,
                "pde_solves": p.info["pde_solves"],
                "wall_time": time.perf_counter() - t1,
            }
        )
        if callback is not None:
            callback(p)

    t1 = time.perf_counter()
    estimate = solver_obj.solve(env, callback=record)
    wall = time.perf_counter() - t1
    counters = dict(base.counter.as_dict())
    metrics = base.finalize(estimate)
    inst = base.instance
    arrays = {
        "truth": inst.truth,
        "initial": inst.initial,
        "estimate": np.asarray(estimate, dtype=np.float32),
        "observed": inst.observed.detach().cpu().numpy(),
        "predicted": base.final_prediction,
        "mask": inst.mask.detach().cpu().numpy().reshape(-1),
        **base.figure_arrays(np.asarray(estimate, dtype=np.float32)),
    }
    result = RunResult(
        task=env.spec.id if env.spec else task,
        solver=solver_obj.name,
        params=dict(solver_obj.params),
        split=split,
        index=index,
        seed=seed,
        metrics=metrics,
        counters=counters,
        wall_time=wall,
        setup_time=setup_time,
        device=f"{base.device.type} ({platform.processor() or platform.machine()})",
        history=history,
        plotter=base.plotter,
    )
    env.close()
    return result, arrays


def write_result(
    result: RunResult, arrays: dict[str, np.ndarray], out: Path, *, figure: bool = True
) -> RunResult:
    """Write ``result.json`` (and ``figure.png``) into ``out``; returns the result with paths set."""
    out.mkdir(parents=True, exist_ok=True)
    if figure and result.plotter:
        module_name, _, func = result.plotter.partition(":")
        plot = getattr(importlib.import_module(module_name), func)
        fig_path = out / "figure.png"
        plot(arrays, result, fig_path)
        result.files["figure"] = str(fig_path)
    json_path = out / "result.json"
    result.files["result"] = str(json_path)
    tmp = json_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(asdict(result), indent=2, default=float))
    tmp.replace(json_path)
    return result
