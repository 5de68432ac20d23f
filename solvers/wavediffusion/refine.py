"""WaveDiffusion's refinement: the last denoising steps from stage 1's latent, keeping the best-fitting draw.

WaveDiffusion (Wang et al., ICML 2025) refines stage 1's estimate in the latent space: starting from the
latent of the observed data, it runs the last 10 steps of the reverse diffusion; at each step it draws
100 candidate latents, decodes their seismic data with the seismic decoder, and keeps the candidate whose
data are closest in L2 to the observed data; the velocity is decoded from the final latent. No PDE is
solved: the seismic decoder stands in for the forward operator.

As built here (:func:`refine`):

* stage 1's quantised latent ``w`` (scaled, :class:`~solvers.wavediffusion.ldm.WaveLDM`) is taken as the
  sample at step ``steps - 1`` and denoised through ``t = steps - 1, ..., 0`` (no noise is added to it
  first: the paper starts from the latent itself);
* at each step the UNet predicts the noise of the current sample once (all candidates share it) and
  diffusers' ``DDPMScheduler.step`` draws the candidates from the posterior ``p(x_{t-1} | x_t)``: the same
  mean, independent noise. At ``t = 0`` that posterior has no noise, so the last step's candidates
  coincide and the choice is trivial;
* the distance is the squared L2 norm in the network's seismic units (log-transformed, resized, in
  [-1, 1]), over the receivers the mask says were recorded (:func:`closest`): on complete data this is
  the paper's L2, on data with missing traces the zeroed traces do not pull the choice towards silence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from diffusers import DDPMScheduler

Decode = Callable[[torch.Tensor], torch.Tensor]
EpsFn = Callable[[torch.Tensor, int], torch.Tensor]


@dataclass
class RefineTrace:
    """What :func:`refine` did at each step.

    Attributes:
        timesteps: The diffusion step of each refinement step (``steps - 1`` down to 0).
        distances: Per step, the ``(K,)`` distances of the candidates to the observed data.
        chosen: Per step, the index of the kept candidate.
        candidates: Per step, the ``(K, C, h, w)`` candidates (only when ``record`` was set).
    """

    timesteps: list[int] = field(default_factory=list)
    distances: list[torch.Tensor] = field(default_factory=list)
    chosen: list[int] = field(default_factory=list)
    candidates: list[torch.Tensor] = field(default_factory=list)


def distances_to(
    decoded: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None
) -> torch.Tensor:
    """Squared L2 distances ``(K,)`` of decoded data ``(K, C, T, R)`` to ``target`` ``(1, C, T, R)``.

    Args:
        decoded: Candidates' data.
        target: The observed data in the same units.
        weights: ``(R,)`` per-receiver weights (the resized trace mask); ``None`` weighs all equally.
    """
    sq = (decoded.float() - target.float()) ** 2
    if weights is not None:
        sq = sq * weights.reshape(1, 1, 1, -1).to(sq)
    return sq.flatten(1).sum(1)


def closest(
    decoded: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None
) -> tuple[int, torch.Tensor]:
    """The index of the candidate closest to ``target``, and all distances (:func:`distances_to`)."""
    d = distances_to(decoded, target, weights)
    return int(torch.argmin(d)), d


@torch.no_grad()
def refine(
    w_start: torch.Tensor,
    target: torch.Tensor,
    *,
    eps_fn: EpsFn,
    decode_seismic: Decode,
    scheduler: DDPMScheduler,
    steps: int = 10,
    candidates: int = 100,
    chunk: int = 25,
    weights: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
    record: bool = False,
) -> tuple[torch.Tensor, RefineTrace]:
    """Refine a latent through the last ``steps`` denoising steps by best-of-``candidates`` selection.

    Args:
        w_start: Stage 1's scaled latent ``(1, C, h, w)``, taken as the sample at step ``steps - 1``.
        target: The observed data as the seismic decoder outputs them ``(1, C, T, R)``.
        eps_fn: ``eps_fn(w, t)``: predicted noise of samples ``w`` at step ``t``.
        decode_seismic: Latents ``(K, C, h, w)`` -> data ``(K, C, T, R)``.
        scheduler: The model's DDPM scheduler (its ``step`` maps ``t`` to ``t - 1``).
        steps: Refinement steps (paper: 10).
        candidates: Candidates per step (paper: 100).
        chunk: Candidates decoded per call (memory, not results).
        weights: ``(R,)`` per-receiver weights of the distance (:func:`distances_to`).
        generator: Source of the candidates' noise.
        record: Keep every step's candidates in the trace.

    Returns:
        The final latent ``(1, C, h, w)`` and the trace.

    Raises:
        ValueError: Steps outside ``[1, T]``, no candidates, a bad chunk, or a latent batch other than one.
    """
    n_train = int(scheduler.config.num_train_timesteps)
    if not 1 <= steps <= n_train:
        raise ValueError(f"refinement steps must lie in [1, {n_train}], got {steps}")
    if candidates < 1 or chunk < 1:
        raise ValueError(f"candidates and chunk must be positive, got {candidates} and {chunk}")
    if w_start.ndim != 4 or w_start.shape[0] != 1:
        raise ValueError(f"refine takes one latent (1, C, h, w), got {tuple(w_start.shape)}")
    trace = RefineTrace()
    x = w_start
    for t in range(steps - 1, -1, -1):
        eps = eps_fn(x, t).float()
        shape = (candidates, *x.shape[1:])
        draws = scheduler.step(eps.expand(shape), t, x.float().expand(shape), generator=generator).prev_sample
        decoded = torch.cat([decode_seismic(draws[i : i + chunk]) for i in range(0, candidates, chunk)])
        k, d = closest(decoded, target, weights)
        x = draws[k : k + 1]
        trace.timesteps.append(t)
        trace.distances.append(d.cpu())
        trace.chosen.append(k)
        if record:
            trace.candidates.append(draws.cpu())
    return x, trace
