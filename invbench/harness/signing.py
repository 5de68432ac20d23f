"""Signatures of verified rows: proof that a hidden-tier row came from the maintainers' harness.

A row of the ``hidden`` split is *verified* when the harness produced it in an isolated worker
(:mod:`invbench.harness.isolation`) on a machine holding the hidden tier's salt
(:data:`~invbench.core.seeding.SALT_ENV`). The harness then signs the row: an HMAC-SHA256, keyed by
the salt, of the row's identity, its counts, its metrics and a digest of its stored estimate. Only a
holder of the salt can make or check a signature, and the salt never reaches a solver's worker, so a
solver or a submitter cannot forge a verified row, and a verified row edited after the run (a better
MAE, fewer solves, another estimate) no longer matches its signature.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from invbench.core.seeding import hidden_salt

SIGNED_FIELDS = (
    "cell_id",
    "cell_spec",
    "task",
    "split",
    "instance",
    "solver",
    "params",
    "params_hash",
    "seed",
    "status",
    "forward_solves",
    "adjoint_solves",
    "pde_solves",
    "budget",
    "wall_time",
    "isolated",
    "verified",
)
"""Row fields a signature covers, besides every ``metric_*`` column, the timestamp and the estimate."""


def estimate_digest(estimate: np.ndarray | None) -> str:
    """sha256 of a stored estimate's bytes (float16, C order) and shape; ``""`` without one."""
    if estimate is None:
        return ""
    arr = np.ascontiguousarray(estimate, dtype=np.float16)
    h = hashlib.sha256(repr(arr.shape).encode())
    h.update(arr.tobytes())
    return h.hexdigest()


def _plain(value: Any) -> Any:
    """A JSON value that survives a parquet round trip unchanged (floats by their exact repr)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return "nan" if math.isnan(v) else repr(v)
    return str(value)


def _is_nan(value: Any) -> bool:
    return isinstance(value, (float, np.floating)) and math.isnan(float(value))


def _message(row: Mapping[str, Any], digest: str) -> bytes:
    fields = {k: _plain(row[k]) for k in SIGNED_FIELDS}
    # A row without a metric and a row with a NaN there (after a concat with scored rows) sign alike.
    metrics = {
        k: _plain(v) for k, v in sorted(row.items()) if str(k).startswith("metric_") and not _is_nan(v)
    }
    ts = pd.Timestamp(row["timestamp"])
    stamp = int((ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")).value)
    doc = {"fields": fields, "metrics": metrics, "timestamp": stamp, "estimate": digest}
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def sign_row(row: Mapping[str, Any], estimate: np.ndarray | None) -> str:
    """The signature of ``row`` with its stored estimate (needs the salt).

    Raises:
        HiddenSplitError: Without the salt.
    """
    key = hidden_salt().encode()
    return hmac.new(key, _message(row, estimate_digest(estimate)), hashlib.sha256).hexdigest()


def signature_valid(row: Mapping[str, Any], estimate: np.ndarray | None) -> bool:
    """Whether ``row['signature']`` is the signature of the row and its estimate (needs the salt).

    Raises:
        HiddenSplitError: Without the salt.
    """
    given = str(row.get("signature", "") or "")
    return bool(given) and hmac.compare_digest(given, sign_row(row, estimate))
