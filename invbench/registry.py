"""Every registered invbench task id, in one flat, readable list.

Like ``gymnasium/envs/__init__.py``: each task is one ``register`` call whose ``kwargs`` are the
single source of the task's settings. Bump ``-vN`` whenever anything that changes results changes
(generator, acquisition, noise, budget, metric).
"""

from __future__ import annotations

import difflib
import functools
import importlib
from typing import Any

import gymnasium as gym

from invbench.core.options import NOT_OPTIONS, option_defaults, option_names, plain, reject_unknown
from invbench.data.families import FAMILIES

NAMESPACE = "invbench"
_FWI_ENTRY = "invbench.tasks.fwi.env:FWIEnv"
_DARCY_ENTRY = "invbench.tasks.darcy.env:DarcyEnv"

FWI_FAMILIES = FAMILIES
"""The ten OpenFWI velocity families (each is a registered task)."""

FAULT_FAMILIES = ("FlatFault-A", "FlatFault-B", "CurveFault-A", "CurveFault-B")
"""Families whose generator was rebuilt (version 1, calibrated on real CurveFault-A maps); their FWI
tasks are at -v1, and the -v0 ids keep the legacy generator."""

FWI_VERSIONS: dict[str, dict[int, int]] = {
    fam: {0: 0, 1: 1} if fam in FAULT_FAMILIES else {0: 0} for fam in FWI_FAMILIES
}
"""Family -> {task version: generator version} of its FWI tasks (clean and robustness variants).
The last entry is the current task; older ones stay registered so recorded results reproduce."""

ROBUSTNESS_FAMILIES = ("FlatVel-A", "CurveVel-A", "FlatFault-A", "CurveFault-A")
"""The four families of RED-DiffEq's OpenFWI experiments; each gets degraded-data variants."""
ROBUSTNESS_VARIANTS: dict[str, dict[str, Any]] = {
    "Noise5": {"noise": 0.05},
    "Noise10": {"noise": 0.10},
    "Noise20": {"noise": 0.20},
    "Missing14": {"missing_traces": 14},
}
"""Suffix -> task options. ``noise``: Gaussian, standard deviation as a fraction of the clean data's
RMS; ``missing_traces``: receivers removed at random (the same ones for every shot, 14 of 70 = 20 %).
A variant shares its hidden maps and initial models with the clean task, so results pair up."""


def fwi_task_id(family: str, variant: str = "", version: int | None = None) -> str:
    """The full id of an FWI task: ``invbench/FWI-<family>[-<variant>]-v<version>``.

    Args:
        family: One of :data:`FWI_FAMILIES`.
        variant: ``""`` for the clean task, or a key of :data:`ROBUSTNESS_VARIANTS`.
        version: Task version; ``None`` gives the current one (the last of :data:`FWI_VERSIONS`).
    """
    version = max(FWI_VERSIONS[family]) if version is None else version
    return f"{NAMESPACE}/FWI-{family}{f'-{variant}' if variant else ''}-v{version}"


def _fwi_kwargs(family: str, task_version: int, options: dict[str, Any]) -> dict[str, Any]:
    """Registered settings of one FWI task; the generator version is pinned where there are several."""
    versions = FWI_VERSIONS[family]
    pinned = {"family_version": versions[task_version]} if len(versions) > 1 else {}
    return {"family": family, **pinned, **options}


DARCY_FAMILIES = ("GRF", "Bimaterial")
DARCY_SENSOR_VARIANTS: dict[str, dict[str, Any]] = {"S16": {"sensors": 16}, "S256": {"sensors": 256}}
"""Suffix -> sensor count of the sparse-data settings of LD-DIM's comparison (the plain task has 64).
A variant shares its hidden fields with the plain task (the same map key), so results pair up."""

