r"""Where the MAE of a Darcy-Bimaterial estimate comes from: wrong-phase cells, and how committed they are.

The true log k of ``Darcy-Bimaterial-v0`` takes two values, log 3 and log 12. Each estimate is
thresholded at their midpoint (log 6); a cell is *wrong-phase* when it falls on the other side of the
threshold from the truth, and *committed* when it lies within ``--commit`` (a fraction of the phase
contrast log 4) of either phase value. For each solver this prints, per instance and as a mean:

* ``mae``: the MAE of log k (as the task scores it);
* ``wrong_phase``: the share of wrong-phase cells;
* ``mae_from_wrong_phase``: their share of the MAE (sum of their errors over all cells);
* ``committed`` and ``committed_wrong``: the share of committed cells, and of cells committed to the
  wrong phase.

Every run goes through :func:`invbench.harness.single.run_single` (seed 0, the solvers' defaults
unless ``--param``).
Example (the README's "RED-DiffEq on Darcy" diagnosis)::

    python studies/darcy/phase_errors.py --instances 3 --json phase_errors.json
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Sequence

import numpy as np

from invbench.data.darcy_fields import BIMATERIAL_K
from invbench.harness.single import run_single

TASK = "Darcy-Bimaterial-v0"


def phase_errors(truth: np.ndarray, estimate: np.ndarray, *, commit: float = 0.1) -> dict[str, float]:
    """Phase statistics of one estimate of a two-phase log k field (see the module docstring).

    Args:
        truth: True log k, every cell ``log k_low`` or ``log k_high``.
        estimate: Estimated log k, same shape.
        commit: Half-width of the "committed" band around each phase value, as a fraction of the contrast.

    Raises:
        ValueError: When the shapes differ or the estimate is not finite.
    """
    if truth.shape != estimate.shape:
        raise ValueError(f"truth has shape {truth.shape}, the estimate {estimate.shape}")
    if not np.all(np.isfinite(estimate)):
        raise ValueError("the estimate has NaN or infinite cells")
    low, high = (math.log(k) for k in BIMATERIAL_K)
    threshold = 0.5 * (low + high)
    wrong = (estimate >= threshold) != (truth >= threshold)
    err = np.abs(estimate - truth)
    committed = np.minimum(np.abs(estimate - low), np.abs(estimate - high)) < commit * (high - low)
    return {
        "mae": float(err.mean()),
        "wrong_phase": float(wrong.mean()),
        "mae_from_wrong_phase": float(err[wrong].sum() / err.size),
        "committed": float(committed.mean()),
        "committed_wrong": float((committed & wrong).mean()),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Run the solvers on the test instances and print their phase statistics."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--instances", type=int, default=3, help="test instances 0 .. N-1 (default 3)")
    ap.add_argument(
        "--runs",
        default="red-diffeq,red-diffeq:lam=0,tikhonov",
        help="comma-separated SOLVER[:KEY=VALUE;...] (default: red-diffeq, red-diffeq at lam=0, tikhonov)",
    )
    ap.add_argument("--commit", type=float, default=0.1, help="committed band, fraction of the contrast")
    ap.add_argument("--json", default=None, help="write every row to this JSON file")
    args = ap.parse_args(argv)

    results: dict[str, list[dict[str, float]]] = {}
    for run in args.runs.split(","):
        solver, _, opts = run.partition(":")
        params = {k: json.loads(v) for k, v in (kv.split("=", 1) for kv in opts.split(";") if kv)}
        for index in range(args.instances):
            record, outcome = run_single(TASK, solver, index=index, params=params)
            if record.status != "done":
                raise SystemExit(f"{run} on instance {index}: {record.status}: {record.reason}")
            arrays = outcome.figure
            row = phase_errors(arrays["truth"][0], arrays["estimate"][0], commit=args.commit)
            results.setdefault(run, []).append(row)
            print(run, index, {k: round(v, 4) for k, v in row.items()}, flush=True)
    for run, rows in results.items():
        print(run, "mean", {k: round(float(np.mean([r[k] for r in rows])), 4) for k in rows[0]})
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
