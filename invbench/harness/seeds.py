"""Per-cell seeds derived from one base seed.

Every (task, split, instance, solver, repetition) cell of a benchmark gets its own seed, derived
with SHA-256 from the base seed so that it is the same on every machine and in every Python
process (``hash()`` is salted per process; SHA-256 is not). The same seed is given to torch,
numpy and the environment's ``reset`` (see :func:`invbench.core.seeding.seed_everything`). It depends on
the solver's *name*, not on its parameters, so two parameter settings of one solver see the same
random numbers (common random numbers make their comparison sharper).
"""

from __future__ import annotations

import hashlib

SEED_BITS = 32
"""Seeds lie in ``[0, 2**32)``: valid for ``numpy.random.seed``, ``torch.manual_seed`` and Gymnasium."""


def derive_seed(base_seed: int, task: str, split: str, index: int, solver: str, repetition: int) -> int:
    """Seed of one benchmark cell.

    Args:
        base_seed: The run's base seed (``invbench bench --base-seed``).
        task: Full task id, e.g. ``"invbench/FWI-Tiny-v0"``.
        split: Instance split (``"test"``, ``"val"``, ``"train"``).
        index: Instance index within the split.
        solver: Solver name (or spec).
        repetition: Repetition number, 0-based.

    Returns:
        An integer in ``[0, 2**32)``.
    """
    if base_seed < 0 or index < 0 or repetition < 0:
        raise ValueError("base_seed, index and repetition must be non-negative")
    text = f"invbench-seed/v1|{base_seed}|{task}|{split}|{index}|{solver}|{repetition}"
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:8], "big") % (1 << SEED_BITS)


def short_hash(text: str, n: int = 12) -> str:
    """The first ``n`` hex digits of the SHA-256 of ``text``."""
    return hashlib.sha256(text.encode()).hexdigest()[:n]
