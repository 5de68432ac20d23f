"""The hidden split: drawn with a secret salt, refused without it, never visible to a solver."""

import numpy as np
import pytest

from invbench.core.seeding import SALT_ENV, HiddenSplitError
from invbench.harness.execute import run_cell
from invbench.registry import make
from tests.harness.test_execute import S, cell


def truth(task, split, index=0):
    env = make(task)
    env.reset(options={"split": split, "index": index})
    return np.array(env.unwrapped.instance.truth)


def test_hidden_split_is_refused_without_the_salt(monkeypatch):
    monkeypatch.delenv(SALT_ENV, raising=False)
    with pytest.raises(HiddenSplitError, match=SALT_ENV):
        make("invbench/Darcy-Tiny-v0").reset(options={"split": "hidden", "index": 0})


@pytest.mark.parametrize("task", ["invbench/Darcy-Tiny-v0", "invbench/FWI-Tiny-v0"])
def test_hidden_instances_depend_on_the_salt(monkeypatch, task):
    monkeypatch.setenv(SALT_ENV, "test-salt-1")
    first = truth(task, "hidden")
    assert not np.array_equal(first, truth(task, "test"))
    np.testing.assert_array_equal(first, truth(task, "hidden"))  # deterministic given the salt
    monkeypatch.setenv(SALT_ENV, "test-salt-2")
    assert not np.array_equal(first, truth(task, "hidden"))


@pytest.mark.parametrize("task", ["invbench/Darcy-Tiny-v0", "invbench/FWI-Tiny-v0"])
def test_a_hidden_cell_runs_without_the_salt_reaching_the_solver(monkeypatch, task):
    monkeypatch.setenv(SALT_ENV, "test-salt-1")
    row = run_cell(cell(S + "SaltSniffer", task=task, split="hidden")).row
    assert row["status"] == "done", row["reason"]
    assert row["split"] == "hidden" and row["pde_solves"] == 2
