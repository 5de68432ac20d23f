"""The quality report of a trained prior, for the README: JSON numbers, a markdown section and a figure.

:func:`prior_report` runs :func:`~invbench.nn.diffusion.evaluate.quality_report` against held-out fields
of the prior's training distribution (:func:`reference_fields`: fresh procedural fields of the families
its manifest records) and, for an FWI prior given real OpenFWI maps (:func:`real_openfwi_maps`), compares
the same samples with each real family. :func:`report_markdown` formats the numbers beside their
reference-vs-reference baselines (what a perfect prior would score); :func:`report_figure` shows samples
above training-distribution (and real) maps on one colour scale. ``invbench prior-report`` writes all
three.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from invbench.nn.diffusion.evaluate import (
    HELDOUT_SEED_OFFSET,
    compare_fields,
    draw_samples,
    heldout_fields,
    quality_report,
)

REAL_FILES: dict[str, str] = {
    "FlatVel-A": "flatvel_a_train.npz",
    "CurveVel-A": "curvevel_a_train.npz",
    "CurveFault-A": "curvefault_a_calib.npz",
}
"""Real OpenFWI families the report compares FWI priors with, and their file names (the CurveFault-A
file holds 300 maps of OpenFWI's test split, given to calibrate generators and priors)."""

STAT_LABELS: dict[str, str] = {
    "distinct_velocities": "distinct velocities per map",
    "layers": "layers (median over columns)",
    "monotonic": "fraction of depth-monotone maps",
    "monotonic_fraction": "share of non-decreasing vertical steps",
    "v_mean": "mean velocity (m/s)",
    "v_std": "velocity std (m/s)",
    "mean": "mean log k",
    "variance": "spatial variance of log k",
    "corr_length": "correlation length (cells)",
    "fraction_high": "fraction of high-phase cells",
}


# --------------------------------------------------------------------------- data


def real_openfwi_maps(folder: str | Path, *, n: int | None = 512, seed: int = 0) -> dict[str, np.ndarray]:
    """Real OpenFWI velocity maps of the families in :data:`REAL_FILES` found in a folder.

    Args:
        folder: Folder holding any of :data:`REAL_FILES` (one array ``model`` of shape
            ``(N, 1, 70, 70)``, m/s).
        n: Maps per family: a seeded subset without replacement, in file order (``None``: all).
        seed: Seed of the subset.

    Returns:
        ``{family: (n, 1, 70, 70) float32}`` for the files present.

    Raises:
        DataFileError: Missing folder, neither file present, or a file that is unreadable, lacks ``model``
            or holds maps of the wrong shape or range (the message names the file).
    """
    from invbench.data.openfwi import DataFileError, load_velocity_file

    folder = Path(folder).expanduser()
    if not folder.is_dir():
        files = ", ".join(REAL_FILES.values())
        raise DataFileError(f"{folder}: no such folder (expected a folder holding {files})")
    out: dict[str, np.ndarray] = {}
    for family, name in REAL_FILES.items():
        if not (folder / name).is_file():
            continue
        maps = load_velocity_file(folder / name)
        if n is not None and n < len(maps):
            rng = np.random.default_rng(np.random.SeedSequence([int(seed), len(maps), 1]))
            maps = maps[np.sort(rng.choice(len(maps), size=n, replace=False))]
        out[family] = np.asarray(maps, dtype=np.float32)
    if not out:
        raise DataFileError(f"{folder}: holds none of {', '.join(REAL_FILES.values())}")
    return out


def training_families(manifest: dict[str, Any]) -> tuple[str, ...] | None:
    """The procedural FWI families a checkpoint's manifest says it trained on (``None``: not recorded)."""
    training = manifest.get("training") or {}
    data = training.get("data") or {}
    if data.get("source") == "procedural" and data.get("families"):
        return tuple(data["families"])
    families = (training.get("preset_config") or {}).get("fwi_families")
    return tuple(families) if families else None


def reference_fields(prior: Any, n: int, *, seed: int = 0) -> np.ndarray:
    """Held-out fields of a prior's training distribution, in its field shape (``(n, 1, H, W)``)."""
    families = training_families(prior.manifest) if prior.domain == "fwi" else None
    return heldout_fields(prior.domain, n, seed=seed, field_shape=prior.field_shape, families=families)


# --------------------------------------------------------------------------- report


def _jsonable(x: Any) -> Any:
    """Plain JSON types: string keys, lists, floats (non-finite -> ``None``)."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    return x


def prior_report(
    prior: Any,
    *,
    n_samples: int = 256,
    n_reference: int = 512,
    steps: int = 50,
    seed: int = 0,
    real: dict[str, np.ndarray] | None = None,
    samples: np.ndarray | None = None,
    reference: np.ndarray | None = None,
    batch_size: int = 64,
) -> dict[str, Any]:
    """The quality report of a prior: :func:`~invbench.nn.diffusion.evaluate.quality_report` plus provenance.

    Args:
        prior: A :class:`~invbench.nn.diffusion.prior.DiffusionPrior`.
        n_samples: Samples to draw (DDIM, ``eta = 0``).
        n_reference: Held-out training-distribution fields (half for the distances, half for the
            reference-vs-reference baseline).
        steps: DDIM steps.
        seed: Seed of the sampler, the held-out fields and the noise of the denoising loss.
        real: FWI only: ``{family: (N, 1, H, W) m/s}`` real maps (:func:`real_openfwi_maps`) in the prior's
            field shape. The same samples and the held-out procedural fields are compared with the first
            half of each family; its second half gives the real-vs-real baseline.
        samples: Samples already drawn with :func:`~invbench.nn.diffusion.evaluate.draw_samples` (same
            ``steps`` and ``seed``), e.g. to plot them; drawn here when ``None``.
        reference: Held-out fields already drawn with :func:`reference_fields`; drawn here when ``None``.
        batch_size: Fields per network call.

    Returns:
        A JSON-ready dict: ``prior`` (name, domain, sha256, training_steps, preset, final_loss,
        field_shape), ``reference`` (source, families, seed, n), the keys of ``quality_report``
        (non-finite numbers as ``None``) and, when ``real`` is given, ``real``: ``{family: {n_maps,
        samples, procedural, baseline}}``, each of the last three ``{"stats",
        "pooled_sliced_wasserstein"}`` against the family's first half.

    Raises:
        ValueError: Real maps for a non-FWI prior, or real maps of another shape than the prior's fields.
    """
    if real and prior.domain != "fwi":
        raise ValueError(f"real OpenFWI maps apply to FWI priors only, not to a {prior.domain} prior")
    for family, maps in (real or {}).items():
        if tuple(maps.shape[-2:]) != tuple(prior.field_shape) or len(maps) < 4:
            raise ValueError(
                f"real {family} maps are {len(maps)} x {tuple(maps.shape[-2:])}; need at least 4 maps of "
                f"the prior's field shape {tuple(prior.field_shape)}"
            )
    if reference is None:
        reference = reference_fields(prior, n_reference, seed=seed)
    if samples is None:
        samples = draw_samples(prior, n_samples, steps=steps, seed=seed, batch_size=batch_size)
    quality = quality_report(prior, reference, steps=steps, seed=seed, batch_size=batch_size, samples=samples)
    manifest = prior.manifest
    training = manifest.get("training") or {}
    families = training_families(manifest) if prior.domain == "fwi" else None
    report: dict[str, Any] = {
        "prior": {
            "name": manifest.get("name", "unnamed"),
            "domain": prior.domain,
            "sha256": (manifest.get("weights") or {}).get("sha256"),
            "training_steps": training.get("steps"),
            "preset": training.get("preset"),
            "final_loss": training.get("final_loss"),
            "field_shape": list(prior.field_shape),
        },
        "reference": {
            "source": "procedural, held out (invbench.nn.diffusion.evaluate.heldout_fields)",
            "families": list(families) if families else None,
            "seed": HELDOUT_SEED_OFFSET + seed,
            "n": len(reference),
            "training_data_source": (training.get("data") or {}).get("source"),
        },
        **quality,
    }
    if real:
        procedural = np.asarray(reference)[: len(reference) // 2]
        report["real"] = {}
        for family, maps in real.items():
            half = len(maps) // 2
            ref_real = maps[:half]
            report["real"][family] = {
                "n_maps": len(maps),
                "samples": compare_fields(prior, samples, ref_real, seed=seed),
                "procedural": compare_fields(prior, procedural, ref_real, seed=seed),
                "baseline": compare_fields(prior, maps[half:], ref_real, seed=seed),
            }
    return _jsonable(report)


# --------------------------------------------------------------------------- markdown


def _num(x: float | None) -> str:
    return "–" if x is None else f"{x:.4g}"


def report_markdown(report: dict[str, Any]) -> str:
    """A compact markdown section of a :func:`prior_report` (no trailing blank lines).

    Held-out denoising loss; per-statistic W1 of samples vs training distribution beside the
    training-vs-training baseline; sliced Wasserstein distances vs baseline; for FWI priors with real
    maps, per-statistic means of samples, held-out procedural maps and each real family.
    """
    p, s, base = report["prior"], report["stats"]["per_stat"], report["stats_baseline"]["per_stat"]
    sha = f"`{p['sha256'][:12]}…`" if p.get("sha256") else "unrecorded"
    steps = "–" if p.get("training_steps") is None else p["training_steps"]
    fams = report["reference"].get("families")
    sampler = report["sampler"]
    lines = [
        f"#### Prior `{p['name']}` ({p['domain']})",
        "",
        f"Checkpoint sha256 {sha}, {steps} training steps"
        + (f" (preset {p['preset']})" if p.get("preset") else "")
        + f". {report['n_samples']} DDIM samples ({sampler['steps']} steps, seed {sampler['seed']}) "
        f"against {report['n_reference']} held-out training-distribution fields"
        + (f" ({', '.join(fams)})" if fams else "")
        + "; the baseline compares two halves of the held-out fields (what a perfect prior scores)."
        + (
            " This prior trained on real OpenFWI files, so the procedural reference is only a proxy of its"
            " training data."
            if report["reference"].get("training_data_source") == "openfwi"
            else ""
        ),
        "",
        f"Held-out denoising loss (noise-prediction MSE, mean over 10 steps): "
        f"**{_num(report['denoising_loss']['mean'])}**",
        "",
        "| statistic | training mean | samples mean | W1 samples vs training | W1 baseline |",
        "|---|---:|---:|---:|---:|",
    ]
    for k, v in s.items():
        lines.append(
            f"| {STAT_LABELS.get(k, k)} | {_num(v['ref_mean'])} | {_num(v['sample_mean'])} "
            f"| {_num(v['w1'])} | {_num(base[k]['w1'])} |"
        )
    lines += [
        "",
        "| sliced Wasserstein | samples vs training | baseline |",
        "|---|---:|---:|",
        f"| standardised statistics | {_num(report['stats']['sliced_wasserstein'])} "
        f"| {_num(report['stats_baseline']['sliced_wasserstein'])} |",
        f"| 8 × 8 pooled fields (model units) | {_num(report['pooled_sliced_wasserstein'])} "
        f"| {_num(report['pooled_sliced_wasserstein_baseline'])} |",
    ]
    constant = report["stats"].get("constant_in_reference") or []
    if constant:
        names = ", ".join(STAT_LABELS.get(k, k) for k in constant)
        lines += ["", f"Constant over the training fields, left out of the standardised distance: {names}."]
    real = report.get("real")
    if real:
        names = list(real)
        lines += [
            "",
            "Against real OpenFWI maps: means per map, and distances to the first half of each family's"
            " maps (its second half gives the real-vs-real baseline):",
            "",
            "| statistic | samples | held-out procedural |" + "".join(f" {f} (real) |" for f in names),
            "|---|---:|---:|" + "---:|" * len(names),
        ]
        for k, v in s.items():
            means = [_num(real[f]["samples"]["stats"]["per_stat"][k]["ref_mean"]) for f in names]
            lines.append(
                f"| {STAT_LABELS.get(k, k)} | {_num(v['sample_mean'])} | {_num(v['ref_mean'])} | "
                + " | ".join(means)
                + " |"
            )
        lines += [
            "",
            "| pooled sliced Wasserstein to | samples | held-out procedural | real-vs-real baseline |",
            "|---|---:|---:|---:|",
        ]
        for f in names:
            r = real[f]
            lines.append(
                f"| {f} ({r['n_maps']} maps) | {_num(r['samples']['pooled_sliced_wasserstein'])} "
                f"| {_num(r['procedural']['pooled_sliced_wasserstein'])} "
                f"| {_num(r['baseline']['pooled_sliced_wasserstein'])} |"
            )
    return "\n".join(lines)


# --------------------------------------------------------------------------- figure


def report_figure(
    prior: Any,
    samples: np.ndarray,
    reference: np.ndarray,
    path: str | Path,
    real: dict[str, np.ndarray] | None = None,
    *,
    n_columns: int = 6,
    sample_rows: dict[str, np.ndarray] | None = None,
    title: str | None = None,
) -> None:
    """Save a PNG: a row of prior samples, a row of training-distribution fields, a row per real family.

    All panels share one colour scale: 1500–4500 m/s for FWI (the model-unit range), the joint range of
    the shown fields for Darcy (log k).

    Args:
        prior: The :class:`~invbench.nn.diffusion.prior.DiffusionPrior` (for its domain, units and name).
        samples: ``(N, 1, H, W)`` physical samples.
        reference: ``(M, 1, H, W)`` held-out training-distribution fields.
        path: Output PNG path.
        real: FWI only: ``{family: (K, 1, H, W)}`` real maps.
        n_columns: Fields per row.
        sample_rows: ``{label: fields}`` shown instead of the single "prior samples" row (e.g. samples
            of two models); ``prior`` then only needs ``normalization``, ``domain`` and ``manifest``.
        title: Figure title (default: ``prior NAME (DOMAIN)``).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = list((sample_rows or {"prior samples": samples}).items())
    rows.append(("training distribution\n(held out)", reference))
    rows += [(f"real {family}", maps) for family, maps in (real or {}).items()]
    rows = [(name, np.asarray(x, dtype=np.float64)[:n_columns]) for name, x in rows]
    rows = [(name, x.reshape(-1, *x.shape[-2:])) for name, x in rows]
    norm = prior.normalization
    if norm.units == "velocity_m_per_s":
        vmin, vmax, label = norm.center - norm.scale, norm.center + norm.scale, "velocity (m/s)"
    else:
        vmin = min(float(x.min()) for _, x in rows)
        vmax = max(float(x.max()) for _, x in rows)
        label = "log k"
    fig, axes = plt.subplots(
        len(rows),
        n_columns,
        figsize=(1.7 * n_columns + 1.5, 1.7 * len(rows) + 0.4),
        squeeze=False,
        constrained_layout=True,
    )
    im = None
    for r, (row_label, fields) in enumerate(rows):
        for c in range(n_columns):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < len(fields):
                im = ax.imshow(fields[c], cmap="viridis", vmin=vmin, vmax=vmax)
            else:
                ax.axis("off")
        axes[r, 0].set_ylabel(row_label)
    if im is not None:
        fig.colorbar(im, ax=axes.ravel().tolist(), label=label, shrink=0.8)
    fig.suptitle(title or f"prior {prior.manifest.get('name', 'unnamed')} ({prior.domain})")
    fig.savefig(path, dpi=90)
    plt.close(fig)
