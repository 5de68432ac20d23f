"""A small content-addressed on-disk cache for simulated observed data.

Entries live in ``$INVBENCH_CACHE_DIR`` if set, otherwise in the user cache directory
(``$XDG_CACHE_HOME/invbench`` or ``~/.cache/invbench``). Keys are SHA-256 digests of everything that
determines the content (the velocity model's bytes, the acquisition, the solver and its version),
so a stale entry can never be returned for different inputs. Each entry is stored as ``.npy`` (never
pickle) beside a ``.json`` record of its own content digest, both written atomically (write to a
temporary file, then rename); an entry that fails its digest, shape or finiteness check is reported,
deleted and recomputed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np


def cache_dir() -> Path:
    """The cache root (created on first use)."""
    env = os.environ.get("INVBENCH_CACHE_DIR")
    if env:
        root = Path(env).expanduser()
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        root = (Path(xdg) if xdg else Path.home() / ".cache") / "invbench"
    return root


def content_key(*parts: Any) -> str:
    """SHA-256 hex digest of arrays (their dtype, shape and bytes) and JSON-serialisable parts."""
    h = hashlib.sha256()
    for p in parts:
        if isinstance(p, np.ndarray):
            a = np.ascontiguousarray(p)
            h.update(f"ndarray:{a.dtype.str}:{a.shape}".encode())
            h.update(a.tobytes())
        else:
            h.update(json.dumps(p, sort_keys=True, default=str).encode())
        h.update(b"|")
    return h.hexdigest()


class CacheWarning(UserWarning):
    """A cache entry was found corrupt and recomputed."""


def _digest(arr: np.ndarray) -> str:
    return content_key(np.ascontiguousarray(arr))


_NO_RECORD = "it has no digest record"


def _problem(arr: np.ndarray, record: dict[str, Any] | None, shape: tuple[int, ...] | None) -> str | None:
    """Why a loaded entry must not be used, or ``None`` when it is sound."""
    if shape is not None and tuple(arr.shape) != tuple(shape):
        return f"its shape {tuple(arr.shape)} is not the expected {tuple(shape)}"
    if np.issubdtype(arr.dtype, np.floating) and not np.all(np.isfinite(arr)):
        return "it holds NaN or inf"
    if record is None:
        return _NO_RECORD
    if not isinstance(record, dict) or record.get("sha256") != _digest(arr):
        return "its content does not match its digest"
    return None


def _load(path: Path, meta: Path, shape: tuple[int, ...] | None) -> np.ndarray | None:
    """The entry at ``path`` when it is sound; an unsound one is deleted (and reported when corrupt)."""
    try:
        arr = np.load(path, allow_pickle=False)
        record = json.loads(meta.read_text()) if meta.exists() else None
        problem = _problem(arr, record, shape)
    except (OSError, ValueError) as e:
        problem = f"it cannot be read ({type(e).__name__}: {e})"
    if problem is None:
        return arr
    if problem != _NO_RECORD:  # an otherwise sound entry without a record is of the older format
        warnings.warn(
            f"invbench cache entry {path} is not used: {problem}; recomputing it", CacheWarning, stacklevel=3
        )
    path.unlink(missing_ok=True)
    meta.unlink(missing_ok=True)
    return None


def _atomic_save(folder: Path, path: Path, write: Callable[[Any], None]) -> None:
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cached_array(
    namespace: str, key: str, compute: Callable[[], np.ndarray], *, shape: tuple[int, ...] | None = None
) -> np.ndarray:
    """Return the array stored under ``namespace/key``, computing and storing it when absent.

    Each entry is a ``.npy`` with a ``.json`` record of its content digest. An entry that cannot be
    read, has no record, does not match its digest, has another shape than ``shape`` or holds NaN or
    inf is reported (:class:`CacheWarning`), deleted and recomputed, never used. A computed array
    that is not finite is returned but not stored.

    Args:
        namespace: Sub-folder of the cache (e.g. ``"observed"``).
        key: Content key from :func:`content_key`.
        compute: Produces the array when the entry is missing.
        shape: The shape every entry must have (not checked when ``None``).

    Returns:
        The cached (or freshly computed) array.
    """
    folder = cache_dir() / namespace
    path, meta = folder / f"{key}.npy", folder / f"{key}.json"
    if path.exists():
        arr = _load(path, meta, shape)
        if arr is not None:
            return arr
    arr = np.ascontiguousarray(compute())
    if np.issubdtype(arr.dtype, np.floating) and not np.all(np.isfinite(arr)):
        return arr
    record = {"sha256": _digest(arr), "shape": list(arr.shape), "dtype": arr.dtype.str}
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _atomic_save(folder, path, lambda f: np.save(f, arr, allow_pickle=False))
        _atomic_save(folder, meta, lambda f: f.write(json.dumps(record).encode()))
    except OSError:
        # A read-only or full cache must not break a run: the data was computed anyway.
        pass
    return arr
