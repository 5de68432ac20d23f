"""Per-map statistics and the distance between two sets of velocity maps, to calibrate generators.

Six statistics, computed per map after rounding to integer m/s (what the generators emit; real
OpenFWI fault maps hold non-integer values at interfaces):

* ``distinct``: number of distinct velocities in the map,
* ``non_decreasing``: share of vertical neighbour steps that do not decrease with depth,
* ``lateral_jumps``: share of horizontal neighbours that differ by more than 50 m/s,
* ``top_mean`` / ``bottom_mean``: mean velocity of the top / bottom five rows, m/s,
* ``std``: standard deviation of the map's velocities, m/s.

:func:`scaled_w1` compares two sets statistic by statistic: the 1-Wasserstein distance between the
two per-map distributions, divided by the reference set's standard deviation of that statistic, so
0.1 means "the distributions are a tenth of the real spread apart" whatever the unit. Two random
halves of one real set score about 0.1–0.2 (sampling noise); the legacy CurveFault-A generator scored
1–10 against the real maps.
"""

from __future__ import annotations

import numpy as np

STATISTICS: tuple[str, ...] = (
    "distinct",
    "non_decreasing",
    "lateral_jumps",
    "top_mean",
    "bottom_mean",
    "std",
)
"""The names :func:`map_statistics` returns, in table order."""

LATERAL_JUMP = 50.0
"""m/s: a horizontal step above this counts as a lateral jump (a fault offset or a steep interface)."""
EDGE_ROWS = 5
"""Rows averaged for ``top_mean`` and ``bottom_mean``."""


def _as_maps(maps: np.ndarray) -> np.ndarray:
    """``(n, nz, nx)`` float64 rounded to integer m/s, from ``(n, 1, nz, nx)`` or ``(n, nz, nx)``."""
    m = np.asarray(maps, dtype=np.float64)
    if m.ndim == 4 and m.shape[1] == 1:
        m = m[:, 0]
    if m.ndim != 3:
        raise ValueError(f"maps must be (n, 1, nz, nx) or (n, nz, nx), got shape {np.shape(maps)}")
    return np.rint(m)


def distinct_values(maps: np.ndarray) -> np.ndarray:
    """Number of distinct velocities (integer m/s) in each map, shape ``(n,)`` int.

    Args:
        maps: ``(n, 1, nz, nx)`` or ``(n, nz, nx)`` m/s.
    """
    m = _as_maps(maps)
    flat = np.sort(m.reshape(m.shape[0], -1), axis=1)
    return 1 + np.count_nonzero(np.diff(flat, axis=1), axis=1)


def map_statistics(maps: np.ndarray) -> dict[str, np.ndarray]:
    """The six per-map statistics of :data:`STATISTICS`, each an array of shape ``(n,)``.

    Args:
        maps: ``(n, 1, nz, nx)`` or ``(n, nz, nx)`` m/s, at least ``EDGE_ROWS`` rows deep.
    """
    m = _as_maps(maps)
    return {
        "distinct": distinct_values(m).astype(np.float64),
        "non_decreasing": (np.diff(m, axis=1) >= 0).mean(axis=(1, 2)),
        "lateral_jumps": (np.abs(np.diff(m, axis=2)) > LATERAL_JUMP).mean(axis=(1, 2)),
        "top_mean": m[:, :EDGE_ROWS].mean(axis=(1, 2)),
        "bottom_mean": m[:, -EDGE_ROWS:].mean(axis=(1, 2)),
        "std": m.std(axis=(1, 2)),
    }


def scaled_w1(
    sample: dict[str, np.ndarray] | np.ndarray, reference: dict[str, np.ndarray] | np.ndarray
) -> dict[str, float]:
    """1-Wasserstein distance per statistic, in units of the reference's standard deviation.

    Args:
        sample: Maps, or their :func:`map_statistics`.
        reference: Maps, or their :func:`map_statistics` (e.g. the real maps); its spread sets the scale.

    Returns:
        ``{statistic: distance}`` in :data:`STATISTICS` order. A statistic constant over the reference
        gives 0 when the sample matches it exactly and ``inf`` otherwise.
    """
    from scipy.stats import wasserstein_distance  # lazy: keeps ``import invbench.data`` numpy-only

    a = sample if isinstance(sample, dict) else map_statistics(sample)
    b = reference if isinstance(reference, dict) else map_statistics(reference)
    out = {}
    for name in STATISTICS:
        w1 = float(wasserstein_distance(a[name], b[name]))
        spread = float(np.std(b[name]))
        out[name] = w1 / spread if spread > 0 else (0.0 if w1 == 0 else float("inf"))
    return out


def split_halves(maps: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two random halves of a set of maps (the real-vs-real baseline of :func:`scaled_w1`).

    Args:
        maps: Maps, first axis the map index.
        seed: Seed of the permutation.
    """
    order = np.random.default_rng(seed).permutation(len(maps))
    half = len(maps) // 2
    return maps[order[:half]], maps[order[half : 2 * half]]
