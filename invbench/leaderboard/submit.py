"""``invbench leaderboard submit``: validate a results file and merge it into the leaderboard.

The leaderboard folder holds ``results.parquet`` (one row per key, :data:`~.validate.KEY`),
``curves.parquet`` and ``examples/``. A submission is a results parquet file, usually the
``results.parquet`` of an ``invbench bench`` output folder; its ``curves.parquet`` and
``examples/`` next to it are merged too when present. The newest row (by ``timestamp``) wins
per key. A row's curve and example follow the row: they are matched by cell id *and*
``params_hash``, so a rerun whose defaults resolved differently adds to the leaderboard without
overwriting the older row's figures (see :mod:`invbench.leaderboard.artifacts`). Nothing is
written unless the whole submission is valid, and every file is replaced atomically.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from invbench.core.files import atomic_write
from invbench.harness.store import load_example, order_columns, write_parquet
from invbench.leaderboard.artifacts import example_name, find_example, migrate_examples
from invbench.leaderboard.validate import KEY, SubmissionError, validate_results


@dataclass
class SubmitReport:
    """What a submission changed.

    Attributes:
        added: New keys.
        replaced: Keys whose row was replaced by a newer one.
        kept: Submitted rows older than the leaderboard's row for their key (ignored).
        total: Rows in the leaderboard afterwards.
    """

    added: int
    replaced: int
    kept: int
    total: int


def read_submission(path: str | Path) -> pd.DataFrame:
    """Read and validate a results file.

    Raises:
        SubmissionError: When it cannot be read or is invalid (listing every problem).
    """
    path = Path(path)
    if not path.is_file():
        raise SubmissionError(f"{path}: no such file")
    try:
        df = pd.read_parquet(path)
    except Exception as e:
        raise SubmissionError(f"{path}: not a readable parquet file ({type(e).__name__}: {e})") from e
    errors = validate_results(df)
    if errors:
        raise SubmissionError(f"{path} is not a valid invbench results file:\n  - " + "\n  - ".join(errors))
    return df


def submit(path: str | Path, leaderboard: str | Path = "leaderboard") -> SubmitReport:
    """Validate ``path`` and merge it (with its curves and examples) into ``leaderboard``.

    Raises:
        SubmissionError: For an invalid submission; the leaderboard is left unchanged.
    """
    path, board = Path(path), Path(leaderboard)
    new = read_submission(path)
    new_curves = _read_optional(path.parent / "curves.parquet")
    examples = _submitted_examples(path.parent / "examples", new)
    old = _read_optional(board / "results.parquet")
    old_keys = set(map(tuple, old[KEY].astype(str).to_numpy())) if len(old) else set()
    new = new.assign(timestamp=pd.to_datetime(new["timestamp"], utc=True), _submitted=True)
    if len(old):
        old = old.assign(timestamp=pd.to_datetime(old["timestamp"], utc=True), _submitted=False)
    merged = pd.concat([old, new], ignore_index=True) if len(old) else new
    merged = merged.sort_values("timestamp", kind="stable").drop_duplicates(KEY, keep="last")
    won = _pairs(merged[merged["_submitted"].astype(bool)])
    merged = order_columns(
        merged.drop(columns="_submitted").sort_values(KEY, kind="stable", ignore_index=True)
    )
    new_keys = [tuple(k) for k in new.loc[_pair_mask(new, won), KEY].astype(str).to_numpy()]
    report = SubmitReport(
        added=sum(k not in old_keys for k in new_keys),
        replaced=sum(k in old_keys for k in new_keys),
        kept=len(new) - len(new_keys),
        total=len(merged),
    )
    board.mkdir(parents=True, exist_ok=True)
    migrate_examples(board / "examples", old)
    for (cid, phash), src in examples.items():
        if (cid, phash) in won:
            dest = board / "examples" / example_name(cid, phash)
            atomic_write(dest, lambda f, s=src: f.write(s.read_bytes()))
    curves = _merge_curves(_read_optional(board / "curves.parquet"), new_curves, won, _pairs(merged))
    if curves is not None:
        write_parquet(curves, board / "curves.parquet")
    write_parquet(merged, board / "results.parquet")
    return report


def _read_optional(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.is_file() else pd.DataFrame()


def _pairs(df: pd.DataFrame) -> set[tuple[str, str]]:
    """The (cell_id, params_hash) pairs of a table's rows."""
    return set(zip(df["cell_id"].astype(str), df["params_hash"].astype(str), strict=True))


def _pair_mask(df: pd.DataFrame, pairs: set[tuple[str, str]]) -> pd.Series:
    """Rows of ``df`` whose (cell_id, params_hash) is in ``pairs``."""
    keys = zip(df["cell_id"].astype(str), df["params_hash"].astype(str), strict=True)
    return pd.Series([k in pairs for k in keys], index=df.index, dtype=bool)


def _submitted_examples(folder: Path, rows: pd.DataFrame) -> dict[tuple[str, str], Path]:
    """Example files of the submitted rows, each checked to be plain arrays (no pickle)."""
    found: dict[tuple[str, str], Path] = {}
    if not folder.is_dir():
        return found
    counts = rows["cell_id"].value_counts()
    for cid, phash in sorted(_pairs(rows)):
        src = find_example(folder, cid, phash, unique=counts[cid] == 1)
        if src is None:
            continue
        try:
            load_example(src)
        except Exception as e:
            raise SubmissionError(f"{src}: not a plain-array .npz ({e})") from e
        found[(cid, phash)] = src
    return found


def _merge_curves(
    old: pd.DataFrame, new: pd.DataFrame, won: set[tuple[str, str]], keep: set[tuple[str, str]]
) -> pd.DataFrame | None:
    """Curves of the merged leaderboard: the winning submitted rows' replace the same rows' older ones."""
    if old.empty and new.empty:
        return None
    parts = []
    if len(old):
        parts.append(old[~_pair_mask(old, won)])
    if len(new):
        parts.append(new[_pair_mask(new, won)])
    merged = pd.concat(parts, ignore_index=True)
    return merged[_pair_mask(merged, keep)].reset_index(drop=True)
