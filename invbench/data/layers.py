"""Layered velocity models (the Vel families and the background of the Fault families).

A layered map is described by ``N`` nominal layers of equal nominal thickness ``T = nz / N``.
Boundary ``k`` (``k = 0 .. N-1``) lies at depth ``(k + 1) T + delta + eps_k + c(x)`` cells, where

* ``delta`` shifts the whole stack (a random phase, ``|delta| <= phase * T``),
* ``eps_k`` is a small per-boundary jitter (Gaussian, in cells),
* ``c(x)`` is a shared fold curve: zero for flat layers, a sum of random sinusoids for curved
  layers, so all boundaries of a map are parallel (as in OpenFWI's CurveVel maps).

The deepest nominal boundary sits near the bottom of the map, so ``N`` or ``N + 1`` layers are
visible. Each map gets ``N + 1`` layer velocities. Lengths (thickness, fold amplitude and
wavelength, jitter) are given for a 70-cell-deep map and scale with ``nz / 70``, so other grid
shapes show the same geology (a wider map is a wider window onto it).

This structure was measured on the real FlatVel-A and CurveVel-A maps (see ``docs/data.md``).
Everything here is vectorised over the batch; the only Python loops run over layer indices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from invbench.physics.wave.units import V_MAX, V_MIN

REFERENCE_DEPTH = 70
_CHUNK = 1024  # maps rendered at once, to bound temporary memory


@dataclass(frozen=True)
class LayerSpec:
    """How to draw a layered map (one spec per family version).

    Attributes:
        n_layers: Inclusive range of the nominal layer count ``N`` (uniform).
        phase: Half-width of the stack shift ``delta`` as a fraction of ``T``.
        jitter: Standard deviation of the per-boundary jitter, in cells at ``nz = 70``.
        fold_components: Number of sinusoids in the fold curve (0 for flat layers).
        fold_amplitude: Largest amplitude of one sinusoid, in cells at ``nz = 70``.
        fold_cycles: Range of sinusoid frequencies, in cycles per 70 cells.
        fold_skew: Amplitudes are ``fold_amplitude * u ** fold_skew`` with ``u`` uniform in [0, 1]:
            values above 1 give many gentle folds and a few strong ones.
        monotonic: Velocities sorted so they never decrease with depth (version A).
        min_step: Smallest velocity step between adjacent layers, m/s (non-monotonic maps).
        max_step: Largest velocity step between adjacent layers, m/s (non-monotonic maps).
        p_increase: Probability that a step goes up (non-monotonic maps).
    """

    n_layers: tuple[int, int]
    phase: float = 0.5
    jitter: float = 0.35
    fold_components: int = 0
    fold_amplitude: float = 0.0
    fold_cycles: tuple[float, float] = (0.5, 3.5)
    fold_skew: float = 1.0
    monotonic: bool = True
    min_step: float = 300.0
    max_step: float = 1200.0
    p_increase: float = 0.75


def depth_scale(nz: int) -> float:
    """Length scale factor of a map ``nz`` cells deep relative to OpenFWI's 70."""
    return nz / REFERENCE_DEPTH


def sample_boundaries(
    rng: np.random.Generator, n: int, shape: tuple[int, int], spec: LayerSpec
) -> tuple[np.ndarray, np.ndarray]:
    """Draw layer boundaries for ``n`` maps.

    Args:
        rng: Random generator (advanced in place).
        n: Number of maps.
        shape: Map shape ``(nz, nx)``.
        spec: Family parameters.

    Returns:
        ``(boundaries, n_layers)``: boundary depths in cells, shape ``(n, kmax, nx)`` float64 with
        ``+inf`` for unused slots (``kmax = spec.n_layers[1]``), and the nominal layer count ``N``
        per map, shape ``(n,)`` int64.
    """
    nz, nx = shape
    s = depth_scale(nz)
    lo, hi = spec.n_layers
    kmax = hi
    n_layers = rng.integers(lo, hi + 1, size=n)
    thick = nz / n_layers
    delta = rng.uniform(-spec.phase, spec.phase, size=n) * thick
    eps = rng.standard_normal((n, kmax)) * (spec.jitter * s)
    k = np.arange(kmax)
    base = (k + 1) * thick[:, None] + delta[:, None] + eps
    base[k[None, :] >= n_layers[:, None]] = np.inf
    fold = sample_fold(rng, n, nx, s, spec)
    bounds = base[:, :, None] + fold[:, None, :]
    # Quantise: a last-bit difference between machines would have to sit on a rounding edge.
    return np.round(bounds, 6), n_layers


