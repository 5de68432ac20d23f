"""``invbench leaderboard submit``: validate a results file and merge it into the leaderboard.

The leaderboard folder holds ``results.parquet`` (one row per key, :data:`~.validate.KEY`),
``curves.parquet``, ``examples/`` and ``history.parquet`` (every row a submission replaced, with when
and why). A submission is a results parquet file, usually the ``results.parquet`` of an
``invbench bench`` output folder; its ``curves.parquet`` and ``examples/`` next to it are merged too
when present. A row's curve and example follow the row: they are matched by cell id *and*
``params_hash``, so a rerun whose defaults resolved differently adds to the leaderboard without
overwriting the older row's figures (see :mod:`invbench.leaderboard.artifacts`).

Nothing a submission reports is trusted: every scored row's metrics are recomputed from the estimate
stored beside it (``estimates/``, see :mod:`invbench.leaderboard.rescore`) against the truth the
leaderboard draws itself, and a hidden-tier row must carry a valid signature of the maintainers'
harness (:mod:`invbench.harness.signing`).

A published row is never replaced silently: a submitted row newer than the published row of its key
is refused unless the submitter gives a reason (``--replace REASON``), and the replaced row moves to
the history. A submitted row older than the published one is ignored, and one identical to it (same
timestamp) is unchanged. The submission is all or nothing: results, curves and examples are checked
together and staged in a hidden folder of the leaderboard, and only then moved into place, so a
refused submission leaves every file of the leaderboard byte-identical.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from invbench.core.seeding import SALT_ENV, HiddenSplitError, hidden_salt
from invbench.harness.signing import signature_valid
from invbench.harness.store import load_example, order_columns, write_parquet
from invbench.leaderboard.artifacts import example_name, find_example, migrate_examples
from invbench.leaderboard.rescore import estimates_of, rescore
from invbench.leaderboard.validate import KEY, SubmissionError, validate_results

EXAMPLE_ARRAYS = ("truth", "initial", "estimate")
CURVE_COLUMNS = ("cell_id", "params_hash", "iteration", "pde_solves", "wall_time", "misfit")


@dataclass
class SubmitReport:
    """What a submission changed (or, for a dry run, would change).

    Attributes:
        added: Labels of the rows with new keys.
        replaced: Labels of the published rows that newer submitted rows replaced.
        ignored: Labels of submitted rows older than the published row of their key.
        unchanged: Submitted rows identical to a published row (same key and timestamp).
        total: Rows in the leaderboard afterwards.
        written: Whether the leaderboard was written (``False`` for a dry run).
    """

    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    unchanged: int = 0
    total: int = 0
    written: bool = False


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


def check_estimates(rows: pd.DataFrame, folder: Path, *, source: Path) -> None:
    """Check the signatures of verified rows and re-score every scored row from its stored estimate.

    Raises:
        SubmissionError: Naming every row without a readable estimate, with a missing or wrong
            signature, or whose metrics differ from those recomputed from its estimate.
    """
    estimates, errors = estimates_of(rows, folder)
    verified = rows["verified"].fillna(False).astype(bool) if "verified" in rows.columns else None
    if verified is not None and verified.any():
        try:
            hidden_salt()
        except HiddenSplitError:
            errors.append(
                f"{int(verified.sum())} verified (hidden-tier) rows: only the maintainers, who hold "
                f"${SALT_ENV}, can check and submit them; they come from `invbench verify`"
            )
        else:
            for idx in rows.index[verified]:
                if not signature_valid(rows.loc[idx].to_dict(), estimates.get(idx)):
                    errors.append(f"row {idx}: its signature does not match the row and its estimate")
    if not errors:
        errors = rescore(rows, estimates)
    if errors:
        shown = errors[:20] + ([f"(and {len(errors) - 20} more)"] if len(errors) > 20 else [])
        raise SubmissionError(f"{source} failed re-scoring:\n  - " + "\n  - ".join(shown))


def row_label(row: pd.Series) -> str:
    """A short human name of a row's key."""
    where = f"{row['task']} {row['split']}#{row['instance']}"
    return f"{where} {row['solver']} {row['params_hash']} seed {row['seed']}"


