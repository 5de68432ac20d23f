"""Procedural generators for the ten 2D OpenFWI velocity families.

``generate(family, n, seed)`` returns ``n`` velocity maps ``(n, 1, nz, nx)`` float32 in m/s,
integer-valued and within 1500–4500 m/s, drawn in one vectorised pass. The same
``(family, n, seed, shape, version)`` gives the same maps on every machine (one
``np.random.default_rng`` stream, no global state; boundaries, fault lines and smooth values are
quantised before the final pixel tests and rounding, so last-bit floating-point differences between
CPUs or libm builds would have to hit a rounding edge within ~1e-12 to change a pixel). Maps are
drawn as a batch, so ``generate(f, 10, s)[:5]`` is not ``generate(f, 5, s)``: derive one seed per
instance when instances must be addressable one by one.

Generator versions: a family's maps change only with a new generator version (``VERSIONS``);
``generate(..., version=v)`` reproduces an older one, so the task ids built on it (``-v0``) still
make the same instances. The Fault families are at version 1; version 0 is their legacy generator.

Assumptions (the tables in ``docs/data.md`` list the numbers):

* **FlatVel-A / CurveVel-A** (calibrated on real OpenFWI maps). ``N`` nominal layers, ``N``
  uniform on 3..7, nominal thickness ``70 / N`` cells, the stack shifted by a random phase, so
  ``N`` or ``N + 1`` layers are visible. Layer velocities are ``N + 1`` integers drawn uniformly
  from 1500–4500 m/s and sorted (never decreasing with depth). CurveVel folds all boundaries of a
  map by one shared curve, a sum of three sinusoids of 1–3.4 cycles per 70 cells.
* **FlatVel-B / CurveVel-B** (no real maps here; "difficult version" per OpenFWI): more layers
  (``N`` on 5..10) and higher contrast: velocities follow a mostly-upward random walk with steps
  of 300–1200 m/s, so adjacent layers differ more than in A and slow layers can lie under fast
  ones (velocity inversions). CurveVel-B folds are stronger.
* **FlatFault / CurveFault, version 1** (CurveFault-A calibrated on 300 real maps; the others
  assumed from it, see :mod:`invbench.data.faulted`): four thick, flat or gently bent layers with
  soft interfaces, velocities in two sorted bands, one or two faults (normal or reverse, a second
  one forming a graben or horst) with a low-velocity streak along each plane. FlatFault-A is
  CurveFault-A without the bends. B: 5–8 thinner layers on the B random walk, more and larger
  faults.
* **FlatFault / CurveFault, version 0** (legacy): the matching Vel version's layered model cut by
  one straight fault (:mod:`invbench.data.faults`).
* **Style-A / Style-B**: OpenFWI made these by style transfer from natural images; we approximate
  them with smoothed anisotropic Gaussian random fields, sharpened by a ``tanh`` contrast curve,
  on a linear depth trend (surface 1500–2500 m/s, bottom 3000–4500 m/s). B adds short-scale detail,
  a larger amplitude and sharper bodies.

Lengths are defined for a 70-cell-deep map and scale with ``nz / 70``, so other shapes (e.g.
``(32, 32)``, ``(70, 190)``) show the same geology; a wider map is a wider window onto it.
"""

from __future__ import annotations

import difflib
from dataclasses import replace

import numpy as np

from invbench.data.faulted import FaultedSpec, faulted_layers
from invbench.data.faults import FaultSpec, faulted
from invbench.data.layers import V_MAX, V_MIN, LayerSpec, layered
from invbench.data.style import StyleSpec, styled

FAMILIES: tuple[str, ...] = (
    "FlatVel-A",
    "FlatVel-B",
    "CurveVel-A",
    "CurveVel-B",
    "FlatFault-A",
    "FlatFault-B",
    "CurveFault-A",
    "CurveFault-B",
    "Style-A",
    "Style-B",
)

FAMILY_INFO: dict[str, str] = {
    "FlatVel-A": "3-8 flat layers, velocity increasing with depth (calibrated on real OpenFWI maps)",
    "FlatVel-B": "5-11 flat layers, high contrast, velocity inversions allowed",
    "CurveVel-A": "4-8 folded layers, velocity increasing with depth (calibrated on real OpenFWI maps)",
    "CurveVel-B": "5-11 strongly folded layers, high contrast, velocity inversions allowed",
    "FlatFault-A": "4 thick flat layers offset by one or two faults (CurveFault-A's calibration, unbent)",
    "FlatFault-B": "5-8 flat layers, velocity inversions allowed, one or two larger faults",
    "CurveFault-A": "4 thick, nearly flat layers offset by one or two faults (calibrated on real maps)",
    "CurveFault-B": "5-8 gently bent layers, velocity inversions allowed, one or two larger faults",
    "Style-A": "smooth heterogeneous field on a depth trend (stand-in for OpenFWI's style transfer)",
    "Style-B": "rougher, higher-contrast heterogeneous field on a depth trend",
}

