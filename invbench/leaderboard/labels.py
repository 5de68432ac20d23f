"""Readable names of solver variants, and which rows of a task may be ranked together.

A leaderboard row names its solver and the parameters that ran (resolved against the task family).
:func:`variant_label` spells out only what differs from the solver's defaults for that family, so
``red-diffeq (lam=0)`` and ``tv (data_loss=mean_l1)`` are told apart without reading parameter
hashes. :func:`is_reduced` tells runs cut short (a suite's iteration cap, fewer iterations than the
solver's default) from full-budget ones, which are never ranked together.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from invbench.core.solver import load_solver_class
from invbench.harness.suites import ITERATION_PARAMS, SUITES
from invbench.registry import TASKS, env_class


@cache
def _family(task: str) -> str | None:
    try:
        return str(env_class(task).task_family) if task in TASKS else None
    except (ValueError, ImportError, AttributeError):
        return None


@cache
def solver_defaults(spec: str, task: str) -> dict[str, Any] | None:
    """The parameters ``spec`` resolves to on ``task`` when given none (``None`` if not loadable)."""
    try:
        cls = load_solver_class(spec)
    except Exception:  # a submitted row may name a solver this checkout does not have
        return None
    family = _family(task)
    return {**cls.defaults, **(cls.family_defaults.get(family, {}) if family else {})}


def _value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, str | int | bool) or v is None:
        return str(v)
    return json.dumps(v, separators=(",", ":"))


def differing_params(spec: str, task: str, params_json: str) -> dict[str, Any] | None:
    """Parameters of a row that differ from the solver's defaults on the task (``None``: unknown)."""
    defaults = solver_defaults(spec, task)
    try:
        params = json.loads(params_json)
    except (TypeError, json.JSONDecodeError):
        return None
    if defaults is None or not isinstance(params, dict):
        return None
    # a default of None means "chosen for the task" (a prior, a window): the choice is not a variant
    return {
        k: v
        for k, v in sorted(params.items())
        if k not in defaults or (defaults[k] is not None and defaults[k] != v)
    }


def variant_label(spec: str, solver: str, task: str, params_json: str, params_hash: str) -> str:
    """``solver`` alone at its defaults, else ``solver (k=v, ...)``; the hash when unknown."""
    diff = differing_params(spec, task, params_json)
    if diff is None:
        return f"{solver} ({params_hash})"
    if not diff:
        return solver
    return f"{solver} ({', '.join(f'{k}={_value(v)}' for k, v in diff.items())})"


def is_reduced(suite: str, spec: str, task: str, params_json: str) -> bool:
    """Whether a row ran with less than its solver's full iteration budget.

    True for rows of a suite that caps iterations (the ``smoke`` suite) and for rows whose
    iteration-count parameters are below the solver's defaults on the task.
    """
    known = SUITES.get(str(suite))
    if known is not None and known.max_iterations is not None:
        return True
    defaults = solver_defaults(spec, task) or {}
    try:
        params = json.loads(params_json)
    except (TypeError, json.JSONDecodeError):
        return False
    return any(
        isinstance(params.get(k), int) and isinstance(defaults.get(k), int) and params[k] < defaults[k]
        for k in ITERATION_PARAMS
    )
