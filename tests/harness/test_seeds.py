import numpy as np
import torch

from invbench.core.seeding import seed_everything
from invbench.harness.seeds import derive_seed

TASK = "invbench/FWI-Tiny-v0"


def test_seed_is_stable_across_processes_and_machines():
    # SHA-256 based: a fixed value, unlike hash(); pinned so a change is noticed.
    assert derive_seed(0, TASK, "test", 0, "adam", 0) == derive_seed(0, TASK, "test", 0, "adam", 0)
    assert derive_seed(0, TASK, "test", 0, "adam", 0) == 272404202


def test_seed_depends_on_every_part_and_fits_numpy_and_torch():
    base = derive_seed(0, TASK, "test", 0, "adam", 0)
    variants = [
        derive_seed(1, TASK, "test", 0, "adam", 0),
        derive_seed(0, "invbench/Darcy-Tiny-v0", "test", 0, "adam", 0),
        derive_seed(0, TASK, "val", 0, "adam", 0),
        derive_seed(0, TASK, "test", 1, "adam", 0),
        derive_seed(0, TASK, "test", 0, "lbfgs", 0),
        derive_seed(0, TASK, "test", 0, "adam", 1),
    ]
    assert len({base, *variants}) == 7
    for s in (base, *variants):
        assert 0 <= s < 2**32
        np.random.seed(s)
        torch.manual_seed(s)


def test_same_seed_same_random_numbers_for_numpy_and_torch():
    s = derive_seed(7, TASK, "test", 3, "adam", 2)
    seed_everything(s)
    a = (np.random.rand(3), torch.rand(3))
    seed_everything(s)
    b = (np.random.rand(3), torch.rand(3))
    np.testing.assert_array_equal(a[0], b[0])
    assert torch.equal(a[1], b[1])
