"""One weights format for any torch module: a safetensors file plus a JSON manifest, and nothing else.

``NAME.safetensors`` holds the tensors (a module's ``state_dict``); ``NAME.json`` says what they are:

* ``format`` (``"invbench-weights"``; the alias ``"invbench-prior"``, which the shipped diffusion
  priors carry, is read the same), ``format_version``, ``name``, ``kind`` (what the module is:
  ``"diffusion"``, ``"autoencoder"``, ``"inversion-net"``, ...);
* ``weights``: file name, ``sha256`` of the safetensors file, stored ``dtype``, ``n_parameters``,
  ``bytes``, ``ema`` (whether these are EMA weights);
* ``architecture``: ``class`` (``"package.module:Class"``) and its ``config`` (constructor arguments);
* ``training``: at least ``device``, ``steps`` and ``wall_time_s`` (the training cost the harness
  records), plus whatever the method's trainer adds (data, loss, optimiser, seed, ...);
* ``versions`` and ``created`` (UTC, ISO 8601), and any method-specific sections (a diffusion prior's
  noise schedule and normalisation: :mod:`invbench.nn.diffusion.checkpoint`).

:func:`read_weights` refuses anything else -- pickle files (``.pt``, ``.pth``, ``.bin``, ``.ckpt``,
``.pkl``), a missing manifest, a weights file whose sha256 differs from the manifest's, tensors whose
names, shapes or dtype do not match the manifest's architecture -- with a :class:`WeightsError` that
names the file and the problem. A run records the sha256 of the manifest too
(:func:`weights_record`), so a changed manifest is as visible as changed weights. Weights shipped with
invbench live in the folder of the method that owns them (``solvers/<method>/weights/``) and load by
name.
"""

from __future__ import annotations

import importlib
import json
import struct
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from invbench.core.device import default_device
from invbench.core.files import atomic_write_bytes, sha256_file, write_json

FORMAT = "invbench-weights"
READABLE_FORMATS = (FORMAT, "invbench-prior")
FORMAT_VERSION = 1
WEIGHTS_SUFFIX = ".safetensors"
MANIFEST_SUFFIX = ".json"
_PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".pkl", ".pickle", ".tar")
_DTYPES = {"float16": torch.float16, "float32": torch.float32, "bfloat16": torch.bfloat16}
_MAX_LISTED = 6


class WeightsError(ValueError):
    """Weights are missing, unsafe, corrupted or inconsistent with their manifest (names the file)."""


# --------------------------------------------------------------------------- files


def save_tensors(
    path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None
) -> None:
    """Write tensors as safetensors, atomically (CPU, contiguous copies)."""
    from safetensors.torch import save

    data = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    atomic_write_bytes(path, save(data, metadata=metadata))


def checkpoint_paths(path: str | Path) -> tuple[Path, Path]:
    """``(weights, manifest)`` paths of a checkpoint given either file (or the common stem).

    Raises:
        WeightsError: A pickle-format suffix, or a suffix that is neither of ours.
    """
    p = Path(path).expanduser()
    suffix = p.suffix.lower()
    if suffix in _PICKLE_SUFFIXES:
        raise WeightsError(
            f"{p}: refusing to load a {suffix!r} file: invbench loads weights only from a .safetensors file "
            "with a .json manifest (pickle-based formats can run arbitrary code when loaded)"
        )
    if suffix in (WEIGHTS_SUFFIX, MANIFEST_SUFFIX):
        stem = p.with_suffix("")
    elif suffix == "":
        stem = p
    else:
        raise WeightsError(f"{p}: not an invbench weights file (expected NAME.safetensors with NAME.json)")
    return stem.with_suffix(WEIGHTS_SUFFIX), stem.with_suffix(MANIFEST_SUFFIX)


def weights_record(path_or_name: str | Path) -> dict[str, Any]:
    """What a run records about the weights it used, read from the pair on disk.

    Returns:
        ``name``, ``file``, ``sha256`` (of the weights, as the manifest states it and loading verifies),
        ``manifest_sha256`` (of the manifest file itself, so a changed manifest is visible too) and
        ``training``: ``device``, ``steps`` and ``wall_time_s`` from the manifest.

    Raises:
        WeightsError: The pair is missing or its manifest unreadable.
    """
    from invbench.nn.shipped import resolve_checkpoint  # shipped.py imports this module

    weights_path, manifest_path = checkpoint_paths(resolve_checkpoint(path_or_name))
    manifest = read_manifest(manifest_path)
    training = manifest.get("training") or {}
    return {
        "name": str(manifest.get("name", weights_path.stem)),
        "file": weights_path.name,
        "sha256": str(manifest["weights"].get("sha256", "")),
        "manifest_sha256": sha256_file(manifest_path),
        "training": {
            "device": str(training.get("device", "")),
            "steps": int(training.get("steps") or 0),
            "wall_time_s": float(training.get("wall_time_s") or 0.0),
        },
    }


