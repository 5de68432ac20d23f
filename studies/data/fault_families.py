r"""The Fault families' generator against the real CurveFault-A maps: a distance table and a figure.

Prints, as markdown, the scaled 1-Wasserstein distance (:func:`invbench.data.calibration.scaled_w1`)
of six per-map statistics between the 300 real CurveFault-A maps and: generated CurveFault-A, version 1
(the current generator) and version 0 (the legacy one), generated FlatFault-A version 1, the real
CurveVel-A maps, and random halves of the real CurveFault-A maps against each other (the noise floor).
Writes a figure of real maps beside generated ones (``--figure``). Reads the real maps from
``--data`` (``../shared/data/openfwi`` beside the repository by default); they are not part of it.
Example (what ``docs/data.md`` shows)::

    python studies/data/fault_families.py --figure docs/figures/curvefault_a_real_vs_generated.png
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from invbench.data.calibration import STATISTICS, map_statistics, scaled_w1, split_halves
from invbench.data.families import generate

DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "openfwi"
N_GENERATED = 1000
HALF_SPLITS = 5
COLUMNS = {
    "distinct": "distinct values",
    "non_decreasing": "non-decreasing vertical steps",
    "lateral_jumps": "lateral jumps > 50 m/s",
    "top_mean": "top-5-row mean",
    "bottom_mean": "bottom-5-row mean",
    "std": "velocity std",
}


def load(data: Path, name: str) -> np.ndarray:
    """The ``model`` array of ``<data>/<name>`` (``(n, 1, 70, 70)`` m/s).

    Raises:
        FileNotFoundError: Naming the missing file.
    """
    path = data / name
    if not path.is_file():
        raise FileNotFoundError(f"real OpenFWI maps not found: {path}")
    with np.load(path) as f:
        return f["model"]


def distance_rows(data: Path, seed: int = 0) -> list[tuple[str, dict[str, float]]]:
    """``(label, {statistic: distance})`` for each set compared with the real CurveFault-A maps."""
    real = load(data, "curvefault_a_calib.npz")
    ref = map_statistics(real)

    def gen(family: str, version: int | None = None) -> dict[str, float]:
        return scaled_w1(generate(family, N_GENERATED, seed, version=version), ref)

    rows = [
        ("generated CurveFault-A, v1 (current)", gen("CurveFault-A")),
        ("generated CurveFault-A, v0 (legacy)", gen("CurveFault-A", 0)),
        ("generated FlatFault-A, v1", gen("FlatFault-A")),
        ("real CurveVel-A (5000 maps)", scaled_w1(load(data, "curvevel_a_train.npz"), ref)),
    ]
    halves = [scaled_w1(*split_halves(real, s)) for s in range(HALF_SPLITS)]
    rows.append((f"real CurveFault-A halves (mean of {HALF_SPLITS} splits)", _mean(halves)))
    rows.append((f"real CurveFault-A halves (largest of {HALF_SPLITS})", _max(halves)))
    return rows


def _mean(dists: list[dict[str, float]]) -> dict[str, float]:
    return {k: float(np.mean([d[k] for d in dists])) for k in STATISTICS}


def _max(dists: list[dict[str, float]]) -> dict[str, float]:
    return {k: float(np.max([d[k] for d in dists])) for k in STATISTICS}


def markdown(rows: list[tuple[str, dict[str, float]]]) -> str:
    """The distance table in markdown (one row per compared set, one column per statistic)."""
    lines = [
        "| compared with real CurveFault-A | " + " | ".join(COLUMNS[k] for k in STATISTICS) + " |",
        "|---|" + "---:|" * len(STATISTICS),
    ]
    lines += [f"| {label} | " + " | ".join(f"{d[k]:.2f}" for k in STATISTICS) + " |" for label, d in rows]
    return "\n".join(lines)


def figure(data: Path, out: Path, n: int = 8, seed: int = 1) -> Path:
    """Real CurveFault-A maps beside generated ones (v1 Fault families, legacy v0), a row each.

    Returns:
        ``out``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    real = load(data, "curvefault_a_calib.npz")
    picks = np.random.default_rng(seed).choice(len(real), n, replace=False)
    rows = [
        ("real CurveFault-A (OpenFWI)", real[np.sort(picks), 0]),
        ("generated CurveFault-A v1", generate("CurveFault-A", n, seed)[:, 0]),
        ("generated FlatFault-A v1", generate("FlatFault-A", n, seed + 1)[:, 0]),
        ("generated FlatFault-B v1 (assumed: no real B maps)", generate("FlatFault-B", n, seed)[:, 0]),
        ("generated CurveFault-B v1 (assumed)", generate("CurveFault-B", n, seed + 1)[:, 0]),
        ("legacy CurveFault-A v0", generate("CurveFault-A", n, seed, version=0)[:, 0]),
    ]
    fig, axes = plt.subplots(len(rows), n, figsize=(1.6 * n, 1.75 * len(rows)), squeeze=False)
    for r, (label, maps) in enumerate(rows):
        for c in range(n):
            ax = axes[r, c]
            im = ax.imshow(maps[c], cmap="jet", vmin=1500, vmax=4500, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[r, 0].set_title(label, loc="left", fontsize=9)
    fig.colorbar(im, ax=axes, shrink=0.6, label="velocity (m/s)")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90, bbox_inches="tight")
    plt.close(fig)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Print the distance table; write the figure when asked."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with the real .npz files")
    ap.add_argument("--seed", type=int, default=0, help="seed of the generated maps in the table")
    ap.add_argument("--figure", type=Path, default=None, help="write the real-vs-generated figure here")
    args = ap.parse_args(argv)
    print(markdown(distance_rows(args.data, args.seed)))
    if args.figure is not None:
        print(f"figure: {figure(args.data, args.figure)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
