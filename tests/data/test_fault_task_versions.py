"""The Fault families' task versions: -v0 keeps the legacy maps, -v1 draws the rebuilt generator.

Only hidden maps are drawn here (``true_model``); no wave simulation runs.
"""

from __future__ import annotations

import numpy as np
import pytest

import invbench
from invbench.core.seeding import instance_seed
from invbench.data.families import generate
from invbench.registry import FAULT_FAMILIES, ROBUSTNESS_VARIANTS, SUPERSEDED, TASKS, fwi_task_id

# Reproducibility: the legacy generator (its checksums pinned in test_families.py) at the seed the env
# derived before the rebuild (instance_seed of "family/70x70", unchanged) gives the v0 instance.


@pytest.mark.parametrize("family", FAULT_FAMILIES)
def test_v0_reproduces_the_legacy_maps_and_v1_draws_the_new_ones(family: str) -> None:
    old = invbench.make(f"FWI-{family}-v0")
    new = invbench.make(f"FWI-{family}-v1")
    try:
        for index in (0, 3):
            seed = instance_seed(f"{family}/70x70", "test", index)
            legacy = generate(family, 1, seed, version=0)[0]
            np.testing.assert_array_equal(old.unwrapped.true_model("test", index), legacy)
            rebuilt = new.unwrapped.true_model("test", index)
            np.testing.assert_array_equal(rebuilt, generate(family, 1, seed, version=1)[0])
            assert not np.array_equal(rebuilt, legacy)
    finally:
        old.close()
        new.close()


def test_every_fault_task_is_bumped_and_the_old_one_kept() -> None:
    for family in FAULT_FAMILIES:
        variants = ("", *ROBUSTNESS_VARIANTS) if family.endswith("-A") else ("",)
        for variant in variants:
            old, new = fwi_task_id(family, variant, 0), fwi_task_id(family, variant)
            assert new.endswith("-v1") and old in TASKS and new in TASKS
            assert SUPERSEDED[old] == new
            assert TASKS[old][1]["family_version"] == 0 and TASKS[new][1]["family_version"] == 1
            same = {k: v for k, v in TASKS[old][1].items() if k != "family_version"}
            assert same == {k: v for k, v in TASKS[new][1].items() if k != "family_version"}
    assert all(v in TASKS and v not in SUPERSEDED for v in SUPERSEDED.values())
    assert "invbench/FWI-FlatVel-A-v0" in TASKS and "invbench/FWI-FlatVel-A-v0" not in SUPERSEDED
    assert fwi_task_id("FlatVel-A", "Noise10") == "invbench/FWI-FlatVel-A-Noise10-v0"


def test_robustness_variants_share_the_clean_tasks_maps() -> None:
    clean, noisy = invbench.make("FWI-CurveFault-A-v1"), invbench.make("FWI-CurveFault-A-Noise10-v1")
    try:
        truth = clean.unwrapped.true_model("test", 1)
        np.testing.assert_array_equal(truth, noisy.unwrapped.true_model("test", 1))
    finally:
        clean.close()
        noisy.close()


def test_family_version_is_checked() -> None:
    with pytest.raises(ValueError, match="generator versions 0, 1"):
        invbench.make("FWI-CurveFault-A-v1", family_version=2)
    with pytest.raises(ValueError, match="generator versions 0"):
        invbench.make("FWI-FlatVel-A-v0", family_version=1)
