"""B instances of one task stepped together: one batched call of the physics per step.

:class:`InverseProblemVectorEnv` is a Gymnasium :class:`~gymnasium.vector.VectorEnv` over ``B``
single environments of one task (same physics, acquisition and options; their own instance,
counters, budget and truncation each). ``step`` validates each sub-environment's field, reserves
one forward and one adjoint solve in each budget, then simulates all B fields in **one** call of the
physics (FWI: B models x their shots in one deepwave call; Darcy: one batched solve) and one
backward pass, so a CPU or a GPU does B instances' work at once instead of B calls that leave it
idle. Observations, rewards, ``truncated`` and ``info`` equal those of B single environments given
the same actions (to floating-point tolerance; ``tests/core/test_vector.py``), and each
sub-environment's counters record exactly the solves a single environment would.

Conventions follow Gymnasium's vector API:

* ``reset(seed=s, options={"split": ..., "index": [i0, i1, ...]})``; without ``index``,
  sub-environment k draws instance k of the split (a benchmark compares instances, not draws); an
  integer ``seed`` seeds sub-environment k with ``s + k`` as :class:`~gymnasium.vector.SyncVectorEnv`
  does.
* Autoreset in ``NEXT_STEP`` mode: the step after a sub-environment's episode ended resets it
  (``reset()`` without options, as Gymnasium's sync vector env does: a drawn test instance) and
  returns its first observation with reward 0; that sub-environment's action is ignored.
* :meth:`InverseProblemVectorEnv.operator` is the counted, differentiable torch path for solvers
  that backpropagate through the physics of all B instances at once.

``invbench.make_vec(task_id, num_envs=B)`` builds one; ``gymnasium.make_vec(task_id, num_envs=B)``
does too (each task registers this class as its ``vector_entry_point``).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space, concatenate, create_empty_array

from invbench.core.env import InverseProblemEnv


class _BatchAdjointProbe(torch.autograd.Function):
    """Identity on a batch of fields whose backward counts one adjoint solve per sub-environment."""

    @staticmethod
    def forward(ctx: Any, m: torch.Tensor, vec: InverseProblemVectorEnv) -> torch.Tensor:  # type: ignore[override]
        ctx.vec = vec
        return m.view_as(m)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        ctx.vec._adjoint_done()
        return grad, None


class InverseProblemVectorEnv(VectorEnv):
    """A vector environment over ``num_envs`` instances of one task (see the module docstring).

    Args:
        make_env: Builds one single environment of the task (called ``num_envs`` times).
        num_envs: Number of sub-environments B (at least 1).

    Raises:
        ValueError: For ``num_envs < 1``.
    """

    metadata: ClassVar[dict[str, Any]] = {"autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, make_env: Callable[[], gym.Env], num_envs: int) -> None:
        if int(num_envs) < 1:
            raise ValueError(f"num_envs must be at least 1, got {num_envs}")
        self.num_envs = int(num_envs)
        self.envs = [make_env() for _ in range(self.num_envs)]
        self.bases: list[InverseProblemEnv] = [e.unwrapped for e in self.envs]  # type: ignore[misc]
        first = self.bases[0]
        self.metadata = {**first.metadata, "autoreset_mode": AutoresetMode.NEXT_STEP}
        self.spec = first.spec
        self.single_observation_space = first.observation_space
        self.single_action_space = first.action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._observations = create_empty_array(self.single_observation_space, n=self.num_envs)
        self._autoreset = np.zeros(self.num_envs, dtype=np.bool_)
        self._pending_adjoint = False
        self._t_adjoint_start = 0.0

    @classmethod
    def from_entry_point(cls, entry_point: str, num_envs: int = 1, **kwargs: Any) -> InverseProblemVectorEnv:
        """A vector environment of the task class ``"module:Class"`` built with ``kwargs``.

        The ``vector_entry_point`` Gymnasium calls from ``gymnasium.make_vec``.
        """
        module, _, name = entry_point.partition(":")
        env_cls = getattr(importlib.import_module(module), name)
        kwargs.pop("max_episode_steps", None)  # the budget of PDE solves ends episodes
        return cls(lambda: env_cls(**kwargs), num_envs)

    # ------------------------------------------------------------------ Gymnasium API
    def reset(
        self, *, seed: int | Sequence[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Draw one instance per sub-environment (see the module docstring for ``options``).

        Raises:
            ValueError: For an ``index`` list of the wrong length or unknown options.
        """
        options = dict(options or {})
        split = options.pop("split", "test")
        indices = options.pop("index", None)
        if options:
            raise ValueError(f"unknown reset options {sorted(options)}; expected 'split' and 'index'")
        if indices is None:
            indices = list(range(self.num_envs))
        elif np.ndim(indices) == 0:
            raise ValueError(f"index must be a list of {self.num_envs} instance indices, got {indices!r}")
        indices = [int(i) for i in indices]
        if len(indices) != self.num_envs:
            raise ValueError(f"index lists {len(indices)} instances for {self.num_envs} sub-environments")
        if seed is None or isinstance(seed, int | np.integer):
            seeds = [None if seed is None else int(seed) + k for k in range(self.num_envs)]
        else:
            seeds = list(seed)
            if len(seeds) != self.num_envs:
                raise ValueError(f"seed lists {len(seeds)} seeds for {self.num_envs} sub-environments")
        obs, infos = [], {}
        for k, env in enumerate(self.envs):
            o, info = env.reset(seed=seeds[k], options={"split": split, "index": indices[k]})
            obs.append(o)
            infos = self._add_info(infos, info, k)
        self._autoreset[:] = False
        return self._batch(obs), infos

    def step(
        self, actions: Any
    ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Evaluate B proposed fields (``(B, *field_shape)``) in one batched call of the physics."""
        fields = self._as_fields(actions)
        stepping = [k for k in range(self.num_envs) if not self._autoreset[k]]
        results: dict[int, tuple[float, np.ndarray]] = {}
        if stepping:
            misfits, grads = self.evaluate(fields[stepping], envs=stepping)
            results = {k: (misfits[j], grads[j]) for j, k in enumerate(stepping)}
        obs, infos = [], {}
        rewards = np.zeros(self.num_envs, dtype=np.float64)
        terminated = np.zeros(self.num_envs, dtype=np.bool_)
        truncated = np.zeros(self.num_envs, dtype=np.bool_)
        for k, (env, base) in enumerate(zip(self.envs, self.bases, strict=True)):
            if self._autoreset[k]:
                o, info = env.reset()
            else:
                misfit, grad = results[k]
                base._last_model = fields[k].copy()
                o = base._observation(base._last_model, misfit=misfit, gradient=grad)
                rewards[k] = -float(misfit)
                truncated[k] = base.counter.remaining < 2
                info = base.current_info()
            obs.append(o)
            infos = self._add_info(infos, info, k)
        self._autoreset = terminated | truncated
        return self._batch(obs), rewards, terminated, truncated, infos

    def close_extras(self, **kwargs: Any) -> None:
        """Close every sub-environment."""
        for env in self.envs:
            env.close()

    # ------------------------------------------------------------------ counted physics
    def evaluate(
        self, fields: np.ndarray, *, envs: Sequence[int] | None = None
    ) -> tuple[list[float], list[np.ndarray]]:
        """Misfit and gradient of one field per listed sub-environment, in one batched solve pair.

        Args:
            fields: ``(len(envs), *field_shape)`` in physical units.
            envs: The sub-environments the fields belong to (default: all, in order).

        Returns:
            The misfits and gradients (physical units), one per listed sub-environment.
        """
        ids = list(range(self.num_envs)) if envs is None else list(envs)
        m = torch.from_numpy(np.ascontiguousarray(fields, dtype=np.float32)).to(self.bases[0].device)
        m.requires_grad_(True)
        pred = self.operator(m, envs=ids)
        misfits = self.misfits(pred, envs=ids)
        misfits.sum().backward()
        assert m.grad is not None
        grads = m.grad.detach().cpu().numpy().astype(np.float32)
        return [float(v) for v in misfits.detach().cpu()], list(grads)

    def misfits(self, pred: torch.Tensor, *, envs: Sequence[int] | None = None) -> torch.Tensor:
        """Each listed sub-environment's relative data misfit of its row of ``pred`` (no solve)."""
        ids = list(range(self.num_envs)) if envs is None else list(envs)
        return torch.cat([self.bases[k]._misfits(pred[j : j + 1]) for j, k in enumerate(ids)])

    def operator(self, m: torch.Tensor, *, envs: Sequence[int] | None = None) -> torch.Tensor:
        """Counted, differentiable forward operator of B instances: ``(B, *field_shape)`` -> data.

        Row j is simulated for sub-environment ``envs[j]`` (default: row k for sub-environment k)
        and counts one forward solve in its budget; a backward pass counts one adjoint solve in
        each. Both are reserved first, so no budget is overrun: a sub-environment without two
        solves left (one without grad) raises :class:`~invbench.core.errors.BudgetExhaustedError`
        and nothing is counted.

        Returns:
            Predicted data ``(B, *data_shape)`` before the task's data transform.
        """
        ids = list(range(self.num_envs)) if envs is None else list(envs)
        if m.dim() != len(self.bases[0].field_shape) + 1 or m.shape[0] != len(ids):
            raise ValueError(
                f"expected {len(ids)} fields of shape {self.bases[0].field_shape}, got {tuple(m.shape)}"
            )
        needs_adjoint = torch.is_grad_enabled() and m.requires_grad
        if needs_adjoint and self._pending_adjoint:
            raise RuntimeError("backpropagate the previous batched call before the next one")
        chosen = [self.bases[k] for k in ids]
        for j, base in enumerate(chosen):
            base._check_active()
            base._validate_field(m[j : j + 1].detach())
            base.counter.reserve((2 if needs_adjoint else 1) + base._pending_adjoint)
        mb = m.to(chosen[0].device, torch.float32)
        if needs_adjoint:
            mb = _BatchAdjointProbe.apply(mb, self)
            self._pending_adjoint = True
            self._adjoint_ids = ids
        t0 = time.perf_counter()
        for base in chosen:
            base._in_operator = True
        try:
            pred = chosen[0]._simulate_batch(mb, chosen)
        finally:
            for base in chosen:
                base._in_operator = False
        share = (time.perf_counter() - t0) / len(chosen)
        for base in chosen:
            base.counter.forward += 1
            base.counter.physics_time += share
        if needs_adjoint:
            pred.register_hook(self._adjoint_started)
        return pred

    def _adjoint_started(self, grad: torch.Tensor) -> None:
        self._t_adjoint_start = time.perf_counter()

    def _adjoint_done(self) -> None:
        ids = self._adjoint_ids
        share = (time.perf_counter() - self._t_adjoint_start) / len(ids)
        for k in ids:
            self.bases[k].counter.adjoint += 1
            self.bases[k].counter.physics_time += share
        self._pending_adjoint = False

    # ------------------------------------------------------------------ helpers
    def _as_fields(self, actions: Any) -> np.ndarray:
        if isinstance(actions, torch.Tensor):
            actions = actions.detach().cpu().numpy()
        arr = np.asarray(actions, dtype=np.float32)
        shape = (self.num_envs, *self.bases[0].field_shape)
        if arr.shape != shape:
            raise ValueError(
                f"expected actions of shape {shape} (one field per sub-environment), got {arr.shape}"
            )
        return arr

    def _batch(self, obs: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
        self._observations = concatenate(self.single_observation_space, obs, self._observations)
        return {k: v.copy() for k, v in self._observations.items()}


def make_vec(task_id: str, num_envs: int = 1, **kwargs: Any) -> InverseProblemVectorEnv:
    """A vector environment of ``num_envs`` instances of task ``task_id`` (options as for ``make``).

    Raises:
        ValueError: For an unknown task id or option name, or ``num_envs < 1``.
    """
    from invbench.registry import make

    make(task_id, **kwargs).close()  # the clear errors of make for an unknown id or option
    return InverseProblemVectorEnv(lambda: make(task_id, **kwargs), num_envs)
