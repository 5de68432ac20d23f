"""Procedural OpenFWI family generators: contract, determinism and structure."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from invbench.data import layers
from invbench.data.families import (
    FAMILIES,
    FAMILY_INFO,
    LEGACY_SPECS,
    NEWEST_VERSION,
    SPECS,
    VERSIONS,
    canonical_family,
    family_spec,
    generate,
)
from invbench.data.faults import sample_fault_shift

VEL_A = ("FlatVel-A", "CurveVel-A")
FLAT = ("FlatVel-A", "FlatVel-B")
FAULT = ("FlatFault-A", "FlatFault-B", "CurveFault-A", "CurveFault-B")


@pytest.fixture(scope="module")
def batches() -> dict[str, np.ndarray]:
    return {f: generate(f, 64, seed=11) for f in FAMILIES}


def test_family_list() -> None:
    assert len(FAMILIES) == 10 and len(set(FAMILIES)) == 10
    assert set(FAMILY_INFO) == set(FAMILIES) == set(SPECS)
    assert all(isinstance(v, str) and v for v in FAMILY_INFO.values())


@pytest.mark.parametrize("family", FAMILIES)
def test_contract(family: str, batches: dict[str, np.ndarray]) -> None:
    maps = batches[family]
    assert maps.shape == (64, 1, 70, 70)
    assert maps.dtype == np.float32
    assert maps.min() >= 1500 and maps.max() <= 4500
    assert np.array_equal(maps, np.rint(maps))
    assert np.isfinite(maps).all()


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("shape", [(32, 32), (70, 190), (20, 9)])
def test_other_shapes(family: str, shape: tuple[int, int]) -> None:
    maps = generate(family, 5, seed=3, shape=shape)
    assert maps.shape == (5, 1, *shape)
    assert maps.dtype == np.float32
    assert maps.min() >= 1500 and maps.max() <= 4500
    assert np.array_equal(maps, np.rint(maps))
    assert maps.std(axis=(1, 2, 3)).min() > 0  # not constant


@pytest.mark.parametrize("family", FAMILIES)
def test_deterministic(family: str, batches: dict[str, np.ndarray]) -> None:
    np.random.seed(0)  # global numpy state must not matter
    again = generate(family, 64, seed=11)
    assert np.array_equal(again, batches[family])
    from_rng = generate(family, 64, np.random.default_rng(11))
    assert np.array_equal(from_rng, batches[family])


@pytest.mark.parametrize("family", FAMILIES)
def test_seeds_differ(family: str, batches: dict[str, np.ndarray]) -> None:
    other = generate(family, 64, seed=12)
    assert not np.array_equal(other, batches[family])
    maps = batches[family]
    assert not np.array_equal(maps[0], maps[1])  # maps within a batch differ too


def test_generator_is_advanced() -> None:
    rng = np.random.default_rng(5)
    a = generate("CurveVel-A", 3, rng)
    b = generate("CurveVel-A", 3, rng)
    assert not np.array_equal(a, b)


# Checksums of generate(family, 4, seed=2024, version=v). If one changes, the benchmark instances
# changed: an old version must never change (its task ids promise the same instances); a change of the
# newest needs a new generator version and a bump of every affected task version (-vN).
GOLDEN = {
    ("FlatVel-A", 0): "48a96c4df9eeef3c",
    ("FlatVel-B", 0): "3eabff0c88450176",
    ("CurveVel-A", 0): "1ff74e50a8e4856a",
    ("CurveVel-B", 0): "8cbd441d61918dc4",
    ("FlatFault-A", 0): "5934e3a4b3f5213c",
    ("FlatFault-B", 0): "77ee949984f40f5c",
    ("CurveFault-A", 0): "edb3000d1e41d258",
    ("CurveFault-B", 0): "9456091577d3a39a",
    ("FlatFault-A", 1): "4f96e0eaecfea1ad",
    ("FlatFault-B", 1): "57de9c02e3650ed1",
    ("CurveFault-A", 1): "4bc457ee3ba04afa",
    ("CurveFault-B", 1): "f0123ca4e81ce256",
    ("Style-A", 0): "13a940b6bc4c3b00",
    ("Style-B", 0): "62cfb6b922803434",
}


def test_every_version_has_a_checksum() -> None:
    assert set(GOLDEN) == {(f, v) for f in FAMILIES for v in VERSIONS[f]}


@pytest.mark.parametrize(("family", "version"), sorted(GOLDEN))
def test_golden_checksum(family: str, version: int) -> None:
    digest = hashlib.sha256(generate(family, 4, seed=2024, version=version).tobytes()).hexdigest()[:16]
    assert digest == GOLDEN[family, version], f"{family} v{version} maps changed: bump the task versions"


def test_versions() -> None:
    for family in FAMILIES:
        assert VERSIONS[family][-1] == NEWEST_VERSION[family]
        assert family_spec(family) is SPECS[family] is family_spec(family, NEWEST_VERSION[family])
    for family in FAULT:
        assert VERSIONS[family] == (0, 1)
        assert family_spec(family, 0) is LEGACY_SPECS[family][0]
        new, old = generate(family, 8, seed=3), generate(family, 8, seed=3, version=0)
        assert np.array_equal(new, generate(family, 8, seed=3, version=1))
        assert not np.array_equal(new, old)
    assert np.array_equal(generate("FlatVel-A", 3, seed=1, version=0), generate("FlatVel-A", 3, seed=1))
    for bad in (1, -1, True, 0.0):
        with pytest.raises(ValueError, match="generator versions"):
            generate("FlatVel-A", 1, seed=0, version=bad)
    with pytest.raises(ValueError, match="generator versions 0, 1"):
        generate("CurveFault-A", 1, seed=0, version=2)


def test_empty_and_single() -> None:
    assert generate("Style-A", 0, seed=0).shape == (0, 1, 70, 70)
    assert generate("FlatFault-B", 1, seed=0, shape=(32, 32)).shape == (1, 1, 32, 32)


@pytest.mark.parametrize("family", VEL_A)
def test_version_a_monotonic_with_depth(family: str, batches: dict[str, np.ndarray]) -> None:
    assert (np.diff(batches[family], axis=2) >= 0).all()


@pytest.mark.parametrize("family", FLAT)
def test_flat_layers_are_flat(family: str, batches: dict[str, np.ndarray]) -> None:
    maps = batches[family]
    assert (maps == maps[..., :1]).all()


def test_curved_layers_are_curved(batches: dict[str, np.ndarray]) -> None:
    for family in ("CurveVel-A", "CurveVel-B"):
        maps = batches[family]
        curved = (maps != maps[..., :1]).any(axis=(1, 2, 3))
        assert curved.mean() > 0.95, family


def test_version_b_is_harder() -> None:
    def layer_stats(maps: np.ndarray) -> tuple[float, float, float]:
        cols = maps[:, 0, :, 0]
        steps = np.diff(cols, axis=1)
        jumps = np.abs(steps[steps != 0])
        n_layers = 1 + np.count_nonzero(steps, axis=1)
        inverted = (steps < 0).any(axis=1)
        return float(n_layers.mean()), float(jumps.mean()), float(inverted.mean())

    a_layers, a_jump, a_inv = layer_stats(generate("FlatVel-A", 500, seed=1))
    b_layers, b_jump, b_inv = layer_stats(generate("FlatVel-B", 500, seed=1))
    assert b_layers > a_layers + 1.5  # more layers
    assert b_jump > 1.3 * a_jump  # higher contrast between neighbouring layers
    assert a_inv == 0.0 and b_inv > 0.5  # B allows velocity inversions


@pytest.mark.parametrize("family", ["FlatFault-A", "FlatFault-B"])
def test_legacy_flat_fault_is_one_dipping_line(family: str) -> None:
    maps = generate(family, 200, seed=4, version=0)[:, 0]
    lateral = maps[:, :, 1:] != maps[:, :, :-1]  # (n, nz, nx - 1)
    # A lateral discontinuity in (nearly) every map: flat layers alone have none.
    assert lateral.any(axis=(1, 2)).mean() > 0.98
    # Flat layers + one fault: at most one lateral jump per row, on a single line.
    assert lateral.sum(axis=2).max() <= 1
    for m in lateral[lateral.any(axis=(1, 2))]:
        z, x = np.nonzero(m)
        dx = np.diff(x) / np.diff(z)
        assert (dx >= -1e-9).all() or (dx <= 1e-9).all()  # x moves one way with depth
        assert np.abs(dx).max() <= 1 / np.tan(np.deg2rad(35)) + 1  # dip ≥ 35° (pixel rounding)


def test_legacy_fault_shift_is_one_half_plane() -> None:
    shape = (70, 70)
    shift = sample_fault_shift(np.random.default_rng(0), 300, shape, LEGACY_SPECS["FlatFault-A"][0])
    moved = shift != 0
    assert moved.any(axis=(1, 2)).all()
    for m in moved:
        runs = m.sum(axis=1)
        touches_right = m[:, -1][runs > 0].all()
        touches_left = m[:, 0][runs > 0].all()
        assert touches_right != touches_left  # the hanging wall is on one side of the line
        # Each row is one contiguous run from that edge.
        edge = m[:, ::-1] if touches_right else m
        assert np.array_equal(edge.cumprod(axis=1).sum(axis=1), runs)


def test_legacy_curve_fault_offsets_layers() -> None:
    """Legacy CurveFault = CurveVel geometry + one fault: the same draws without the fault differ."""
    spec = LEGACY_SPECS["CurveFault-A"][0]
    assert spec.layers == SPECS["CurveVel-A"]
    rng = np.random.default_rng(9)
    bounds, n_layers = layers.sample_boundaries(rng, 100, (70, 70), spec.layers)
    vels = layers.sample_velocities(rng, n_layers, spec.layers.n_layers[1], spec.layers)
    shift = sample_fault_shift(rng, 100, (70, 70), spec)
    faulted = layers.render(bounds, vels, 70, depth_shift=shift)
    plain = layers.render(bounds, vels, 70)
    differs = faulted != plain
    assert differs.any(axis=(1, 2)).mean() > 0.98
    assert not (differs & (shift == 0)).any()  # only the hanging wall moves
    gen = generate("CurveFault-A", 100, seed=9, version=0)[:, 0]
    assert np.array_equal(gen, faulted)


def test_style_fields() -> None:
    for family in ("Style-A", "Style-B"):
        maps = generate(family, 100, seed=2)[:, 0]
        distinct = np.array([np.unique(m).size for m in maps])
        assert np.median(distinct) > 200, family  # heterogeneous, not layered
        assert (maps[:, -10:].mean(axis=(1, 2)) > maps[:, :10].mean(axis=(1, 2))).mean() > 0.9
    a = np.abs(np.diff(generate("Style-A", 100, seed=2), axis=3)).mean()
    b = np.abs(np.diff(generate("Style-B", 100, seed=2), axis=3)).mean()
    assert b > 1.5 * a  # B is rougher


@pytest.mark.parametrize("alias", ["flatvel-a", "FLATVEL_A", "flatvel a", "FlatVelA"])
def test_family_aliases(alias: str) -> None:
    assert canonical_family(alias) == "FlatVel-A"
    assert np.array_equal(generate(alias, 2, seed=0), generate("FlatVel-A", 2, seed=0))


def test_unknown_family() -> None:
    with pytest.raises(ValueError, match="unknown velocity family") as err:
        generate("FlatVel-C", 1, seed=0)
    assert "FlatVel-A" in str(err.value)
    with pytest.raises(ValueError, match="CurveFault"):
        generate("curvfault-b", 1, seed=0)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"n": -1}, ValueError),
        ({"n": 2.5}, ValueError),
        ({"shape": (70,)}, ValueError),
        ({"shape": (2, 70)}, ValueError),
        ({"shape": (70.5, 70)}, ValueError),
        ({"seed": "abc"}, TypeError),
        ({"seed": 1.5}, TypeError),
    ],
)
def test_bad_arguments(kwargs: dict, error: type[Exception]) -> None:
    args = {"family": "FlatVel-A", "n": 2, "seed": 0, "shape": (70, 70)} | kwargs
    with pytest.raises(error):
        generate(args["family"], args["n"], args["seed"], shape=args["shape"])
