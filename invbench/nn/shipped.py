"""Weights shipped with invbench: each method keeps them in its own ``weights/`` folder.

``solvers/<method>/weights/`` (and ``baselines/<method>/weights/``) hold ``NAME.safetensors`` plus
``NAME.json`` pairs; they load by ``NAME``, which must be unique across methods, so the embedded default
runs offline.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from invbench.nn.weights import MANIFEST_SUFFIX, WEIGHTS_SUFFIX, WeightsError, checkpoint_paths

SHIPPED_PACKAGES = ("solvers", "baselines")
"""Packages whose methods ship weights, each in its own ``<package>/<method>/weights/`` folder."""


def shipped_weight_dirs() -> list[Path]:
    """The ``weights/`` folders of every method package under :data:`SHIPPED_PACKAGES`, sorted."""
    folders: list[Path] = []
    for package in SHIPPED_PACKAGES:
        try:
            root = Path(str(resources.files(package)))
        except ModuleNotFoundError:
            continue
        folders.extend(sorted(p for p in root.glob("*/weights") if p.is_dir()))
    return folders


def shipped_checkpoints() -> dict[str, Path]:
    """Checkpoints shipped with the methods, ``{name: weights path}`` (those with a manifest).

    Each method keeps its weights in its own folder (``solvers/red_diffeq/weights/``); names are unique
    across methods.
    """
    found: dict[str, Path] = {}
    for folder in shipped_weight_dirs():
        for p in sorted(folder.glob(f"*{WEIGHTS_SUFFIX}")):
            if not p.with_suffix(MANIFEST_SUFFIX).is_file():
                continue
            if p.stem in found:
                raise WeightsError(f"shipped weights {p.stem!r} exist twice: {found[p.stem]} and {p}")
            found[p.stem] = p
    return found


def resolve_checkpoint(path_or_name: str | Path) -> Path:
    """The weights path of a checkpoint given its path or the name of a shipped checkpoint.

    A string without a folder separator or suffix that is not an existing file is looked up among
    :func:`shipped_checkpoints`.

    Raises:
        WeightsError: Neither an existing file nor a shipped name.
    """
    p = Path(path_or_name).expanduser()
    looks_like_name = isinstance(path_or_name, str) and p.suffix == "" and len(p.parts) == 1
    if looks_like_name and not p.exists():
        shipped = shipped_checkpoints()
        if path_or_name in shipped:
            return shipped[path_or_name]
        names = ", ".join(shipped) or "none (each method's README says how to train its weights)"
        raise WeightsError(f"{path_or_name!r}: no such weights file or shipped weights; shipped: {names}")
    return checkpoint_paths(p)[0]
