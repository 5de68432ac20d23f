"""The leaderboard's two tiers: public ``test`` rows and the ``hidden`` tier, never ranked together.

Rows of the ``hidden`` split were scored on instances whose seeds only the maintainers hold
(:data:`~invbench.core.seeding.HIDDEN_SPLIT`); a method tuned on the public instances can overfit them,
not these, so the two tiers get separate rankings. A row is *verified* when the maintainers' harness
re-ran it on hidden instances in an isolated worker and signed it (:mod:`invbench.harness.signing`);
results written before that column existed have no ``verified`` column and count as not verified.
"""

from __future__ import annotations

import pandas as pd

from invbench.core.seeding import HIDDEN_SPLIT

VERIFIED_MARK = "✓ verified"
"""Shown beside the label of a verified line in the task tables."""
VERIFIED_LEGEND = f"{VERIFIED_MARK}: re-run by the maintainers on hidden instances in isolated workers."
"""The one legend line that explains :data:`VERIFIED_MARK`."""


def verified(rows: pd.DataFrame) -> pd.Series:
    """Whether each row is verified (``False`` where the column is absent or empty)."""
    if "verified" not in rows.columns:
        return pd.Series(False, index=rows.index, dtype=bool)
    # parquet may hold None for rows written by a harness that left the field unset
    return rows["verified"].astype("boolean").fillna(False).astype(bool)


def is_hidden(rows: pd.DataFrame) -> pd.Series:
    """Whether each row belongs to the hidden tier (its split is ``hidden``)."""
    if "split" not in rows.columns:
        return pd.Series(False, index=rows.index, dtype=bool)
    return rows["split"].astype(str) == HIDDEN_SPLIT


def split_tiers(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(public, hidden)``: the rows ranked in the task tables and those of the hidden tier."""
    hidden = is_hidden(rows)
    return rows[~hidden], rows[hidden]
