"""Quality reports of a trained prior: held-out denoising loss, per-field statistics, distribution distances.

* :func:`denoising_loss`: the training objective on held-out fields at fixed, evenly spaced diffusion
  steps with seeded noise -- comparable across checkpoints of one domain.
* :func:`fwi_map_stats`: per-map geology of velocity maps: distinct velocities, layer count, depth
  monotonicity. :func:`darcy_field_stats`: per-field mean, variance, correlation length and high-phase
  fraction of log k.
* Distances between the statistics of samples and of training fields: the 1-D Wasserstein distance per
  statistic (in the statistic's own units, so one can see *what* differs) and the sliced Wasserstein
  distance of the joint, standardised statistics and of coarse (8 x 8 average-pooled) fields.
  Why sliced Wasserstein rather than FID: FID needs an ImageNet Inception network whose features mean
  little for one-channel velocity or conductivity maps and would add a large download; the sliced
  Wasserstein distance needs no model, no Gaussian assumption, is a true metric (zero iff the projected
  distributions agree), is cheap for a few hundred samples, and the per-statistic W1 makes it
  interpretable. Its scale: in standardised units, two sets drawn from the same distribution give a
  small value that shrinks with sample size (report it beside a reference-vs-reference value, which
  :func:`quality_report` does).
* :func:`quality_report` ties them together for one prior against reference fields.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from scipy.stats import wasserstein_distance

from invbench.nn.normalize import normalization_for
from invbench.nn.sources import DarcyFields, FWIFamilies, step_rng

HELDOUT_SEED_OFFSET = 2**31  # held-out fields use seeds far from any training seed


def _fields(x: np.ndarray | torch.Tensor) -> np.ndarray:
    a = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    a = a.astype(np.float64)
    if a.ndim == 4 and a.shape[1] == 1:
        a = a[:, 0]
    if a.ndim != 3:
        raise ValueError(f"expected fields (N, 1, H, W) or (N, H, W), got {a.shape}")
    return a


# --------------------------------------------------------------------------- held-out data


def heldout_fields(
    domain: str,
    n: int,
    *,
    seed: int = 0,
    field_shape: tuple[int, int] | None = None,
    families: tuple[str, ...] | None = None,
) -> np.ndarray:
    """Fresh procedural fields for evaluation, from a seed stream no training run uses by default.

    Args:
        domain: ``"fwi"``, ``"darcy-grf"`` or ``"darcy-bimaterial"``.
        n: Number of fields.
        seed: Evaluation seed (offset by :data:`HELDOUT_SEED_OFFSET`).
        field_shape: Field shape (default: the domain's).
        families: FWI families (default: the training families of the presets).

    Returns:
        ``(n, 1, H, W)`` float32 physical fields.
    """
    from invbench.nn.diffusion.presets import FWI_TRAINING_FAMILIES

    shape = normalization_for(domain, field_shape).field_shape
    if domain == "fwi":
        return FWIFamilies(families or FWI_TRAINING_FAMILIES, HELDOUT_SEED_OFFSET + seed, shape).batch(0, n)
    return DarcyFields(domain.removeprefix("darcy-"), HELDOUT_SEED_OFFSET + seed, shape[0]).batch(0, n)


# --------------------------------------------------------------------------- denoising loss


@torch.no_grad()
def denoising_loss(
    prior: Any,
    fields: np.ndarray | torch.Tensor,
    *,
    timesteps: tuple[int, ...] | None = None,
    seed: int = 0,
    batch_size: int = 64,
) -> dict[str, Any]:
    """Mean squared noise-prediction error on held-out fields, per diffusion step and averaged.

    Args:
        prior: A :class:`~invbench.nn.diffusion.prior.DiffusionPrior`.
        fields: ``(N, 1, H, W)`` physical fields (not used in training).
        timesteps: Steps to evaluate (default: 10 evenly spaced, ``T/20, 3T/20, ..., 19T/20``).
        seed: Seed of the noise.
        batch_size: Fields per network call.

    Returns:
        ``{"mean": float, "per_t": {t: float}}``; ``mean`` approximates the training loss (uniform ``t``).
    """
    T = prior.num_train_timesteps
    ts = timesteps or tuple(int(T * (2 * i + 1) / 20) for i in range(10))
    x0_all = prior.to_model_units(fields)
    gen = torch.Generator().manual_seed(int(seed))
    per_t: dict[int, float] = {}
    for t in ts:
        total, count = 0.0, 0
        for i in range(0, x0_all.shape[0], batch_size):
            x0 = x0_all[i : i + batch_size]
            eps = torch.randn(x0.shape, generator=gen).to(prior.device)
            err = (prior.eps(prior.add_noise(x0, eps, t), t) - eps).pow(2).mean(dim=(1, 2, 3))
            total += float(err.sum())
            count += x0.shape[0]
        per_t[int(t)] = total / count
    return {"mean": float(np.mean(list(per_t.values()))), "per_t": per_t}


# --------------------------------------------------------------------------- per-field statistics


def fwi_map_stats(
    v: np.ndarray | torch.Tensor,
    *,
    resolution: float = 50.0,
    min_fraction: float = 0.005,
    jump: float = 100.0,
    tol: float = 100.0,
) -> dict[str, np.ndarray]:
    """Per-map statistics of velocity maps in m/s.

    Args:
        v: ``(N, 1, nz, nx)`` or ``(N, nz, nx)`` velocities in m/s (depth first).
        resolution: Bin width (m/s) for counting distinct velocities.
        min_fraction: A velocity bin counts only if it holds at least this fraction of the map's cells
            (ignores sub-resolution noise and thin smeared interfaces of generated maps).
        jump: A vertical step larger than this (m/s) is an interface; consecutive large steps in a column
            count as one interface (a smeared boundary).
        tol: A vertical step below ``-tol`` (m/s) is a velocity decrease with depth.

    Returns:
        Arrays of shape ``(N,)``: ``distinct_velocities``, ``layers`` (median over columns of one plus the
        interfaces), ``monotonic_fraction`` (share of vertical steps that are not decreases),
        ``monotonic`` (1.0 when no column decreases), ``v_mean``, ``v_std``.
    """
    a = _fields(v)
    n, nz, nx = a.shape
    bins = np.rint(a / resolution).reshape(n, -1).astype(np.int64)
    distinct = np.empty(n)
    for i in range(n):
        _, counts = np.unique(bins[i], return_counts=True)
        distinct[i] = np.sum(counts >= min_fraction * nz * nx)
    dv = np.diff(a, axis=1)  # (N, nz-1, nx)
    big = np.abs(dv) > jump
    starts = big & ~np.concatenate([np.zeros_like(big[:, :1]), big[:, :-1]], axis=1)
    layers = np.median(1 + starts.sum(axis=1), axis=1)
    down = dv < -tol
    return {
        "distinct_velocities": distinct,
        "layers": layers.astype(np.float64),
        "monotonic_fraction": 1.0 - down.mean(axis=(1, 2)),
        "monotonic": (~down.any(axis=(1, 2))).astype(np.float64),
        "v_mean": a.mean(axis=(1, 2)),
        "v_std": a.std(axis=(1, 2)),
    }


def correlation_length(fields: np.ndarray | torch.Tensor) -> np.ndarray:
    """Isotropic correlation length (cells) of each field: the lag where the autocorrelation drops to 1/e.

    The autocorrelation is computed by FFT with zero padding (no wrap-around), divided by the number of
    overlapping cell pairs per lag, averaged over rings of integer radius and normalised at lag 0; the
    1/e crossing is interpolated linearly. A constant field gets 0; a field whose autocorrelation never
    drops to 1/e within half its width gets that half width.
    """
    a = _fields(fields)
    n, h, w = a.shape
    a = a - a.mean(axis=(1, 2), keepdims=True)
    spec = np.fft.rfft2(a, s=(2 * h, 2 * w))
    acf = np.fft.irfft2(np.abs(spec) ** 2, s=(2 * h, 2 * w))
    ones = np.fft.rfft2(np.ones((h, w)), s=(2 * h, 2 * w))
    overlap = np.maximum(np.rint(np.fft.irfft2(np.abs(ones) ** 2, s=(2 * h, 2 * w))), 1.0)
    acf = acf / overlap
    dy = np.minimum(np.arange(2 * h), 2 * h - np.arange(2 * h))
    dx = np.minimum(np.arange(2 * w), 2 * w - np.arange(2 * w))
    r = np.rint(np.hypot(dy[:, None], dx[None, :])).astype(np.int64)
    rmax = min(h, w) // 2
    mask = r <= rmax
    counts = np.bincount(r[mask], minlength=rmax + 1)
    out = np.empty(n)
    for i in range(n):
        ring = np.bincount(r[mask], weights=acf[i][mask], minlength=rmax + 1) / np.maximum(counts, 1)
        if ring[0] <= 1e-12:
            out[i] = 0.0
            continue
        rho = ring / ring[0]
        below = np.nonzero(rho < np.exp(-1.0))[0]
        if below.size == 0:
            out[i] = float(rmax)
            continue
        k = int(below[0])
        out[i] = (k - 1) + (rho[k - 1] - np.exp(-1.0)) / (rho[k - 1] - rho[k])
    return out


def darcy_field_stats(log_k: np.ndarray | torch.Tensor, *, threshold: float = 0.0) -> dict[str, np.ndarray]:
    """Per-field statistics of log-conductivity fields.

    Args:
        log_k: ``(N, 1, n, n)`` or ``(N, n, n)``.
        threshold: Level separating the "high" phase (``log 6`` for bimaterial, 0 for GRF).

    Returns:
        Arrays ``(N,)``: ``mean``, ``variance`` (spatial), ``corr_length`` (cells,
        :func:`correlation_length`), ``fraction_high`` (share of cells above ``threshold``).
    """
    a = _fields(log_k)
    return {
        "mean": a.mean(axis=(1, 2)),
        "variance": a.var(axis=(1, 2)),
        "corr_length": correlation_length(a),
        "fraction_high": (a > threshold).mean(axis=(1, 2)),
    }


def field_stats(domain: str, fields: np.ndarray | torch.Tensor) -> dict[str, np.ndarray]:
    """The per-field statistics of a domain (:func:`fwi_map_stats` or :func:`darcy_field_stats`)."""
    if domain == "fwi":
        return fwi_map_stats(fields)
    return darcy_field_stats(fields, threshold=normalization_for(domain).center)


# --------------------------------------------------------------------------- distances


def sliced_wasserstein(a: np.ndarray, b: np.ndarray, *, n_projections: int = 256, seed: int = 0) -> float:
    """Sliced 1-Wasserstein distance between two point clouds ``(Na, d)`` and ``(Nb, d)``.

    The mean over ``n_projections`` random unit directions (seeded) of the exact 1-D Wasserstein-1
    distance between the projected samples. For ``d == 1`` it is the 1-D distance itself.
    """
    a = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    b = np.asarray(b, dtype=np.float64).reshape(len(b), -1)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"dimension mismatch: {a.shape[1]} vs {b.shape[1]}")
    if a.shape[1] == 1:
        return float(wasserstein_distance(a[:, 0], b[:, 0]))
    dirs = step_rng(seed, 0, 3).standard_normal((n_projections, a.shape[1]))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    pa, pb = a @ dirs.T, b @ dirs.T
    return float(np.mean([wasserstein_distance(pa[:, k], pb[:, k]) for k in range(n_projections)]))


def _stack(stats: dict[str, np.ndarray]) -> np.ndarray:
    return np.stack([stats[k] for k in sorted(stats)], axis=1)


def _degenerate(values: np.ndarray) -> bool:
    """Whether a statistic is (numerically) constant over a set: it then has no scale to standardise by."""
    return bool(np.std(values) <= 1e-6 * max(1.0, float(np.max(np.abs(values)))))


def compare_stats(
    samples: dict[str, np.ndarray], reference: dict[str, np.ndarray], *, seed: int = 0
) -> dict[str, Any]:
    """Per-statistic summaries and W1, and the sliced Wasserstein distance of the standardised statistics.

    A statistic that is constant over the reference (e.g. the spatial mean of a Gaussian random field
    whose expansion has no constant mode) has no spread to standardise by: it keeps its W1 (in its own
    units) but is left out of the sliced distance, and named in ``constant_in_reference``.

    Returns:
        ``{"per_stat": {name: {ref_mean, ref_std, sample_mean, sample_std, w1, w1_over_ref_std}},
        "sliced_wasserstein": float, "constant_in_reference": [names]}`` (standardised by the
        reference's mean and std per statistic).
    """
    per: dict[str, dict[str, float]] = {}
    constant = [k for k in sorted(reference) if _degenerate(np.asarray(reference[k], dtype=np.float64))]
    for k in sorted(reference):
        r, s = reference[k], samples[k]
        w1 = float(wasserstein_distance(s, r))
        std = float(np.std(r))
        per[k] = {
            "ref_mean": float(np.mean(r)),
            "ref_std": std,
            "sample_mean": float(np.mean(s)),
            "sample_std": float(np.std(s)),
            "w1": w1,
            "w1_over_ref_std": float("nan") if k in constant else w1 / std,
        }
    keep = [k for k in sorted(reference) if k not in constant]
    if not keep:
        return {"per_stat": per, "sliced_wasserstein": float("nan"), "constant_in_reference": constant}
    ref = _stack({k: reference[k] for k in keep})
    mu, sd = ref.mean(axis=0), ref.std(axis=0)
    smp = _stack({k: samples[k] for k in keep})
    sw = sliced_wasserstein((smp - mu) / sd, (ref - mu) / sd, seed=seed)
    return {"per_stat": per, "sliced_wasserstein": sw, "constant_in_reference": constant}


def pooled_features(fields_model_units: torch.Tensor, size: int = 8) -> np.ndarray:
    """Average-pool fields in model units to ``size x size`` and flatten: coarse spatial features."""
    x = F.adaptive_avg_pool2d(fields_model_units.detach().float().cpu(), size)
    return x.reshape(x.shape[0], -1).numpy().astype(np.float64)


# --------------------------------------------------------------------------- report


@torch.no_grad()
def draw_samples(
    prior: Any,
    n: int,
    *,
    steps: int = 50,
    eta: float = 0.0,
    seed: int = 0,
    batch_size: int = 64,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Draw ``n`` physical fields with DDIM in batches from one seeded generator.

    Args:
        prior: A :class:`~invbench.nn.diffusion.prior.DiffusionPrior`.
        n: Number of fields.
        steps: DDIM steps.
        eta: DDIM eta.
        seed: Seed of the sampler's generator.
        batch_size: Fields per sampling batch.
        progress: Called with the number of fields drawn so far after each batch.

    Returns:
        ``(n, 1, H, W)`` float32 physical fields on the CPU.
    """
    gen = torch.Generator().manual_seed(int(seed))
    parts = []
    for i in range(0, n, batch_size):
        m = min(batch_size, n - i)
        parts.append(prior.sample(m, steps=steps, eta=eta, generator=gen, units="physical").cpu())
        if progress is not None:
            progress(i + m)
    return torch.cat(parts).numpy()


def compare_fields(
    prior: Any, fields: np.ndarray | torch.Tensor, reference: np.ndarray | torch.Tensor, *, seed: int = 0
) -> dict[str, Any]:
    """Distances of one set of physical fields to a reference set of the prior's domain and shape.

    Returns:
        ``{"stats": compare_stats(...) of the domain's per-field statistics,
        "pooled_sliced_wasserstein": float}`` (sliced Wasserstein of the 8 x 8 pooled fields in model
        units).
    """
    dom = prior.domain
    a, r = _fields(fields)[:, None], _fields(reference)[:, None]
    pooled_a = pooled_features(prior.to_model_units(a).cpu())
    pooled_r = pooled_features(prior.to_model_units(r).cpu())
    return {
        "stats": compare_stats(field_stats(dom, a), field_stats(dom, r), seed=seed),
        "pooled_sliced_wasserstein": sliced_wasserstein(pooled_a, pooled_r, seed=seed),
    }


@torch.no_grad()
def quality_report(
    prior: Any,
    reference: np.ndarray | torch.Tensor,
    *,
    n_samples: int = 256,
    steps: int = 50,
    eta: float = 0.0,
    seed: int = 0,
    batch_size: int = 64,
    samples: np.ndarray | torch.Tensor | None = None,
) -> dict[str, Any]:
    """Sample a prior and compare it with reference (training-distribution) fields.

    Args:
        prior: A :class:`~invbench.nn.diffusion.prior.DiffusionPrior`.
        reference: ``(N, 1, H, W)`` physical fields from the training distribution, not trained on
            (:func:`heldout_fields`). The first half serves the distances; the second half gives a
            reference-vs-reference baseline of the same sizes (the value a perfect prior would get).
        n_samples: Samples to draw (DDIM).
        steps: DDIM steps.
        eta: DDIM eta.
        seed: Seed of the sampler and the noise of the denoising loss.
        batch_size: Fields per sampling batch.
        samples: Samples already drawn (:func:`draw_samples` with these ``steps``, ``eta`` and
            ``seed``); ``n_samples`` is then their number.

    Returns:
        ``{"domain", "n_samples", "n_reference", "denoising_loss", "stats", "stats_baseline",
        "pooled_sliced_wasserstein", "pooled_sliced_wasserstein_baseline"}``.
    """
    ref = _fields(reference)[:, None]
    if len(ref) < 4:
        raise ValueError("need at least 4 reference fields")
    half = len(ref) // 2
    ref_a, ref_b = ref[:half], ref[half:]
    if samples is None:
        samples = draw_samples(prior, n_samples, steps=steps, eta=eta, seed=seed, batch_size=batch_size)
    samples = _fields(samples)[:, None]
    model = compare_fields(prior, samples, ref_a, seed=seed)
    baseline = compare_fields(prior, ref_b, ref_a, seed=seed)
    return {
        "domain": prior.domain,
        "n_samples": len(samples),
        "n_reference": len(ref),
        "sampler": {"method": "ddim", "steps": steps, "eta": eta, "seed": seed},
        "denoising_loss": denoising_loss(prior, ref, seed=seed, batch_size=batch_size),
        "stats": model["stats"],
        "stats_baseline": baseline["stats"],
        "pooled_sliced_wasserstein": model["pooled_sliced_wasserstein"],
        "pooled_sliced_wasserstein_baseline": baseline["pooled_sliced_wasserstein"],
    }