def submit(
    path: str | Path,
    leaderboard: str | Path = "leaderboard",
    *,
    replace: str | None = None,
    dry_run: bool = False,
) -> SubmitReport:
    """Validate ``path`` and merge it (with its curves and examples) into ``leaderboard``.

    Args:
        path: The submitted ``results.parquet``.
        leaderboard: The leaderboard folder.
        replace: Why published rows may be replaced; without it a submission that would replace any
            published row is refused.
        dry_run: Check and report, write nothing.

    Raises:
        SubmissionError: For an invalid submission, or one that would replace published rows without a
            reason; the leaderboard is left unchanged.
    """
    path, board = Path(path), Path(leaderboard)
    new = read_submission(path)
    check_estimates(new, path.parent / "estimates", source=path)
    new_curves = _read_curves(path.parent / "curves.parquet", new)
    examples = _submitted_examples(path.parent / "examples", new)
    old = _read_optional(board / "results.parquet")
    new = new.assign(timestamp=pd.to_datetime(new["timestamp"], utc=True))
    if len(old):
        old = old.assign(timestamp=pd.to_datetime(old["timestamp"], utc=True))
    report, winners, replaced_rows = _classify(old, new)
    if report.replaced and not (replace and replace.strip()):
        shown = "\n  - ".join(report.replaced[:10])
        more = f"\n  (and {len(report.replaced) - 10} more)" if len(report.replaced) > 10 else ""
        raise SubmissionError(
            f"{len(report.replaced)} published rows would be replaced by newer ones:\n  - {shown}{more}\n"
            "pass --replace REASON to replace them (the old rows are kept in history.parquet)"
        )
    kept_old = old[~_key_mask(old, _keys(replaced_rows))] if len(old) else old
    merged = pd.concat([kept_old, winners], ignore_index=True) if len(kept_old) else winners.copy()
    merged = order_columns(merged.sort_values(KEY, kind="stable", ignore_index=True))
    report.total = len(merged)
    if dry_run or (winners.empty and not _needs_migration(board, old)):
        return report
    won = _pairs(winners)
    curves = _merge_curves(_read_optional(board / "curves.parquet"), new_curves, won, _pairs(merged))
    history = _history(_read_optional(board / "history.parquet"), replaced_rows, replace)
    _stage_and_move(board, old, merged, curves, history, {k: v for k, v in examples.items() if k in won})
    report.written = True
    return report


def _classify(old: pd.DataFrame, new: pd.DataFrame) -> tuple[SubmitReport, pd.DataFrame, pd.DataFrame]:
    """Sort the submitted rows into added, replacing, ignored and unchanged ones.

    Returns:
        The report, the submitted rows that join the leaderboard, and the published rows they replace.
    """
    report = SubmitReport()
    published = {k: row for k, (_, row) in zip(_keys(old), old.iterrows(), strict=True)} if len(old) else {}
    winners, replaced = [], []
    for key, (idx, row) in zip(_keys(new), new.iterrows(), strict=True):
        before = published.get(key)
        if before is None:
            report.added.append(row_label(row))
            winners.append(idx)
        elif row["timestamp"] == before["timestamp"]:
            report.unchanged += 1
        elif row["timestamp"] < before["timestamp"]:
            report.ignored.append(row_label(row))
        else:
            report.replaced.append(row_label(before))
            winners.append(idx)
            replaced.append(before)
    replaced_rows = pd.DataFrame(replaced) if replaced else old.iloc[:0]
    return report, new.loc[winners], replaced_rows


def _keys(df: pd.DataFrame) -> list[tuple[str, ...]]:
    return [tuple(k) for k in df[KEY].astype(str).to_numpy()] if len(df) else []


def _key_mask(df: pd.DataFrame, keys: list[tuple[str, ...]]) -> pd.Series:
    wanted = set(keys)
    return pd.Series([k in wanted for k in _keys(df)], index=df.index, dtype=bool)


def _needs_migration(board: Path, old: pd.DataFrame) -> bool:
    folder = board / "examples"
    return len(old) > 0 and folder.is_dir() and any("-" not in p.stem for p in folder.glob("[!.]*.npz"))


def _history(old_history: pd.DataFrame, replaced: pd.DataFrame, reason: str | None) -> pd.DataFrame | None:
    if replaced.empty:
        return None
    now = pd.Timestamp.now(tz="UTC")
    entries = replaced.assign(replaced_at=now, replace_reason=str(reason or "").strip())
    return pd.concat([old_history, entries], ignore_index=True) if len(old_history) else entries


