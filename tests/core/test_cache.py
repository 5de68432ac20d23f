"""The observed-data cache: entries are used only when they match their digest, shape and are finite."""

import contextlib
import json
import re
import warnings

import numpy as np
import pytest

from invbench.core.cache import CacheWarning, cache_dir, cached_array, content_key


@pytest.fixture()
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("INVBENCH_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


class Counter:
    """A compute function that counts its calls."""

    def __init__(self, value: np.ndarray) -> None:
        self.value, self.calls = value, 0

    def __call__(self) -> np.ndarray:
        self.calls += 1
        return self.value.copy()


def _entry(key: str):
    return cache_dir() / "observed" / f"{key}.npy"


def test_a_sound_entry_is_computed_once(fresh_cache):
    compute = Counter(np.arange(6, dtype=np.float32).reshape(2, 3))
    key = content_key("a")
    first = cached_array("observed", key, compute, shape=(2, 3))
    again = cached_array("observed", key, compute, shape=(2, 3))
    np.testing.assert_array_equal(first, again)
    assert compute.calls == 1
    record = json.loads(_entry(key).with_suffix(".json").read_text())
    assert record["shape"] == [2, 3]


@pytest.mark.parametrize(
    "poison, problem",
    [
        (np.full((2, 3), np.nan, np.float32), "NaN or inf"),
        (np.zeros((4, 4), np.float32), "shape (4, 4) is not the expected (2, 3)"),
        (np.ones((2, 3), np.float32), "does not match its digest"),
    ],
)
def test_a_poisoned_entry_is_reported_deleted_and_recomputed(fresh_cache, poison, problem):
    truth = np.arange(6, dtype=np.float32).reshape(2, 3)
    compute = Counter(truth)
    key = content_key("b")
    cached_array("observed", key, compute, shape=(2, 3))
    np.save(_entry(key), poison)  # overwrite the array, keep the old record
    with pytest.warns(CacheWarning, match=re.escape(problem)):
        got = cached_array("observed", key, compute, shape=(2, 3))
    np.testing.assert_array_equal(got, truth)
    assert compute.calls == 2
    with _no_warning():
        np.testing.assert_array_equal(cached_array("observed", key, compute, shape=(2, 3)), truth)
    assert compute.calls == 2  # the recomputed entry is sound again


def test_an_unreadable_entry_or_record_is_recomputed(fresh_cache):
    truth = np.ones((2, 3), np.float32)
    compute = Counter(truth)
    key = content_key("c")
    cached_array("observed", key, compute)
    _entry(key).write_bytes(b"garbage")
    with pytest.warns(CacheWarning, match="cannot be read"):
        cached_array("observed", key, compute)
    _entry(key).with_suffix(".json").write_text("[1, 2]")
    with pytest.warns(CacheWarning, match="does not match its digest"):
        cached_array("observed", key, compute)
    assert compute.calls == 3


def test_an_entry_of_the_older_format_is_redone_quietly(fresh_cache):
    key = content_key("d")
    _entry(key).parent.mkdir(parents=True)
    np.save(_entry(key), np.zeros((2, 3), np.float32))  # no record beside it
    compute = Counter(np.ones((2, 3), np.float32))
    with _no_warning():
        got = cached_array("observed", key, compute)
    assert compute.calls == 1 and got.sum() == 6


def test_a_non_finite_result_is_returned_but_not_stored(fresh_cache):
    compute = Counter(np.array([np.inf], np.float32))
    key = content_key("e")
    assert np.isinf(cached_array("observed", key, compute)).all()
    assert not _entry(key).exists()


@contextlib.contextmanager
def _no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        yield


def test_the_fwi_task_survives_a_wrong_shape_entry(fresh_cache):
    from invbench.registry import make

    env = make("invbench/FWI-Tiny-v0")
    env.reset(seed=0, options={"split": "test", "index": 0})
    observed = env.unwrapped.instance.observed.clone()
    (entry,) = (cache_dir() / "observed").glob("*.npy")
    np.save(entry, np.zeros((1, 2, 3), np.float32))
    with pytest.warns(CacheWarning, match="is not the expected"):
        env.reset(seed=0, options={"split": "test", "index": 0})
    np.testing.assert_allclose(env.unwrapped.instance.observed.numpy(), observed.numpy())