_FLAT_A = LayerSpec(n_layers=(3, 7), phase=0.5, jitter=0.35)
_CURVE_A = LayerSpec(
    n_layers=(3, 7),
    phase=0.25,
    jitter=0.35,
    fold_components=3,
    fold_amplitude=14.0,
    fold_cycles=(1.0, 3.4),
    fold_skew=2.0,
)
_FLAT_B = LayerSpec(n_layers=(5, 10), phase=0.5, jitter=0.5, monotonic=False)
_CURVE_B = LayerSpec(
    n_layers=(5, 10),
    phase=0.25,
    jitter=0.5,
    fold_components=3,
    fold_amplitude=16.0,
    fold_cycles=(1.0, 3.6),
    fold_skew=1.5,
    monotonic=False,
)

# Fault families, version 1. CurveFault-A is calibrated on the real maps (FaultedSpec's defaults);
# FlatFault-A is the same without bends. B (no real maps: assumed, after OpenFWI's "more layers,
# varying velocities") takes the B random walk for velocities, thinner and more layers, and more
# and larger faults of either sense.
_CURVE_FAULT_A = FaultedSpec(p_flexure=0.05)
_FLAT_FAULT_A = FaultedSpec()
_FLAT_FAULT_B = FaultedSpec(
    n_layers=(5, 8),
    min_thickness=9.0,
    extra_thickness=4.0,
    walk=_FLAT_B,
    p_second=0.5,
    dip_deg=(25.0, 85.0),
    throw=(4.0, 16.0),
    p_reverse=0.5,
)
_CURVE_FAULT_B = replace(_FLAT_FAULT_B, p_flexure=0.3, flexure_amplitude=(3.0, 10.0))

# Fault families, version 0 (legacy, kept so the -v0 task ids reproduce): a Vel layered model cut
# by one straight fault.
_FAULT_A_V0 = {"dip_deg": (50.0, 80.0), "throw": (4.0, 12.0), "p_reverse": 0.0}
_FAULT_B_V0 = {"dip_deg": (35.0, 85.0), "throw": (6.0, 24.0), "p_reverse": 0.5}

Spec = LayerSpec | FaultSpec | FaultedSpec | StyleSpec

SPECS: dict[str, Spec] = {
    "FlatVel-A": _FLAT_A,
    "FlatVel-B": _FLAT_B,
    "CurveVel-A": _CURVE_A,
    "CurveVel-B": _CURVE_B,
    "FlatFault-A": _FLAT_FAULT_A,
    "FlatFault-B": _FLAT_FAULT_B,
    "CurveFault-A": _CURVE_FAULT_A,
    "CurveFault-B": _CURVE_FAULT_B,
    "Style-A": StyleSpec(),
    "Style-B": StyleSpec(
        corr_z=(2.0, 6.0),
        corr_x=(4.0, 14.0),
        sigma=(300.0, 700.0),
        sharpness=(1.0, 3.0),
        detail=0.5,
        detail_corr=(1.5, 3.0),
    ),
}
"""The parameters of every family's newest generator: the single source of what ``generate`` draws."""

LEGACY_SPECS: dict[str, dict[int, Spec]] = {
    "FlatFault-A": {0: FaultSpec(_FLAT_A, **_FAULT_A_V0)},
    "FlatFault-B": {0: FaultSpec(_FLAT_B, **_FAULT_B_V0)},
    "CurveFault-A": {0: FaultSpec(_CURVE_A, **_FAULT_A_V0)},
    "CurveFault-B": {0: FaultSpec(_CURVE_B, **_FAULT_B_V0)},
}
"""Older generator versions still drawn for the task ids built on them: ``family -> {version: spec}``."""

NEWEST_VERSION: dict[str, int] = {f: 1 if f in LEGACY_SPECS else 0 for f in FAMILIES}
"""The version :data:`SPECS` describes, per family (bump it when a family's maps change)."""

VERSIONS: dict[str, tuple[int, ...]] = {
    f: (*sorted(LEGACY_SPECS.get(f, {})), NEWEST_VERSION[f]) for f in FAMILIES
}
"""Generator versions of each family, oldest first; the last is what ``generate`` draws by default."""