# --------------------------------------------------------------------------- writing


def versions(*packages: str) -> dict[str, str]:
    """Versions of invbench, torch, safetensors and ``packages`` (those installed)."""
    from importlib.metadata import PackageNotFoundError, version

    import invbench

    out = {"invbench": invbench.__version__, "torch": torch.__version__}
    for name in ("safetensors", *packages):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


def architecture_class(spec: str) -> type[torch.nn.Module]:
    """The module class named ``"package.module:Class"`` (or the dotted ``"package.Class"``).

    Raises:
        WeightsError: Not importable, or not a ``torch.nn.Module`` subclass.
    """
    module_name, sep, attr = spec.partition(":")
    if not sep:
        module_name, _, attr = spec.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise WeightsError(f"architecture {spec!r} cannot be imported ({exc})") from exc
    if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
        raise WeightsError(f"architecture {spec!r} is not a torch.nn.Module subclass")
    return cls


def write_weights(
    path: str | Path,
    state: dict[str, torch.Tensor],
    *,
    name: str,
    kind: str,
    architecture: str,
    config: dict[str, Any],
    training: dict[str, Any],
    dtype: str = "float32",
    ema: bool = False,
    extra: dict[str, Any] | None = None,
    packages: Iterable[str] = (),
) -> dict[str, Any]:
    """Write ``NAME.safetensors`` and its manifest ``NAME.json`` (module docstring).

    Args:
        path: Either file of the pair (or the stem).
        state: The module's ``state_dict``.
        name: Name of the weights (recorded; shipped weights load by it).
        kind: What the module is (``"diffusion"``, ``"autoencoder"``, ...).
        architecture: ``"package.module:Class"`` of the module.
        config: Constructor arguments of ``architecture``.
        training: Training record; should hold ``device``, ``steps`` and ``wall_time_s``.
        dtype: Stored dtype of floating-point tensors.
        ema: Whether ``state`` holds EMA weights.
        extra: Method-specific manifest sections.
        packages: Further packages whose versions define the weights (``"diffusers"``).

    Returns:
        The manifest written.

    Raises:
        ValueError: An unknown dtype.
    """
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be one of {sorted(_DTYPES)}, got {dtype!r}")
    weights_path, manifest_path = checkpoint_paths(path)
    tensors = {k: (v.to(_DTYPES[dtype]) if v.is_floating_point() else v) for k, v in state.items()}
    save_tensors(weights_path, tensors, metadata={"format": FORMAT, "name": name})
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": name,
        "kind": kind,
        "weights": {
            "file": weights_path.name,
            "sha256": sha256_file(weights_path),
            "bytes": weights_path.stat().st_size,
            "dtype": dtype,
            "n_parameters": int(sum(v.numel() for v in state.values())),
            "ema": bool(ema),
        },
        "architecture": {"class": architecture, "config": config},
        **(extra or {}),
        "training": training,
        "versions": versions(*packages),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    write_json(manifest_path, manifest)
    return manifest


# --------------------------------------------------------------------------- reading


def _sniff(path: Path) -> None:
    """Refuse pickle/zip archives and files that do not start like safetensors.

    A safetensors file starts with its header length (8 bytes, little-endian) and then ``{``. That
    layout is checked first: a header length whose low byte is ``0x80`` (pickle's protocol opcode) is
    still a valid safetensors file.
    """
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(9)
    if len(head) == 9:
        (header_len,) = struct.unpack("<Q", head[:8])
        if header_len + 8 <= size and head[8:9] == b"{":
            return
    if head[:1] == b"\x80" or head[:2] == b"PK":
        raise WeightsError(
            f"{path}: is a pickle / torch.save archive, not safetensors; invbench refuses to load it "
            "(pickle can run arbitrary code)"
        )
    if len(head) < 9:
        raise WeightsError(f"{path}: too short to be a safetensors file ({size} bytes)")
    raise WeightsError(f"{path}: not a valid safetensors file (bad header)")


