"""``invbench train-prior`` and ``invbench prior-report``: the diffusion priors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from invbench.cli.app import app, console, fail


@app.command("train-prior")
def train_prior_command(
    domain: Annotated[str, typer.Option(help="fwi, darcy-grf or darcy-bimaterial.")],
    preset: Annotated[
        str,
        typer.Option(
            help="lite (2-core CPU, about 1-2 h), long (the lite UNet, about 6 CPU h in "
            "bf16) or paper (RED-DiffEq's released set-up; GPU).",
        ),
    ] = "lite",
    data: Annotated[
        list[Path] | None,
        typer.Option(help="Folder of real OpenFWI files (fwi only; repeat for several families)."),
    ] = None,
    steps: Annotated[int | None, typer.Option(help="Total optimiser steps (default: the preset's).")] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Checkpoint NAME.safetensors (default: priors/DOMAIN-PRESET.safetensors)."),
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="Continue from the training state beside --out (NAME.train/) if any.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of the weights, the data stream and the noise.")] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
    bf16: Annotated[
        bool | None,
        typer.Option(
            "--bf16/--no-bf16",
            help="bfloat16 autocast (default: the preset's on CUDA, off on the CPU; about 2x faster on a "
            "CPU with AVX-512 BF16).",
        ),
    ] = None,
) -> None:
    """Train a diffusion prior (EMA weights exported as safetensors + JSON manifest; resumable)."""
    from invbench.nn.diffusion.train import train_prior

    out = out or Path("priors") / f"{domain}-{preset}.safetensors"
    console.print(f"[bold]invbench train-prior[/] domain={domain} preset={preset} out={out}")
    try:
        result = train_prior(
            domain,
            preset,
            out=out,
            steps=steps,
            data=data,
            seed=seed,
            resume=resume,
            device=None if device == "auto" else device,
            bf16=bf16,
            show_progress=True,
            console=console,
        )
    except ValueError as e:
        fail(str(e), e)
    loss = result.manifest["training"]["final_loss"]
    console.print(
        f"wrote {result.checkpoint} (+ .json): {result.step} steps, final loss "
        f"{'-' if loss is None else f'{loss:.4f}'}, {result.steps_per_second:.2f} steps/s this session"
    )


@app.command("prior-report")
def prior_report_command(
    prior: Annotated[
        str, typer.Argument(help="Shipped prior name (e.g. fwi-lite) or a NAME.safetensors checkpoint path.")
    ],
    real: Annotated[
        Path | None,
        typer.Option(
            help="FWI: folder with flatvel_a_train.npz / curvevel_a_train.npz to compare with real maps."
        ),
    ] = None,
    samples: Annotated[int, typer.Option(help="Prior samples to draw (DDIM).")] = 256,
    reference: Annotated[
        int,
        typer.Option(
            help="Held-out training-distribution fields (half vs half is the baseline); also real maps "
            "per family."
        ),
    ] = 512,
    steps: Annotated[int, typer.Option(help="DDIM steps per sample.")] = 50,
    seed: Annotated[int, typer.Option(help="Seed of the sampler, the held-out fields and real subset.")] = 0,
    out: Annotated[Path, typer.Option(help="Output folder for NAME.json, NAME.md and NAME.png.")] = Path(
        "reports/priors"
    ),
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
) -> None:
    """Write the quality report of a trained prior (JSON, markdown for the README, PNG) and print it."""
    import torch

    from invbench.nn.diffusion.checkpoint import load_prior
    from invbench.nn.diffusion.evaluate import draw_samples
    from invbench.nn.diffusion.report import (
        prior_report,
        real_openfwi_maps,
        reference_fields,
        report_figure,
        report_markdown,
    )

    if device not in ("auto", "cpu", "cuda"):
        fail(f"--device must be auto, cpu or cuda, got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        fail("--device cuda: no CUDA device is available")
    if min(samples, reference) < 4 or steps < 1:
        fail("--samples and --reference must be at least 4 and --steps at least 1")
    if real is not None and not real.is_dir():
        fail(f"--real {real}: no such folder")
    try:
        model = load_prior(prior, device=None if device == "auto" else device)
        real_maps = real_openfwi_maps(real, n=reference, seed=seed) if real is not None else None
        if real_maps and model.domain != "fwi":
            fail(f"--real applies to FWI priors only; {prior} is a {model.domain} prior")
    except ValueError as e:
        fail(str(e), e)
    name = model.manifest.get("name") or Path(prior).stem
    console.print(
        f"[bold]invbench prior-report[/] prior={name} domain={model.domain} samples={samples} "
        f"reference={reference} steps={steps} seed={seed} device={model.device}"
    )
    with Progress(
        TextColumn("[bold blue]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        job = bar.add_task("sampling", total=samples)
        drawn = draw_samples(
            model, samples, steps=steps, seed=seed, progress=lambda n: bar.update(job, completed=n)
        )
    with console.status("held-out fields, denoising loss and distances"):
        ref = reference_fields(model, reference, seed=seed)
        try:
            report = prior_report(model, steps=steps, seed=seed, real=real_maps, samples=drawn, reference=ref)
        except ValueError as e:
            fail(str(e), e)
    out.mkdir(parents=True, exist_ok=True)
    paths = {ext: out / f"{name}.{ext}" for ext in ("json", "md", "png")}
    paths["json"].write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
    markdown = report_markdown(report)
    paths["md"].write_text(markdown + "\n")
    report_figure(model, drawn, ref, paths["png"], real=real_maps)
    console.print(markdown, markup=False, highlight=False, soft_wrap=True)
    console.print(f"wrote {paths['json']}, {paths['md']} and {paths['png']}")
