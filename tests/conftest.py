"""Shared test fixtures: an isolated cache directory and the path to the shared real data."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_OPENFWI = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "openfwi"


@pytest.fixture(autouse=True, scope="session")
def _session_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep simulated observed data in a per-session cache, never in the user's cache."""
    mp = pytest.MonkeyPatch()
    mp.setenv("INVBENCH_CACHE_DIR", str(tmp_path_factory.mktemp("invbench-cache")))
    yield
    mp.undo()
