"""Quality report of trained InversionNet weights on the four families' ``val`` instances.

``python -m studies.inversionnet.report [--checkpoint NAME] [--instances N] --out DIR`` runs the weights on
the first ``N`` ``val`` instances of FlatVel-A, CurveVel-A, FlatFault-A and CurveFault-A (the tasks' own
observed data: OpenFWI's reference scheme, not the training pairs' deepwave data), clean, with 10 % noise
and with 14 missing traces, scores each estimate with the tasks' metrics, and writes ``NAME-report.json``,
``NAME-report.md`` (the table the weights' README shows) and ``NAME-report.png`` (truth, estimate and the
initial model of each family's ``val`` #0). The initial model (the task's smoothed start for iterative
methods) is the reference: an amortized method that does not beat it adds nothing.

The report reads ``val`` only: ``test`` instances are what the leaderboard scores.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from invbench.registry import fwi_task_id, make
from invbench.tasks.fwi.metrics import velocity_metrics

FAMILIES = ("FlatVel-A", "CurveVel-A", "FlatFault-A", "CurveFault-A")
CONDITIONS = ("", "Noise10", "Missing14")
METRICS = ("mae", "rmse", "ssim")


def _condition_name(variant: str) -> str:
    return variant or "clean"


def evaluate(checkpoint: str, instances: int) -> dict[str, Any]:
    """Scores of the weights and of the initial model per family, condition and ``val`` instance."""
    from solvers.inversionnet.solver import InversionNet

    rows: list[dict[str, Any]] = []
    examples: dict[str, dict[str, np.ndarray]] = {}
    solver = InversionNet(checkpoint=checkpoint)
    for family in FAMILIES:
        for variant in CONDITIONS:
            env = make(fwi_task_id(family, variant))
            solver.resolve_params(env)
            solver.setup(env)
            for index in range(instances):
                env.reset(seed=index, options={"split": "val", "index": index})
                base = env.unwrapped
                estimate = solver.solve(env)
                truth, initial = base.instance.truth, base.instance.initial
                for method, field in (("inversionnet", estimate), ("initial model", initial)):
                    rows.append({"family": family, "condition": _condition_name(variant), "index": index,
                                 "method": method, **velocity_metrics(field, truth)})  # fmt: skip
                if index == 0 and not variant:
                    examples[family] = {"truth": truth, "inversionnet": estimate, "initial model": initial}
            env.close()
    return {"checkpoint": checkpoint, "manifest": solver.manifest, "rows": rows, "examples": examples}


def summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean metrics per family, condition and method, and how often InversionNet beats the initial MAE."""
    out = []
    order = [_condition_name(v) for v in CONDITIONS]
    keys = sorted(
        {(r["family"], r["condition"]) for r in rows},
        key=lambda k: (FAMILIES.index(k[0]), order.index(k[1])),
    )
    for family, condition in keys:
        sel = [r for r in rows if r["family"] == family and r["condition"] == condition]
        by = {m: [r for r in sel if r["method"] == m] for m in ("inversionnet", "initial model")}
        wins = sum(a["mae"] < b["mae"] for a, b in zip(by["inversionnet"], by["initial model"], strict=True))
        entry: dict[str, Any] = {"family": family, "condition": condition, "n": len(by["inversionnet"]),
                                 "wins": int(wins)}  # fmt: skip
        for method, rs in by.items():
            for m in METRICS:
                entry[f"{method}:{m}"] = float(np.mean([r[m] for r in rs]))
        out.append(entry)
    return out


def markdown(report: dict[str, Any]) -> str:
    """The report's table with the weights' training record."""
    manifest = report["manifest"]
    tr = manifest.get("training") or {}
    pairs = (tr.get("data") or {}).get("pairs") or []
    held = tr.get("held_out") or {}
    lines = [
        f"#### `{manifest.get('name')}` on the `val` instances",
        "",
        f"sha256 `{manifest['weights']['sha256'][:12]}…`, preset {tr.get('preset')}, {tr.get('steps')} steps "
        f"({tr.get('epochs')} epochs) on {sum(int(p.get('n', 0)) for p in pairs)} simulated pairs of "
        f"{', '.join(str(p.get('family')) for p in pairs)}; training {tr.get('wall_time_s')} s on "
        f"{tr.get('device')} ({tr.get('threads')} thread(s)), pair simulation "
        f"{sum(float(p.get('generation_wall_time_s') or 0) for p in pairs):.0f} s. Held-out pairs "
        f"({held.get('pairs')}): MAE {held.get('mae', float('nan')):.4f}, "
        f"RMSE {held.get('rmse', float('nan')):.4f} (normalised velocity).",
        "",
        "Means over the first val instances (MAE and RMSE in normalised velocity units, as the leaderboard; "
        "wins: instances where InversionNet's MAE is below the initial model's):",
        "",
        "| family | condition | n | InversionNet MAE | initial MAE | InversionNet SSIM | initial SSIM "
        "| wins |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for e in summary(report["rows"]):
        lines.append(
            f"| {e['family']} | {e['condition']} | {e['n']} | {e['inversionnet:mae']:.4f} | "
            f"{e['initial model:mae']:.4f} | {e['inversionnet:ssim']:.3f} | {e['initial model:ssim']:.3f} | "
            f"{e['wins']} of {e['n']} |"
        )
    return "\n".join(lines) + "\n"


def figure(report: dict[str, Any], path: Path) -> None:
    """Truth, InversionNet and the initial model of each family's clean ``val`` #0."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    examples = report["examples"]
    columns = ("truth", "inversionnet", "initial model")
    fig, axes = plt.subplots(len(examples), 3, figsize=(7.5, 2.4 * len(examples)), squeeze=False)
    for row, (family, fields) in enumerate(examples.items()):
        for col, key in enumerate(columns):
            ax = axes[row, col]
            im = ax.imshow(np.squeeze(fields[key]), cmap="jet", vmin=1500, vmax=4500)
            ax.set_xticks([])
            ax.set_yticks([])
            title = key if row == 0 else ""
            ax.set_title(title, fontsize=9)
            if col == 0:
                ax.set_ylabel(family, fontsize=9)
    fig.colorbar(im, ax=axes, shrink=0.6, label="velocity (m/s)")
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    """Command line: write the report files and print the markdown."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="fwi-inversionnet-lite", help="shipped name or path")
    parser.add_argument("--instances", type=int, default=10, help="val instances per family and condition")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    args = parser.parse_args(argv)
    if args.instances < 1:
        parser.error("--instances must be at least 1")
    torch.manual_seed(0)
    report = evaluate(args.checkpoint, args.instances)
    args.out.mkdir(parents=True, exist_ok=True)
    name = report["manifest"]["name"]
    figure(report, args.out / f"{name}-report.png")
    text = markdown(report)
    (args.out / f"{name}-report.md").write_text(text)
    record = {"checkpoint": args.checkpoint, "sha256": report["manifest"]["weights"]["sha256"],
              "rows": report["rows"], "summary": summary(report["rows"])}  # fmt: skip
    (args.out / f"{name}-report.json").write_text(json.dumps(record, indent=1) + "\n")
    print(text)


if __name__ == "__main__":
    main()
