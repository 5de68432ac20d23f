"""The training pairs both WaveDiffusion stages read: held-out split, batch order, and the two transforms.

Pairs come from ``invbench generate-pairs`` folders (:mod:`invbench.data.pairs`), loaded into memory and
decimated to the preset's time step with the function InversionNet's training uses
(:func:`invbench.data.pairs.load_training_data`). The last ``held_out`` pairs (split evenly over
the folders, the last of each) are never trained on; every export reports its errors on them. Each epoch
visits the training pairs in a permutation drawn from ``SeedSequence([seed, epoch, stream])``, so the
batch of a step is a function of ``(seed, step)`` alone and a resumed run sees the batches an
uninterrupted one would (``stream`` keeps the two stages' orders apart).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from invbench.data.pairs import held_out_mask, load_training_data, read_pairs
from solvers.wavediffusion.transforms import SeismicTransform, VelocityTransform, pick_shots


def transforms_for(
    acquisition: dict[str, Any],
    *,
    channels: int,
    time_samples: int,
    receivers: int,
    velocity_size: int,
    time_decimation: int,
) -> tuple[SeismicTransform, VelocityTransform]:
    """The seismic and velocity transforms of a preset for one acquisition (its shots, velocity range)."""
    shots = pick_shots(len(acquisition["src_x"]), channels)
    return SeismicTransform(shots, time_samples, receivers, time_decimation), VelocityTransform(velocity_size)


class PairSet:
    """Pairs in memory with their held-out split and a deterministic batch order.

    Args:
        folders: Pair folders of one acquisition.
        time_decimation: The decimation the networks read (the pairs' must divide it).
        held_out: Pairs kept out of training (split over the folders).
        batch_size: Pairs per step.
        seed: Seed of the batch order.
        stream: Keeps the batch orders of different consumers apart.

    Raises:
        ValueError: Unusable pairs or fewer training pairs than one batch.
    """

    def __init__(
        self,
        folders: list[str | Path],
        *,
        time_decimation: int,
        held_out: int,
        batch_size: int,
        seed: int,
        stream: int,
    ) -> None:
        if isinstance(held_out, bool) or not isinstance(held_out, int) or held_out < 0:
            raise ValueError(f"held_out must be a non-negative integer, got {held_out!r}")
        self.pairs = read_pairs(list(folders))
        self.data = load_training_data(self.pairs, time_decimation)  # (N, shot, time, receiver) float16
        self.velocity = torch.from_numpy(self.pairs.velocity)  # (N, 1, nz, nx) m/s
        held = held_out_mask(self.pairs, held_out)
        self.train_idx = torch.from_numpy(np.flatnonzero(~held))
        self.held_idx = torch.from_numpy(np.flatnonzero(held))
        if len(self.train_idx) < batch_size:
            raise ValueError(f"{len(self.train_idx)} training pairs are fewer than one batch of {batch_size}")
        self.batch_size, self.seed, self.stream = int(batch_size), int(seed), int(stream)
        self.steps_per_epoch = len(self.train_idx) // self.batch_size
        self._epoch, self._order = -1, np.zeros(0, dtype=np.int64)

    @property
    def acquisition(self) -> dict[str, Any]:
        """The pairs' acquisition (as their manifests record it)."""
        return self.pairs.manifests[0]["config"]["acquisition"]

    def batch(self, step: int) -> torch.Tensor:
        """Pair indices of optimiser step ``step`` (module docstring); the last partial batch is dropped."""
        epoch, j = divmod(int(step), self.steps_per_epoch)
        if epoch != self._epoch:
            rng = np.random.default_rng(np.random.SeedSequence([self.seed, epoch, self.stream]))
            self._epoch, self._order = epoch, rng.permutation(len(self.train_idx))
        b = self.batch_size
        return self.train_idx[torch.from_numpy(self._order[j * b : (j + 1) * b])]

    def summary(self) -> dict[str, Any]:
        """What a manifest records about the data: the folders (tasks, indices, PDE solves, cost)."""
        return {"pairs": self.pairs.summary(), "training_pairs": len(self.train_idx)}
