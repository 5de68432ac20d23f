"""Training pairs for data-driven FWI: a task's ``train`` velocity maps and their simulated seismic data.

Pair ``i`` of a folder is the task's ``train`` instance ``start + i``. Its velocity map is the map the
environment itself draws for that instance (:meth:`~invbench.tasks.fwi.env.FWIEnv.true_model`: seeded by
SHA-256 of the map key, the split and the index, so the same on every machine and never one of the
``val``/``test`` maps), and its data are that map's noise-free, full-trace data in the task's acquisition,
simulated by the batched deepwave propagator (:class:`~invbench.physics.wave.propagator.AcousticPropagator`,
``batch_size`` maps per call). The ``val``, ``test`` and ``hidden`` splits are refused: their truths are
what methods are tuned and scored on. Pair generation is offline training-data generation: it never goes
through an environment's counted operator, so no benchmark counter moves; the manifest records the forward
PDE solves it took (one per pair) as part of a learned method's training cost.

Storage, one folder per task: ``pairs.json`` (the manifest: what was simulated and how, the shards with
their sha256, the time it took) and shards ``shard-NNNNN.npz`` of ``shard_size`` pairs: ``velocity`` as
uint16 (the family generators return integer m/s, so this is exact), ``data`` as float16
``(pair, shot, time, receiver)`` after :func:`decimate_time` by ``time_decimation`` (the 15 Hz data are
oversampled at 1 ms; 4 ms keeps every frequency with energy), and ``index`` (the train-split indices).
Every shard is written atomically before the manifest lists it, so a killed run loses at most the shard
it was writing, and running the same command again continues after the last listed shard.

These pairs are not a task's observed data: those come from OpenFWI's reference scheme (120-cell sponge,
:mod:`invbench.physics.wave.reference`), carry the task's noise, missing traces and low-cut filter, and
stay at 1 ms. ``docs/inversionnet.md`` measures the gap.

The trainers of the data-driven methods (InversionNet, both WaveDiffusion stages) read pairs through
:class:`PairSet`: the folders loaded into memory (:func:`read_pairs`) at the network's decimation
(:func:`load_training_data`), the held-out split (:func:`held_out_mask`) and a batch order that depends
on ``(seed, step)`` alone.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from invbench.core.files import atomic_write_bytes, sha256_file, write_json

FORMAT = "invbench-pairs"
FORMAT_VERSION = 1
MANIFEST = "pairs.json"
SPLIT = "train"
"""The only split pairs come from."""
DEFAULT_TIME_DECIMATION = 4
"""1 ms -> 4 ms (Nyquist 125 Hz): what the ``lite`` InversionNet reads; its ``paper`` preset needs 1."""
ANTIALIAS_FRACTION = 0.8
"""Low-pass cut-off of :func:`decimate_time` as a fraction of the new Nyquist frequency (the raised-cosine
edge reaches zero at the Nyquist frequency itself, so nothing aliases)."""
FLOAT16_MAX = 65504.0
SIMULATOR = {"name": "deepwave", "pml_width": 20, "accuracy": 4, "max_vel": 4500.0}
"""The propagator settings of every pair (the defaults of the environments' forward operator)."""


def decimate_time(data: torch.Tensor, factor: int, dt: float) -> torch.Tensor:
    """Anti-aliased decimation along the time axis (``-2``) of ``(..., time, receiver)`` data.

    A zero-phase low-pass (:func:`~invbench.physics.wave.filters.lowpass`) at
    :data:`ANTIALIAS_FRACTION` of the new Nyquist frequency, then every ``factor``-th sample from the
    first. On clean 15 Hz data the filter changes nothing measurable (their energy lies far below the
    cut); on noisy data it keeps the noise above the new Nyquist frequency from aliasing into the band.
    Training pairs and the learned solvers' inputs both go through this function.

    Args:
        data: Real tensor whose time axis is ``-2``, sampled at ``dt``.
        factor: Keep one sample in ``factor`` (1: unchanged).
        dt: Time step of ``data`` in seconds.

    Returns:
        ``data`` sampled at ``factor * dt`` (``ceil(nt / factor)`` samples).

    Raises:
        ValueError: ``factor`` is not a positive integer.
    """
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
        raise ValueError(f"time decimation must be a positive integer, got {factor!r}")
    if factor == 1:
        return data
    from invbench.physics.wave.filters import lowpass

    nyquist = 0.5 / (dt * factor)
    return lowpass(data, dt, ANTIALIAS_FRACTION * nyquist)[..., ::factor, :]


@dataclass
class PairsResult:
    """What one :func:`generate_pairs` call did.

    Attributes:
        out: The folder.
        n: Pairs in the folder now.
        new: Pairs this call simulated.
        wall_s: Seconds of this call (maps, simulation, decimation, writing).
        simulate_s: Seconds inside the propagator in this call.
        device: Where this call simulated.
    """

    out: Path
    n: int
    new: int
    wall_s: float
    simulate_s: float
    device: str

    @property
    def seconds_per_1000(self) -> float:
        """Wall seconds per 1000 new pairs in this call (``nan`` when it made none)."""
        return 1000.0 * self.wall_s / self.new if self.new else float("nan")


def _task_env(task: str) -> tuple[str, Any]:
    """The full id and harness-side FWI environment of ``task`` (only its maps and acquisition are used)."""
    from invbench.registry import make, resolve_task

    full = resolve_task(task)
    base = make(full).unwrapped
    if getattr(base, "task_family", None) != "fwi":
        raise ValueError(f"training pairs are for FWI tasks; {full} is a {base.task_family!r} task")
    return full, base


def pairs_config(task: str, *, start: int, time_decimation: int, shard_size: int) -> dict[str, Any]:
    """The settings that define a folder's pairs (a resumed run must match them exactly)."""
    return _config(*_task_env(task), start=start, time_decimation=time_decimation, shard_size=shard_size)


def _config(full: str, base: Any, *, start: int, time_decimation: int, shard_size: int) -> dict[str, Any]:
    from invbench.data.families import NEWEST_VERSION
    from invbench.registry import task_options

    return {
        "task": full,
        "task_options": task_options(full),
        "family": base.family,
        # The generator version the maps were drawn with (a task that does not pin one draws the newest).
        "family_version": NEWEST_VERSION[base.family] if base.family_version is None else base.family_version,
        "map_key": base.map_key,
        "split": SPLIT,
        "start": int(start),
        "time_decimation": int(time_decimation),
        "antialias_fraction": ANTIALIAS_FRACTION if time_decimation > 1 else None,
        "shard_size": int(shard_size),
        "acquisition": base.acquisition.to_dict(),
        "simulator": dict(SIMULATOR),
    }


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a pairs folder.

    Raises:
        ValueError: No manifest, or not a pairs manifest.
    """
    import json

    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise ValueError(
            f"{folder}: no {MANIFEST}; make the pairs with `invbench generate-pairs --out {folder}`"
        )
    try:
        manifest = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: unreadable pairs manifest ({exc})") from exc
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path}: not an invbench pairs manifest (format {FORMAT!r} v{FORMAT_VERSION})")
    return manifest


def _config_changes(saved: dict[str, Any], now: dict[str, Any]) -> list[str]:
    import json

    saved, now = json.loads(json.dumps(saved)), json.loads(json.dumps(now))
    return [
        f"{k}: saved {saved.get(k)!r}, now {now.get(k)!r}"
        for k in sorted(set(saved) | set(now))
        if saved.get(k) != now.get(k)
    ]


def _check_args(n: int, start: int, time_decimation: int, batch_size: int, shard_size: int) -> None:
    for name, value, low in (
        ("n", n, 1),
        ("start", start, 0),
        ("time_decimation", time_decimation, 1),
        ("batch_size", batch_size, 1),
        ("shard_size", shard_size, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def generate_pairs(
    task: str,
    n: int,
    out: str | Path,
    *,
    start: int = 0,
    split: str = SPLIT,
    time_decimation: int = DEFAULT_TIME_DECIMATION,
    batch_size: int = 8,
    shard_size: int = 64,
    device: str | torch.device | None = None,
    show_progress: bool = False,
    console: Any | None = None,
) -> PairsResult:
    """Simulate (or continue simulating) ``n`` training pairs of an FWI task into ``out``.

    Args:
        task: FWI task id (the ``invbench/`` prefix may be omitted).
        n: Pairs the folder should hold; a folder that already holds them is left as it is.
        out: The folder (created; resumed when it holds a manifest of the same settings).
        start: Train-split index of the first pair (another ``start`` gives other maps).
        split: Must be ``"train"`` (module docstring).
        time_decimation: Keep one time sample in this many (:func:`decimate_time`).
        batch_size: Velocity maps per propagator call (does not change the pairs).
        shard_size: Pairs per shard file.
        device: Where to simulate (default: CUDA when available, else the CPU).
        show_progress: Show a rich progress bar.
        console: A ``rich.console.Console`` for the bar.

    Raises:
        ValueError: Another split, bad counts, a non-FWI task, a task without that many train maps,
            a folder made with other settings, or data float16 cannot hold.
    """
    if split != SPLIT:
        raise ValueError(
            f"training pairs come only from the {SPLIT!r} split, not {split!r}: the val and test truths are "
            "what methods are tuned and scored on and must never be trained on (for held-out pairs, use "
            "train maps from another --start)"
        )
    _check_args(n, start, time_decimation, batch_size, shard_size)
    from invbench.core.device import resolve_device
    from invbench.physics.wave.propagator import AcousticPropagator

    out = Path(out)
    full, base = _task_env(task)
    n_train = int(base.n_instances["train"])
    if start + n > n_train:
        raise ValueError(f"{full} has {n_train} train maps; start {start} + n {n} exceeds them")
    config = _config(full, base, start=start, time_decimation=time_decimation, shard_size=shard_size)
    manifest = _open_folder(out, config)
    dev = resolve_device(device)
    sim = {k: v for k, v in SIMULATOR.items() if k != "name"}
    prop = AcousticPropagator(base.acquisition, device=dev, **sim)
    t0 = time.perf_counter()
    simulated, simulate_s = 0, 0.0
    done = int(manifest["n"])
    bar = _progress(console) if show_progress and done < n else None
    if bar is not None:
        job = bar.add_task(f"pairs {base.family}", total=n, completed=done, rate="-")
        bar.start()
    try:
        while done < n:
            # Shards are whole multiples of shard_size from pair 0; a shorter earlier run may have left the
            # last one partial: it is simulated again, whole, so shard boundaries never depend on history.
            first = done - done % shard_size
            if first < done:
                manifest["shards"].pop()
            count = min(shard_size, n - first)
            entry, sim_s = _write_shard(out, base, prop, config, first, count, batch_size)
            manifest["shards"].append(entry)
            simulated += count
            simulate_s += sim_s
            done = first + count
            _write_manifest(out, manifest, config, done)
            if bar is not None:
                rate = simulated / max(time.perf_counter() - t0, 1e-9)
                bar.update(job, completed=done, rate=f"{rate:.2f}")
    finally:
        if bar is not None:
            bar.stop()
    return PairsResult(out, done, simulated, time.perf_counter() - t0, simulate_s, str(dev))


def _open_folder(out: Path, config: dict[str, Any]) -> dict[str, Any]:
    """The folder's manifest (checked against ``config``), or a new empty one."""
    if not (out / MANIFEST).exists():
        out.mkdir(parents=True, exist_ok=True)
        return {"format": FORMAT, "format_version": FORMAT_VERSION, "config": config, "n": 0, "shards": []}
    manifest = read_manifest(out)
    changes = _config_changes(manifest.get("config", {}), config)
    if changes:
        raise ValueError(
            f"{out}: holds pairs made with other settings ({'; '.join(changes[:6])}); use another --out"
        )
    return manifest


def _write_shard(
    out: Path, base: Any, prop: Any, config: dict[str, Any], first: int, count: int, batch_size: int
) -> tuple[dict[str, Any], float]:
    """Simulate pairs ``first .. first + count - 1`` and write their shard; returns its entry and sim time."""
    t0 = time.perf_counter()
    start, factor = config["start"], config["time_decimation"]
    index = np.arange(start + first, start + first + count)
    maps = np.stack([base.true_model(SPLIT, int(i)) for i in index])  # (count, 1, nz, nx) m/s
    if not np.array_equal(maps, np.rint(maps)) or maps.min() < 0 or maps.max() > np.iinfo(np.uint16).max:
        raise ValueError(f"{config['task']}: train maps are not integer m/s, so uint16 cannot store them")
    parts, sim_s = [], 0.0
    with torch.no_grad():
        for lo in range(0, count, batch_size):
            v = torch.from_numpy(maps[lo : lo + batch_size])
            t_sim = time.perf_counter()
            d = prop(v)  # (b, shot, time, receiver), on the CPU
            sim_s += time.perf_counter() - t_sim
            parts.append(decimate_time(d, factor, base.acquisition.dt).numpy())
    data = np.concatenate(parts)
    peak = float(np.abs(data).max())
    if not np.isfinite(peak) or peak > FLOAT16_MAX:
        raise ValueError(f"{config['task']}: simulated data peak at {peak:g}, which float16 cannot store")
    name = f"shard-{first // config['shard_size']:05d}.npz"
    buf = io.BytesIO()
    np.savez(buf, velocity=maps.astype(np.uint16), data=data.astype(np.float16), index=index)
    atomic_write_bytes(out / name, buf.getvalue())
    entry = {
        "file": name,
        "first": first,
        "count": count,
        "sha256": sha256_file(out / name),
        "device": str(prop.device),
        "threads": torch.get_num_threads(),
        "batch_size": batch_size,
        "simulate_s": round(sim_s, 3),
        "wall_s": round(time.perf_counter() - t0, 3),
    }
    return entry, sim_s


def _write_manifest(out: Path, manifest: dict[str, Any], config: dict[str, Any], n: int) -> None:
    """Write the manifest for ``n`` pairs: data layout, totals and timing summed over the shards."""
    from invbench.nn.weights import versions

    acq = config["acquisition"]
    factor = config["time_decimation"]
    shards = manifest["shards"]
    wall = sum(s["wall_s"] for s in shards)
    manifest.update(
        {
            "n": n,
            "pde_solves": n,
            "data": {
                "layout": "(pair, shot, time, receiver)",
                "shape": [len(acq["src_x"]), -(-acq["nt"] // factor), len(acq["rec_x"])],
                "dt": acq["dt"] * factor,
                "dtype": "float16",
                "velocity_dtype": "uint16",
                "velocity_shape": [1, acq["nz"], acq["nx"]],
            },
            "timing": {
                "wall_s": round(wall, 3),
                "simulate_s": round(sum(s["simulate_s"] for s in shards), 3),
                "seconds_per_1000_pairs": round(1000.0 * wall / n, 1) if n else None,
                "devices": sorted({s["device"] for s in shards}),
            },
            "versions": versions("deepwave"),
            "updated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
    )
    write_json(out / MANIFEST, manifest)


def _progress(console: Any | None) -> Any:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("[bold blue]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]} pairs/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


@dataclass
class Pairs:
    """The pairs of one or more folders, in memory.

    Attributes:
        velocity: ``(N, 1, nz, nx)`` float32, m/s.
        data: ``(N, shot, time, receiver)`` float16, sampled at :attr:`dt`.
        index: ``(N,)`` train-split index of each pair (within its task).
        source: ``(N,)`` which folder each pair came from (position in :attr:`manifests`).
        manifests: Each folder's manifest.
        dt: Time step of :attr:`data`, seconds.
        time_decimation: The decimation of :attr:`data` relative to the acquisition's ``dt``.
    """

    velocity: np.ndarray
    data: np.ndarray
    index: np.ndarray
    source: np.ndarray
    manifests: list[dict[str, Any]]
    dt: float
    time_decimation: int

    def __len__(self) -> int:
        return int(self.velocity.shape[0])

    def summary(self) -> list[dict[str, Any]]:
        """Per folder: task, pairs, first index, decimation, PDE solves and the time it took (manifests)."""
        return [
            {
                "task": m["config"]["task"],
                "family": m["config"]["family"],
                "family_version": m["config"]["family_version"],
                "split": m["config"]["split"],
                "start": m["config"]["start"],
                "n": m["n"],
                "time_decimation": m["config"]["time_decimation"],
                "pde_solves": m["pde_solves"],
                "generation_wall_time_s": m["timing"]["wall_s"],
                "devices": m["timing"]["devices"],
            }
            for m in self.manifests
        ]


def read_pairs(
    folders: str | Path | list[str | Path] | tuple[str | Path, ...], *, verify: bool = True
) -> Pairs:
    """Load the pairs of one or more folders (of one acquisition and time step) into memory.

    Args:
        folders: Pair folders (from :func:`generate_pairs`).
        verify: Check every shard's sha256 against its manifest.

    Raises:
        ValueError: A folder without pairs, a changed or missing shard, or folders of different
            acquisitions or time steps.
    """
    folders = [folders] if isinstance(folders, str | Path) else list(folders)
    if not folders:
        raise ValueError("need at least one pairs folder")
    parts: dict[str, list[np.ndarray]] = {"velocity": [], "data": [], "index": [], "source": []}
    manifests = []
    for k, folder in enumerate(folders):
        folder = Path(folder)
        manifest = read_manifest(folder)
        if not manifest["n"]:
            raise ValueError(f"{folder}: holds no pairs yet")
        for shard in manifest["shards"]:
            path = folder / shard["file"]
            if not path.is_file():
                raise ValueError(f"{path}: shard missing (the manifest lists it); run generate-pairs again")
            if verify and sha256_file(path) != shard["sha256"]:
                raise ValueError(
                    f"{path}: sha256 differs from the manifest's: the shard was changed or corrupted"
                )
            with np.load(path) as z:
                parts["velocity"].append(z["velocity"].astype(np.float32))
                parts["data"].append(z["data"])
                parts["index"].append(z["index"])
                parts["source"].append(np.full(len(z["index"]), k, dtype=np.int64))
        manifests.append(manifest)
    first = manifests[0]
    for folder, m in zip(folders, manifests, strict=True):
        for key in ("acquisition", "time_decimation"):
            if m["config"][key] != first["config"][key]:
                theirs, ours = m["config"][key], first["config"][key]
                raise ValueError(f"{folder}: {key} {theirs!r} differs from {folders[0]}'s {ours!r}")
    return Pairs(
        velocity=np.concatenate(parts["velocity"]),
        data=np.concatenate(parts["data"]),
        index=np.concatenate(parts["index"]),
        source=np.concatenate(parts["source"]),
        manifests=manifests,
        dt=float(first["data"]["dt"]),
        time_decimation=int(first["config"]["time_decimation"]),
    )


def load_training_data(pairs: Pairs, time_decimation: int) -> torch.Tensor:
    """The pairs' data at the network's decimation, float16 (decimated further when the pairs are finer).

    Raises:
        ValueError: The pairs are coarser than the network needs, or not a divisor of it.
    """
    have = pairs.time_decimation
    if time_decimation % have:
        raise ValueError(
            f"the network reads data decimated {time_decimation}x; these pairs are decimated {have}x "
            f"(make them with `invbench generate-pairs --decimate {time_decimation}` or a divisor of it)"
        )
    data = torch.from_numpy(pairs.data)
    extra = time_decimation // have
    if extra == 1:
        return data
    chunks = [
        decimate_time(data[i : i + 256].float(), extra, pairs.dt).half() for i in range(0, len(data), 256)
    ]
    return torch.cat(chunks)


def held_out_mask(pairs: Pairs, held_out: int) -> np.ndarray:
    """True for the last ``held_out // folders`` pairs of every folder (what a trainer keeps out).

    Raises:
        ValueError: A folder too small to spare its share.
    """
    per_folder = held_out // len(pairs.manifests)
    mask = np.zeros(len(pairs), dtype=bool)
    for k in range(len(pairs.manifests)):
        where = np.flatnonzero(pairs.source == k)
        if per_folder >= len(where):
            raise ValueError(
                f"{pairs.manifests[k]['config']['task']}: {len(where)} pairs cannot spare {per_folder} "
                "held-out ones; generate more pairs or lower held_out"
            )
        mask[where[len(where) - per_folder :]] = True
    return mask


class PairSet:
    """Pairs in memory with their held-out split and a deterministic batch order, for a trainer.

    The last ``held_out`` pairs (split evenly over the folders, the last of each: :func:`held_out_mask`)
    are never trained on. Each epoch visits the training pairs in a permutation drawn from
    ``SeedSequence([seed, epoch, stream])`` in batches of ``batch_size`` (the last partial batch is
    dropped, as OpenFWI's ``drop_last``), so the batch of a step is a function of ``(seed, step)`` alone
    and a resumed run sees the batches an uninterrupted one would; ``stream`` keeps the orders of
    different trainers apart.

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
        # Indices into the one in-memory copy (boolean-mask copies would double the memory of the pairs).
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
        """Pair indices of optimiser step ``step`` (class docstring); the last partial batch is dropped."""
        epoch, j = divmod(int(step), self.steps_per_epoch)
        if epoch != self._epoch:
            rng = np.random.default_rng(np.random.SeedSequence([self.seed, epoch, self.stream]))
            self._epoch, self._order = epoch, rng.permutation(len(self.train_idx))
        b = self.batch_size
        return self.train_idx[torch.from_numpy(self._order[j * b : (j + 1) * b])]

    def summary(self) -> dict[str, Any]:
        """What a manifest records about the data: the folders (tasks, indices, PDE solves, cost)."""
        return {"pairs": self.pairs.summary(), "training_pairs": len(self.train_idx)}
