"""Where a leaderboard keeps each row's example arrays.

A cell id names what was *requested* (task, instance, solver, the parameters given, seed). The
row's ``params_hash`` names what *ran*: the parameters after the solver resolved its defaults. When
a default changes (say a family's λ), the same request resolves differently, and the leaderboard
keeps both rows under one cell id. So the leaderboard names example files by both:
``examples/<cell_id>-<params_hash>.npz``. A bench output folder holds one run of one code version,
where a cell id is unique, and keeps the shorter ``examples/<cell_id>.npz``; both names are read.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def example_name(cell_id: str, params_hash: str) -> str:
    """File name of one row's example in a leaderboard."""
    return f"{cell_id}-{params_hash}.npz"


def find_example(folder: Path, cell_id: str, params_hash: str, *, unique: bool) -> Path | None:
    """The example file of one row, or ``None``.

    Args:
        folder: An ``examples/`` folder (of a leaderboard or of a bench output).
        cell_id: The row's cell id.
        params_hash: The row's resolved-parameters hash.
        unique: Whether no other row has this cell id; only then is the short name
            ``<cell_id>.npz`` taken to be this row's.
    """
    full = folder / example_name(cell_id, params_hash)
    if full.is_file():
        return full
    short = folder / f"{cell_id}.npz"
    return short if unique and short.is_file() else None


def migrate_examples(folder: Path, results: pd.DataFrame) -> int:
    """Rename a leaderboard's short-named examples to ``<cell_id>-<params_hash>.npz``.

    A short-named file was written by the last submission that won its cell id, so it belongs
    to the newest row with that id. Files of ids no row has are left alone.

    Returns:
        How many files were renamed.
    """
    if not folder.is_dir() or results.empty:
        return 0
    newest = (
        results.assign(_t=pd.to_datetime(results["timestamp"], utc=True))
        .sort_values("_t", kind="stable")
        .drop_duplicates("cell_id", keep="last")
        .set_index("cell_id")["params_hash"]
    )
    renamed = 0
    for path in sorted(folder.glob("[!.]*.npz")):
        if "-" in path.stem or path.stem not in newest.index:
            continue
        path.replace(folder / example_name(path.stem, str(newest[path.stem])))
        renamed += 1
    return renamed
