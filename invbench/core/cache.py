"""A small content-addressed on-disk cache for simulated observed data.

Entries live in ``$INVBENCH_CACHE_DIR`` if set, otherwise in the user cache directory
(``$XDG_CACHE_HOME/invbench`` or ``~/.cache/invbench``). Keys are SHA-256 digests of everything that
determines the content (the velocity model's bytes, the acquisition, the solver and its version),
so a stale entry can never be returned for different inputs. Files are written atomically (write to
a temporary file, then rename) and stored as ``.npy`` (never pickle).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
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


def cached_array(namespace: str, key: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """Return the array stored under ``namespace/key``, computing and storing it when absent.

    A corrupt or unreadable entry is recomputed and overwritten rather than trusted.

    Args:
        namespace: Sub-folder of the cache (e.g. ``"observed"``).
        key: Content key from :func:`content_key`.
        compute: Produces the array when the entry is missing.

    Returns:
        The cached (or freshly computed) array.
    """
    folder = cache_dir() / namespace
    path = folder / f"{key}.npy"
    if path.exists():
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError):
            path.unlink(missing_ok=True)
    arr = np.ascontiguousarray(compute())
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            np.save(f, arr, allow_pickle=False)
        os.replace(tmp, path)
    except OSError:
        # A read-only or full cache must not break a run: the data was computed anyway.
        pass
    return arr
