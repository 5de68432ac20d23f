"""The Fault families' generator, version 1 (invbench.data.faulted): structure, faults, streaks."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from invbench.data import faulted
from invbench.data.calibration import distinct_values
from invbench.data.families import SPECS, generate

SHAPE = (70, 70)


def _draw(family: str, n: int, seed: int, **fault_overrides: np.ndarray) -> dict:
    """The generator's draws for ``n`` maps, with chosen fault arrays replaced."""
    spec = SPECS[family]
    rng = np.random.default_rng(seed)
    bounds, n_layers = faulted.sample_boundaries(rng, n, SHAPE, spec)
    vels = faulted.sample_layer_velocities(rng, n_layers, spec)
    faults = faulted.sample_faults(rng, n, SHAPE, spec)
    faults = replace(faults, **fault_overrides)
    return {"spec": spec, "bounds": bounds, "vels": vels, "faults": faults, "n_layers": n_layers}


def _render(d: dict, **fault_overrides: np.ndarray) -> np.ndarray:
    faults = replace(d["faults"], **fault_overrides)
    return faulted.render(d["bounds"], d["vels"], faults, SHAPE[0], d["spec"])


def _no_faults(d: dict) -> dict[str, np.ndarray]:
    return {"throw": np.zeros_like(d["faults"].throw), "gouge": np.zeros_like(d["faults"].gouge)}


def _plateaus(v: np.ndarray) -> np.ndarray:
    """Velocities covering at least 2 % of a map, ordered by their mean depth."""
    vals, counts = np.unique(v, return_counts=True)
    big = vals[counts >= 0.02 * v.size]
    depth = [np.nonzero(v == p)[0].mean() for p in big]
    return big[np.argsort(depth)]


def test_generate_is_faulted_layers() -> None:
    rng = np.random.default_rng(5)
    raw = faulted.faulted_layers(rng, 6, SHAPE, SPECS["CurveFault-A"])
    assert np.array_equal(np.clip(np.rint(raw), 1500, 4500), generate("CurveFault-A", 6, seed=5)[:, 0])


@pytest.mark.parametrize("family", ["FlatFault-A", "CurveFault-A"])
def test_version_a_has_four_layers_in_two_sorted_bands(family: str) -> None:
    maps = generate(family, 300, seed=1)[:, 0]
    plateaus = [_plateaus(v) for v in maps]
    four = [p for p in plateaus if p.size == 4]
    assert len(four) > 0.95 * len(maps)  # as in 298 of the 300 real CurveFault-A maps
    p = np.array(four)
    assert (np.diff(p, axis=1) > 0).all()  # faster with depth
    assert (p[:, 1] < 3000).all() and (p[:, 2] >= 3000).all()  # upper pair slow band, lower pair fast band


def test_velocity_bands_split_layers_evenly() -> None:
    spec = SPECS["CurveFault-A"]
    vels = faulted.sample_layer_velocities(np.random.default_rng(0), np.full(2000, 4), spec)
    assert vels.shape == (2000, 4)
    assert (np.diff(vels, axis=1) >= 0).all() and (vels[:, :2] <= 3000).all() and (vels[:, 2:] >= 3000).all()
    assert np.array_equal(vels, np.rint(vels))
    # Each band is uniform: the lower layer of a pair averages a third of the way up its band.
    assert vels[:, 0].mean() == pytest.approx(2000, abs=40)
    assert vels[:, 3].mean() == pytest.approx(4000, abs=40)


@pytest.mark.parametrize("family", ["FlatFault-A", "FlatFault-B"])
def test_flat_layers_with_soft_interfaces(family: str) -> None:
    d = _draw(family, 40, seed=2)
    plain = np.rint(_render(d, **_no_faults(d)))
    assert (plain == plain[:, :, :1]).all()  # flat: every row constant
    if family.endswith("A"):
        assert (np.diff(plain, axis=1) >= 0).all()
    # Soft interfaces: a column holds intermediate values, but each step is at most four cells wide.
    col = plain[:, :, 0]
    assert (distinct_values(col[:, :, None]) > d["n_layers"]).mean() > 0.9
    for c, v in zip(col, d["vels"], strict=True):
        between = ~np.isin(c, np.rint(v))
        assert between.sum() <= 4 * (v.size - 1)


def test_curve_families_bend_some_maps_and_flat_ones_none() -> None:
    cases = (("FlatFault-A", 0.0, 0.0), ("CurveFault-A", 0.02, 0.1), ("CurveFault-B", 0.2, 0.4))
    for family, low, high in cases:
        bounds, _ = faulted.sample_boundaries(np.random.default_rng(3), 1000, SHAPE, SPECS[family])
        bent = (np.ptp(bounds[:, 0], axis=1) > 0).mean()
        assert low <= bent <= high, family


