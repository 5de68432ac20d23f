"""Prior checkpoints: a safetensors weight file plus a JSON manifest beside it, and nothing else.

``NAME.safetensors`` holds the (EMA) network weights; ``NAME.json`` says what they are:

* ``format`` (``"invbench-prior"``), ``format_version``, ``name``, ``kind`` (``"diffusion"``);
* ``weights``: file name, ``sha256`` of the safetensors file, stored ``dtype``, ``n_parameters``,
  ``bytes``, ``ema`` (whether these are EMA weights);
* ``architecture``: ``class`` (``"diffusers.UNet2DModel"``) and its ``config`` (constructor arguments);
* ``schedule``: the noise schedule (:class:`~invbench.nn.diffusion.presets.ScheduleSpec`);
* ``domain`` and ``normalization`` (:class:`~invbench.nn.normalize.Normalization`);
* ``training``: preset, data specification, steps, final loss, EMA settings, optimiser, seed, device, wall
  time;
* ``versions`` (invbench, torch, diffusers, safetensors) and ``created`` (UTC, ISO 8601).

:func:`load_prior` refuses anything else -- pickle files (``.pt``, ``.pth``, ``.bin``, ``.ckpt``,
``.pkl``), a missing manifest, a weight file whose sha256 differs from the manifest's, weights whose names
or shapes do not match the manifest's architecture -- with a :class:`PriorCheckpointError` that names the
file and the problem. Checkpoints shipped with invbench live in ``solvers/red_diffeq/weights/`` and load
by name (``load_prior("fwi-lite")``).
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

import torch

from invbench.core.device import default_device
from invbench.nn.diffusion.presets import ScheduleSpec
from invbench.nn.normalize import Normalization

FORMAT = "invbench-prior"
FORMAT_VERSION = 1
WEIGHTS_SUFFIX = ".safetensors"
MANIFEST_SUFFIX = ".json"
_PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt", ".pkl", ".pickle", ".tar")
_DTYPES = {"float16": torch.float16, "float32": torch.float32, "bfloat16": torch.bfloat16}
_MAX_LISTED = 6


class PriorCheckpointError(ValueError):
    """A prior checkpoint is missing, unsafe, corrupted or inconsistent; the message names the file."""


# --------------------------------------------------------------------------- files


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_tensors(
    path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None
) -> None:
    """Write tensors as safetensors, atomically (CPU, contiguous copies)."""
    from safetensors.torch import save

    data = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    atomic_write_bytes(path, save(data, metadata=metadata))


def write_json(path: Path, obj: dict[str, Any]) -> None:
    """Write JSON (indented, sorted keys kept in insertion order), atomically."""
    atomic_write_bytes(path, (json.dumps(obj, indent=2) + "\n").encode())


def checkpoint_paths(path: str | Path) -> tuple[Path, Path]:
    """``(weights, manifest)`` paths of a checkpoint given either file (or the common stem).

    Raises:
        PriorCheckpointError: A pickle-format suffix, or a suffix that is neither of ours.
    """
    p = Path(path).expanduser()
    suffix = p.suffix.lower()
    if suffix in _PICKLE_SUFFIXES:
        raise PriorCheckpointError(
            f"{p}: refusing to load a {suffix!r} file: invbench loads priors only from a .safetensors file "
            "with a .json manifest (pickle-based formats can run arbitrary code when loaded)"
        )
    if suffix in (WEIGHTS_SUFFIX, MANIFEST_SUFFIX):
        stem = p.with_suffix("")
    elif suffix == "":
        stem = p
    else:
        raise PriorCheckpointError(f"{p}: not a prior checkpoint (expected NAME.safetensors with NAME.json)")
    return stem.with_suffix(WEIGHTS_SUFFIX), stem.with_suffix(MANIFEST_SUFFIX)


# --------------------------------------------------------------------------- shipped checkpoints


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
                raise PriorCheckpointError(f"shipped weights {p.stem!r} exist twice: {found[p.stem]} and {p}")
            found[p.stem] = p
    return found


def resolve_checkpoint(path_or_name: str | Path) -> Path:
    """The weights path of a checkpoint given its path or the name of a shipped checkpoint.

    A string without a folder separator or suffix that is not an existing file is looked up among
    :func:`shipped_checkpoints`.

    Raises:
        PriorCheckpointError: Neither an existing file nor a shipped name.
    """
    p = Path(path_or_name).expanduser()
    looks_like_name = isinstance(path_or_name, str) and p.suffix == "" and len(p.parts) == 1
    if looks_like_name and not p.exists():
        shipped = shipped_checkpoints()
        if path_or_name in shipped:
            return shipped[path_or_name]
        names = ", ".join(shipped) or "none (train them with solvers/red_diffeq/train_lite_priors.sh)"
        raise PriorCheckpointError(
            f"{path_or_name!r}: no such prior checkpoint; shipped checkpoints: {names}"
        )
    return checkpoint_paths(p)[0]


def weights_record(path_or_name: str | Path) -> dict[str, Any]:
    """What a run records about the weights it used, read from the pair on disk.

    Returns:
        ``name``, ``file``, ``sha256`` (of the weights, as the manifest states it and loading verifies),
        ``manifest_sha256`` (of the manifest file itself, so a changed manifest is visible too) and
        ``training``: ``device``, ``steps`` and ``wall_time_s`` from the manifest.

    Raises:
        PriorCheckpointError: The pair is missing or its manifest unreadable.
    """
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


def versions() -> dict[str, str]:
    """Versions of the packages that define a checkpoint."""
    import diffusers
    import safetensors

    import invbench

    return {
        "invbench": invbench.__version__,
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "safetensors": safetensors.__version__,
    }


def write_checkpoint(
    path: str | Path,
    state: dict[str, torch.Tensor],
    *,
    name: str,
    architecture_config: dict[str, Any],
    normalization: Normalization,
    schedule: ScheduleSpec,
    training: dict[str, Any],
    dtype: str = "float32",
    ema: bool = True,
) -> dict[str, Any]:
    """Write ``NAME.safetensors`` and its manifest ``NAME.json`` (module docstring).

    Args:
        path: Either file of the pair (or the stem).
        state: The network's ``state_dict``.
        name: Checkpoint name (recorded in the manifest).
        architecture_config: ``UNet2DModel`` constructor arguments.
        normalization: The domain normalisation.
        schedule: The noise schedule.
        training: Training record (preset, data, steps, final loss, ...).
        dtype: Stored dtype of floating-point weights.
        ema: Whether ``state`` holds EMA weights.

    Returns:
        The manifest written.
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
        "kind": "diffusion",
        "weights": {
            "file": weights_path.name,
            "sha256": sha256_file(weights_path),
            "bytes": weights_path.stat().st_size,
            "dtype": dtype,
            "n_parameters": int(sum(v.numel() for v in state.values())),
            "ema": bool(ema),
        },
        "architecture": {"class": "diffusers.UNet2DModel", "config": architecture_config},
        "schedule": {
            "num_train_timesteps": schedule.num_train_timesteps,
            "beta_schedule": schedule.beta_schedule,
            "beta_start": schedule.beta_start,
            "beta_end": schedule.beta_end,
            "prediction_type": "epsilon",
        },
        "domain": normalization.domain,
        "normalization": normalization.to_dict(),
        "training": training,
        "versions": versions(),
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
        raise PriorCheckpointError(
            f"{path}: is a pickle / torch.save archive, not safetensors; invbench refuses to load it "
            "(pickle can run arbitrary code)"
        )
    if len(head) < 9:
        raise PriorCheckpointError(f"{path}: too short to be a safetensors file ({size} bytes)")
    raise PriorCheckpointError(f"{path}: not a valid safetensors file (bad header)")


