"""Random conductivity fields for the Darcy tasks: Gaussian random fields and bimaterial (thresholded) fields.

Both families follow the Darcy data of Li et al. 2020 (FNO, arXiv:2010.08895, Sec. 5.2; their MATLAB generator
``data_generation/darcy/GRF.m``) and PDEBench: a centred Gaussian field with covariance operator

    C = tau^(2 alpha - 2) (-Laplacian + tau^2 I)^(-alpha),   defaults tau = 3, alpha = 2,

where the Laplacian carries zero Neumann conditions on the unit square. We sample it by its Karhunen-Loeve
expansion in the Neumann eigenfunctions ``cos(pi k1 x) cos(pi k2 y)`` (eigenvalues ``pi^2 (k1^2 + k2^2)``),
truncated to ``k1, k2 < n``. Evaluated at the cell centres ``x_j = (j + 1/2)/n`` of our finite-volume grid
this expansion is exactly an inverse type-II DCT, so a whole batch is one ``scipy.fft.idctn`` call (the
DCT/Neumann construction, not the periodic FFT one: fields are not forced to be periodic). As in the FNO
generator, the constant mode ``k = (0, 0)`` is dropped, so every sample has spatial mean exactly zero before
shifting.

Scaling (``grf_log_k``): the raw field's expected spatial variance is ``sum_k c_k^2`` (the squared KL
coefficients, independent of ``n`` up to truncation; 0.0853 for the defaults, i.e. std 0.292). We divide by
its square root and set ``log k = mean + std * field``, so each sample's spatial mean is exactly ``mean`` and
its spatial variance has expectation exactly ``std^2``, while samples stay Gaussian (we do not standardise
each field individually, which would distort the distribution). Defaults ``mean = 0, std = 1``: ``k`` is then
lognormal around 1 with about a 50-fold range between the 2.5% and 97.5% quantiles -- a moderately
heterogeneous aquifer (``sigma_lnK ~ 1`` is the classic "moderate" case of stochastic hydrogeology), strong
enough that the inverse problem is not nearly linear, and in the same contrast range as the bimaterial family
(a factor 4 between phases). Pass ``std=None`` for the raw FNO amplitude.

Bimaterial (``bimaterial_log_k``): threshold the same field at 0, ``k = 12`` where the field is ``>= 0`` and
``k = 3`` where it is ``< 0``, the map psi of the FNO paper ("12 on the positive part of the real line and 3
on the negative part"). Note that the MATLAB ``demo.m`` shipped with the FNO code uses 4 instead of 3; we
follow the paper. Values are returned as ``log 3`` / ``log 12`` exactly (no smoothing), so interfaces stay
sharp.

Determinism: an integer seed makes a ``numpy.random.default_rng`` (PCG64) stream, which numpy keeps identical
across platforms; the DCT is deterministic. Field ``i`` of a call depends only on the seed and on ``i`` (not
on ``n_fields``), because the normals are drawn in one ``(n_fields, n, n)`` block in C order.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

BIMATERIAL_K: tuple[float, float] = (3.0, 12.0)


def _rng(seed: int | np.random.Generator) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an int or a numpy Generator, got {type(seed).__name__}")
    return np.random.default_rng(int(seed))


def kl_coefficients(n: int, tau: float = 3.0, alpha: float = 2.0) -> np.ndarray:
    """Square roots of the covariance eigenvalues for the Neumann modes ``(k_y, k_x)`` with ``0 <= k < n``.

    Args:
        n: Number of modes per direction (the grid size).
        tau: Inverse length scale of the covariance.
        alpha: Smoothness exponent (the field is a.s. continuous for ``alpha > 1`` in 2D).

    Returns:
        ``c[ky, kx] = tau^(alpha - 1) (pi^2 (kx^2 + ky^2) + tau^2)^(-alpha/2)``, shape ``(n, n)``, with
        ``c[0, 0] = 0`` (the constant mode is dropped).
    """
    kk = np.arange(n, dtype=np.float64)
    lam = np.pi**2 * (kk[:, None] ** 2 + kk[None, :] ** 2) + tau**2
    c = tau ** (alpha - 1.0) * lam ** (-alpha / 2.0)
    c[0, 0] = 0.0
    return c


def _check(n_fields: int, n: int, tau: float, alpha: float) -> None:
    if isinstance(n_fields, bool) or not isinstance(n_fields, (int, np.integer)) or n_fields < 0:
        raise ValueError(f"n_fields must be a non-negative integer, got {n_fields!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    if not (np.isfinite(tau) and tau > 0 and np.isfinite(alpha) and alpha > 1.0):
        raise ValueError(f"need tau > 0 and alpha > 1 (finite), got tau={tau}, alpha={alpha}")


def gaussian_field(
    n_fields: int, seed: int | np.random.Generator, *, n: int = 64, tau: float = 3.0, alpha: float = 2.0
) -> np.ndarray:
    """Raw centred Gaussian random fields with the FNO covariance, at the FNO amplitude.

    Args:
        n_fields: Number of fields.
        seed: Integer seed or a numpy ``Generator`` (which is advanced).
        n: Grid size.
        tau: Inverse length scale.
        alpha: Smoothness exponent (> 1).

    Returns:
        Float64 array of shape ``(n_fields, n, n)`` indexed ``[field, y, x]``, each with spatial mean 0 and
        expected spatial variance ``sum(kl_coefficients(n, tau, alpha) ** 2)``.

    Raises:
        ValueError: On invalid sizes, parameters or seed.
    """
    _check(n_fields, n, tau, alpha)
    xi = _rng(seed).standard_normal((int(n_fields), n, n))
    # Orthonormal DCT-III of c * xi * n: each cos mode sampled at the n x n cell centres, unit-RMS normalised.
    return scipy.fft.idctn(xi * (n * kl_coefficients(n, tau, alpha)), type=2, axes=(-2, -1), norm="ortho")


def grf_log_k(
    n_fields: int,
    seed: int | np.random.Generator,
    *,
    n: int = 64,
    tau: float = 3.0,
    alpha: float = 2.0,
    mean: float = 0.0,
    std: float | None = 1.0,
) -> np.ndarray:
    """Log-conductivity fields drawn from the Gaussian random field, shifted and scaled.

    Args:
        n_fields: Number of fields.
        seed: Integer seed or a numpy ``Generator`` (which is advanced).
        n: Grid size.
        tau: Inverse length scale of the covariance (default 3, FNO/PDEBench).
        alpha: Smoothness exponent (default 2, FNO/PDEBench).
        mean: Spatial mean of every field (exact).
        std: Expected spatial standard deviation of ``log k``; ``None`` keeps the raw FNO amplitude.

    Returns:
        ``log k``, float64, shape ``(n_fields, n, n)``.

    Raises:
        ValueError: On invalid sizes, parameters, seed, or a non-finite mean or negative std.
    """
    if not np.isfinite(mean) or (std is not None and not (np.isfinite(std) and std >= 0.0)):
        raise ValueError(f"mean must be finite and std finite and >= 0, got mean={mean}, std={std}")
    field = gaussian_field(n_fields, seed, n=n, tau=tau, alpha=alpha)
    if std is not None:
        field *= std / np.sqrt(np.sum(kl_coefficients(n, tau, alpha) ** 2))
    field += mean
    return field


def bimaterial_log_k(
    n_fields: int,
    seed: int | np.random.Generator,
    *,
    n: int = 64,
    tau: float = 3.0,
    alpha: float = 2.0,
    k_low: float = BIMATERIAL_K[0],
    k_high: float = BIMATERIAL_K[1],
) -> np.ndarray:
    """Two-phase log-conductivity fields: the Gaussian field thresholded at zero (FNO Darcy convention).

    Args:
        n_fields: Number of fields.
        seed: Integer seed or a numpy ``Generator`` (which is advanced).
        n: Grid size.
        tau: Inverse length scale of the underlying Gaussian field.
        alpha: Smoothness exponent of the underlying Gaussian field.
        k_low: Conductivity where the field is negative (default 3).
        k_high: Conductivity where the field is non-negative (default 12).

    Returns:
        ``log k``, float64, shape ``(n_fields, n, n)``, every entry exactly ``log(k_low)`` or ``log(k_high)``.
        Because each underlying field has spatial mean zero, both phases occur in every field.

    Raises:
        ValueError: On invalid sizes, parameters or seed, or non-positive conductivities.
    """
    if not (np.isfinite(k_low) and np.isfinite(k_high) and k_low > 0 and k_high > 0):
        raise ValueError(f"k_low and k_high must be finite and positive, got {k_low}, {k_high}")
    field = gaussian_field(n_fields, seed, n=n, tau=tau, alpha=alpha)
    return np.where(field >= 0.0, np.log(k_high), np.log(k_low))
