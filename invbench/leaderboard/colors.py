"""One colour per method label across the whole leaderboard: the page's tables and plots and its PNGs.

The palette is computed once here and travels to the page in its data, so a label has the same colour
in the headline PNG of the README as on every plot of the page.
"""

from __future__ import annotations

from collections.abc import Iterable

COLORS: tuple[str, ...] = (
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf", "#393b79", "#ad494a", "#637939", "#e7969c", "#7b4173", "#8c6d31",
    "#3182bd", "#31a354", "#e6550d", "#756bb1",
)  # fmt: skip
"""Matplotlib's tab10 then a darker set, so that neighbouring labels differ clearly."""


def palette(labels: Iterable[str]) -> dict[str, str]:
    """``{label: colour}`` in the order labels first appear (colours repeat after :data:`COLORS`)."""
    out: dict[str, str] = {}
    for label in labels:
        if label not in out:
            out[label] = COLORS[len(out) % len(COLORS)]
    return out