def read_manifest(manifest_path: Path) -> dict[str, Any]:
    """Parse and check the top-level structure of a manifest.

    Raises:
        PriorCheckpointError: Missing, not JSON, not ours, or lacking required sections.
    """
    if not manifest_path.is_file():
        raise PriorCheckpointError(
            f"{manifest_path}: missing manifest: a prior checkpoint needs its JSON manifest beside the "
            f"{WEIGHTS_SUFFIX} file"
        )
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PriorCheckpointError(f"{manifest_path}: unreadable manifest ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise PriorCheckpointError(f"{manifest_path}: not an invbench prior manifest (format != {FORMAT!r})")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise PriorCheckpointError(
            f"{manifest_path}: manifest format_version {manifest.get('format_version')!r} is not supported "
            f"(this invbench reads version {FORMAT_VERSION})"
        )
    missing = [
        k for k in ("weights", "architecture", "schedule", "normalization", "domain") if k not in manifest
    ]
    if missing:
        raise PriorCheckpointError(f"{manifest_path}: manifest lacks {missing}")
    return manifest


def _listed(items: list[str]) -> str:
    more = f" and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else ""
    return ", ".join(items[:_MAX_LISTED]) + more


def check_state_matches(where: Path, expected: dict[str, torch.Size], state: dict[str, torch.Tensor]) -> None:
    """Raise :class:`PriorCheckpointError` listing missing/unexpected keys and shape mismatches."""
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
        raise PriorCheckpointError(
            f"{where}: weights do not match the manifest's architecture: {'; '.join(problems)}"
        )


