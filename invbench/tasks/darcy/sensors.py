"""Pieces of a Darcy instance: the sensor layouts and the family constants.

Sensors sit at cell centres of the ``n x n`` finite-volume grid (see
:mod:`invbench.physics.darcy.fv`: ``u[i, j]`` is the head at ``x = (j + 1/2)/n``, ``y = (i + 1/2)/n``).
A layout is a sorted array of flat cell indices ``i * n + j`` plus the ``(x, y)`` coordinates of those
cell centres; the sensor data are ``u.reshape(-1)[cells]``.

Layouts:

* ``grid``: ``s x s`` sensors with ``s = sqrt(count)``, one in the cell containing each point
  ``((a + 1/2)/s, (b + 1/2)/s)``, ``a, b = 0..s-1`` (the upper cell when the point lies on a cell face),
  so the count must be a perfect square with ``s <= n``;
* ``random``: ``count`` distinct cells drawn uniformly (seeded per instance);
* ``custom``: user coordinates in ``[0, 1]^2``, each mapped to the cell that contains it (a point on the
  right or top edge goes to the last cell); two sensors in one cell are refused.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

SENSOR_LAYOUTS = ("grid", "random", "custom")
LOG_K_MIN = -8.0
"""Lower bound of the log-conductivity action range (natural log of k)."""
LOG_K_MAX = 8.0
"""Upper bound of the log-conductivity action range."""


@dataclass(frozen=True)
class FamilySpec:
    """Constants of one conductivity family.

    Attributes:
        name: Family name as used in task ids (``"GRF"``, ``"Bimaterial"``).
        center: Prior mean of log k: the constant initial guess and the solvers' ``field_center``.
        scale: Typical deviation of log k from ``center``: the solvers' ``field_scale``.
    """

    name: str
    center: float
    scale: float


FAMILIES: dict[str, FamilySpec] = {
    # grf_log_k(mean=0, std=1): log k has prior mean 0 and expected spatial std 1.
    "GRF": FamilySpec("GRF", center=0.0, scale=1.0),
    # bimaterial_log_k: log 3 or log 12, each phase with probability 1/2 (the underlying field is
    # symmetric), so the prior mean is log 6 and both phases lie log 2 away from it.
    "Bimaterial": FamilySpec("Bimaterial", center=float(np.log(6.0)), scale=float(np.log(2.0))),
}


@dataclass(frozen=True)
class SensorLayout:
    """Where the heads are measured.

    Attributes:
        cells: Flat cell indices ``i * n + j`` (row ``i`` = y, column ``j`` = x), shape ``(S,)``, int64.
        coords: ``(x, y)`` of the sensor cell centres, shape ``(S, 2)``, float32, in ``[0, 1]^2``.
    """

    cells: np.ndarray
    coords: np.ndarray

    @property
    def count(self) -> int:
        """Number of sensors."""
        return int(self.cells.shape[0])


def _from_cells(cells: np.ndarray, n: int) -> SensorLayout:
    cells = np.sort(np.asarray(cells, dtype=np.int64))
    rows, cols = np.divmod(cells, n)
    coords = np.stack([(cols + 0.5) / n, (rows + 0.5) / n], axis=1).astype(np.float32)
    return SensorLayout(cells=cells, coords=coords)


def grid_layout(count: int, n: int) -> SensorLayout:
    """A regular ``s x s`` sensor grid (``count = s^2``) on an ``n x n`` grid.

    Raises:
        ValueError: If ``count`` is not a perfect square or ``sqrt(count) > n``.
    """
    s = math.isqrt(max(count, 0))
    if count < 1 or s * s != count:
        raise ValueError(
            f"a 'grid' sensor layout needs a perfect-square count (16, 64, 256, ...), got {count}; "
            "use sensor_layout='random' for other counts"
        )
    if s > n:
        raise ValueError(f"{count} grid sensors ({s} per side) do not fit on a {n} x {n} grid")
    idx = ((2 * np.arange(s) + 1) * n) // (2 * s)
    return _from_cells((idx[:, None] * n + idx[None, :]).ravel(), n)


def random_layout(count: int, n: int, rng: np.random.Generator) -> SensorLayout:
    """``count`` distinct cells drawn uniformly from the ``n x n`` grid.

    Raises:
        ValueError: If ``count`` is not in ``[1, n^2]``.
    """
    if not 1 <= count <= n * n:
        raise ValueError(f"{count} random sensors do not fit on a {n} x {n} grid (1 to {n * n} cells)")
    return _from_cells(rng.choice(n * n, size=count, replace=False), n)


def custom_layout(coords: Sequence[Sequence[float]] | np.ndarray, n: int) -> SensorLayout:
    """Sensors at user coordinates, each snapped to the centre of the cell that contains it.

    Args:
        coords: ``(S, 2)`` array-like of ``(x, y)`` points in ``[0, 1]^2``.
        n: Grid size.

    Raises:
        ValueError: On a wrong shape, non-finite or out-of-domain points, or two points in one cell.
    """
    try:
        pts = np.asarray(coords, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError("sensor_coords must be a numeric (S, 2) array of (x, y) points") from e
    if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] < 1:
        raise ValueError(f"sensor_coords must have shape (S, 2) with S >= 1, got {pts.shape}")
    if not np.all(np.isfinite(pts)):
        raise ValueError("sensor_coords contains NaN or inf")
    outside = np.any((pts < 0.0) | (pts > 1.0), axis=1)
    if outside.any():
        k = int(np.argmax(outside))
        raise ValueError(
            f"{int(outside.sum())} sensor(s) lie outside the domain [0, 1]^2, e.g. sensor {k} at "
            f"(x, y) = ({pts[k, 0]:.6g}, {pts[k, 1]:.6g})"
        )
    cols = np.minimum((pts[:, 0] * n).astype(np.int64), n - 1)
    rows = np.minimum((pts[:, 1] * n).astype(np.int64), n - 1)
    cells = rows * n + cols
    if np.unique(cells).size != cells.size:
        raise ValueError(f"two or more sensor_coords fall in the same cell of the {n} x {n} grid")
    return _from_cells(cells, n)


def sensor_layout(
    layout: str,
    count: int,
    n: int,
    *,
    coords: Sequence[Sequence[float]] | np.ndarray | None = None,
    rng: np.random.Generator | None = None,
) -> SensorLayout:
    """Build a layout by name (see the module docstring).

    Args:
        layout: ``"grid"``, ``"random"`` or ``"custom"``.
        count: Number of sensors (ignored for ``"custom"``).
        n: Grid size.
        coords: The points of a ``"custom"`` layout.
        rng: Random generator of a ``"random"`` layout (seeded per instance).

    Raises:
        ValueError: On an unknown layout or sensors that do not fit.
    """
    if layout == "grid":
        return grid_layout(count, n)
    if layout == "random":
        if rng is None:
            raise ValueError("a 'random' sensor layout needs a random generator")
        return random_layout(count, n, rng)
    if layout == "custom":
        if coords is None:
            raise ValueError("a 'custom' sensor layout needs sensor_coords")
        return custom_layout(coords, n)
    raise ValueError(f"unknown sensor layout {layout!r}; expected one of {SENSOR_LAYOUTS}")
