"""``invbench train``: learned models (field autoencoders, latent diffusion, InversionNet, WaveDiffusion)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from invbench.cli.app import app, console, fail

MODELS = ("vae", "ldm", "inversionnet", "wavediffusion-stage1", "wavediffusion-ldm")
PAIR_MODELS = ("inversionnet", "wavediffusion-stage1", "wavediffusion-ldm")
"""Models that train on `invbench generate-pairs` folders (FWI only)."""


def default_autoencoder(domain: str, preset: str, out_dir: Path) -> str:
    """The autoencoder an LDM trains on by default: ``DOMAIN-vae-PRESET`` beside ``--out``, else shipped."""
    name = f"{domain}-vae-{preset}"
    beside = out_dir / f"{name}.safetensors"
    return str(beside) if beside.is_file() else name


@app.command("train")
def train_command(
    model: Annotated[
        str,
        typer.Option(
            help="vae (field autoencoder), ldm (latent diffusion on a VAE), inversionnet (data-driven FWI) "
            "or WaveDiffusion's wavediffusion-stage1 (joint VQ autoencoder) and wavediffusion-ldm (its "
            "latent diffusion model)."
        ),
    ],
    domain: Annotated[
        str | None,
        typer.Option(
            help="darcy-grf, darcy-bimaterial or fwi (inversionnet, wavediffusion-*: fwi, the default)."
        ),
    ] = None,
    preset: Annotated[str, typer.Option(help="lite (2-core CPU) or paper (GPU).")] = "lite",
    steps: Annotated[int | None, typer.Option(help="Total optimiser steps (default: the preset's).")] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Weights NAME.safetensors (default: models/DOMAIN-MODEL-PRESET.safetensors)."),
    ] = None,
    autoencoder: Annotated[
        str | None,
        typer.Option(
            help="ldm: the VAE, a path or shipped name (default: DOMAIN-vae-PRESET beside --out, else "
            "shipped); wavediffusion-ldm: the stage 1 (default: fwi-wavediffusion-stage1-PRESET, likewise)."
        ),
    ] = None,
    pairs: Annotated[
        list[Path] | None,
        typer.Option(
            help="inversionnet, wavediffusion-*: a folder made by `invbench generate-pairs` (repeat it for a "
            "mixture)."
        ),
    ] = None,
    held_out: Annotated[
        int,
        typer.Option(
            help="inversionnet, wavediffusion-*: pairs kept out of training, for the held-out errors."
        ),
    ] = 256,
    resume: Annotated[
        bool, typer.Option(help="Continue from the training state beside --out (NAME.train/) if any.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of the weights, the data stream and the noise.")] = 0,
    device: Annotated[str, typer.Option(help="auto, cpu or cuda.")] = "auto",
) -> None:
    """Train a field VAE, a latent diffusion model, InversionNet or WaveDiffusion (safetensors + manifest)."""
    from invbench.nn.normalize import DOMAINS

    if model not in MODELS:
        fail(f"--model must be one of {', '.join(MODELS)}, got {model!r}")
    if model in PAIR_MODELS:
        if domain not in (None, "fwi"):
            fail(f"--model {model} is for the fwi domain, not {domain!r}")
        domain = "fwi"
    elif pairs:
        fail(f"--pairs applies to --model inversionnet only (or {', '.join(PAIR_MODELS[1:])})")
    if domain is None:
        fail(f"--domain is required for --model {model} (one of {', '.join(DOMAINS)})")
    if domain not in DOMAINS:
        fail(f"--domain must be one of {', '.join(DOMAINS)}, got {domain!r}")
    if model not in ("ldm", "wavediffusion-ldm") and autoencoder is not None:
        fail("--autoencoder applies to --model ldm and wavediffusion-ldm only")
    if model in PAIR_MODELS and not pairs:
        fail(f"--model {model} needs --pairs FOLDER (made by `invbench generate-pairs`), one per task")
    if device not in ("auto", "cpu", "cuda"):
        fail(f"--device must be auto, cpu or cuda, got {device!r}")
    out = out or Path("models") / f"{domain}-{model}-{preset}.safetensors"
    common = {
        "out": out,
        "steps": steps,
        "seed": seed,
        "resume": resume,
        "device": None if device == "auto" else device,
        "show_progress": True,
        "console": console,
    }
    console.print(f"[bold]invbench train[/] model={model} domain={domain} preset={preset} out={out}")
    try:
        if model == "vae":
            from invbench.nn.autoencoder.train import train_autoencoder

            result = train_autoencoder(domain, preset, **common)
        elif model == "inversionnet":
            from solvers.inversionnet.train import train_inversionnet

            result = train_inversionnet(list(pairs or []), preset, held_out=held_out, **common)
        elif model == "wavediffusion-stage1":
            from solvers.wavediffusion.train_stage1 import train_stage1

            result = train_stage1(list(pairs or []), preset, held_out=held_out, **common)
        elif model == "wavediffusion-ldm":
            from solvers.wavediffusion.checkpoint import stage1_name
            from solvers.wavediffusion.train_ldm import train_ldm

            beside = out.parent / f"{stage1_name(preset)}.safetensors"
            stage1 = autoencoder or (str(beside) if beside.is_file() else stage1_name(preset))
            console.print(f"stage 1: {stage1}")
            result = train_ldm(stage1, list(pairs or []), preset, held_out=held_out, **common)
        else:
            from invbench.nn.autoencoder.checkpoint import load_autoencoder
            from invbench.nn.latent_diffusion.train import train_latent_diffusion

            ae = autoencoder or default_autoencoder(domain, preset, out.parent)
            ae_domain = load_autoencoder(ae, device="cpu").domain
            if ae_domain != domain:
                fail(f"--autoencoder {ae} is for domain {ae_domain!r}, not {domain!r}")
            console.print(f"autoencoder: {ae}")
            result = train_latent_diffusion(ae, preset, **common)
    except ValueError as e:
        fail(str(e), e)
    loss = result.manifest["training"]["final_loss"]
    console.print(
        f"wrote {result.checkpoint} (+ .json): {result.step} steps, final loss "
        f"{'-' if loss is None else f'{loss:.4g}'}, {result.steps_per_second:.2f} steps/s this session"
    )


@app.command("latent-report")
def latent_report_command(
    weights: Annotated[
        str, typer.Argument(help="Latent diffusion weights: a shipped name (darcy-grf-ldm-lite) or a path.")
    ],
    out: Annotated[
        Path, typer.Option(help="Folder for NAME-report.json, NAME-report.md and NAME-samples.png.")
    ] = Path("."),
    samples: Annotated[int, typer.Option(help="LDM samples (and decoded Gaussian latents).")] = 128,
    reference: Annotated[int, typer.Option(help="Fresh training-distribution fields (two halves).")] = 256,
    steps: Annotated[int, typer.Option(help="DDIM steps per sample.")] = 50,
    seed: Annotated[int, typer.Option(help="Seed of the samples and the reference fields.")] = 0,
) -> None:
    """Quality report of a latent diffusion model and its autoencoder (JSON, markdown, PNG)."""
    import json

    from invbench.nn.diffusion.report import _jsonable
    from invbench.nn.latent_diffusion.checkpoint import load_latent_diffusion
    from invbench.nn.latent_diffusion.report import latent_figure, latent_markdown, latent_report
    from invbench.nn.weights import WeightsError

    if min(samples, reference // 2, steps) < 2:
        fail("--samples, --steps and half of --reference must each be at least 2")
    try:
        ldm = load_latent_diffusion(weights, device="cpu")
    except WeightsError as e:
        fail(str(e), e)
    with console.status("sampling"):
        report = latent_report(ldm, n_samples=samples, n_reference=reference, steps=steps, seed=seed)
    out.mkdir(parents=True, exist_ok=True)
    name = report["ldm"]["name"]
    latent_figure(ldm, report, out / f"{name}-samples.png")
    report.pop("arrays")
    (out / f"{name}-report.json").write_text(json.dumps(_jsonable(report), indent=2) + "\n")
    markdown = latent_markdown(report)
    (out / f"{name}-report.md").write_text(markdown)
    console.print(markdown)
    console.print(f"wrote {out / name}-report.json, -report.md and -samples.png")
