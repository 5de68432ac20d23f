"""studies/darcy/phase_errors.py splits a bimaterial estimate's error into wrong-phase and other cells."""

import importlib
import math

import numpy as np
import pytest

LOW, HIGH = math.log(3.0), math.log(12.0)


@pytest.fixture(scope="module")
def script():
    return importlib.import_module("studies.darcy.phase_errors")


def test_committed_wrong_and_soft_cells_are_told_apart(script):
    truth = np.full((2, 2), LOW)
    truth[0, 0] = HIGH
    est = truth.copy()
    est[0, 1] = HIGH  # committed to the wrong phase: full-contrast error
    est[1, 0] = math.log(6.0) + 0.01  # just over the threshold: wrong, but soft
    row = script.phase_errors(truth, est)
    assert row["wrong_phase"] == pytest.approx(0.5)
    assert row["committed_wrong"] == pytest.approx(0.25)
    assert row["committed"] == pytest.approx(0.75)
    err = (HIGH - LOW) + (math.log(6.0) + 0.01 - LOW)
    assert row["mae"] == pytest.approx(err / 4)
    assert row["mae_from_wrong_phase"] == pytest.approx(row["mae"])


def test_exact_estimate_has_no_phase_errors(script):
    truth = np.array([[LOW, HIGH], [HIGH, LOW]])
    row = script.phase_errors(truth, truth.copy())
    assert row == {
        "mae": 0.0,
        "wrong_phase": 0.0,
        "mae_from_wrong_phase": 0.0,
        "committed": 1.0,
        "committed_wrong": 0.0,
    }


def test_bad_input_is_named(script):
    truth = np.full((2, 2), LOW)
    with pytest.raises(ValueError, match="shape"):
        script.phase_errors(truth, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="NaN"):
        script.phase_errors(truth, np.full((2, 2), np.nan))
