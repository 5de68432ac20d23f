"""Acquisition geometry shared by the wave-physics solvers.

The defaults are OpenFWI's acquisition (Deng et al. 2022): a 70 x 70 grid with 10 m cells,
1 ms time step and 1000 samples, five sources at x-index 0, 17, 34, 52, 69 and depth index 1,
70 receivers at depth index 1 (every column), and a 15 Hz Ricker wavelet.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


def _openfwi_sources() -> tuple[int, ...]:
    return (0, 17, 34, 52, 69)


def _openfwi_receivers() -> tuple[int, ...]:
    return tuple(range(70))


@dataclass(frozen=True)
class Acquisition:
    """A 2D surface acquisition on a regular grid.

    Attributes:
        nz: Number of grid cells in depth.
        nx: Number of grid cells laterally.
        dx: Grid spacing in metres (same in both directions).
        dt: Time step of the recorded data in seconds.
        nt: Number of recorded time samples.
        src_x: Lateral grid indices of the sources (one shot per source).
        src_z: Depth grid index of every source.
        rec_x: Lateral grid indices of the receivers (the same for every shot).
        rec_z: Depth grid index of every receiver.
        freq: Peak frequency of the Ricker source wavelet in Hz.
    """

    nz: int = 70
    nx: int = 70
    dx: float = 10.0
    dt: float = 1e-3
    nt: int = 1000
    src_x: tuple[int, ...] = field(default_factory=_openfwi_sources)
    src_z: int = 1
    rec_x: tuple[int, ...] = field(default_factory=_openfwi_receivers)
    rec_z: int = 1
    freq: float = 15.0

    def __post_init__(self) -> None:
        if self.nz < 2 or self.nx < 2:
            raise ValueError(f"Acquisition grid must be at least 2 x 2, got {self.nz} x {self.nx}")
        if self.dx <= 0 or self.dt <= 0 or self.nt < 1 or self.freq <= 0:
            raise ValueError("Acquisition dx, dt, nt and freq must be positive")
        for name, idx, n in (("src_x", self.src_x, self.nx), ("rec_x", self.rec_x, self.nx)):
            if len(idx) == 0 or min(idx) < 0 or max(idx) >= n:
                raise ValueError(f"Acquisition {name} must be non-empty indices in [0, {n}), got {idx}")
        for name, z in (("src_z", self.src_z), ("rec_z", self.rec_z)):
            if not 0 <= z < self.nz:
                raise ValueError(f"Acquisition {name}={z} is outside the grid depth [0, {self.nz})")

    @property
    def n_shots(self) -> int:
        """Number of shots (one source per shot)."""
        return len(self.src_x)

    @property
    def n_receivers(self) -> int:
        """Number of receivers per shot."""
        return len(self.rec_x)

    @property
    def model_shape(self) -> tuple[int, int]:
        """Velocity model shape ``(nz, nx)``."""
        return (self.nz, self.nx)

    @property
    def data_shape(self) -> tuple[int, int, int]:
        """Seismic data shape of one instance, OpenFWI order ``(shot, time, receiver)``."""
        return (self.n_shots, self.nt, self.n_receivers)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON representation (tuples become lists)."""
        d = asdict(self)
        d["src_x"] = list(self.src_x)
        d["rec_x"] = list(self.rec_x)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Acquisition:
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        d["src_x"] = tuple(d["src_x"])
        d["rec_x"] = tuple(d["rec_x"])
        return cls(**d)


OPENFWI = Acquisition()
"""OpenFWI's default acquisition (70 x 70, 5 shots, 70 receivers, 1000 samples at 1 ms)."""

TINY = Acquisition(nz=32, nx=32, nt=500, src_x=(0, 16, 31), rec_x=tuple(range(32)))
"""A small acquisition for tests and the smoke suite: 32 x 32, 3 shots, 32 receivers, 0.5 s."""

WIDE = Acquisition(nx=190, src_x=(0, 47, 95, 142, 189), rec_x=tuple(range(190)))
"""A wide 70 x 190 acquisition (5 shots, 190 receivers) for models wider than a 70 x 70 prior."""

PRESETS: dict[str, Acquisition] = {"openfwi": OPENFWI, "tiny": TINY, "wide": WIDE}


def acquisition_preset(spec: str | dict[str, Any] | Acquisition) -> Acquisition:
    """Resolve an acquisition given by preset name, plain dict or instance.

    Raises:
        ValueError: For an unknown preset name.
    """
    if isinstance(spec, Acquisition):
        return spec
    if isinstance(spec, dict):
        return Acquisition.from_dict(spec)
    if spec not in PRESETS:
        raise ValueError(f"unknown acquisition preset {spec!r}; expected one of {sorted(PRESETS)}")
    return PRESETS[spec]
