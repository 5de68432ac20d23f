"""Task options: checked when a task is made, and resolved (defaults included) for run records.

A task's options are the keyword arguments of its environment class; the registered ``kwargs`` of a
task id fix some of them and the caller may override the rest. Each check raises a ``ValueError``
that names the option and the values it accepts, so the command line can print it as one line.
"""

from __future__ import annotations

import difflib
import inspect
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

NOT_OPTIONS = ("self", "device")
"""Constructor arguments that are not recorded as task options (where the physics runs is
recorded separately, as the run's device)."""


def option_names(env_class: type) -> list[str]:
    """Names of the options ``env_class`` accepts, in signature order."""
    params = inspect.signature(env_class.__init__).parameters.values()
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [p.name for p in params if p.kind in kinds and p.name != "self"]


def option_defaults(env_class: type) -> dict[str, Any]:
    """Option name -> the default of ``env_class``'s constructor."""
    params = inspect.signature(env_class.__init__).parameters
    return {name: params[name].default for name in option_names(env_class)}


def reject_unknown(where: str, unknown: Mapping[str, Any], valid: Iterable[str]) -> None:
    """Raise for option names ``where`` does not accept, suggesting close matches.

    Raises:
        ValueError: ``unknown`` is not empty.
    """
    if not unknown:
        return
    valid = sorted(valid)
    parts = []
    for name in sorted(unknown):
        close = difflib.get_close_matches(name, valid, n=2, cutoff=0.6)
        parts.append(f"{name!r}" + (f" (did you mean {' or '.join(map(repr, close))}?)" if close else ""))
    raise ValueError(f"{where}: unknown option {', '.join(parts)}; valid options: {', '.join(valid)}")


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """``value`` when it is one of ``choices``."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return str(value)


def check_int(name: str, value: Any, *, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an ``int`` when it is an integer in ``[low, high)`` (bounds optional)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value >= high):
        span = f"[{'' if low is None else low}, {'' if high is None else high})"
        raise ValueError(f"{name} must be an integer in {span}, got {value}")
    return value


def check_real(
    name: str, value: Any, *, low: float = -math.inf, high: float = math.inf, low_open: bool = False
) -> float:
    """``value`` as a ``float`` when it is finite, ``>= low`` (``> low`` if ``low_open``), ``< high``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    below = value <= low if low_open else value < low
    if not math.isfinite(value) or below or value >= high:
        left = "(" if low_open else "["
        raise ValueError(f"{name} must be a finite number in {left}{low:g}, {high:g}), got {value!r}")
    return value


def plain(value: Any) -> Any:
    """A JSON-ready form of an option value (numpy arrays and scalars to lists and numbers)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    to_dict = getattr(value, "to_dict", None)
    return plain(to_dict()) if callable(to_dict) else str(value)
