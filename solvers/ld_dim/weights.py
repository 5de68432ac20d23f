"""Which trained autoencoder or latent diffusion model serves a task, and why one cannot.

``"auto"`` names the shipped lite weights of the task's domain: ``DOMAIN-vae-lite`` for the autoencoder,
``DOMAIN-ldm-lite`` for the latent diffusion model (``DOMAIN``: ``darcy-grf``, ``darcy-bimaterial`` or
``fwi``). A missing checkpoint is a skip that names the command that trains it.
"""

from __future__ import annotations

import json

import gymnasium as gym

from invbench.core.solver import task_family
from invbench.nn.diffusion.prior_solver import prior_manifest, task_domain

MODEL_KINDS = {"vae": "autoencoder", "ldm": "latent-diffusion"}


def resolve_weights_spec(spec: str, env: gym.Env, model: str) -> str:
    """``"auto"`` -> ``DOMAIN-MODEL-lite`` for the task's domain; anything else unchanged."""
    domain = task_domain(env)
    if spec == "auto" and domain is not None:
        return f"{domain}-{model}-lite"
    return str(spec)


def train_hint(domain: str, model: str) -> str:
    """The command that trains the missing weights."""
    first = f"invbench train --model vae --domain {domain} --preset lite"
    if model == "vae":
        return f"train it with `{first}`"
    return f"train it with `{first}` then `invbench train --model ldm --domain {domain} --preset lite`"


def weights_skip_reason(spec: str, env: gym.Env, model: str) -> str | None:
    """Why the weights ``spec`` cannot serve the task (``None`` when they can).

    Checks that the checkpoint is installed, that it is of the right kind, and that its domain and field
    shape are the task's.
    """
    from invbench.nn.normalize import Normalization
    from invbench.nn.weights import WeightsError

    domain = task_domain(env)
    if domain is None:
        return f"no learned field model for task family {task_family(env)!r}"
    try:
        manifest = prior_manifest(spec)
    except (WeightsError, KeyError, TypeError, ValueError, json.JSONDecodeError) as e:
        return f"no trained {MODEL_KINDS[model]} {spec!r} is installed ({e}); {train_hint(domain, model)}"
    if manifest.get("kind") != MODEL_KINDS[model]:
        return f"{spec!r} is a {manifest.get('kind')!r} checkpoint, not {MODEL_KINDS[model]!r}"
    if manifest.get("domain") != domain:
        return f"{spec!r} is for domain {manifest.get('domain')!r}, the task is {domain!r}"
    if model == "vae":
        shape = tuple(Normalization.from_dict(manifest["normalization"]).field_shape)
        task_shape = tuple(env.unwrapped.field_shape[-2:])
        if shape != task_shape:
            return f"{spec!r} covers {shape} fields, the task's are {task_shape}"
    return None
