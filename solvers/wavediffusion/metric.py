"""WaveDiffusion's PDE deviation of a latent: how far its decoded seismic data are from the physics.

For a latent ``z``, the seismic decoder gives data ``D_s(z)`` and the velocity decoder a map ``D_v(z)``;
the pair obeys the wave equation when ``D_s(z)`` is what the forward operator ``F`` simulates for
``D_v(z)``. WaveDiffusion (Wang et al., ICML 2025) reports the deviation ``||D_s(z) - F(D_v(z))||`` in the
normalised data space the networks work in. Here (:func:`pde_deviation`):

* ``D_v(z)`` is resized to the task's grid and clipped to its velocity range (the map a solver would
  return) and simulated by ``F``, the environment's deepwave propagator
  (:class:`~invbench.physics.wave.propagator.AcousticPropagator`, the one ``env.step`` counts);
* ``F(D_v(z))`` goes through the path observed data take into the seismic branch: anti-aliased
  decimation to the network's time step, shot selection, log transform, resize, min-max to [-1, 1];
* the deviation is the mean over every element of ``(D_s(z) - T(F(D_v(z))))^2``: the squared L2 norm
  divided by the number of samples, so it is comparable across data sizes. Which reduction the paper
  uses (sum, mean, root) is not stated in what we could read; the mean square is the one its reported
  scale (around 1e-3 in [-1, 1] units) suggests.

:func:`deviation_report` evaluates the three groups of latents the paper compares: stage 1's latents of
held-out pairs (reconstructions), random latent points (Gaussian draws at the training latents' scale:
where the reverse diffusion starts), and latents along the reverse diffusion from such draws. This is an
offline analysis, not a solver: it simulates with an uncounted propagator and spends no task budget.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import torch

from invbench.data.pairs import decimate_time
from solvers.wavediffusion.transforms import SeismicTransform, VelocityTransform

Propagator = Callable[[torch.Tensor], torch.Tensor]


class JointDecoder(Protocol):
    """What the metric needs of stage 1: the two decoders over one latent."""

    def decode_seismic(self, z: torch.Tensor) -> torch.Tensor:
        """Transformed seismic data ``(B, C, T, R)`` of latents ``z``."""
        ...

    def decode_velocity(self, z: torch.Tensor) -> torch.Tensor:
        """Normalised velocity ``(B, 1, s, s)`` of latents ``z``."""
        ...


def environment_propagator(task: str, device: torch.device | str | None = None) -> Any:
    """The deepwave propagator of a task's environment (its acquisition and settings), harness side.

    Returns:
        The :class:`~invbench.physics.wave.propagator.AcousticPropagator` of ``make(task).unwrapped``.
    """
    from invbench.registry import make

    base = make(task, device=device).unwrapped
    if getattr(base, "task_family", None) != "fwi":
        raise ValueError(f"the PDE deviation needs an FWI task, not {task}")
    return base.propagator


@torch.no_grad()
def pde_deviation(
    decoder: JointDecoder,
    latents: torch.Tensor,
    *,
    propagator: Propagator,
    seismic: SeismicTransform,
    velocity: VelocityTransform,
    field_shape: tuple[int, int],
    dt: float,
    chunk: int = 16,
) -> torch.Tensor:
    """``mean((D_s(z) - T(F(D_v(z))))^2)`` per latent (module docstring), ``(B,)`` on the CPU.

    Args:
        decoder: Stage 1 (or anything with its two decoders).
        latents: ``(B, C, h, w)`` latents as the decoders read them (unscaled).
        propagator: ``F``: velocity ``(B, 1, nz, nx)`` m/s -> data ``(B, shots, nt, receivers)`` at ``dt``.
        seismic: The seismic branch's transform (its time decimation, shots and size).
        velocity: The velocity branch's transform (resizing back, clipping).
        field_shape: ``(nz, nx)`` of the propagator's grid.
        dt: Time step of the propagator's data, seconds.
        chunk: Latents per propagator call.
    """
    out = []
    for z in latents.split(chunk):
        s_hat = decoder.decode_seismic(z).float()
        v = velocity.to_field(decoder.decode_velocity(z), field_shape)
        simulated = propagator(v.to(torch.float32))
        physical = seismic(decimate_time(simulated.float(), seismic.time_decimation, dt)).to(s_hat.device)
        out.append(((s_hat - physical) ** 2).flatten(1).mean(1).cpu())
    return torch.cat(out)


def summary(values: torch.Tensor) -> dict[str, float]:
    """Mean, median, 10th and 90th percentiles of per-latent deviations."""
    x = values.double().numpy()
    return {
        "n": int(x.size),
        "mean": float(x.mean()),
        "median": float(np.median(x)),
        "p10": float(np.percentile(x, 10)),
        "p90": float(np.percentile(x, 90)),
    }


@torch.no_grad()
def reverse_diffusion_latents(
    ldm: Any, n: int, *, steps: int = 50, keep: Sequence[int] = (), generator: torch.Generator | None = None
) -> dict[int, torch.Tensor]:
    """Unscaled latents along the reverse diffusion of ``n`` Gaussian draws (DDPM with ``steps`` steps).

    Args:
        ldm: A :class:`~solvers.wavediffusion.ldm.WaveLDM`.
        n: Trajectories.
        steps: Reverse steps (diffusers' ``DDPMScheduler.set_timesteps``: evenly spaced over T).
        keep: Timesteps whose samples to return (default: every step's); the final sample is key -1.
        generator: Source of the draws and the steps' noise.

    Returns:
        ``{t: latents (n, C, h, w)}``: the sample entering step ``t``, and ``-1``: the final sample.
    """
    from solvers.wavediffusion.ldm import make_scheduler

    sched = make_scheduler(ldm.schedule)
    sched.set_timesteps(steps, device=ldm.device)
    w = torch.randn((int(n), *ldm.latent_shape), generator=generator).to(ldm.device)
    wanted = {int(t) for t in (keep or sched.timesteps.tolist())}
    found: dict[int, torch.Tensor] = {}
    for t in sched.timesteps:
        if int(t) in wanted:
            found[int(t)] = w * ldm.latent_scale
        w = sched.step(ldm.eps(w, int(t)), t, w, generator=generator).prev_sample
    found[-1] = w * ldm.latent_scale
    return found


def deviation_report(
    ldm: Any,
    held_out_seismic: torch.Tensor,
    *,
    propagator: Propagator,
    field_shape: tuple[int, int],
    dt: float,
    n_random: int = 16,
    steps: int = 50,
    keep: Sequence[int] = (999, 750, 500, 250, 100, 0),
    seed: int = 0,
) -> dict[str, Any]:
    """The PDE deviation of the paper's three groups of latents (module docstring).

    Args:
        ldm: A :class:`~solvers.wavediffusion.ldm.WaveLDM` (its stage 1 decodes every group).
        held_out_seismic: Held-out pairs' data ``(B, shots, time, receivers)``, decimated to the seismic
            branch's time step (:func:`invbench.data.pairs.load_training_data`).
        propagator: ``F`` (:func:`environment_propagator`).
        field_shape: ``(nz, nx)`` of the propagator's grid.
        dt: Time step of the propagator's data.
        n_random: Random latents, and reverse-diffusion trajectories.
        steps: Reverse steps of the trajectories.
        keep: Timesteps of the trajectories to evaluate (the nearest scheduled ones are used).
        seed: Seed of the random latents and the trajectories.

    Returns:
        ``{"reconstruction": summary, "random": summary, "reverse": {t: summary}}``.
    """
    stage1 = ldm.stage1
    common = {
        "propagator": propagator,
        "seismic": stage1.seismic,
        "velocity": stage1.velocity,
        "field_shape": field_shape,
        "dt": dt,
    }
    z_held = stage1.model.latent(stage1.seismic(held_out_seismic.float()).to(ldm.device))
    gen = torch.Generator().manual_seed(int(seed))
    z_random = (
        torch.randn((int(n_random), *ldm.latent_shape), generator=gen).to(ldm.device) * ldm.latent_scale
    )
    sched_t = np.asarray(_scheduled(ldm, steps))
    nearest = sorted({int(sched_t[np.argmin(np.abs(sched_t - k))]) for k in keep})
    path = reverse_diffusion_latents(ldm, n_random, steps=steps, keep=nearest, generator=gen)
    return {
        "reconstruction": summary(pde_deviation(stage1.model, z_held, **common)),
        "random": summary(pde_deviation(stage1.model, z_random, **common)),
        "reverse": {t: summary(pde_deviation(stage1.model, z, **common)) for t, z in sorted(path.items())},
        "units": "mean squared difference in the seismic branch's normalised units",
    }


def _scheduled(ldm: Any, steps: int) -> list[int]:
    from solvers.wavediffusion.ldm import make_scheduler

    sched = make_scheduler(ldm.schedule)
    sched.set_timesteps(steps)
    return [int(t) for t in sched.timesteps]
