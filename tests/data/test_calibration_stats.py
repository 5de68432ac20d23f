"""invbench.data.calibration: the six per-map statistics and the scaled W1 distance (no real data needed)."""

from __future__ import annotations

import numpy as np
import pytest

from invbench.data.calibration import STATISTICS, distinct_values, map_statistics, scaled_w1, split_halves
from invbench.data.families import generate


def test_statistics_of_a_hand_made_map() -> None:
    m = np.full((1, 1, 10, 4), 2000.0)
    m[0, 0, 5:] = 3000.0  # a flat interface: every vertical step up or level
    m[0, 0, 2, 3] = 1999.6  # rounds to 2000: not a new value
    m[0, 0, 8, 2] = 2500.2  # a slower cell below: one decreasing step, two lateral jumps
    s = map_statistics(m)
    assert set(s) == set(STATISTICS)
    assert s["distinct"][0] == 3
    assert s["non_decreasing"][0] == pytest.approx(1 - 1 / (9 * 4))
    assert s["lateral_jumps"][0] == pytest.approx(2 / (10 * 3))
    assert s["top_mean"][0] == 2000.0
    assert s["bottom_mean"][0] == pytest.approx((19 * 3000 + 2500) / 20)
    assert s["std"][0] == pytest.approx(np.rint(m).std())


def test_distinct_values_counts_per_map() -> None:
    maps = generate("FlatVel-A", 20, seed=1)
    assert np.array_equal(distinct_values(maps), [np.unique(v).size for v in maps])
    assert np.array_equal(distinct_values(maps[:, 0]), distinct_values(maps))
    with pytest.raises(ValueError, match="maps must be"):
        distinct_values(maps[0, 0])


def test_scaled_w1_is_zero_for_the_same_maps_and_grows_with_a_shift() -> None:
    maps = generate("CurveVel-A", 200, seed=2)
    same = scaled_w1(maps, maps)
    assert list(same) == list(STATISTICS) and all(v == 0 for v in same.values())
    stats = map_statistics(maps)
    shifted = {**stats, "top_mean": stats["top_mean"] + stats["top_mean"].std()}
    d = scaled_w1(shifted, stats)
    assert d["top_mean"] == pytest.approx(1.0) and d["std"] == 0
    # CurveVel-A never decreases with depth: a constant reference statistic gives 0 or inf.
    assert same["non_decreasing"] == 0
    faulted = scaled_w1(generate("CurveFault-A", 50, seed=2), maps)  # reverse faults: fast over slow
    assert faulted["non_decreasing"] == float("inf")


def test_split_halves_are_disjoint_and_seeded() -> None:
    maps = np.arange(11)[:, None]
    a, b = split_halves(maps, seed=3)
    assert len(a) == len(b) == 5 and not set(a[:, 0]) & set(b[:, 0])
    assert np.array_equal(split_halves(maps, seed=3)[0], a)
    assert not np.array_equal(split_halves(maps, seed=4)[0], a)
