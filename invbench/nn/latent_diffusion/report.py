"""The quality report of a latent diffusion model and its autoencoder: JSON numbers, markdown and a figure.

:func:`latent_report` measures, on fresh procedural fields of the training distribution (a stream of its
own, apart from the training and the held-out streams):

* the autoencoder: reconstruction error of the posterior means in physical units (MAE, RMSE, relative
  L2) and, for Darcy-Bimaterial, the share of cells reconstructed in the wrong phase;
* the latent diffusion model: the domain's per-field statistics of DDIM samples against the reference
  fields (W1 per statistic over the reference's spread, sliced Wasserstein of all of them), beside the same
  numbers for decodes of N(0, I) latents (what the ``vae`` solver's Gaussian prior alone proposes) and for a
  second reference set (what a perfect model would score).

:func:`latent_markdown` formats them for a weights README; :func:`latent_figure` shows LDM samples, decodes
of Gaussian latents and reference fields on one colour scale. ``invbench latent-report`` writes all three.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from invbench.nn.diffusion.evaluate import compare_stats, field_stats
from invbench.nn.diffusion.presets import FWI_TRAINING_FAMILIES
from invbench.nn.diffusion.report import STAT_LABELS, report_figure
from invbench.nn.sources import make_source
from invbench.tasks.darcy.metrics import wrong_phase_share

REPORT_SEED_OFFSET = 2_000_003
"""Added to the seed for the report's reference stream (never drawn by training or its held-out set)."""


def reference_fields(domain: str, field_shape: tuple[int, int], n: int, *, seed: int = 0) -> np.ndarray:
    """``n`` fresh physical fields ``(n, 1, H, W)`` of a domain's training distribution."""
    families = FWI_TRAINING_FAMILIES if domain == "fwi" else None
    source = make_source(domain, seed=seed + REPORT_SEED_OFFSET, field_shape=field_shape, families=families)
    return np.asarray(source.batch(0, n), dtype=np.float32)


@torch.no_grad()
def _batched(fn: Any, x: torch.Tensor, batch_size: int) -> np.ndarray:
    return torch.cat([fn(chunk).float().cpu() for chunk in x.split(batch_size)]).numpy()


@torch.no_grad()
def reconstruction_errors(autoencoder: Any, fields: np.ndarray, *, batch_size: int = 32) -> dict[str, float]:
    """Reconstruction error of posterior means, in the fields' physical units."""
    x = torch.from_numpy(np.asarray(fields, dtype=np.float32))
    recon = _batched(lambda c: autoencoder.decode(autoencoder.encode(c)), x, batch_size)
    err = recon - fields
    rel = np.linalg.norm(err.reshape(len(err), -1), axis=1) / np.linalg.norm(
        fields.reshape(len(err), -1), axis=1
    )
    out = {
        "mae": float(np.abs(err).mean()),
        "rmse": float(np.sqrt((err**2).mean())),
        "rel_l2": float(rel.mean()),
    }
    if autoencoder.domain == "darcy-bimaterial":
        out["wrong_phase"] = float(
            np.mean([wrong_phase_share(r, f) for r, f in zip(recon, fields, strict=True)])
        )
    return out