def read_manifest(manifest_path: Path, required: Iterable[str] = ()) -> dict[str, Any]:
    """Parse and check the top-level structure of a manifest.

    Args:
        manifest_path: The ``NAME.json`` file.
        required: Method-specific sections that must be present too.

    Raises:
        WeightsError: Missing, not JSON, not ours, or lacking required sections.
    """
    if not manifest_path.is_file():
        raise WeightsError(
            f"{manifest_path}: missing manifest: weights need their JSON manifest beside the "
            f"{WEIGHTS_SUFFIX} file"
        )
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightsError(f"{manifest_path}: unreadable manifest ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") not in READABLE_FORMATS:
        raise WeightsError(f"{manifest_path}: not an invbench weights manifest (format != {FORMAT!r})")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise WeightsError(
            f"{manifest_path}: manifest format_version {manifest.get('format_version')!r} is not supported "
            f"(this invbench reads version {FORMAT_VERSION})"
        )
    missing = [k for k in ("weights", "architecture", *required) if k not in manifest]
    if missing:
        raise WeightsError(f"{manifest_path}: manifest lacks {missing}")
    return manifest


def _listed(items: list[str]) -> str:
    more = f" and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else ""
    return ", ".join(items[:_MAX_LISTED]) + more


def check_state_matches(where: Path, expected: dict[str, torch.Size], state: dict[str, torch.Tensor]) -> None:
    """Raise :class:`WeightsError` listing missing/unexpected keys and shape mismatches."""
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = [
        f"{k} {tuple(state[k].shape)} != {tuple(expected[k])}"
        for k in sorted(set(expected) & set(state))
        if tuple(state[k].shape) != tuple(expected[k])
    ]
    problems = []
    if missing:
        problems.append(f"missing weights: {_listed(missing)}")
    if unexpected:
        problems.append(f"unexpected weights: {_listed(unexpected)}")
    if shapes:
        problems.append(f"shape mismatches: {_listed(shapes)}")
    if problems:
        raise WeightsError(
            f"{where}: weights do not match the manifest's architecture: {'; '.join(problems)}"
        )


def read_weights(
    path: str | Path, required: Iterable[str] = ()
) -> tuple[dict[str, Any], dict[str, torch.Tensor], Path]:
    """Read and verify a weights pair (hash, format, names, shapes and dtype against the architecture).

    Args:
        path: Either file of the pair, or the name of shipped weights.
        required: Method-specific manifest sections that must be present.

    Returns:
        ``(manifest, state_dict in the stored dtype on CPU, weights path)``.

    Raises:
        WeightsError: Any problem (module docstring).
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from invbench.nn.shipped import resolve_checkpoint  # shipped.py imports this module

    weights_path, manifest_path = checkpoint_paths(resolve_checkpoint(path))
    if not weights_path.is_file():
        raise WeightsError(f"{weights_path}: no such weights file")
    _sniff(weights_path)
    manifest = read_manifest(manifest_path, required)
    expected_sha = manifest["weights"].get("sha256")
    actual_sha = sha256_file(weights_path)
    if actual_sha != expected_sha:
        raise WeightsError(
            f"{weights_path}: sha256 mismatch: the file is corrupted or was changed "
            f"(manifest {manifest_path.name} says {expected_sha}, file is {actual_sha})"
        )
    try:
        state = load_file(weights_path, device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"{weights_path}: unreadable safetensors file ({exc})") from exc
    arch = manifest["architecture"]
    if not isinstance(arch.get("class"), str) or not isinstance(arch.get("config"), dict):
        raise WeightsError(f"{manifest_path}: the architecture needs a class name and a config")
    cls = architecture_class(arch["class"])
    try:
        with torch.device("meta"):
            skeleton = cls(**arch["config"])
    except (TypeError, ValueError) as exc:
        raise WeightsError(f"{manifest_path}: bad architecture config ({exc})") from exc
    check_state_matches(weights_path, {k: v.shape for k, v in skeleton.state_dict().items()}, state)
    dtype = manifest["weights"].get("dtype")
    wrong = sorted(k for k, v in state.items() if v.is_floating_point() and str(v.dtype) != f"torch.{dtype}")
    if wrong:
        raise WeightsError(f"{weights_path}: weights are not {dtype} as the manifest says: {_listed(wrong)}")
    return manifest, state, weights_path


def load_module(
    path_or_name: str | Path, device: torch.device | str | None = None, required: Iterable[str] = ()
) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Build the manifest's architecture, load the verified weights (as float32) and freeze it.

    Args:
        path_or_name: Either file of the pair, or the name of shipped weights.
        device: Target device (default: CUDA when available, else CPU).
        required: Method-specific manifest sections that must be present.

    Returns:
        The module in eval mode without gradients, and its manifest.

    Raises:
        WeightsError: As :func:`read_weights`.
    """
    manifest, state, _ = read_weights(path_or_name, required)
    arch = manifest["architecture"]
    module = architecture_class(arch["class"])(**arch["config"])
    module.load_state_dict({k: v.to(torch.float32) if v.is_floating_point() else v for k, v in state.items()})
    module.to(device if device is not None else default_device()).eval().requires_grad_(False)
    return module, manifest
