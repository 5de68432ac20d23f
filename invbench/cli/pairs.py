"""``invbench generate-pairs``: (velocity map, seismic data) training pairs of an FWI task's train split."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from invbench.cli.app import app, console, fail


@app.command("generate-pairs")
def generate_pairs_command(
    task: Annotated[str, typer.Option(help="FWI task id, e.g. FWI-FlatVel-A-v0 (its train split's maps).")],
    n: Annotated[int, typer.Option(help="Pairs the folder should hold (a resumed run continues up to it).")],
    out: Annotated[Path, typer.Option(help="Folder of the pairs (pairs.json and shard-NNNNN.npz).")],
    start: Annotated[
        int, typer.Option(help="Train index of the first pair: pair i is train instance start + i.")
    ] = 0,
    split: Annotated[
        str, typer.Option(help="Only 'train': val and test maps are never trained on.")
    ] = "train",
    decimate: Annotated[
        int,
        typer.Option(
            help="Keep one time sample in this many (anti-aliased); 4 for the lite InversionNet, 1 for paper."
        ),
    ] = 4,
    batch_size: Annotated[int, typer.Option(help="Velocity maps per propagator call.")] = 8,
    shard_size: Annotated[int, typer.Option(help="Pairs per shard file.")] = 64,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
) -> None:
    """Simulate training pairs (deepwave, batched; float16, time-decimated); rerun the command to resume."""
    from invbench.data.pairs import generate_pairs, read_manifest

    console.print(
        f"[bold]invbench generate-pairs[/] task={task} n={n} out={out} start={start} decimate={decimate}"
    )
    try:
        result = generate_pairs(
            task,
            n,
            out,
            start=start,
            split=split,
            time_decimation=decimate,
            batch_size=batch_size,
            shard_size=shard_size,
            device=device,
            show_progress=True,
            console=console,
        )
        manifest = read_manifest(out)
    except ValueError as e:
        fail(str(e), e)
    if not result.new:
        console.print(f"{out} already holds {result.n} pairs; nothing to do")
        return
    shape = "x".join(map(str, manifest["data"]["shape"]))
    rate, per_1000 = result.new / result.wall_s, result.seconds_per_1000 / 60
    console.print(
        f"wrote {result.new} pairs ({result.n} in {out}, data {shape} float16 per pair) in "
        f"{result.wall_s:.1f} s on {result.device}: {rate:.2f} pairs/s, {per_1000:.1f} min per 1000 pairs "
        f"({result.simulate_s:.1f} s in the propagator)",
        highlight=False,
    )
