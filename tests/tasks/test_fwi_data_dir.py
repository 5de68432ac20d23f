"""FWI tasks on real OpenFWI files (``data_dir``): maps and, where present, seismic data."""

import gymnasium as gym
import numpy as np
import pytest

from invbench.data.families import generate
from invbench.data.openfwi import DataFileError
from tests.conftest import SHARED_OPENFWI


@pytest.fixture
def fake_openfwi(tmp_path):
    maps = generate("FlatVel-A", 4, 7)
    seis = np.random.default_rng(0).normal(size=(4, 5, 1000, 70)).astype(np.float32)
    np.save(tmp_path / "model1.npy", maps)
    np.save(tmp_path / "data1.npy", seis)
    return tmp_path, maps, seis


def test_data_dir_uses_real_maps_and_seismic(fake_openfwi):
    folder, maps, seis = fake_openfwi
    env = gym.make("invbench/FWI-FlatVel-A-v0", data_dir=str(folder))
    base = env.unwrapped
    # 4 maps: the first (10 %, at least one) is the val split, the rest the test split
    assert base.n_instances["val"] == 1 and base.n_instances["test"] == 3
    obs, _ = env.reset(options={"split": "test", "index": 0})
    np.testing.assert_array_equal(base.instance.truth, maps[1])
    np.testing.assert_allclose(obs["observed"], seis[1], rtol=1e-6)
    obs, _ = env.reset(options={"split": "val", "index": 0})
    np.testing.assert_array_equal(base.instance.truth, maps[0])
    with pytest.raises(ValueError, match="out of range"):
        env.reset(options={"split": "test", "index": 3})


def test_data_dir_without_seismic_simulates(tmp_path):
    maps = generate("CurveVel-A", 2, 3)
    np.save(tmp_path / "model1.npy", maps)
    env = gym.make("invbench/FWI-CurveVel-A-v0", data_dir=str(tmp_path), observed_solver="deepwave")
    env.reset(options={"split": "test", "index": 0})
    base = env.unwrapped
    misfit, _ = base.evaluate(base.instance.truth, gradient=False)
    assert misfit < 1e-10  # simulated from the file's map with the same solver


def test_data_dir_errors_name_the_problem(tmp_path):
    with pytest.raises(DataFileError, match="does-not-exist"):
        gym.make("invbench/FWI-FlatVel-A-v0", data_dir=str(tmp_path / "does-not-exist"))
    bad = tmp_path / "model1.npy"
    bad.write_bytes(b"not a numpy file at all")
    with pytest.raises(DataFileError, match=r"model1\.npy"):
        gym.make("invbench/FWI-FlatVel-A-v0", data_dir=str(tmp_path))
    with pytest.raises(ValueError, match="70 x 70"):
        gym.make("invbench/FWI-Tiny-v0", data_dir=str(tmp_path))


@pytest.mark.realdata
def test_shared_flatvel_maps_as_task():
    if not (SHARED_OPENFWI / "flatvel_a_train.npz").exists():
        pytest.skip(f"real OpenFWI maps not found in {SHARED_OPENFWI}")
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "flatvel_a_train.npz").symlink_to(SHARED_OPENFWI / "flatvel_a_train.npz")
        env = gym.make("invbench/FWI-FlatVel-A-v0", data_dir=d)
        obs, _ = env.reset(options={"split": "test", "index": 0})
        truth = env.unwrapped.instance.truth
        assert truth.shape == (1, 70, 70) and truth.min() >= 1500
        assert obs["observed"].shape == (5, 1000, 70)
        assert np.abs(obs["observed"]).max() > 0