def family_spec(family: str, version: int | None = None) -> Spec:
    """The spec of one generator version of a family (``None``: the newest).

    Raises:
        ValueError: Unknown family, or a version the family does not have.
    """
    name = canonical_family(family)
    if version is None:
        return SPECS[name]
    versions = VERSIONS[name]
    if isinstance(version, bool) or not isinstance(version, (int, np.integer)) or version not in versions:
        raise ValueError(f"{name} has generator versions {', '.join(map(str, versions))}, got {version!r}")
    return SPECS[name] if version == NEWEST_VERSION[name] else LEGACY_SPECS[name][int(version)]


def draw(rng: np.random.Generator, n: int, shape: tuple[int, int], spec: Spec) -> np.ndarray:
    """Draw ``n`` maps ``(n, nz, nx)`` m/s from a spec (no validation, no rounding).

    Args:
        rng: Random generator (advanced in place).
        n: Number of maps.
        shape: ``(nz, nx)``.
        spec: A :class:`LayerSpec`, :class:`FaultSpec`, :class:`FaultedSpec` or :class:`StyleSpec`.
    """
    if isinstance(spec, FaultedSpec):
        return faulted_layers(rng, n, shape, spec)
    if isinstance(spec, FaultSpec):
        return faulted(rng, n, shape, spec)
    if isinstance(spec, StyleSpec):
        return styled(rng, n, shape, spec)
    return layered(rng, n, shape, spec)


def canonical_family(family: str) -> str:
    """Return the canonical spelling of ``family`` (case, ``-``/``_`` and spaces are ignored).

    Raises:
        ValueError: For an unknown family, naming the closest matches.
    """
    key = _normalise(family)
    for name in FAMILIES:
        if _normalise(name) == key:
            return name
    close = difflib.get_close_matches(str(family), FAMILIES, n=3, cutoff=0.4)
    if not close:
        by_key = {_normalise(f): f for f in FAMILIES}
        close = [by_key[k] for k in difflib.get_close_matches(key, list(by_key), n=3, cutoff=0.4)]
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ValueError(f"unknown velocity family {family!r}{hint} (families: {', '.join(FAMILIES)})")


def generate(
    family: str,
    n: int,
    seed: int | np.random.Generator,
    *,
    shape: tuple[int, int] = (70, 70),
    version: int | None = None,
) -> np.ndarray:
    """Draw ``n`` velocity maps of one OpenFWI family.

    Args:
        family: One of :data:`FAMILIES` (case and ``-``/``_`` are not significant).
        n: Number of maps (0 gives an empty batch).
        seed: An integer seed, or a ``np.random.Generator`` that is advanced in place.
        shape: Map shape ``(nz, nx)`` in cells (depth, horizontal), each at least 4.
        version: Generator version (one of ``VERSIONS[family]``; ``None``: the newest).

    Returns:
        ``(n, 1, nz, nx)`` float32 velocities in m/s, integer-valued, within 1500–4500.

    Raises:
        ValueError: Unknown family or version, negative ``n`` or a bad shape.
        TypeError: ``seed`` is neither an integer nor a ``np.random.Generator``.

    Example:
        >>> maps = generate("CurveVel-A", 8, seed=0)
        >>> maps.shape
        (8, 1, 70, 70)
    """
    spec = family_spec(family, version)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    nz, nx = _check_shape(shape)
    rng = _as_rng(seed)
    if n == 0:
        return np.zeros((0, 1, nz, nx), dtype=np.float32)
    maps = draw(rng, int(n), (nz, nx), spec)
    maps = np.clip(np.rint(maps), V_MIN, V_MAX).astype(np.float32, copy=False)
    return maps[:, None]


def _normalise(name: str) -> str:
    return "".join(ch for ch in str(name).lower() if ch.isalnum())


def _check_shape(shape: tuple[int, int]) -> tuple[int, int]:
    try:
        nz, nx = (int(v) for v in shape)
    except (TypeError, ValueError):
        raise ValueError(f"shape must be two integers (nz, nx), got {shape!r}") from None
    if nz < 4 or nx < 4 or (nz, nx) != tuple(shape):
        raise ValueError(f"shape must be two integers >= 4, got {shape!r}")
    return nz, nx


def _as_rng(seed: int | np.random.Generator) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int or a numpy Generator, got {type(seed).__name__}")
    return np.random.default_rng(int(seed))
