"""Measurements behind docs/inversionnet.md: cost of training pairs, their gap to observed data, lite speed.

``python -m studies.inversionnet.pairs --out DIR`` (run it with ``OMP_NUM_THREADS=1`` for one-thread numbers)
writes ``pairs-measurements.json`` and prints a markdown summary:

* cost: :func:`invbench.data.pairs.generate_pairs` on an OpenFWI-size task with ``batch_size`` maps per
  propagator call against one map per call (same pairs; everything counted: maps, simulation,
  decimation, writing);
* gap: on train maps of the four families, the deepwave data the pairs hold against the data of OpenFWI's
  reference scheme that tasks observe (relative L2 at 1 ms, after the 4 ms decimation, and in the
  network's input units), and how much energy lies above each decimation's Nyquist frequency;
* lite: steps/s of the ``lite`` InversionNet through ``train_inversionnet`` (the shared loop), bf16 and
  float32, on the pairs just made.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from invbench.data.pairs import decimate_time, generate_pairs
from invbench.registry import fwi_task_id, make

FAMILIES = ("FlatVel-A", "CurveVel-A", "FlatFault-A", "CurveFault-A")


def pair_cost(task: str, n: int, out: Path, batch_sizes: tuple[int, ...] = (1, 8)) -> list[dict[str, Any]]:
    """Wall time per pair of ``generate_pairs`` at each batch size (a fresh folder each)."""
    rows = []
    for b in batch_sizes:
        folder = out / f"cost-b{b}"
        generate_pairs(task, 2, out / f"warm-b{b}", batch_size=b, device="cpu")  # deepwave's first call
        r = generate_pairs(task, n, folder, batch_size=b, shard_size=n, device="cpu")
        rows.append({"batch_size": b, "pairs": r.new, "wall_s": r.wall_s, "simulate_s": r.simulate_s,
                     "pairs_per_s": r.new / r.wall_s, "seconds_per_1000": r.seconds_per_1000})  # fmt: skip
    return rows


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def observed_gap(per_family: int) -> list[dict[str, Any]]:
    """Pairs' deepwave data against the reference scheme's (what tasks observe) on train maps."""
    from invbench.physics.wave.propagator import AcousticPropagator
    from invbench.physics.wave.reference import reference_forward
    from solvers.inversionnet.transforms import DataTransform

    rows = []
    transform = DataTransform()
    for family in FAMILIES:
        base = make(fwi_task_id(family)).unwrapped
        acq = base.acquisition
        v = torch.from_numpy(np.stack([base.true_model("train", i) for i in range(per_family)]))
        with torch.no_grad():
            ours = AcousticPropagator(acq, device="cpu")(v)
            ref = reference_forward(v, acq, device="cpu")
        spectrum = torch.fft.rfft(ref, dim=-2).abs() ** 2
        freqs = torch.fft.rfftfreq(acq.nt, d=acq.dt)
        for k in range(per_family):
            o4, r4 = (decimate_time(x[k : k + 1], 4, acq.dt) for x in (ours, ref))
            x_o, x_r = transform.data(o4), transform.data(r4)
            energy = spectrum[k].sum(dim=(0, 2))
            nyquist = {m: 0.5 / (acq.dt * m) for m in (2, 4, 8)}
            above = {
                f"energy_above_{int(f)}hz": float(energy[freqs > f].sum() / energy.sum())
                for f in nyquist.values()
            }
            rows.append({
                "family": family, "train_index": k, "v_max": float(v[k].max()),
                "rel_l2_1ms": _rel(ours[k], ref[k]), "rel_l2_4ms": _rel(o4, r4),
                "input_mean_abs_diff": float((x_o - x_r).abs().mean()),
                "input_mean_abs": float(x_r.abs().mean()),
                "decimation_change_4ms": _rel(r4, ref[k : k + 1, :, ::4, :]), **above,
            })  # fmt: skip
    return rows


def lite_speed(folders: list[Path], out: Path, steps: int) -> list[dict[str, Any]]:
    """Steps/s of the lite preset through the shared training loop, bf16 (its default) and float32."""
    from solvers.inversionnet.train import train_inversionnet

    rows = []
    for bf16 in (True, False):
        t0 = time.perf_counter()
        r = train_inversionnet(folders, "lite", out=out / f"lite-bf16-{bf16}.safetensors", steps=steps,
                               held_out=16, device="cpu", bf16=bf16)  # fmt: skip
        rows.append({"bf16": bf16, "steps": r.step, "steps_per_s": r.steps_per_second,
                     "wall_incl_load_s": time.perf_counter() - t0,
                     "parameters": r.manifest["weights"]["n_parameters"]})  # fmt: skip
    return rows


def main() -> None:
    """Run the three measurements and write them (module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument(
        "--cost-pairs", type=int, default=64, help="pairs per batch size (lite trains on them)"
    )
    parser.add_argument("--gap-maps", type=int, default=3, help="train maps per family")
    parser.add_argument("--lite-steps", type=int, default=20)
    args = parser.parse_args()
    if "OMP_NUM_THREADS" in os.environ:  # torch's intra-op pool follows it only at start-up on some builds
        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    args.out.mkdir(parents=True, exist_ok=True)
    task = fwi_task_id("FlatVel-A")
    result: dict[str, Any] = {"threads": torch.get_num_threads(), "torch": torch.__version__}
    result["cost"] = pair_cost(task, args.cost_pairs, args.out)
    result["gap"] = observed_gap(args.gap_maps)
    result["lite"] = lite_speed([args.out / "cost-b8"], args.out, args.lite_steps)
    (args.out / "pairs-measurements.json").write_text(json.dumps(result, indent=2) + "\n")
    for row in result["cost"]:
        print(
            f"batch {row['batch_size']}: {row['pairs_per_s']:.2f} pairs/s, "
            f"{row['seconds_per_1000'] / 60:.1f} min per 1000 pairs"
        )
    for key in (
        "rel_l2_1ms",
        "rel_l2_4ms",
        "input_mean_abs_diff",
        "decimation_change_4ms",
        "energy_above_125hz",
    ):
        values = np.array([g[key] for g in result["gap"]])
        print(f"{key}: median {np.median(values):.4g}, max {values.max():.4g}")
    for row in result["lite"]:
        print(f"lite bf16={row['bf16']}: {row['steps_per_s']:.2f} steps/s, {row['parameters']} parameters")


if __name__ == "__main__":
    main()