def read_checkpoint(path: str | Path) -> tuple[dict[str, Any], dict[str, torch.Tensor], Path]:
    """Read and verify a checkpoint pair (hash, format, keys and shapes against the architecture).

    Returns:
        ``(manifest, state_dict in the stored dtype on CPU, weights path)``.

    Raises:
        PriorCheckpointError: Any problem (module docstring).
    """
    from diffusers import UNet2DModel
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    weights_path, manifest_path = checkpoint_paths(path)
    if not weights_path.is_file():
        raise PriorCheckpointError(f"{weights_path}: no such weights file")
    _sniff(weights_path)
    manifest = read_manifest(manifest_path)
    expected_sha = manifest["weights"].get("sha256")
    actual_sha = sha256_file(weights_path)
    if actual_sha != expected_sha:
        raise PriorCheckpointError(
            f"{weights_path}: sha256 mismatch: the file is corrupted or was changed "
            f"(manifest {manifest_path.name} says {expected_sha}, file is {actual_sha})"
        )
    try:
        state = load_file(weights_path, device="cpu")
    except (SafetensorError, OSError, ValueError) as exc:
        raise PriorCheckpointError(f"{weights_path}: unreadable safetensors file ({exc})") from exc
    arch = manifest["architecture"]
    if arch.get("class") != "diffusers.UNet2DModel" or not isinstance(arch.get("config"), dict):
        raise PriorCheckpointError(f"{manifest_path}: unsupported architecture {arch.get('class')!r}")
    try:
        with torch.device("meta"):
            skeleton = UNet2DModel(**arch["config"])
    except (TypeError, ValueError) as exc:
        raise PriorCheckpointError(f"{manifest_path}: bad architecture config ({exc})") from exc
    check_state_matches(weights_path, {k: v.shape for k, v in skeleton.state_dict().items()}, state)
    dtype = manifest["weights"].get("dtype")
    wrong = sorted(k for k, v in state.items() if v.is_floating_point() and str(v.dtype) != f"torch.{dtype}")
    if wrong:
        raise PriorCheckpointError(
            f"{weights_path}: weights are not {dtype} as the manifest says: {_listed(wrong)}"
        )
    return manifest, state, weights_path


def load_prior(path_or_name: str | Path, device: torch.device | str | None = None) -> Any:
    """Load a verified :class:`~invbench.nn.diffusion.prior.DiffusionPrior`.

    Args:
        path_or_name: ``NAME.safetensors`` / ``NAME.json`` path, or a shipped name (``"fwi-lite"``).
        device: Target device (default: CUDA when available, else CPU). Weights are cast to float32.

    Returns:
        The prior, in eval mode with frozen weights.

    Raises:
        PriorCheckpointError: The checkpoint is missing, unsafe, corrupted or inconsistent.
    """
    from diffusers import UNet2DModel

    from invbench.nn.diffusion.prior import DiffusionPrior

    manifest, state, weights_path = read_checkpoint(resolve_checkpoint(path_or_name))
    try:
        normalization = Normalization.from_dict(manifest["normalization"])
        sched = {
            k: manifest["schedule"][k]
            for k in ("num_train_timesteps", "beta_schedule", "beta_start", "beta_end")
        }
        schedule = ScheduleSpec(**sched)
    except (KeyError, TypeError, ValueError) as exc:
        raise PriorCheckpointError(
            f"{weights_path.with_suffix(MANIFEST_SUFFIX)}: bad manifest ({exc})"
        ) from exc
    if manifest["domain"] != normalization.domain:
        raise PriorCheckpointError(f"{weights_path}: manifest domain and normalization domain differ")
    if list(manifest["architecture"]["config"].get("sample_size", [])) != list(normalization.model_shape):
        raise PriorCheckpointError(f"{weights_path}: network sample_size does not match the normalization")
    unet = UNet2DModel(**manifest["architecture"]["config"])
    unet.load_state_dict({k: v.to(torch.float32) if v.is_floating_point() else v for k, v in state.items()})
    if device is None:
        device = default_device()
    return DiffusionPrior(unet.to(device), normalization, schedule, manifest)
