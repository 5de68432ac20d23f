"""Training data for the priors: fresh procedural fields per batch, or maps from real OpenFWI files.

Every batch is a pure function of ``(seed, step)``: batch ``s`` is drawn from
``numpy.random.default_rng(SeedSequence([seed, s, 0]))``, so a resumed run sees exactly the batches an
uninterrupted one would, and no state beyond the step count needs saving. The SeedSequence-derived
streams are unrelated to the SHA-256-derived integer seeds of benchmark instances
(:mod:`invbench.core.seeding`), so a prior never trains on the hidden fields of the test split.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

from invbench.data.darcy_fields import bimaterial_log_k, grf_log_k
from invbench.data.families import NEWEST_VERSION, canonical_family, generate
from invbench.data.openfwi import OpenFWIDirectory


def step_rng(seed: int, step: int, stream: int) -> np.random.Generator:
    """An independent generator for one (seed, step, stream) triple."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(step), int(stream)]))


class FieldSource(Protocol):
    """Where training fields come from."""

    def batch(self, step: int, size: int) -> np.ndarray:
        """``(size, 1, H, W)`` float32 physical fields for optimiser step ``step``."""
        ...

    def spec(self) -> dict[str, Any]:
        """JSON-ready description for the checkpoint manifest."""
        ...


class FWIFamilies:
    """Procedural OpenFWI velocity maps, each drawn from a family chosen uniformly at random.

    Args:
        families: Family names (see :data:`invbench.data.families.FAMILIES`).
        seed: Base seed.
        shape: Map shape ``(nz, nx)``.
    """

    def __init__(
        self, families: tuple[str, ...] | list[str], seed: int, shape: tuple[int, int] = (70, 70)
    ) -> None:
        if not families:
            raise ValueError("need at least one family")
        self.families = tuple(canonical_family(f) for f in families)
        # Pinned at construction so a run (and its resumes) keeps drawing the maps it started on.
        self.versions = {f: int(NEWEST_VERSION[f]) for f in self.families}
        self.seed = int(seed)
        self.shape = (int(shape[0]), int(shape[1]))

    def batch(self, step: int, size: int) -> np.ndarray:
        """A batch of maps in m/s, families balanced in expectation, order shuffled."""
        rng = step_rng(self.seed, step, 0)
        counts = np.bincount(rng.integers(0, len(self.families), size), minlength=len(self.families))
        parts = [
            generate(f, int(c), rng, shape=self.shape, version=self.versions[f])
            for f, c in zip(self.families, counts, strict=True)
            if c
        ]
        maps = np.concatenate(parts)
        return maps[rng.permutation(size)]

    def spec(self) -> dict[str, Any]:
        """Manifest description."""
        return {
            "source": "procedural",
            "generator": "invbench.data.families.generate",
            "families": list(self.families),
            "generator_versions": dict(self.versions),
            "family_choice": "uniform per field",
            "shape": list(self.shape),
            "seed": self.seed,
            "fresh_per_batch": True,
        }


class DarcyFields:
    """Procedural Darcy log-conductivity fields (GRF or bimaterial, FNO covariance).

    Args:
        family: ``"grf"`` or ``"bimaterial"``.
        seed: Base seed.
        n: Grid size.
    """

    def __init__(self, family: str, seed: int, n: int = 64) -> None:
        if family not in ("grf", "bimaterial"):
            raise ValueError(f"family must be 'grf' or 'bimaterial', got {family!r}")
        self.family = family
        self.seed = int(seed)
        self.n = int(n)

    def batch(self, step: int, size: int) -> np.ndarray:
        """A batch of log k fields ``(size, 1, n, n)``."""
        draw = grf_log_k if self.family == "grf" else bimaterial_log_k
        return draw(size, step_rng(self.seed, step, 0), n=self.n)[:, None].astype(np.float32)

    def spec(self) -> dict[str, Any]:
        """Manifest description."""
        fn = "grf_log_k" if self.family == "grf" else "bimaterial_log_k"
        return {
            "source": "procedural",
            "generator": f"invbench.data.darcy_fields.{fn}",
            "params": {"n": self.n, "tau": 3.0, "alpha": 2.0}
            | ({"mean": 0.0, "std": 1.0} if self.family == "grf" else {"k_low": 3.0, "k_high": 12.0}),
            "shape": [self.n, self.n],
            "seed": self.seed,
            "fresh_per_batch": True,
        }


class OpenFWIFiles:
    """Maps drawn uniformly (with replacement) from one or more folders of real OpenFWI files.

    Args:
        folders: Folders readable by :class:`~invbench.data.openfwi.OpenFWIDirectory` (one per family,
            e.g. ``FlatVel_B``, ``CurveFault_B``).
        seed: Base seed.
    """

    def __init__(self, folders: list[Path] | tuple[Path, ...], seed: int) -> None:
        if not folders:
            raise ValueError("need at least one OpenFWI folder")
        self.dirs = [OpenFWIDirectory(p) for p in folders]
        self.offsets = np.cumsum([0] + [d.n_maps for d in self.dirs])
        self.seed = int(seed)
        if self.offsets[-1] == 0:
            raise ValueError(f"no velocity maps in {[str(p) for p in folders]}")

    def batch(self, step: int, size: int) -> np.ndarray:
        """A batch of real maps in m/s."""
        idx = step_rng(self.seed, step, 0).integers(0, int(self.offsets[-1]), size)
        out = []
        for i in idx:
            d = int(np.searchsorted(self.offsets, i, side="right")) - 1
            out.append(self.dirs[d].velocity(int(i - self.offsets[d])))
        return np.stack(out).astype(np.float32)

    def spec(self) -> dict[str, Any]:
        """Manifest description."""
        return {
            "source": "openfwi",
            "folders": [{"path": str(d.path), "n_maps": d.n_maps} for d in self.dirs],
            "n_maps": int(self.offsets[-1]),
            "sampling": "uniform with replacement",
            "seed": self.seed,
        }


def make_source(
    domain: str,
    *,
    seed: int,
    field_shape: tuple[int, int],
    families: tuple[str, ...] | None = None,
    data: list[Path] | None = None,
) -> FieldSource:
    """The training source of a domain.

    Args:
        domain: ``"fwi"``, ``"darcy-grf"`` or ``"darcy-bimaterial"``.
        seed: Base seed.
        field_shape: Physical field shape.
        families: FWI families for procedural training.
        data: Folders of real OpenFWI files (FWI only); procedural generators when ``None``.

    Raises:
        ValueError: Real data for a Darcy domain, or a non-square Darcy grid.
    """
    if domain == "fwi":
        if data:
            return OpenFWIFiles(list(data), seed)
        return FWIFamilies(tuple(families or ()), seed, field_shape)
    if data:
        raise ValueError(f"--data (real OpenFWI files) applies to the fwi domain only, not {domain}")
    if field_shape[0] != field_shape[1]:
        raise ValueError(f"Darcy fields are square, got {field_shape}")
    return DarcyFields(domain.removeprefix("darcy-"), seed, field_shape[0])
