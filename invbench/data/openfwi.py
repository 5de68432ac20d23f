"""Read real OpenFWI files that a user has downloaded.

OpenFWI ships each family as numbered ``.npy`` files of 500 maps each:

* Vel and Style families: ``model/model1.npy`` (velocity, ``(N, 1, 70, 70)``) paired with
  ``data/data1.npy`` (seismic, ``(N, 5, 1000, 70)``: shot, time, receiver);
* Fault families: ``vel2_1_0.npy`` paired with ``seis2_1_0.npy`` in one folder;
* some copies use ``vmodel*.npy`` for velocity files.

A velocity file pairs with the seismic file whose name has the same suffix (``model1``/``data1``,
``vel2_1_0``/``seis2_1_0``). Files are looked for in the folder and its direct subfolders.
``.npz`` archives holding an array ``model`` (and optionally ``data``) are accepted too.

``.npy`` files are memory-mapped, so opening a folder reads only headers plus the first map of
each file; value checks (NaN, 1500–4500 m/s) run per map when a map is read. ``.npz`` members
cannot be memory-mapped and are read whole on first use. Every problem raises
:class:`DataFileError` naming the file.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from invbench.physics.wave.units import V_MAX, V_MIN

VELOCITY_SHAPE = (1, 70, 70)
SEISMIC_SHAPE = (5, 1000, 70)
V_RANGE = (V_MIN, V_MAX)
_TOL = 1e-3  # m/s of slack on the range check
_VELOCITY_NAME = re.compile(r"^(?:vmodel|model|vel)(?P<key>.*)\.npy$", re.IGNORECASE)
_SEISMIC_NAME = re.compile(r"^(?:data|seis)(?P<key>.*)\.npy$", re.IGNORECASE)


class DataFileError(ValueError):
    """An OpenFWI file or folder is missing, unreadable or holds data of the wrong form."""


@dataclass
class _Source:
    """One array in one file: ``member`` is ``None`` for ``.npy``, the key for ``.npz``."""

    path: Path
    member: str | None
    shape: tuple[int, ...]
    dtype: np.dtype
    _array: np.ndarray | None = None

    def array(self) -> np.ndarray:
        if self._array is None:
            try:
                if self.member is None:
                    self._array = np.load(self.path, mmap_mode="r", allow_pickle=False)
                else:
                    with np.load(self.path, allow_pickle=False) as archive:
                        self._array = archive[self.member]
            except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
                raise DataFileError(f"{self.path}: cannot read array ({exc})") from exc
        return self._array

    def label(self) -> str:
        return str(self.path) if self.member is None else f"{self.path}[{self.member!r}]"


def _read_header(path: Path, member: str | None = None) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of an ``.npy`` file or ``.npz`` member, without reading the data."""
    try:
        if member is None:
            with open(path, "rb") as fh:
                return _parse_header(fh)
        with zipfile.ZipFile(path) as zf, zf.open(f"{member}.npy") as fh:
            return _parse_header(fh)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise DataFileError(f"{path}: not a readable numpy file ({exc})") from exc


def _parse_header(fh: object) -> tuple[tuple[int, ...], np.dtype]:
    fmt = np.lib.format
    version = fmt.read_magic(fh)
    if version == (1, 0):
        shape, _, dtype = fmt.read_array_header_1_0(fh)
    elif version == (2, 0):
        shape, _, dtype = fmt.read_array_header_2_0(fh)
    else:
        raise ValueError(f"unsupported .npy format version {version}")
    return tuple(int(s) for s in shape), np.dtype(dtype)


def _check_form(src: _Source, map_shape: tuple[int, ...], what: str) -> None:
    if len(src.shape) != 1 + len(map_shape) or src.shape[1:] != map_shape:
        expected = ", ".join(map(str, ("N", *map_shape)))
        raise DataFileError(f"{src.label()}: {what} array has shape {src.shape}, expected ({expected})")
    if not np.issubdtype(src.dtype, np.floating):
        raise DataFileError(f"{src.label()}: {what} array has dtype {src.dtype}, expected a float type")


