"""studies/red_diffeq/robustness_table.py tabulates finished runs of the red-diffeq suite and invents none."""

import importlib

import pandas as pd
import pytest

from ..suite_rows import suite_row as _row


@pytest.fixture(scope="module")
def script():
    return importlib.import_module("studies.red_diffeq.robustness_table")


def test_table_figure_and_paired_wins(script, tmp_path):
    rows = [
        _row("FWI-FlatVel-A", 0, "red-diffeq", 0.05),
        _row("FWI-FlatVel-A", 1, "red-diffeq", 0.07),
        _row("FWI-FlatVel-A", 0, "tikhonov", 0.10),
        _row("FWI-FlatVel-A", 1, "tikhonov", 0.06),
        _row("FWI-FlatVel-A-Noise20", 0, "red-diffeq", 0.09),
        _row("FWI-FlatVel-A-Noise20", 0, "tikhonov", 0.20),
        _row("FWI-FlatVel-A-Noise20", 1, "tikhonov", 0.30, status="failed"),
        _row("Darcy-GRF", 0, "tikhonov", 0.5),
    ]
    path = tmp_path / "results.parquet"
    pd.DataFrame(rows).to_parquet(path)
    out, fig = tmp_path / "r.md", tmp_path / "r.png"
    script.main([str(path), "--no-initial", "--out-md", str(out), "--out-fig", str(fig)])
    text = out.read_text()
    red = next(line for line in text.splitlines() if line.startswith("| red-diffeq") and "±" in line)
    assert "0.0600 ± 0.0100 (n=2)" in red and "0.0900 ± 0.0000 (n=1)" in red
    tik = next(line for line in text.splitlines() if line.startswith("| tikhonov") and "±" in line)
    assert "0.2000 ± 0.0000 (n=1)" in tik  # the failed run does not count
    assert "on 2 of 3 paired runs" in text
    assert "Missing14" not in text  # conditions that were not run get no column
    # family table: both solvers on two instances of clean data, the lower mean in bold
    assert "| FlatVel-A | clean | **0.0600 (2)** | 0.0800 (2) |" in text
    # with noise tikhonov finished once, as did red-diffeq: ranked on equal footing
    assert "| FlatVel-A | Noise20 | **0.0900 (1)** | 0.2000 (1) |" in text
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_parameter_variants_get_their_own_rows(script, tmp_path):
    rows = [
        {**_row("FWI-CurveVel-A", 0, "red-diffeq", 0.04), "params": '{"lam": 0.75, "lr": 0.03}'},
        {**_row("FWI-CurveVel-A", 0, "red-diffeq", 0.06), "params": '{"lam": 0, "lr": 0.03}'},
        {**_row("FWI-CurveVel-A", 0, "tv", 0.05), "params": '{"lam": 0.01}'},
    ]
    path = tmp_path / "results.parquet"
    pd.DataFrame(rows).to_parquet(path)
    out = tmp_path / "r.md"
    script.main([str(path), "--no-initial", "--out-md", str(out)])
    text = out.read_text()
    assert "| red-diffeq (lam=0.75) | 0.0400" in text and "| red-diffeq (lam=0) | 0.0600" in text
    assert "| tv | 0.0500" in text
    assert "`red-diffeq (lam=0)` has the lower MAE than `tv` on 0 of 1" in text
    assert "`red-diffeq (lam=0.75)` has the lower MAE than `tv` on 1 of 1" in text
    # the family table compares the released setting (lam=0.75) with the baselines, not lam=0
    assert "| CurveVel-A | clean | **0.0400 (1)** | 0.0500 (1) |" in text


def test_no_suite_rows_is_a_clear_error(script, tmp_path):
    path = tmp_path / "results.parquet"
    pd.DataFrame([_row("Darcy-GRF", 0, "tv", 0.5)]).to_parquet(path)
    with pytest.raises(SystemExit, match="no finished runs"):
        script.main([str(path), "--no-initial"])
    with pytest.raises(SystemExit, match="no results file"):
        script.main([str(tmp_path / "missing.parquet")])
