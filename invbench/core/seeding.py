"""Deterministic instance seeds: the same (task, split, index) is the same instance everywhere."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import torch

HIDDEN_SPLIT = "hidden"
SALT_ENV = "INVBENCH_HIDDEN_SALT"
"""Environment variable holding the hidden tier's secret salt (set only by the maintainers)."""


class HiddenSplitError(ValueError):
    """The hidden split was asked for without its salt."""


def hidden_salt() -> str:
    """The hidden tier's salt, from :data:`SALT_ENV`.

    Raises:
        HiddenSplitError: When it is not set (or empty).
    """
    salt = os.environ.get(SALT_ENV, "")
    if not salt:
        raise HiddenSplitError(
            f"the {HIDDEN_SPLIT!r} split needs the maintainers' secret salt in ${SALT_ENV}; its instances "
            "cannot be drawn without it (use the 'test' split, or submit your solver for `invbench verify`)"
        )
    return salt


def instance_seed(key: str, split: str, index: int, *, purpose: str = "model") -> int:
    """A 63-bit seed derived from a stable key, the split, the index and a purpose tag.

    SHA-256 (not Python's salted ``hash``) keeps the seed identical across processes and machines;
    different splits give unrelated seeds, so the splits are disjoint in practice.

    The ``hidden`` split's seeds also hash the secret salt (:func:`hidden_salt`), so its fields,
    noise and masks cannot be regenerated from public code.

    Args:
        key: What determines the hidden field (e.g. ``"FlatVel-A/70x70"``).
        split: ``"train"``, ``"val"``, ``"test"`` or ``"hidden"``.
        index: Index within the split.
        purpose: A tag separating independent random streams (model, noise, missing traces).

    Returns:
        A non-negative integer below ``2**63``.

    Raises:
        HiddenSplitError: For the hidden split without its salt.
    """
    if split == HIDDEN_SPLIT:
        split = f"{HIDDEN_SPLIT}|{hidden_salt()}"
    digest = hashlib.sha256(f"invbench|{key}|{split}|{index}|{purpose}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and CUDA) and numpy's legacy global generator before a run."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