# task id -> (entry point, kwargs). The defaults of the entry point fill in everything not listed.
TASKS: dict[str, tuple[str, dict[str, Any]]] = {
    **{
        fwi_task_id(fam, version=v): (_FWI_ENTRY, _fwi_kwargs(fam, v, {}))
        for fam in FWI_FAMILIES
        for v in FWI_VERSIONS[fam]
    },
    **{
        fwi_task_id(fam, suffix, v): (_FWI_ENTRY, _fwi_kwargs(fam, v, opts))
        for fam in ROBUSTNESS_FAMILIES
        for suffix, opts in ROBUSTNESS_VARIANTS.items()
        for v in FWI_VERSIONS[fam]
    },
    f"{NAMESPACE}/FWI-Tiny-v0": (
        _FWI_ENTRY,
        {"family": "CurveVel-A", "acquisition": "tiny", "budget": 100, "n_val": 20, "n_test": 20},
    ),
    f"{NAMESPACE}/FWI-Wide-CurveVel-A-v0": (_FWI_ENTRY, {"family": "CurveVel-A", "acquisition": "wide"}),
    f"{NAMESPACE}/Darcy-GRF-v0": (_DARCY_ENTRY, {"family": "GRF"}),
    f"{NAMESPACE}/Darcy-Bimaterial-v0": (_DARCY_ENTRY, {"family": "Bimaterial"}),
    **{
        f"{NAMESPACE}/Darcy-{fam}-{suffix}-v0": (_DARCY_ENTRY, {"family": fam, **opts})
        for fam in DARCY_FAMILIES
        for suffix, opts in DARCY_SENSOR_VARIANTS.items()
    },
    f"{NAMESPACE}/Darcy-Tiny-v0": (
        _DARCY_ENTRY,
        {"family": "GRF", "n": 16, "sensors": 16, "budget": 100, "n_val": 20, "n_test": 20},
    ),
}


SUPERSEDED: dict[str, str] = {
    fwi_task_id(fam, variant, v): fwi_task_id(fam, variant)
    for fam in FWI_FAMILIES
    for variant in ("", *(ROBUSTNESS_VARIANTS if fam in ROBUSTNESS_FAMILIES else ()))
    for v in FWI_VERSIONS[fam]
    if v != max(FWI_VERSIONS[fam])
}
"""Old task id -> the id that replaces it, for every registered id that is not current.

A superseded id stays registered and reproduces its instances exactly, so results recorded on it
remain valid; they are results of the old version (e.g. ``FWI-CurveFault-A-v0``: the legacy fault
generator), not comparable with the new id's. The leaderboard reads this to label them "superseded
by"; suites run the new ids."""


def register_all() -> None:
    """Register every invbench task id with Gymnasium (idempotent)."""
    from invbench.core.vector import InverseProblemVectorEnv

    for task_id, (entry, kwargs) in TASKS.items():
        if task_id not in gym.registry:
            # gymnasium.make_vec builds the batched vector env (one physics call for all instances).
            vector = functools.partial(InverseProblemVectorEnv.from_entry_point, entry)
            gym.register(id=task_id, entry_point=entry, vector_entry_point=vector, kwargs=dict(kwargs))


def task_ids() -> list[str]:
    """All registered invbench task ids, in registration order."""
    return list(TASKS)


def resolve_task(task_id: str) -> str:
    """Return the full id for ``task_id`` (the ``invbench/`` prefix may be omitted).

    Raises:
        ValueError: For an unknown id, listing the closest registered ids.
    """
    full = task_id if task_id.startswith(f"{NAMESPACE}/") else f"{NAMESPACE}/{task_id}"
    if full in TASKS:
        return full
    close = difflib.get_close_matches(full, list(TASKS), n=5, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise ValueError(f"unknown task id {task_id!r}.{hint} Run `invbench tasks` to list all tasks.")


def env_class(task_id: str) -> type:
    """The environment class behind a task id."""
    module_name, _, attr = TASKS[resolve_task(task_id)][0].partition(":")
    return getattr(importlib.import_module(module_name), attr)


def task_options(task_id: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every option of a task, resolved (JSON-ready; the device is recorded separately, not here).

    Lowest precedence first: the environment class's defaults, the task id's registered settings,
    ``overrides``.

    Raises:
        ValueError: For an unknown task id or option name.
    """
    full = resolve_task(task_id)
    cls = env_class(full)
    overrides = dict(overrides or {})
    valid = option_names(cls)
    reject_unknown(full, {k: v for k, v in overrides.items() if k not in valid}, valid)
    resolved = {**option_defaults(cls), **TASKS[full][1], **overrides}
    return {k: plain(v) for k, v in resolved.items() if k not in NOT_OPTIONS}


def make(task_id: str, **kwargs: Any) -> gym.Env:
    """``gymnasium.make`` with clear errors for an unknown id or option name.

    The environment itself checks each option's value.
    """
    register_all()
    full = resolve_task(task_id)
    task_options(full, {k: v for k, v in kwargs.items() if k != "device"})
    return gym.make(full, **kwargs)
