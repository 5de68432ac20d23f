r"""Does the FWI prior prefer the true model to the inversions? A check of RED-DiffEq's prior.

RED-DiffEq's regulariser moves the model along ``E_{t, eps}[eps_hat(x_t, t) - eps]``. RED-diff
(Mardani et al. 2023) derives that direction from the prior's denoising error,

    E(x) = mean over t and eps of ||eps_hat(sqrt(abar_t) x + sqrt(1 - abar_t) eps, t) - eps||^2 / N,

as its gradient with the network's Jacobian dropped (the score-distillation form), and ``E`` with
uniform ``t`` is the "simple" diffusion loss of Ho et al. (2020), the usual stand-in for
``-log p(x)``. Here ``eps_hat`` is re-derived from the clipped ``x0`` prediction, as the regulariser
uses it, and ``t`` is uniform, the released ``w(t) = 1``. A prior that helps should give the true
model a lower ``E`` than the wrong answers the inversions end with, the blurred initial model among
them. Where it does not, the regulariser does not point at the truth, and no weight or iteration
budget can make it.

For the first test instances of each of the suite's four families, this script evaluates ``E`` on
the truth and the initial model (from the task) and on each compared solver's estimate under one
data condition (from the leaderboard's examples, kept for the instances a suite names), with the
same ``(t, eps)`` draws for every candidate (a paired comparison). It writes a markdown table, one
row per instance, a summary, and optionally a figure of the error against ``t``. Example::

    python -m studies.red_diffeq.prior_diagnosis leaderboard --out-md prior.md \
        --out-fig docs/figures/prior_energy.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from invbench.leaderboard.artifacts import find_example
from invbench.registry import ROBUSTNESS_FAMILIES
from studies.red_diffeq.robustness import (
    CLEAN,
    CONDITIONS,
    compared_labels,
    label_variants,
    parse_task,
    save_figure,
    solver_colors,
)

TRUTH = "truth"
INITIAL = "initial"


def energy_curve(
    prior: object, fields: np.ndarray, *, timesteps: int = 50, draws: int = 4, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """The prior's denoising error of each physical field at each of a grid of diffusion steps.

    Args:
        prior: A :class:`~invbench.nn.diffusion.prior.DiffusionPrior`.
        fields: ``(K, H, W)`` physical fields (m/s for FWI).
        timesteps: How many diffusion steps, evenly spaced over ``0 .. T-1``.
        draws: Noise draws per step; every field sees the same draws.
        seed: Seed of the noise draws.

    Returns:
        ``(steps, errors)``: the ``(S,)`` steps and the ``(K, S)`` per-entry squared errors, each the
        mean over the draws.

    Raises:
        ValueError: For fields that are not ``(K, H, W)`` or not finite.
    """
    if fields.ndim != 3:
        raise ValueError(f"fields must be (K, H, W), got shape {fields.shape}")
    if not np.isfinite(fields).all():
        raise ValueError("fields contain NaN or infinite values")
    x = prior.to_model_units(torch.as_tensor(fields[:, None], dtype=torch.float32))
    n_t = int(prior.num_train_timesteps)
    steps = np.unique(np.linspace(0, n_t - 1, timesteps).round().astype(int))
    gen = torch.Generator(device="cpu").manual_seed(seed)
    errors = torch.zeros(x.shape[0], len(steps), dtype=torch.float64)
    with torch.no_grad():
        for _ in range(draws):
            for k, t in enumerate(steps):
                eps = torch.randn(x.shape[1:], generator=gen).to(x.device).expand_as(x)
                x_t = prior.add_noise(x, eps, int(t))
                x0 = prior.x0(x_t, int(t), clip=True)
                err = (prior.eps_from_x0(x_t, x0, int(t)) - eps).pow(2).mean(dim=(1, 2, 3))
                errors[:, k] += err.double().cpu()
    return steps, (errors / draws).numpy()


def denoising_energy(prior: object, fields: np.ndarray, **kw: int) -> np.ndarray:
    """``E`` of each field: :func:`energy_curve` averaged over the steps (same arguments)."""
    return energy_curve(prior, fields, **kw)[1].mean(axis=1)


def candidates(board: Path) -> pd.DataFrame:
    """Rows of the compared solvers on the suite's tasks whose example files exist in ``board``.

    Returns:
        Columns task, family, condition, instance, solver, mae, example (path).
    """
    everything = pd.read_parquet(board / "results.parquet")
    counts = everything["cell_id"].value_counts()
    df = everything[everything["status"] == "done"].copy()
    parsed = df["task_name"].map(parse_task)
    df = df[parsed.notna()].copy()
    df["family"] = [p[0] for p in parsed[parsed.notna()]]
    df["condition"] = [p[1] for p in parsed[parsed.notna()]]
    df["solver"] = label_variants(df)
    df = df[df["solver"].isin(compared_labels(df))]
    df["example"] = [
        find_example(board / "examples", c, h, unique=counts.get(c, 0) == 1)
        for c, h in zip(df["cell_id"], df["params_hash"], strict=True)
    ]
    df = df[df["example"].notna()]
    return df[["task", "family", "condition", "instance", "solver", "metric_mae", "example"]].rename(
        columns={"metric_mae": "mae"}
    )


def instance_fields(family: str, instance: int) -> tuple[np.ndarray, np.ndarray]:
    """The true and initial model of a clean test instance (the same under every data condition)."""
    from invbench.registry import make

    env = make(f"FWI-{family}-v0")
    try:
        env.reset(seed=0, options={"split": "test", "index": int(instance)})
        inst = env.unwrapped.instance
        return np.asarray(inst.truth, dtype=np.float32), np.asarray(inst.initial, dtype=np.float32)
    finally:
        env.close()


def diagnose(
    rows: pd.DataFrame, prior: object, families: list[str], instances: int, **energy_kw: int
) -> pd.DataFrame:
    """Energies of truth, initial model and every stored estimate, one row per (instance, candidate).

    Truth and initial model come from the task for every test instance ``0 .. instances - 1`` of each
    family; estimates from ``rows`` (one data condition) where the leaderboard kept an example.
    """
    records = []
    for family in families:
        for instance in range(instances):
            truth, initial = instance_fields(family, instance)
            grp = rows[(rows["family"] == family) & (rows["instance"] == instance)].sort_values("solver")
            names, fields, maes = [TRUTH, INITIAL], [truth[0], initial[0]], [0.0, np.nan]
            for _, row in grp.iterrows():
                example = np.load(row["example"])
                if "truth" in example and not np.allclose(example["truth"][0], truth[0]):
                    raise ValueError(
                        f"{row['example']}: its true model is not {family} test #{instance}'s;"
                        " the leaderboard was made with other task data"
                    )
                names.append(row["solver"])
                fields.append(example["estimate"][0])
                maes.append(float(row["mae"]))
            steps, curves = energy_curve(prior, np.stack(fields), **energy_kw)
            for name, curve, m in zip(names, curves, maes, strict=True):
                records.append(
                    {
                        "family": family,
                        "instance": instance,
                        "candidate": name,
                        "energy": float(curve.mean()),
                        "mae": m,
                        "steps": steps.tolist(),
                        "curve": curve.tolist(),
                    }
                )
    return pd.DataFrame.from_records(records)


def markdown(result: pd.DataFrame) -> str:
    """A table of energies per instance and the summary counts."""
    wide = result.pivot_table(index=["family", "instance"], columns="candidate", values="energy", sort=False)
    solvers = [c for c in compared_labels(result.rename(columns={"candidate": "solver"})) if c in wide]
    cols = [TRUTH, INITIAL, *solvers]
    lines = [
        "| family | # | " + " | ".join(cols) + " |",
        "|---|---:" + "|---:" * len(cols) + "|",
    ]
    for (family, inst), row in wide.iterrows():
        cells = ["–" if pd.isna(row.get(c)) else f"{row[c]:.4f}" for c in cols]
        lines.append(f"| {family} | {inst} | " + " | ".join(cells) + " |")
    summary = []
    for s in solvers:
        both = wide[[TRUTH, s]].dropna()
        below = int((both[s] < both[TRUTH]).sum())
        summary.append(
            f"- the prior gives `{s}`'s estimate a lower energy than the true model on"
            f" {below} of {len(both)} instances"
        )
    both = wide[[TRUTH, INITIAL]].dropna()
    per_family = [
        f"{family} {int((g[INITIAL] < g[TRUTH]).sum())}/{len(g)}"
        for family, g in both.groupby(level=0, sort=False)
    ]
    summary.append(
        f"- it gives the initial (smoothed) model a lower energy than the true model on"
        f" {int((both[INITIAL] < both[TRUTH]).sum())} of {len(both)} instances ({', '.join(per_family)})"
    )
    return "\n".join(lines) + "\n\n" + "\n".join(summary)


def figure(result: pd.DataFrame, path: Path) -> None:
    """Denoising error against diffusion step, one panel per family (its first instance with estimates).

    Truth and initial model are drawn in black and grey, every compared solver's estimate in the
    colour the robustness figure gives it.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    solvers = compared_labels(result.rename(columns={"candidate": "solver"}))
    colors = {TRUTH: "k", INITIAL: "0.55"} | solver_colors(solvers)
    panels = []
    for family, grp in result.groupby("family", sort=False):
        with_estimates = grp[grp["candidate"].isin(solvers)]
        if not with_estimates.empty:
            panels.append((family, int(with_estimates["instance"].min())))
    if not panels:
        raise ValueError("no instance has a stored estimate to plot")
    fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels) + 1.8, 3.4), squeeze=False)
    for ax, (family, inst) in zip(axes[0], panels, strict=True):
        sub = result[(result["family"] == family) & (result["instance"] == inst)]
        for cand, color in colors.items():
            row = sub[sub["candidate"] == cand]
            if row.empty:
                continue
            r = row.iloc[0]
            width = 2.2 if cand == TRUTH else 1.2
            ax.semilogy(r["steps"], r["curve"], color=color, linewidth=width, label=cand)
        ax.set_title(f"{family} #{inst}", fontsize=9)
        ax.set_xlabel("diffusion step t")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("denoising error (mean sq.)")
    save_figure(fig, axes[0][0], path, right=0.82)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("board", type=Path, help="a leaderboard folder (results.parquet and examples/)")
    ap.add_argument("--prior", default="fwi-lite", help="prior checkpoint name or path (default fwi-lite)")
    ap.add_argument(
        "--condition",
        default=CLEAN,
        choices=CONDITIONS,
        help="data condition of the estimates (default clean)",
    )
    ap.add_argument("--instances", type=int, default=3, help="test instances per family (default 3)")
    ap.add_argument("--timesteps", type=int, default=50, help="diffusion steps evaluated (default 50)")
    ap.add_argument("--draws", type=int, default=4, help="noise draws per step (default 4)")
    ap.add_argument("--out-md", type=Path, help="write the markdown here (default: print it)")
    ap.add_argument("--out-csv", type=Path, help="write every energy here")
    ap.add_argument("--out-fig", type=Path, help="write the figure of error against step (PNG) here")
    args = ap.parse_args(argv)
    if not (args.board / "results.parquet").is_file():
        raise SystemExit(f"no results.parquet in {args.board}")
    if args.instances < 1:
        raise SystemExit(f"--instances must be at least 1, got {args.instances}")
    from invbench.nn.diffusion.checkpoint import load_prior

    rows = candidates(args.board)
    rows = rows[rows["condition"] == args.condition]
    prior = load_prior(args.prior, device="cpu")
    result = diagnose(
        rows, prior, list(ROBUSTNESS_FAMILIES), args.instances, timesteps=args.timesteps, draws=args.draws
    )
    text = markdown(result)
    if args.out_md:
        args.out_md.write_text(text + "\n")
    else:
        print(text)
    if args.out_csv:
        result.drop(columns=["steps", "curve"]).to_csv(args.out_csv, index=False)
    if args.out_fig:
        figure(result, args.out_fig)


if __name__ == "__main__":
    main()