def test_hanging_wall_shows_the_layers_shifted_by_the_throw() -> None:
    d = _draw("FlatFault-A", 30, seed=4)
    throw = d["faults"].throw.copy()
    throw[:, 1] = 0.0
    one = {"throw": throw, "gouge": np.zeros_like(d["faults"].gouge)}
    v = _render(d, **one)
    faults = replace(d["faults"], **one)
    depth = np.broadcast_to((np.arange(70) + 0.5)[None, :, None], (30, *SHAPE))
    dist = faulted.plane_distance(faults, 0, depth, 70)
    layered = faulted.soft_layers_at(d["bounds"], d["vels"], d["spec"].edge_sigma)
    foot, hang = dist < -3, dist > 3
    assert foot.any() and hang.any()
    np.testing.assert_allclose(v[foot], layered(depth)[foot], atol=1e-6)
    np.testing.assert_allclose(v[hang], layered(depth - throw[:, :1, None])[hang], atol=1e-6)
    assert not np.allclose(v, layered(depth))  # the fault shows


def test_antithetic_fault_ends_against_the_first() -> None:
    d = _draw("CurveFault-A", 60, seed=6)
    throw = np.zeros_like(d["faults"].throw)
    throw[:, 1] = 8.0
    kw = {"throw": throw, "gouge": np.zeros_like(d["faults"].gouge), "antithetic": np.ones(60, dtype=bool)}
    v = _render(d, **kw)
    plain = _render(d, **_no_faults(d))
    depth = np.broadcast_to((np.arange(70) + 0.5)[None, :, None], (60, *SHAPE))
    footwall = faulted.plane_distance(replace(d["faults"], **kw), 0, depth, 70) < -3
    np.testing.assert_allclose(v[footwall], plain[footwall], atol=1e-6)
    assert (np.abs(v - plain) > 1).any(axis=(1, 2)).mean() > 0.5  # and it offsets layers elsewhere
    free = _render(d, **{**kw, "antithetic": np.zeros(60, dtype=bool)})
    assert (np.abs(free - plain)[footwall] > 1).any()  # a non-antithetic one crosses it


def test_streak_is_a_slight_slowdown_along_each_fault_plane() -> None:
    d = _draw("CurveFault-A", 40, seed=7)
    with_streak = _render(d)
    without = _render(d, gouge=np.zeros_like(d["faults"].gouge))
    rel = with_streak / without - 1.0
    assert (rel <= 1e-12).all() and rel.min() < -0.005
    assert rel.min() >= -SPECS["CurveFault-A"].gouge - 1e-9
    depth = np.broadcast_to((np.arange(70) + 0.5)[None, :, None], (40, *SHAPE))
    far = np.ones(rel.shape, dtype=bool)
    for f in range(2):
        far &= np.abs(faulted.plane_distance(d["faults"], f, depth, 70)) > 3
    assert np.abs(rel[far]).max() < 1e-9


def test_version_a_normal_faults_keep_columns_non_decreasing() -> None:
    """Without the streak and with normal faults only, velocity never decreases with depth (A)."""
    d = _draw("CurveFault-A", 100, seed=8)
    throw = np.abs(d["faults"].throw)
    maps = np.rint(_render(d, throw=throw, gouge=np.zeros_like(d["faults"].gouge)))
    assert (np.diff(maps, axis=1) >= 0).all()
    reverse = np.rint(_render(d, throw=-throw, gouge=np.zeros_like(d["faults"].gouge)))
    assert (np.diff(reverse, axis=1) < 0).any(axis=(1, 2)).mean() > 0.5  # reverse: fast over slow


def test_one_or_two_faults() -> None:
    f = faulted.sample_faults(np.random.default_rng(9), 4000, SHAPE, SPECS["CurveFault-A"])
    assert (f.throw[:, 0] != 0).all()
    assert (f.throw[:, 1] != 0).mean() == pytest.approx(SPECS["CurveFault-A"].p_second, abs=0.03)
    assert (f.throw < 0).mean(axis=0)[0] == pytest.approx(SPECS["CurveFault-A"].p_reverse, abs=0.03)
    inside = (f.x0 > 0) & (f.x0 < 70)
    assert inside.all()


def test_version_b_is_harder() -> None:
    a = generate("FlatFault-A", 300, seed=10)[:, 0]
    b = generate("FlatFault-B", 300, seed=10)[:, 0]
    count = lambda maps: np.mean([_plateaus(v).size for v in maps])  # noqa: E731
    assert count(b) > count(a) + 1.0  # more layers
    inverted = np.mean([(np.diff(_plateaus(v)) < 0).any() for v in b])
    assert inverted > 0.5  # B allows slow layers under fast ones
    two = lambda fam: (  # noqa: E731
        faulted.sample_faults(np.random.default_rng(0), 2000, SHAPE, SPECS[fam]).throw[:, 1] != 0
    ).mean()
    assert two("FlatFault-B") > two("FlatFault-A") + 0.2


@pytest.mark.parametrize("shape", [(32, 32), (70, 190), (20, 9)])
def test_other_shapes_keep_the_structure(shape: tuple[int, int]) -> None:
    maps = generate("CurveFault-A", 50, seed=11, shape=shape)[:, 0]
    lateral = (np.diff(maps, axis=2) != 0).any(axis=(1, 2))
    assert lateral.mean() > 0.9  # faulted
    assert (maps.mean(axis=2)[:, -1] > maps.mean(axis=2)[:, 0]).mean() > 0.9  # faster at depth