def _check_velocity_map(v: np.ndarray, where: str) -> None:
    if not np.all(np.isfinite(v)):
        raise DataFileError(f"{where}: velocity map contains NaN or infinite values")
    lo, hi = float(v.min()), float(v.max())
    if lo < V_RANGE[0] - _TOL or hi > V_RANGE[1] + _TOL:
        raise DataFileError(f"{where}: velocities span {lo:g}–{hi:g} m/s, outside 1500–4500 m/s")


def _velocity_source(path: Path) -> _Source:
    member = "model" if path.suffix.lower() == ".npz" else None
    if member is not None:
        try:
            with zipfile.ZipFile(path) as zf:
                names = {n.removesuffix(".npy") for n in zf.namelist()}
        except (OSError, zipfile.BadZipFile) as exc:
            raise DataFileError(f"{path}: not a readable .npz archive ({exc})") from exc
        if "model" not in names:
            raise DataFileError(f"{path}: .npz archive has no 'model' array (has {sorted(names)})")
    src = _Source(path, member, *_read_header(path, member))
    _check_form(src, VELOCITY_SHAPE, "velocity")
    return src


def load_velocity_file(path: str | Path, *, check_maps: int = 8) -> np.ndarray:
    """Open one OpenFWI velocity file (``.npy`` memory-mapped, or ``.npz`` with key ``model``).

    Args:
        path: The file.
        check_maps: How many maps, evenly spread over the file, to check for NaN and range.

    Returns:
        The ``(N, 1, 70, 70)`` float array (a read-only memory map for ``.npy``).

    Raises:
        DataFileError: Missing or unreadable file, wrong shape or dtype, or a checked map that
            holds NaN or values outside 1500–4500 m/s.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFileError(f"{path}: no such file")
    src = _velocity_source(path)
    arr = src.array()
    for i in np.unique(np.linspace(0, max(len(arr) - 1, 0), num=min(check_maps, len(arr)), dtype=int)):
        _check_velocity_map(np.asarray(arr[i]), f"{src.label()} map {i}")
    return arr


class OpenFWIDirectory:
    """A folder of OpenFWI velocity files and, optionally, their seismic data.

    Args:
        path: The folder (files are looked for in it and in its direct subfolders).

    Raises:
        DataFileError: Missing folder, no velocity files, unreadable files, wrong shape or dtype,
            velocity and seismic files that do not pair up, or different map counts in a pair.

    Example:
        >>> d = OpenFWIDirectory("~/openfwi/FlatVel_A")  # doctest: +SKIP
        >>> d.n_maps, d.velocity(0).shape, d.seismic(0).shape  # doctest: +SKIP
        (30000, (1, 70, 70), (5, 1000, 70))
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        if not self.path.exists():
            raise DataFileError(f"{self.path}: no such folder")
        if not self.path.is_dir():
            raise DataFileError(f"{self.path}: not a folder")
        files = sorted(p for d in (self.path, *self._subdirs()) for p in d.iterdir() if p.is_file())
        velocity: dict[str, _Source] = {}
        seismic: dict[str, _Source] = {}
        for p in files:
            if p.suffix.lower() == ".npz":
                self._add(velocity, f"npz:{p}", _velocity_source(p))
                src = self._npz_seismic(p)
                if src is not None:
                    self._add(seismic, f"npz:{p}", src)
            elif m := _VELOCITY_NAME.match(p.name):
                self._add(velocity, m["key"], _velocity_source(p))
            elif m := _SEISMIC_NAME.match(p.name):
                src = _Source(p, None, *_read_header(p))
                _check_form(src, SEISMIC_SHAPE, "seismic")
                self._add(seismic, m["key"], src)
        if not velocity:
            raise DataFileError(
                f"{self.path}: no velocity files (model*.npy, vmodel*.npy, vel*.npy or *.npz with 'model')"
            )
        keys = sorted(velocity, key=_natural_key)
        if seismic:
            unpaired = sorted(set(keys) ^ set(seismic))
            if unpaired:
                names = [(velocity.get(k) or seismic[k]).label() for k in unpaired]
                raise DataFileError(f"{self.path}: files without a velocity/seismic partner: {names}")
            for k in keys:
                if velocity[k].shape[0] != seismic[k].shape[0]:
                    raise DataFileError(
                        f"{velocity[k].label()} holds {velocity[k].shape[0]} maps but "
                        f"{seismic[k].label()} holds {seismic[k].shape[0]}"
                    )
        self._velocity = [velocity[k] for k in keys]
        self._seismic = [seismic[k] for k in keys] if seismic else None
        self._offsets = np.cumsum([0] + [s.shape[0] for s in self._velocity])
        for src in self._velocity + (self._seismic or []):
            if src.member is None:
                src.array()  # maps the file: catches truncated data without reading it
        for src in self._velocity:  # cheap sampled check: the first map of each file
            if src.shape[0] and src.member is None:
                _check_velocity_map(np.asarray(src.array()[0]), f"{src.label()} map 0")

    @property
    def n_maps(self) -> int:
        """Total number of velocity maps over all files."""
        return int(self._offsets[-1])

    @property
    def has_seismic(self) -> bool:
        """Whether the folder holds seismic data for its velocity maps."""
        return self._seismic is not None

    def velocity(self, i: int) -> np.ndarray:
        """Velocity map ``i`` (over all files, in natural file order), ``(1, 70, 70)`` float32 m/s.

        Raises:
            IndexError: ``i`` outside ``[0, n_maps)``.
            DataFileError: The map holds NaN or values outside 1500–4500 m/s.
        """
        src, j = self._locate(i, self._velocity)
        v = np.array(src.array()[j], dtype=np.float32)
        _check_velocity_map(v, f"{src.label()} map {j}")
        return v

    def seismic(self, i: int) -> np.ndarray | None:
        """Seismic data of map ``i``, ``(5, 1000, 70)`` float32, or ``None`` without seismic files.

        Raises:
            IndexError: ``i`` outside ``[0, n_maps)``.
            DataFileError: The data hold NaN or infinite values.
        """
        if self._seismic is None:
            self._locate(i, self._velocity)
            return None
        src, j = self._locate(i, self._seismic)
        d = np.array(src.array()[j], dtype=np.float32)
        if not np.all(np.isfinite(d)):
            raise DataFileError(f"{src.label()} map {j}: seismic data contain NaN or infinite values")
        return d

    def __len__(self) -> int:
        return self.n_maps

    def __repr__(self) -> str:
        return f"OpenFWIDirectory({str(self.path)!r}, n_maps={self.n_maps}, seismic={self.has_seismic})"

    def _locate(self, i: int, sources: list[_Source]) -> tuple[_Source, int]:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < self.n_maps:
            raise IndexError(f"map index {i!r} out of range [0, {self.n_maps})")
        f = int(np.searchsorted(self._offsets, i, side="right")) - 1
        return sources[f], int(i - self._offsets[f])

    def _subdirs(self) -> list[Path]:
        return sorted(p for p in self.path.iterdir() if p.is_dir() and not p.name.startswith("."))

    @staticmethod
    def _add(table: dict[str, _Source], key: str, src: _Source) -> None:
        if key in table:
            raise DataFileError(f"{src.label()} and {table[key].label()} claim the same map numbers")
        table[key] = src

    @staticmethod
    def _npz_seismic(path: Path) -> _Source | None:
        with zipfile.ZipFile(path) as zf:
            if "data.npy" not in zf.namelist():
                return None
        src = _Source(path, "data", *_read_header(path, "data"))
        _check_form(src, SEISMIC_SHAPE, "seismic")
        return src


def _natural_key(key: str) -> list[object]:
    """Sort ``2_1_10`` after ``2_1_9`` and ``model10`` after ``model9``."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", key) if t]