def _stage_and_move(
    board: Path,
    old: pd.DataFrame,
    merged: pd.DataFrame,
    curves: pd.DataFrame | None,
    history: pd.DataFrame | None,
    examples: dict[tuple[str, str], Path],
) -> None:
    """Write every new file into a hidden staging folder of ``board``, then move them into place.

    Everything that can fail (serialising the tables, copying the examples) happens while staging;
    the moves that follow are renames within one file system.
    """
    board.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".submit-", dir=board))
    try:
        (stage / "examples").mkdir()
        moves: list[tuple[Path, Path]] = []
        for (cid, phash), src in examples.items():
            name = example_name(cid, phash)
            shutil.copyfile(src, stage / "examples" / name)
            moves.append((stage / "examples" / name, board / "examples" / name))
        tables = {"results.parquet": merged, "curves.parquet": curves, "history.parquet": history}
        for name, table in tables.items():
            if table is not None:
                write_parquet(table, stage / name)
                moves.append((stage / name, board / name))
        (board / "examples").mkdir(exist_ok=True)
        migrate_examples(board / "examples", old)
        for src, dest in moves:
            src.replace(dest)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _read_optional(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.is_file() else pd.DataFrame()


def _read_curves(path: Path, rows: pd.DataFrame) -> pd.DataFrame:
    """The submitted curves, each belonging to a submitted row.

    Raises:
        SubmissionError: For an unreadable file, missing columns or curves of rows not submitted.
    """
    if not path.is_file():
        return pd.DataFrame()
    try:
        curves = pd.read_parquet(path)
    except Exception as e:
        raise SubmissionError(f"{path}: not a readable parquet file ({type(e).__name__}: {e})") from e
    if curves.empty:
        return curves
    missing = [c for c in CURVE_COLUMNS if c not in curves.columns]
    if missing:
        raise SubmissionError(f"{path}: missing curve columns: {', '.join(missing)}")
    stray = _pairs(curves) - _pairs(rows)
    if stray:
        raise SubmissionError(f"{path}: curves of rows that are not in the submission: {sorted(stray)[:5]}")
    return curves


def _pairs(df: pd.DataFrame) -> set[tuple[str, str]]:
    """The (cell_id, params_hash) pairs of a table's rows."""
    if df.empty:
        return set()
    return set(zip(df["cell_id"].astype(str), df["params_hash"].astype(str), strict=True))


def _pair_mask(df: pd.DataFrame, pairs: set[tuple[str, str]]) -> pd.Series:
    """Rows of ``df`` whose (cell_id, params_hash) is in ``pairs``."""
    keys = zip(df["cell_id"].astype(str), df["params_hash"].astype(str), strict=True)
    return pd.Series([k in pairs for k in keys], index=df.index, dtype=bool)


def _submitted_examples(folder: Path, rows: pd.DataFrame) -> dict[tuple[str, str], Path]:
    """Example files of the submitted rows, each checked to hold the three model arrays.

    Raises:
        SubmissionError: For a file that is not a plain-array ``.npz`` (no pickle), lacks an array, holds
            arrays of different shapes or non-finite values, or differs in shape from the other
            examples of its task.
    """
    found: dict[tuple[str, str], Path] = {}
    if not folder.is_dir():
        return found
    counts = rows["cell_id"].value_counts()
    task_of = dict(zip(zip(rows["cell_id"], rows["params_hash"], strict=True), rows["task"], strict=True))
    shapes: dict[str, tuple[tuple[int, ...], Path]] = {}
    for cid, phash in sorted(_pairs(rows)):
        src = find_example(folder, cid, phash, unique=counts[cid] == 1)
        if src is None:
            continue
        try:
            arrays = load_example(src)
        except Exception as e:
            raise SubmissionError(f"{src}: not a plain-array .npz ({e})") from e
        shape = _example_shape(src, arrays)
        task = str(task_of[(cid, phash)])
        first = shapes.setdefault(task, (shape, src))
        if first[0] != shape:
            other = f"{first[1].name} of {task} has {first[0]}"
            raise SubmissionError(f"{src}: arrays of shape {shape}, but {other}")
        found[(cid, phash)] = src
    return found


def _example_shape(src: Path, arrays: dict[str, np.ndarray]) -> tuple[int, ...]:
    missing = [k for k in EXAMPLE_ARRAYS if k not in arrays]
    if missing:
        raise SubmissionError(f"{src}: missing example arrays: {', '.join(missing)}")
    shapes = {k: tuple(arrays[k].shape) for k in EXAMPLE_ARRAYS}
    if len(set(shapes.values())) != 1 or not 2 <= len(shapes["truth"]) <= 3:
        raise SubmissionError(f"{src}: truth, initial and estimate must be one 2-D model shape, not {shapes}")
    for k in EXAMPLE_ARRAYS:
        if not np.issubdtype(arrays[k].dtype, np.floating) or not np.all(np.isfinite(arrays[k])):
            raise SubmissionError(f"{src}: {k} must hold finite floating-point values")
    return shapes["truth"]


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
