"""The OpenFWI file loader, on small fake OpenFWI folders written to tmp_path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from invbench.data.openfwi import DataFileError, OpenFWIDirectory, load_velocity_file


def velocity(n: int, start: float = 1500.0) -> np.ndarray:
    """``n`` distinguishable valid maps: map ``i`` is filled with ``start + i``."""
    v = np.empty((n, 1, 70, 70), dtype=np.float32)
    v[:] = (start + np.arange(n, dtype=np.float32))[:, None, None, None]
    return v


def seismic(n: int) -> np.ndarray:
    d = np.zeros((n, 5, 1000, 70), dtype=np.float32)
    d[:, 0, 0, 0] = np.arange(n)
    return d


def vel_family_folder(root: Path, counts: tuple[int, ...] = (2, 1), with_data: bool = True) -> Path:
    """OpenFWI Vel/Style layout: model/model{k}.npy and data/data{k}.npy."""
    (root / "model").mkdir(parents=True)
    start = 1500.0
    for k, n in enumerate(counts, start=1):
        np.save(root / "model" / f"model{k}.npy", velocity(n, start))
        if with_data:
            (root / "data").mkdir(exist_ok=True)
            np.save(root / "data" / f"data{k}.npy", seismic(n))
        start += n
    return root


def test_vel_family_layout(tmp_path: Path) -> None:
    d = OpenFWIDirectory(vel_family_folder(tmp_path))
    assert d.n_maps == 3 and len(d) == 3 and d.has_seismic
    v = d.velocity(2)
    assert v.shape == (1, 70, 70) and v.dtype == np.float32
    assert [d.velocity(i)[0, 0, 0] for i in range(3)] == [1500.0, 1501.0, 1502.0]
    s = d.seismic(1)
    assert s is not None and s.shape == (5, 1000, 70) and s.dtype == np.float32
    assert s[0, 0, 0] == 1.0  # second map of data1.npy
    assert d.seismic(2)[0, 0, 0] == 0.0  # first map of data2.npy
    assert "n_maps=3" in repr(d)


def test_fault_family_layout_and_natural_order(tmp_path: Path) -> None:
    for k, start in [(10, 1600.0), (9, 1500.0), (2, 1400.0 + 100)]:
        np.save(tmp_path / f"vel2_1_{k}.npy", velocity(1, start + k))
        np.save(tmp_path / f"seis2_1_{k}.npy", seismic(1))
    d = OpenFWIDirectory(tmp_path)
    # vel2_1_2, vel2_1_9, vel2_1_10: natural, not lexicographic, order
    assert [d.velocity(i)[0, 0, 0] for i in range(3)] == [1502.0, 1509.0, 1610.0]


def test_vmodel_without_seismic(tmp_path: Path) -> None:
    np.save(tmp_path / "vmodel1.npy", velocity(4))
    d = OpenFWIDirectory(tmp_path)
    assert d.n_maps == 4 and not d.has_seismic
    assert d.seismic(0) is None
    with pytest.raises(IndexError):
        d.seismic(4)


def test_memory_mapped(tmp_path: Path) -> None:
    np.save(tmp_path / "model1.npy", velocity(3))
    arr = load_velocity_file(tmp_path / "model1.npy")
    assert isinstance(arr, np.memmap) and arr.shape == (3, 1, 70, 70)
    d = OpenFWIDirectory(tmp_path)
    assert isinstance(d._velocity[0].array(), np.memmap)


def test_npz_archives(tmp_path: Path) -> None:
    np.savez(tmp_path / "flatvel_a_train.npz", model=velocity(3))
    np.savez_compressed(tmp_path / "pair.npz", model=velocity(2, 2000.0))
    d = OpenFWIDirectory(tmp_path)
    assert d.n_maps == 5 and not d.has_seismic
    assert d.velocity(0)[0, 0, 0] == 1500.0 and d.velocity(4)[0, 0, 0] == 2001.0
    assert load_velocity_file(tmp_path / "pair.npz").shape == (2, 1, 70, 70)


def test_npz_with_seismic(tmp_path: Path) -> None:
    np.savez(tmp_path / "both.npz", model=velocity(2), data=seismic(2))
    d = OpenFWIDirectory(tmp_path)
    assert d.has_seismic and d.seismic(1)[0, 0, 0] == 1.0


def test_index_errors(tmp_path: Path) -> None:
    d = OpenFWIDirectory(vel_family_folder(tmp_path))
    for i in (-1, 3, 1.0, True):
        with pytest.raises(IndexError):
            d.velocity(i)


# ----------------------------------------------------------------------------- bad input


def test_error_is_a_value_error() -> None:
    assert issubclass(DataFileError, ValueError)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="no such folder"):
        OpenFWIDirectory(tmp_path / "nope")
    (tmp_path / "file.npy").write_bytes(b"")
    with pytest.raises(DataFileError, match="not a folder"):
        OpenFWIDirectory(tmp_path / "file.npy")
    with pytest.raises(DataFileError, match="no such file"):
        load_velocity_file(tmp_path / "missing.npy")


def test_no_matching_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    np.save(tmp_path / "data1.npy", seismic(1))  # seismic alone is not enough
    with pytest.raises(DataFileError, match="no velocity files"):
        OpenFWIDirectory(tmp_path)


@pytest.mark.parametrize("shape", [(2, 70, 70), (2, 1, 70, 71), (2, 2, 70, 70)])
def test_wrong_velocity_shape(tmp_path: Path, shape: tuple[int, ...]) -> None:
    np.save(tmp_path / "model1.npy", np.full(shape, 2000.0, dtype=np.float32))
    with pytest.raises(DataFileError, match=r"model1\.npy.*shape"):
        OpenFWIDirectory(tmp_path)
    with pytest.raises(DataFileError, match="shape"):
        load_velocity_file(tmp_path / "model1.npy")


def test_wrong_seismic_shape(tmp_path: Path) -> None:
    np.save(tmp_path / "model1.npy", velocity(2))
    np.save(tmp_path / "data1.npy", np.zeros((2, 5, 999, 70), dtype=np.float32))
    with pytest.raises(DataFileError, match=r"data1\.npy.*shape"):
        OpenFWIDirectory(tmp_path)


@pytest.mark.parametrize("dtype", [np.int16, np.int64, np.uint16, bool])
def test_wrong_dtype(tmp_path: Path, dtype: type) -> None:
    np.save(tmp_path / "model1.npy", velocity(2).astype(dtype))
    with pytest.raises(DataFileError, match=r"model1\.npy.*dtype"):
        OpenFWIDirectory(tmp_path)


def test_values_out_of_range_first_map(tmp_path: Path) -> None:
    np.save(tmp_path / "model1.npy", velocity(2, start=1000.0))
    with pytest.raises(DataFileError, match=r"model1\.npy map 0.*outside 1500–4500"):
        OpenFWIDirectory(tmp_path)
    with pytest.raises(DataFileError, match="outside"):
        load_velocity_file(tmp_path / "model1.npy")


def test_values_out_of_range_checked_lazily(tmp_path: Path) -> None:
    v = velocity(3)
    v[2, 0, 5, 5] = 4600.0
    np.save(tmp_path / "model1.npy", v)
    d = OpenFWIDirectory(tmp_path)  # opening checks only the first map of each file
    d.velocity(1)
    with pytest.raises(DataFileError, match=r"model1\.npy map 2.*4600"):
        d.velocity(2)


def test_velocity_in_km_per_s_is_rejected(tmp_path: Path) -> None:
    np.save(tmp_path / "model1.npy", velocity(1) / 1000.0)
    with pytest.raises(DataFileError, match="outside"):
        OpenFWIDirectory(tmp_path)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan(tmp_path: Path, bad: float) -> None:
    v = velocity(2)
    v[1, 0, 3, 3] = bad
    np.save(tmp_path / "model1.npy", v)
    d = OpenFWIDirectory(tmp_path)
    with pytest.raises(DataFileError, match="NaN"):
        d.velocity(1)


def test_nan_in_seismic(tmp_path: Path) -> None:
    np.save(tmp_path / "model1.npy", velocity(1))
    s = seismic(1)
    s[0, 2, 10, 10] = np.nan
    np.save(tmp_path / "data1.npy", s)
    with pytest.raises(DataFileError, match=r"data1\.npy map 0.*NaN"):
        OpenFWIDirectory(tmp_path).seismic(0)


def test_corrupt_file(tmp_path: Path) -> None:
    (tmp_path / "model1.npy").write_bytes(b"this is not a numpy file at all" * 10)
    with pytest.raises(DataFileError, match=r"model1\.npy"):
        OpenFWIDirectory(tmp_path)
    with pytest.raises(DataFileError, match=r"model1\.npy"):
        load_velocity_file(tmp_path / "model1.npy")


def test_truncated_file(tmp_path: Path) -> None:
    np.save(tmp_path / "model1.npy", velocity(3))
    raw = (tmp_path / "model1.npy").read_bytes()
    (tmp_path / "model1.npy").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataFileError, match=r"model1\.npy"):
        OpenFWIDirectory(tmp_path)


def test_truncated_seismic(tmp_path: Path) -> None:
    np.save(tmp_path / "model1.npy", velocity(1))
    np.save(tmp_path / "data1.npy", seismic(1))
    raw = (tmp_path / "data1.npy").read_bytes()
    (tmp_path / "data1.npy").write_bytes(raw[:-1000])
    with pytest.raises(DataFileError, match=r"data1\.npy"):
        OpenFWIDirectory(tmp_path)


def test_corrupt_npz(tmp_path: Path) -> None:
    (tmp_path / "maps.npz").write_bytes(b"PK\x03\x04 broken zip")
    with pytest.raises(DataFileError, match=r"maps\.npz"):
        OpenFWIDirectory(tmp_path)


def test_npz_without_model(tmp_path: Path) -> None:
    np.savez(tmp_path / "maps.npz", velocity=velocity(1))
    with pytest.raises(DataFileError, match=r"maps\.npz.*no 'model'"):
        OpenFWIDirectory(tmp_path)


def test_mismatched_counts(tmp_path: Path) -> None:
    np.save(tmp_path / "model1.npy", velocity(3))
    np.save(tmp_path / "data1.npy", seismic(2))
    with pytest.raises(DataFileError, match=r"model1\.npy holds 3 maps but .*data1\.npy holds 2"):
        OpenFWIDirectory(tmp_path)


def test_unpaired_files(tmp_path: Path) -> None:
    vel_family_folder(tmp_path, counts=(1, 1))
    (tmp_path / "data" / "data2.npy").unlink()
    with pytest.raises(DataFileError, match=r"partner.*model2\.npy"):
        OpenFWIDirectory(tmp_path)


def test_duplicate_numbers(tmp_path: Path) -> None:
    np.save(tmp_path / "model1.npy", velocity(1))
    np.save(tmp_path / "vel1.npy", velocity(1))
    with pytest.raises(DataFileError, match="same map numbers"):
        OpenFWIDirectory(tmp_path)
