"""Faulted layered maps: the FlatFault and CurveFault families, generator version 1.

Rebuilt from 300 real CurveFault-A maps (OpenFWI's test split; ``docs/data.md`` shows them beside ours
and gives the numbers). What those maps show, and how each part is drawn here:

* **A few thick layers.** Real CurveFault-A maps have four velocity plateaus of 15–30 cells each, flat
  or gently bent (never folded like CurveVel). Boundary ``k`` lies at the sum of ``k + 1`` thicknesses
  ``min_thickness + Exponential(extra_thickness)``; the last layer is whatever is left. Curve versions
  bend all boundaries of a map with one smooth step (a flexure), Flat versions do not.
* **Velocities in bands.** In the real maps the upper two layers lie in 1500–3000 m/s and the lower
  two in 3000–4500 m/s, each pair sorted. Version A splits the range into ``velocity_bands`` equal
  bands, gives each band its share of the layers and sorts within it (so velocity never decreases
  with depth before faulting). Version B uses the B layered model's random walk instead.
* **Soft interfaces.** Real interfaces are two cells wide with intermediate values, as if a sharp
  map had been resampled: each boundary is rendered as a Gaussian-blurred step
  (``Phi((z - b) / edge_sigma)``), exact for a flat boundary and cheap to evaluate.
* **One or two faults.** A straight fault through ``(z0, x0)`` dips left or right; the block on the
  side it dips towards (the hanging wall) shows the layered model ``throw`` cells higher (normal
  fault) or lower (reverse fault). The displacement switches on smoothly across the fault plane
  (width ``fault_sigma`` cells), so the fault is resolved like the interfaces. A second fault forms
  a block with the first (graben or horst); when it is antithetic it lives only in the first
  fault's hanging wall and ends against it, as such faults do.
* **A low-velocity streak along each fault plane.** Real fault planes carry a one-cell line of
  slightly slower values (0–3 % below the rock around, dotted where the plane crosses pixel
  centres at different offsets) even where both sides are the same layer. Modelled as a Gaussian
  dip of depth ``gouge`` and width ``gouge_width`` around the plane: geologically a fault's gouge
  zone, here mainly the artefact of how OpenFWI cut its maps, kept because it is part of what the
  benchmark's maps look like. Fault traces are quantised to 1/8 cell (and
  boundary depths to 1/4 cell), which keeps the number of
  distinct values along them near the real count.

Lengths are in cells at ``nz = 70`` and scale with ``nz / 70``; ``edge_sigma``, ``fault_sigma`` and
``gouge_width`` are in pixels (they describe the raster, not the geology). Everything is vectorised
over the batch in chunks; the only Python loops run over layer indices, faults and chunks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from invbench.data.layers import LayerSpec, depth_scale, sample_velocities
from invbench.physics.wave.units import V_MAX, V_MIN

_CHUNK = 256  # maps rendered at once: four (chunk, nz, nx) float64 arrays per fault level
_TRACE_STEP = 1.0 / 8.0  # fault traces snap to 1/8 cell
_DEPTH_STEP = 1.0 / 4.0  # boundary depths snap to 1/4 cell
_OFF = 1e9  # depth of an unused boundary slot (far below any map)


@dataclass(frozen=True)
class FaultedSpec:
    """How to draw a faulted layered map (one spec per family version).

    Attributes:
        n_layers: Inclusive range of the number of layers (uniform); deeper ones may lie below the map.
        min_thickness: Smallest layer thickness, cells at ``nz = 70``.
        extra_thickness: Mean of the exponential thickness added to ``min_thickness``, cells.
        velocity_bands: Version A: number of equal velocity bands the layers are spread over.
        walk: Version B: the layered spec whose random walk draws the velocities (``None`` for A).
        p_flexure: Probability that a map's boundaries bend by one smooth step (0 for Flat families).
        flexure_amplitude: Range of the step's height, cells.
        flexure_width: Range of the step's half-width, cells.
        edge_sigma: Blur of the layer interfaces, pixels.
        p_second: Probability of a second fault.
        p_antithetic: Probability that a second fault dips the other way and ends against the first.
        separation: Range of the horizontal distance between the two faults at their centres, cells.
        dip_deg: Range of the dip angle from horizontal, degrees.
        throw: Range of the vertical offset, cells.
        second_throw: The second fault's throw as a fraction of a draw from ``throw`` (real
            two-fault maps offset their layers less than two full faults would).
        p_reverse: Probability that a fault's hanging wall moves up instead of down.
        x_range: Range of the first fault's centre, as a fraction of the width.
        z_range: Range of the fault centres' depth, as a fraction of the depth.
        fault_sigma: Width over which the displacement switches on across a fault, pixels.
        gouge: Upper end of the streak's depth (uniform from 0), as a fraction of the velocity.
        gouge_width: Standard deviation of the streak across the fault plane, pixels.
    """

    n_layers: tuple[int, int] = (4, 4)
    min_thickness: float = 15.0
    extra_thickness: float = 3.4
    velocity_bands: int = 2
    walk: LayerSpec | None = None
    p_flexure: float = 0.0
    flexure_amplitude: tuple[float, float] = (2.0, 6.0)
    flexure_width: tuple[float, float] = (3.0, 12.0)
    edge_sigma: float = 0.47
    p_second: float = 0.18
    p_antithetic: float = 0.75
    separation: tuple[float, float] = (12.0, 40.0)
    dip_deg: tuple[float, float] = (34.0, 85.0)
    throw: tuple[float, float] = (5.0, 11.0)
    second_throw: float = 0.6
    p_reverse: float = 0.35
    x_range: tuple[float, float] = (0.2, 0.8)
    z_range: tuple[float, float] = (0.3, 0.7)
    fault_sigma: float = 0.38
    gouge: float = 0.026
    gouge_width: float = 0.31


@dataclass(frozen=True)
class Faults:
    """Two fault slots per map (arrays of shape ``(n, 2)``; slot 1 has ``throw == 0`` when absent).

    Attributes:
        x0: Horizontal position of the fault at depth ``z0``, cells.
        z0: Depth of the fault's centre, cells.
        dip: Dip angle from horizontal, radians.
        side: ``+1`` when the fault plane goes down to the right, ``-1`` to the left.
        throw: Vertical displacement of the hanging wall, cells (``> 0`` down: normal fault).
        gouge: Relative depth of the low-velocity streak along the plane (0 when absent).
        antithetic: Shape ``(n,)``: whether slot 1 exists only in slot 0's hanging wall.
    """

    x0: np.ndarray
    z0: np.ndarray
    dip: np.ndarray
    side: np.ndarray
    throw: np.ndarray
    gouge: np.ndarray
    antithetic: np.ndarray

    def chunk(self, a: int, b: int) -> Faults:
        """The faults of maps ``a .. b - 1``."""
        return Faults(*(getattr(self, f)[a:b] for f in self.__dataclass_fields__))


def sample_boundaries(
    rng: np.random.Generator, n: int, shape: tuple[int, int], spec: FaultedSpec
) -> tuple[np.ndarray, np.ndarray]:
    """Boundary depths before faulting, shape ``(n, kmax, nx)`` cells, and the layer count per map.

    Unused slots (maps with fewer than ``kmax + 1`` layers) sit at a depth far below the map.

    Args:
        rng: Random generator (advanced in place).
        n: Number of maps.
        shape: ``(nz, nx)``.
        spec: Family parameters.
    """
    nz, nx = shape
    s = depth_scale(nz)
    lo, hi = spec.n_layers
    n_layers = rng.integers(lo, hi + 1, size=n)
    kmax = hi - 1
    thick = (spec.min_thickness + rng.exponential(spec.extra_thickness, (n, kmax))) * s
    depth = np.cumsum(thick, axis=1)
    depth[np.arange(kmax)[None, :] >= n_layers[:, None] - 1] = _OFF
    bounds = depth[:, :, None] + _flexure(rng, n, nx, s, spec)[:, None, :]
    # Snap to a quarter cell: the real maps' interfaces take few sub-cell positions (a bend repeats
    # the same intermediate values along it), which keeps the count of distinct values real-like;
    # it also makes the depths machine-independent.
    return np.round(bounds / _DEPTH_STEP) * _DEPTH_STEP, n_layers


def _flexure(rng: np.random.Generator, n: int, nx: int, s: float, spec: FaultedSpec) -> np.ndarray:
    """One smooth step per map shared by all its boundaries, shape ``(n, nx)`` cells (0 when flat)."""
    bent = rng.random(n) < spec.p_flexure
    height = rng.uniform(*spec.flexure_amplitude, size=n) * s * np.where(rng.random(n) < 0.5, -1.0, 1.0)
    centre = rng.uniform(0.1, 0.9, size=n) * nx
    width = rng.uniform(*spec.flexure_width, size=n) * s
    x = np.arange(nx) + 0.5
    step = 0.5 * np.tanh((x[None, :] - centre[:, None]) / width[:, None])
    return (bent * height)[:, None] * step


def sample_layer_velocities(rng: np.random.Generator, n_layers: np.ndarray, spec: FaultedSpec) -> np.ndarray:
    """Velocities of each map's layers, top to bottom, shape ``(n, kmax + 1)`` m/s (integers).

    Version A: the range 1500–4500 is split into ``velocity_bands`` equal bands; layer ``j`` of ``N``
    falls in band ``floor(j * bands / N)``, draws a uniform integer there, and the layers of one band
    are sorted. Version B (``spec.walk``): the B layered model's random walk, so slow layers may lie
    under fast ones. Slots past a map's ``N`` layers are never shown.

    Args:
        rng: Random generator.
        n_layers: Number of layers per map, shape ``(n,)``.
        spec: Family parameters.
    """
    kmax = spec.n_layers[1] - 1
    if spec.walk is not None:
        return sample_velocities(rng, n_layers - 1, kmax, spec.walk).astype(np.float64)
    n = n_layers.shape[0]
    slot = np.arange(kmax + 1)[None, :]
    band = np.minimum(slot * spec.velocity_bands // n_layers[:, None], spec.velocity_bands - 1)
    width = (V_MAX - V_MIN) / spec.velocity_bands
    low = V_MIN + band * width
    vals = np.rint(low + rng.random((n, kmax + 1)) * width)
    # Sorting by (band, value) keeps each band's layers together and ascending.
    order = np.argsort(band * 10.0 * V_MAX + vals, axis=1, kind="stable")
    return np.take_along_axis(vals, order, axis=1)


def sample_faults(rng: np.random.Generator, n: int, shape: tuple[int, int], spec: FaultedSpec) -> Faults:
    """Draw one or two faults per map.

    Args:
        rng: Random generator.
        n: Number of maps.
        shape: ``(nz, nx)``.
        spec: Family parameters.
    """
    nz, nx = shape
    s = depth_scale(nz)
    first = rng.uniform(*spec.x_range, size=n) * nx
    side0 = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    antithetic = rng.random(n) < spec.p_antithetic
    side1 = np.where(antithetic, -side0, side0)
    gap = rng.uniform(*spec.separation, size=n) * s * np.where(rng.random(n) < 0.5, -1.0, 1.0)
    second = first + gap
    outside = (second < 0.05 * nx) | (second > 0.95 * nx)
    second = np.where(outside, first - gap, second)  # keep the block inside the map,
    second = np.clip(second, 0.05 * nx, 0.95 * nx)  # also where neither side of the first fits it
    dip = np.deg2rad(rng.uniform(*spec.dip_deg, size=(n, 2)))
    throw = rng.uniform(*spec.throw, size=(n, 2)) * s * np.array([1.0, spec.second_throw])
    throw = np.where(rng.random((n, 2)) < spec.p_reverse, -throw, throw)
    present = np.stack([np.ones(n, dtype=bool), rng.random(n) < spec.p_second], axis=1)
    return Faults(
        x0=np.stack([first, second], axis=1),
        z0=rng.uniform(*spec.z_range, size=(n, 2)) * nz,
        dip=dip,
        side=np.stack([side0, side1], axis=1),
        throw=throw * present,
        gouge=rng.uniform(0.0, spec.gouge, size=(n, 2)) * present,
        antithetic=antithetic,
    )


def faulted_layers(rng: np.random.Generator, n: int, shape: tuple[int, int], spec: FaultedSpec) -> np.ndarray:
    """Faulted layered maps, shape ``(n, nz, nx)`` float64 m/s (not yet rounded or clipped).

    Args:
        rng: Random generator.
        n: Number of maps.
        shape: ``(nz, nx)``.
        spec: Family parameters.
    """
    bounds, n_layers = sample_boundaries(rng, n, shape, spec)
    vels = sample_layer_velocities(rng, n_layers, spec)
    faults = sample_faults(rng, n, shape, spec)
    out = np.empty((n, *shape))
    for a in range(0, n, _CHUNK):
        b = min(n, a + _CHUNK)
        out[a:b] = render(bounds[a:b], vels[a:b], faults.chunk(a, b), shape[0], spec)
    # Quantise before the caller rounds: last-bit differences in erf then almost never matter.
    return np.round(out, 4)


def render(bounds: np.ndarray, vels: np.ndarray, faults: Faults, nz: int, spec: FaultedSpec) -> np.ndarray:
    """Paint faulted maps from boundaries, velocities and faults.

    The younger fault (slot 1) displaces the map the older one (slot 0) made: a cell in its hanging
    wall (weight ``w1``) shows what lay ``throw1`` cells higher, so

    ``v(z) = (1 - w1) M0(z) + w1 M0(z - throw1)``, with ``M0(z) = (1 - w0) L(z) + w0 L(z - throw0)``,

    ``L`` the soft layered model and each ``w`` evaluated at the depth it is applied to. Then each
    fault's streak scales the result down along its plane.

    Args:
        bounds: Boundary depths, ``(n, kmax, nx)``.
        vels: Layer velocities, ``(n, kmax + 1)``.
        faults: The faults of these maps.
        nz: Map depth in cells.
        spec: Family parameters (the pixel widths).

    Returns:
        ``(n, nz, nx)`` float64 m/s.
    """
    n, _, nx = bounds.shape
    depth = np.broadcast_to((np.arange(nz) + 0.5)[None, :, None], (n, nz, nx))

    def older(d: np.ndarray) -> np.ndarray:
        w0 = hanging_wall(faults, 0, d, nx, spec.fault_sigma)
        return shifted(soft_layers_at(bounds, vels, spec.edge_sigma), d, w0, faults.throw[:, 0])

    w1 = hanging_wall(faults, 1, depth, nx, spec.fault_sigma)
    # An antithetic fault lives in the first fault's hanging wall only and ends against it.
    w0_here = hanging_wall(faults, 0, depth, nx, spec.fault_sigma)
    w1 = np.where(faults.antithetic[:, None, None], w1 * w0_here, w1)
    v = shifted(older, depth, w1, faults.throw[:, 1])
    for f in range(2):
        reach = np.where(faults.antithetic[:, None, None], w0_here, 1.0) if f == 1 else 1.0
        dist = plane_distance(faults, f, depth, nx)
        v = v * (1.0 - faults.gouge[:, f, None, None] * reach * np.exp(-0.5 * (dist / spec.gouge_width) ** 2))
    return v


def shifted(
    model: Callable[[np.ndarray], np.ndarray], depth: np.ndarray, weight: np.ndarray, throw: np.ndarray
) -> np.ndarray:
    """``(1 - weight) model(depth) + weight model(depth - throw)``, skipping the second term when unused."""
    here = model(depth)
    if not np.any(throw):
        return here
    return here + weight * (model(depth - throw[:, None, None]) - here)


def soft_layers_at(bounds: np.ndarray, vels: np.ndarray, sigma: float) -> Callable[[np.ndarray], np.ndarray]:
    """The soft layered model ``L(depth)``: velocity steps blurred by a Gaussian of ``sigma`` pixels.

    ``L(z, x) = v_0 + sum_k (v_{k+1} - v_k) Phi((z - b_k(x)) / sigma)``: a flat interface rendered as if
    blurred, with two intermediate cells like the real maps'.

    Args:
        bounds: Boundary depths, ``(n, kmax, nx)``.
        vels: Layer velocities, ``(n, kmax + 1)``.
        sigma: Interface blur, pixels.
    """
    from scipy.special import ndtr  # lazy: keeps ``import invbench.data`` numpy-only

    steps = np.diff(vels, axis=1)

    def model(depth: np.ndarray) -> np.ndarray:
        out = np.broadcast_to(vels[:, :1, None], depth.shape).copy()
        for k in range(bounds.shape[1]):
            out += steps[:, k, None, None] * ndtr((depth - bounds[:, k, None, :]) / sigma)
        return out

    return model


def fault_trace(faults: Faults, f: int, depth: np.ndarray) -> np.ndarray:
    """Horizontal position of fault ``f`` at each ``depth``, snapped to 1/8 cell."""
    x = faults.x0[:, f, None, None] + faults.side[:, f, None, None] * (
        depth - faults.z0[:, f, None, None]
    ) / np.tan(faults.dip[:, f, None, None])
    return np.round(x / _TRACE_STEP) * _TRACE_STEP


def plane_distance(faults: Faults, f: int, depth: np.ndarray, nx: int) -> np.ndarray:
    """Signed distance of each cell from fault ``f``'s plane, cells: positive in the hanging wall.

    The hanging wall is the side the plane dips towards: beyond the trace in the ``side`` direction.
    """
    x = np.arange(nx) + 0.5
    across = x[None, None, :] - fault_trace(faults, f, depth)
    return faults.side[:, f, None, None] * across * np.sin(faults.dip[:, f, None, None])


def hanging_wall(faults: Faults, f: int, depth: np.ndarray, nx: int, sigma: float) -> np.ndarray:
    """Soft indicator (0 to 1) of fault ``f``'s hanging wall, switching on over ``sigma`` pixels."""
    from scipy.special import ndtr

    return ndtr(plane_distance(faults, f, depth, nx) / sigma)
