"""Resumable training state: model, EMA and Adam tensors in safetensors, everything else in JSON.

The state lives in a folder beside the exported checkpoint (``fwi-lite.safetensors`` ->
``fwi-lite.train/``): ``state-STEP.safetensors`` holds the tensors (``model.*``, ``ema.*``,
``optim.IDX.NAME`` and the per-step ``losses``), ``state.json`` points to it with its sha256, the step,
the run configuration and the optimiser's hyperparameters. ``state.json`` is replaced last, atomically,
so an interrupted save leaves the previous state loadable. No pickle anywhere.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from invbench.core.files import sha256_file, write_json
from invbench.nn.weights import WeightsError, save_tensors

STATE_FORMAT = "invbench-prior-train-state"
STATE_VERSION = 1


def state_dir(out: str | Path) -> Path:
    """The training-state folder of an exported checkpoint path."""
    out = Path(out)
    return out.with_name(out.with_suffix("").name + ".train")


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out |= _flatten(v, f"{prefix}{k}.")
        else:
            out[f"{prefix}{k}"] = v
    return out


def save_state(
    folder: Path,
    *,
    step: int,
    model: torch.nn.Module,
    ema: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    losses: list[float],
    config: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write the training state after ``step`` optimiser steps; returns the ``state.json`` path."""
    folder.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {f"model.{k}": v for k, v in model.state_dict().items()}
    tensors |= {f"ema.{k}": v for k, v in ema.state_dict().items()}
    opt = optimizer.state_dict()
    scalars: dict[str, dict[str, Any]] = {}
    for idx, st in opt["state"].items():
        for name, val in st.items():
            if isinstance(val, torch.Tensor):
                tensors[f"optim.{idx}.{name}"] = val
            else:
                scalars.setdefault(str(idx), {})[name] = val
    tensors["losses"] = torch.tensor(losses, dtype=torch.float64)
    weights = folder / f"state-{step:09d}.safetensors"
    save_tensors(weights, tensors)
    meta = {
        "format": STATE_FORMAT,
        "format_version": STATE_VERSION,
        "step": int(step),
        "file": weights.name,
        "sha256": sha256_file(weights),
        "config": config,
        "param_groups": opt["param_groups"],
        "optim_scalars": scalars,
        **(extra or {}),
    }
    path = folder / "state.json"
    write_json(path, meta)
    for old in folder.glob("state-*.safetensors"):
        if old.name != weights.name:
            old.unlink(missing_ok=True)
    return path


def load_state(
    folder: Path,
    *,
    model: torch.nn.Module,
    ema: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    config: dict[str, Any],
) -> tuple[int, list[float], dict[str, Any]]:
    """Restore a training state saved by :func:`save_state` into the given objects.

    Args:
        folder: The state folder.
        model: The trained network (its parameters must be the optimiser's).
        ema: The EMA copy.
        optimizer: The Adam optimiser built over ``model``'s parameters.
        config: The current run configuration; it must equal the saved one.

    Returns:
        ``(step, losses, metadata)``.

    Raises:
        WeightsError: Missing or corrupted state, or a run configuration that differs.
    """
    from safetensors.torch import load_file

    path = folder / "state.json"
    try:
        meta = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise WeightsError(f"{path}: cannot read training state ({exc})") from exc
    if meta.get("format") != STATE_FORMAT or meta.get("format_version") != STATE_VERSION:
        raise WeightsError(f"{path}: not an invbench training state (version {STATE_VERSION})")
    now, saved = _flatten(json.loads(json.dumps(config))), _flatten(meta["config"])
    changed = sorted(k for k in set(now) | set(saved) if now.get(k) != saved.get(k))
    if changed:
        diffs = "; ".join(f"{k}: saved {saved.get(k)!r}, now {now.get(k)!r}" for k in changed[:8])
        raise WeightsError(f"{path}: cannot resume: the run configuration changed ({diffs})")
    weights = folder / meta["file"]
    if not weights.is_file() or sha256_file(weights) != meta["sha256"]:
        raise WeightsError(f"{weights}: training-state tensors missing or sha256 mismatch")
    tensors = load_file(weights, device="cpu")
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    ema.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("ema.")})
    state: dict[int, dict[str, Any]] = {}
    for k, v in tensors.items():
        if k.startswith("optim."):
            _, idx, name = k.split(".", 2)
            state.setdefault(int(idx), {})[name] = v
    for idx, vals in meta.get("optim_scalars", {}).items():
        state.setdefault(int(idx), {}).update(vals)
    groups = [dict(g, betas=tuple(g["betas"])) if "betas" in g else dict(g) for g in meta["param_groups"]]
    optimizer.load_state_dict({"state": state, "param_groups": groups})
    return int(meta["step"]), [float(x) for x in tensors["losses"].tolist()], meta