def latent_report(
    ldm: Any,
    *,
    n_samples: int = 128,
    n_reference: int = 256,
    steps: int = 50,
    seed: int = 0,
    batch_size: int = 32,
) -> dict[str, Any]:
    """The report of a :class:`~invbench.nn.latent_diffusion.model.LatentDiffusion` (module docstring).

    Returns:
        A JSON-ready dict: ``ldm`` and ``autoencoder`` (name, sha256, training steps, wall time, device),
        ``reference`` (seed, n), ``reconstruction`` (:func:`reconstruction_errors` on the first half of the
        reference), ``samples``, ``gaussian_latents`` and ``baseline`` (:func:`compare_stats` against the
        first half), and, in ``arrays``, the fields for :func:`latent_figure` (dropped by the JSON writer).
    """
    ae = ldm.autoencoder
    domain = ae.domain
    shape = tuple(ae.normalization.field_shape)
    reference = reference_fields(domain, shape, n_reference, seed=seed)
    half = len(reference) // 2
    first, second = reference[:half], reference[half:]
    gen = torch.Generator(device=ldm.device).manual_seed(seed)
    samples = np.concatenate(
        [
            ldm.sample(min(batch_size, n_samples - i), steps=steps, generator=gen).float().cpu().numpy()
            for i in range(0, n_samples, batch_size)
        ]
    )
    noise = torch.randn((n_samples, *ldm.latent_shape), generator=gen, device=ldm.device)
    gaussian = _batched(ldm.decode, noise, batch_size)
    ref_stats = field_stats(domain, first)

    def compare(fields: np.ndarray) -> dict[str, Any]:
        return compare_stats(field_stats(domain, fields), ref_stats, seed=seed)

    def record(model: Any) -> dict[str, Any]:
        training = model.manifest.get("training") or {}
        return {
            "name": model.manifest.get("name"),
            "sha256": (model.manifest.get("weights") or {}).get("sha256"),
            "steps": training.get("steps"),
            "wall_time_s": training.get("wall_time_s"),
            "device": training.get("device"),
        }

    return {
        "domain": domain,
        "ldm": record(ldm),
        "autoencoder": record(ae),
        "reference": {"seed": seed + REPORT_SEED_OFFSET, "n": len(reference), "ddim_steps": steps},
        "reconstruction": reconstruction_errors(ae, first, batch_size=batch_size),
        "samples": compare(samples),
        "gaussian_latents": compare(gaussian),
        "baseline": compare(second),
        "arrays": {"samples": samples, "gaussian": gaussian, "reference": second},
    }


def _f(x: float | None, digits: int = 3) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x:.{digits}g}"


def latent_markdown(report: dict[str, Any]) -> str:
    """A markdown section: reconstruction errors, then the sample statistics table."""
    units = "m/s" if report["domain"] == "fwi" else "log k"
    rec = report["reconstruction"]
    lines = [
        f"**{report['ldm']['name']}** on **{report['autoencoder']['name']}** ({report['domain']})",
        "",
        f"Autoencoder reconstruction of {report['reference']['n'] // 2} fresh fields (posterior means): "
        f"MAE {_f(rec['mae'])} {units}, RMSE {_f(rec['rmse'])} {units}, relative L2 {_f(rec['rel_l2'])}"
        + (f", wrong phase {100 * rec['wrong_phase']:.2f} % of cells" if "wrong_phase" in rec else "")
        + ".",
        "",
        f"Per-field statistics (DDIM {report['reference']['ddim_steps']} steps), mean ± std, and W1 over "
        "the reference std against fresh training-distribution fields:",
        "",
        "| statistic | reference | LDM samples | N(0, I) latents decoded | W1/std LDM | W1/std N(0, I) "
        "| W1/std reference-vs-reference |",
        "|---|---|---|---|---|---|---|",
    ]
    s, g, b = (report[k]["per_stat"] for k in ("samples", "gaussian_latents", "baseline"))
    for name in sorted(s):
        r = s[name]
        lines.append(
            f"| {STAT_LABELS.get(name, name)} | {_f(r['ref_mean'])} ± {_f(r['ref_std'])} "
            f"| {_f(r['sample_mean'])} ± {_f(r['sample_std'])} "
            f"| {_f(g[name]['sample_mean'])} ± {_f(g[name]['sample_std'])} "
            f"| {_f(r['w1_over_ref_std'], 2)} | {_f(g[name]['w1_over_ref_std'], 2)} "
            f"| {_f(b[name]['w1_over_ref_std'], 2)} |"
        )
    sw = [_f(report[k]["sliced_wasserstein"], 2) for k in ("samples", "gaussian_latents", "baseline")]
    lines.append(f"| sliced Wasserstein (standardised) | | | | {sw[0]} | {sw[1]} | {sw[2]} |")
    return "\n".join(lines) + "\n"


def latent_figure(ldm: Any, report: dict[str, Any], path: str | Path, *, n_columns: int = 6) -> None:
    """PNG: LDM samples, decoded N(0, I) latents and fresh training-distribution fields."""
    arrays = report["arrays"]
    report_figure(
        ldm.autoencoder,
        arrays["samples"],
        arrays["reference"],
        path,
        n_columns=n_columns,
        sample_rows={"LDM samples": arrays["samples"], "N(0, I) latents\ndecoded": arrays["gaussian"]},
        title=f"{ldm.manifest.get('name', 'unnamed')} on {ldm.autoencoder.name} ({ldm.autoencoder.domain})",
    )
