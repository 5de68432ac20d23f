"""Deterministic instance seeds: the same (task, split, index) is the same instance everywhere."""

from __future__ import annotations

import hashlib

import numpy as np
import torch


def instance_seed(key: str, split: str, index: int, *, purpose: str = "model") -> int:
    """A 63-bit seed derived from a stable key, the split, the index and a purpose tag.

    SHA-256 (not Python's salted ``hash``) keeps the seed identical across processes and machines;
    different splits give unrelated seeds, so the splits are disjoint in practice.

    Args:
        key: What determines the hidden field (e.g. ``"FlatVel-A/70x70"``).
        split: ``"train"``, ``"val"`` or ``"test"``.
        index: Index within the split.
        purpose: A tag separating independent random streams (model, noise, missing traces).

    Returns:
        A non-negative integer below ``2**63``.
    """
    digest = hashlib.sha256(f"invbench|{key}|{split}|{index}|{purpose}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def seed_everything(seed: int) -> None:
    """Seed torch (CPU and CUDA) and numpy's legacy global generator before a run."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