def sample_fold(rng: np.random.Generator, n: int, nx: int, s: float, spec: LayerSpec) -> np.ndarray:
    """Fold curve ``c(x)`` shared by all boundaries of a map, shape ``(n, nx)`` (cells).

    Args:
        rng: Random generator.
        n: Number of maps.
        nx: Map width in cells.
        s: Length scale factor (``nz / 70``).
        spec: Family parameters; ``fold_components == 0`` gives flat layers.
    """
    m = spec.fold_components
    if m == 0:
        return np.zeros((n, nx))
    amp = spec.fold_amplitude * s * rng.random((n, m)) ** spec.fold_skew
    cycles = rng.uniform(*spec.fold_cycles, size=(n, m))
    phase = rng.uniform(0.0, 2.0 * np.pi, size=(n, m))
    x = np.arange(nx) / (REFERENCE_DEPTH * s)  # in units of 70 reference cells
    arg = 2.0 * np.pi * cycles[:, :, None] * x[None, None, :] + phase[:, :, None]
    return np.einsum("nm,nmx->nx", amp, np.sin(arg))


def sample_velocities(
    rng: np.random.Generator, n_layers: np.ndarray, kmax: int, spec: LayerSpec
) -> np.ndarray:
    """Velocities of the ``N + 1`` layers of each map, shape ``(n, kmax + 1)`` int64, m/s.

    Version A (``spec.monotonic``): ``N + 1`` integers drawn uniformly from 1500–4500 and sorted,
    so each column is non-decreasing with depth (slots past ``N`` hold ``V_MAX``). Otherwise a
    random walk from a shallow start with steps of ``min_step``–``max_step`` m/s, mostly upward,
    reflected into 1500–4500: higher contrast, and low-velocity layers may lie under fast ones.

    Args:
        rng: Random generator.
        n_layers: Nominal layer count per map, shape ``(n,)``.
        kmax: Largest layer count of the family (number of boundary slots).
        spec: Family parameters.
    """
    n = n_layers.shape[0]
    slots = np.arange(kmax + 1)
    if spec.monotonic:
        lo, hi = int(V_MIN), int(V_MAX)  # integer velocities, as OpenFWI's maps
        vals = rng.integers(lo, hi + 1, size=(n, kmax + 1))
        vals[slots[None, :] > n_layers[:, None]] = hi + 1
        vals = np.sort(vals, axis=1)
        return np.minimum(vals, hi)
    start = rng.uniform(V_MIN, V_MIN + 1200.0, size=(n, 1))
    size = rng.uniform(spec.min_step, spec.max_step, size=(n, kmax))
    sign = np.where(rng.random((n, kmax)) < spec.p_increase, 1.0, -1.0)
    walk = np.concatenate([start, start + np.cumsum(size * sign, axis=1)], axis=1)
    width = float(V_MAX - V_MIN)
    folded = np.mod(walk - V_MIN, 2.0 * width)
    vals = V_MIN + np.where(folded > width, 2.0 * width - folded, folded)
    return np.rint(vals).astype(np.int64)


def render(
    boundaries: np.ndarray,
    velocities: np.ndarray,
    nz: int,
    depth_shift: np.ndarray | None = None,
) -> np.ndarray:
    """Paint layer velocities onto the grid.

    A cell at row ``z`` (centre ``z + 0.5``) lies in layer ``k`` when ``k`` boundaries are above
    it. ``depth_shift`` (cells, shape ``(n, nz, nx)``) moves material vertically: the cell shows
    what lies at depth ``z + 0.5 - shift`` in the unfaulted model (used for faults).

    Args:
        boundaries: Boundary depths, ``(n, kmax, nx)`` (``+inf`` for unused slots).
        velocities: Layer velocities, ``(n, kmax + 1)``.
        nz: Map depth in cells.
        depth_shift: Optional vertical displacement field.

    Returns:
        Velocity maps, ``(n, nz, nx)`` float32.
    """
    n, kmax, nx = boundaries.shape
    out = np.empty((n, nz, nx), dtype=np.float32)
    zc = (np.arange(nz, dtype=np.float32) + 0.5)[None, :, None]
    bounds32 = boundaries.astype(np.float32)  # exact IEEE rounding: identical on every machine
    for a in range(0, n, _CHUNK):
        b = min(n, a + _CHUNK)
        depth = zc if depth_shift is None else zc - depth_shift[a:b].astype(np.float32)
        depth = np.broadcast_to(depth, (b - a, nz, nx))
        idx = np.zeros((b - a, nz, nx), dtype=np.int8)
        for k in range(kmax):
            idx += depth >= bounds32[a:b, k, None, :]
        out[a:b] = velocities[a:b][np.arange(b - a)[:, None, None], idx]
    return out


def layered(rng: np.random.Generator, n: int, shape: tuple[int, int], spec: LayerSpec) -> np.ndarray:
    """Layered maps (FlatVel / CurveVel), shape ``(n, nz, nx)`` float32 m/s.

    Args:
        rng: Random generator.
        n: Number of maps.
        shape: ``(nz, nx)``.
        spec: Family parameters.
    """
    bounds, n_layers = sample_boundaries(rng, n, shape, spec)
    vels = sample_velocities(rng, n_layers, spec.n_layers[1], spec)
    return render(bounds, vels, shape[0])
