"""One fault across a layered map: the legacy generator (version 0) of the FlatFault and CurveFault families.

Kept unchanged so the task ids built on it (``FWI-CurveFault-A-v0`` etc.) draw the same instances;
version 1 (:mod:`invbench.data.faulted`) is what the families draw now.

The fault is a straight dipping line through ``(z0, x0)``; the block on the side it dips towards
(the hanging wall) slides vertically by the throw. A cell in the hanging wall shows what lies
``throw`` cells higher (normal fault, ``throw > 0``) or lower (reverse fault) in the unfaulted
layered model, so layer boundaries are offset across the line and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from invbench.data.layers import LayerSpec, depth_scale, render, sample_boundaries, sample_velocities


@dataclass(frozen=True)
class FaultSpec:
    """How to draw the single fault of a map.

    Attributes:
        layers: The layered background.
        dip_deg: Range of the dip angle from horizontal, degrees.
        throw: Range of the vertical offset, in cells at ``nz = 70``.
        p_reverse: Probability that the hanging wall moves up (reverse fault) instead of down.
        x_range: Range of the fault's horizontal position at depth ``z0``, as a fraction of ``nx``.
        z_range: Range of ``z0`` as a fraction of ``nz``.
    """

    layers: LayerSpec
    dip_deg: tuple[float, float] = (50.0, 80.0)
    throw: tuple[float, float] = (4.0, 12.0)
    p_reverse: float = 0.0
    x_range: tuple[float, float] = (0.3, 0.7)
    z_range: tuple[float, float] = (0.3, 0.7)


def sample_fault_shift(
    rng: np.random.Generator, n: int, shape: tuple[int, int], spec: FaultSpec
) -> np.ndarray:
    """Vertical displacement field of one fault per map, shape ``(n, nz, nx)`` (cells).

    Args:
        rng: Random generator.
        n: Number of maps.
        shape: ``(nz, nx)``.
        spec: Fault parameters.
    """
    nz, nx = shape
    s = depth_scale(nz)
    x0 = rng.uniform(*spec.x_range, size=n) * nx
    z0 = rng.uniform(*spec.z_range, size=n) * nz
    dip = np.deg2rad(rng.uniform(*spec.dip_deg, size=n))
    side = np.where(rng.random(n) < 0.5, -1.0, 1.0)  # which way the fault plane dips
    throw = rng.uniform(*spec.throw, size=n) * s
    throw = np.where(rng.random(n) < spec.p_reverse, -throw, throw)
    zc = np.arange(nz) + 0.5
    xc = np.arange(nx) + 0.5
    x_fault = x0[:, None] + side[:, None] * (zc[None, :] - z0[:, None]) / np.tan(dip)[:, None]
    x_fault = np.round(x_fault, 6)  # machine-independent side tests
    hanging = side[:, None, None] * (xc[None, None, :] - x_fault[:, :, None]) > 0
    return hanging * throw[:, None, None]


def faulted(rng: np.random.Generator, n: int, shape: tuple[int, int], spec: FaultSpec) -> np.ndarray:
    """Layered maps cut by one fault each, shape ``(n, nz, nx)`` float32 m/s.

    Args:
        rng: Random generator.
        n: Number of maps.
        shape: ``(nz, nx)``.
        spec: Fault and layer parameters.
    """
    bounds, n_layers = sample_boundaries(rng, n, shape, spec.layers)
    vels = sample_velocities(rng, n_layers, spec.layers.n_layers[1], spec.layers)
    shift = sample_fault_shift(rng, n, shape, spec)
    return render(bounds, vels, shape[0], depth_shift=shift)
