"""The InversionNet quality report's summary: means per family and condition, wins over the initial model."""

from __future__ import annotations

import pytest

from studies.inversionnet.report import markdown, summary


def _row(family, condition, index, method, mae):
    return {"family": family, "condition": condition, "index": index, "method": method,
            "mae": mae, "rmse": 2 * mae, "ssim": 1 - mae}  # fmt: skip


def test_summary_counts_wins_per_instance_and_orders_conditions():
    rows = [
        _row("CurveVel-A", "Noise10", 0, "inversionnet", 0.05),
        _row("CurveVel-A", "Noise10", 0, "initial model", 0.10),
        _row("FlatVel-A", "clean", 0, "inversionnet", 0.02),
        _row("FlatVel-A", "clean", 0, "initial model", 0.10),
        _row("FlatVel-A", "clean", 1, "inversionnet", 0.30),
        _row("FlatVel-A", "clean", 1, "initial model", 0.10),
        _row("FlatVel-A", "Missing14", 0, "inversionnet", 0.20),
        _row("FlatVel-A", "Missing14", 0, "initial model", 0.10),
    ]
    out = summary(rows)
    assert [(e["family"], e["condition"]) for e in out] == [
        ("FlatVel-A", "clean"), ("FlatVel-A", "Missing14"), ("CurveVel-A", "Noise10")]  # fmt: skip
    clean = out[0]
    assert clean["n"] == 2 and clean["wins"] == 1
    assert clean["inversionnet:mae"] == pytest.approx(0.16) and clean["initial model:mae"] == pytest.approx(
        0.1
    )
    assert out[1]["wins"] == 0 and out[2]["wins"] == 1
    manifest = {"name": "w", "weights": {"sha256": "ab" * 32}, "training": {}}
    text = markdown({"manifest": manifest, "rows": rows})
    assert "| FlatVel-A | clean | 2 | 0.1600 | 0.1000 |" in text and "1 of 2" in text
