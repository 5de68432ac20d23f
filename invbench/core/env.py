"""``InverseProblemEnv``: the Gymnasium contract shared by every invbench task.

A task is an inverse problem with a fixed specification. ``reset`` draws one *instance* (a hidden
true parameter field and its observed data); ``step`` evaluates a proposed field with a real PDE
solver and returns the data misfit and its gradient. Solvers that backpropagate through physics use
:meth:`InverseProblemEnv.operator` instead; both paths draw on the same budget and counters.

Subclasses implement :meth:`_make_instance` and :meth:`_simulate` and declare the spaces.

The harness keeps two environments per benchmark cell. Its own draws the instance (truth included)
and scores the estimate; the solver gets a *solver-side* one (:meth:`InverseProblemEnv.serve`) that
holds only :meth:`InverseProblemEnv.public_instance`: observed data, mask, initial model and public
extras. A solver-side environment cannot be reset to another instance, cannot score, and counts
every forward simulation, also through its internals (see ``docs/threat_model.md``).
"""

from __future__ import annotations

import abc
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch

from invbench.core.counters import SolveCounter, Stopwatch
from invbench.core.device import resolve_device
from invbench.core.errors import EpisodeStateError, HarnessOnlyError, InvalidActionError
from invbench.core.misfit import relative_misfit
from invbench.core.options import check_choice, check_int
from invbench.core.seeding import HIDDEN_SPLIT, hidden_salt

SPLITS = ("train", "val", "test", "hidden")
"""``hidden``: drawn with the maintainers' secret salt (:func:`~invbench.core.seeding.hidden_salt`)."""
HIDDEN_INSTANCES = 100
"""Instances of every task's hidden split."""
MISFITS = ("l2", "l1")


@dataclass
class Instance:
    """One drawn problem instance.

    Attributes:
        split: ``"train"``, ``"val"`` or ``"test"``.
        index: Index within the split.
        seed: The instance seed derived from (task, split, index).
        truth: The hidden true parameter field, shape ``field_shape``; ``None`` in the instance a
            solver-side environment holds (see :meth:`InverseProblemEnv.public_instance`).
        observed: Observed data, shape ``data_shape`` (already masked/filtered as the task says).
        mask: 0/1 weights broadcastable to the data (0 = missing measurement).
        initial: The initial parameter field given to solvers, shape ``field_shape``.
        extras: Task-specific, non-secret information (e.g. sensor coordinates).
    """

    split: str
    index: int
    seed: int
    truth: np.ndarray | None
    observed: torch.Tensor
    mask: torch.Tensor
    initial: np.ndarray
    extras: dict[str, Any] = field(default_factory=dict)


class _AdjointProbe(torch.autograd.Function):
    """Identity on the parameter field whose backward marks the end of one adjoint solve."""

    @staticmethod
    def forward(ctx: Any, m: torch.Tensor, env: InverseProblemEnv) -> torch.Tensor:  # type: ignore[override]
        ctx.env = env
        ctx.batch = m.shape[0]
        return m.view_as(m)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        env: InverseProblemEnv = ctx.env
        env._adjoint_done(ctx.batch)
        return grad, None


def _counted_on_solver_side(simulate: Any) -> Any:
    """Wrap a subclass's ``_simulate`` so that a solver calling it directly pays for it.

    Inside :meth:`InverseProblemEnv.operator` (which counts) and on the harness side (scoring) the
    call is free; on a solver-side environment, any other call counts one forward solve per field
    and, when the input requires grad, reserves and counts its adjoint too.
    """

    def counted(self: InverseProblemEnv, m: torch.Tensor) -> torch.Tensor:
        if self._served is None or self._in_operator:
            return simulate(self, m)
        return self._counted_solve(simulate, m)

    counted.__doc__ = simulate.__doc__
    counted.__name__ = simulate.__name__
    return counted


def _operator_only(simulate_batch: Any) -> Any:
    """Wrap a subclass's ``_simulate_batch`` so that a solver cannot call it outside the count."""

    def guarded(self: InverseProblemEnv, m: torch.Tensor, peers: Sequence[InverseProblemEnv]) -> torch.Tensor:
        if self._served is not None and not self._in_operator:
            self._harness_only("_simulate_batch() (an uncounted solve; use operator())")
        return simulate_batch(self, m, peers)

    guarded.__doc__ = simulate_batch.__doc__
    guarded.__name__ = simulate_batch.__name__
    return guarded


class InverseProblemEnv(gym.Env[dict[str, np.ndarray], np.ndarray], abc.ABC):
    """Base class of invbench environments (see the module docstring).

    Subclasses set ``field_shape``, ``field_low``/``field_high`` (physical bounds of the action),
    ``data_shape``, the observation and action spaces, and implement :meth:`_make_instance` and
    :meth:`_simulate`.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": [], "torch": False}

    task_family: ClassVar[str]
    """The family of tasks the environment belongs to (``"fwi"``, ``"darcy"``, ...): solvers declare
    the families they apply to and may set per-family parameter defaults."""
    field_shape: tuple[int, ...]
    field_low: float
    field_high: float
    data_shape: tuple[int, ...]
    field_center: float = 0.0
    """Affine normalisation of the field for solvers: ``(m - field_center) / field_scale``."""
    field_scale: float = 1.0
    plotter: ClassVar[str] = ""
    """``"module:function"`` that draws a run's figure (see :func:`invbench.harness.single.write_run`)."""

    def __init__(
        self,
        *,
        budget: int,
        misfit: str = "l2",
        n_instances: dict[str, int] | None = None,
        device: str | torch.device | None = None,
        report_time: bool = False,
    ) -> None:
        if not isinstance(getattr(type(self), "task_family", None), str) or not self.task_family:
            raise TypeError(f"{type(self).__name__} must declare its task_family (a class attribute)")
        self.budget = check_int("budget (PDE solves; one forward + one adjoint at least)", budget, low=2)
        self.report_time = bool(report_time)
        self.misfit_kind = check_choice("misfit", misfit, MISFITS)
        self.n_instances = {
            "train": 10**9,
            "val": 100,
            "test": 100,
            "hidden": HIDDEN_INSTANCES,
            **(n_instances or {}),
        }
        for split in ("val", "test"):
            check_int(f"n_{split}", self.n_instances[split], low=1)
        self.device = resolve_device(device)
        self.counter = SolveCounter(budget=self.budget)
        self._instance: Instance | None = None
        self._finalized = False
        self._t_episode = 0.0
        self._t_adjoint_start = 0.0
        self._pending_adjoint = 0
        self._last_model: np.ndarray | None = None
        self._static_obs: dict[str, np.ndarray] = {}
        self.final_prediction: np.ndarray | None = None
        self._served: Instance | None = None
        self._in_operator = False

    # ------------------------------------------------------------------ harness / solver sides
    @property
    def solver_side(self) -> bool:
        """Whether this environment was handed to a solver (:meth:`serve`): no truth, no scoring."""
        return self._served is not None

    def public_instance(self) -> Instance:
        """The current instance without its truth: everything a solver may see (harness side)."""
        inst = self.instance
        return Instance(
            split=inst.split,
            index=inst.index,
            seed=inst.seed,
            truth=None,
            observed=inst.observed.detach().clone(),
            mask=inst.mask.detach().clone(),
            initial=np.array(inst.initial, copy=True),
            extras={
                k: np.array(v, copy=True) if isinstance(v, np.ndarray) else v for k, v in inst.extras.items()
            },
        )

    def serve(self, instance: Instance) -> None:
        """Make this a solver-side environment holding ``instance`` (from :meth:`public_instance`).

        Its one allowed ``reset`` (by the harness, with the instance's split and index) installs the
        instance; every later ``reset`` raises, so a solver cannot switch instances or zero its
        counters mid-solve. Truth, scoring and instance generation are refused.

        Raises:
            ValueError: When ``instance`` carries a truth.
        """
        if instance.truth is not None:
            raise ValueError("a solver-side environment must not hold the truth; pass public_instance()")
        self._served = replace(
            instance, observed=instance.observed.to(self.device), mask=instance.mask.to(self.device)
        )

    def _harness_only(self, what: str) -> None:
        """Refuse ``what`` on a solver-side environment."""
        if self._served is not None:
            raise HarnessOnlyError(
                f"{what} is not available to a solver: the truth and the scoring stay with the harness"
            )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "_simulate" in cls.__dict__:
            cls._simulate = _counted_on_solver_side(cls.__dict__["_simulate"])  # type: ignore[method-assign]
        if "_simulate_batch" in cls.__dict__:
            cls._simulate_batch = _operator_only(cls.__dict__["_simulate_batch"])  # type: ignore[method-assign]

    # ------------------------------------------------------------------ subclass hooks
    @abc.abstractmethod
    def _make_instance(self, split: str, index: int) -> Instance:
        """Build the instance ``(split, index)`` deterministically."""

    @abc.abstractmethod
    def _simulate(self, m: torch.Tensor) -> torch.Tensor:
        """Differentiable forward model: ``(B, *field_shape)`` -> ``(B, *data_shape)``."""

    def _simulate_batch(self, m: torch.Tensor, peers: Sequence[InverseProblemEnv]) -> torch.Tensor:
        """Row j of ``m`` simulated for environment ``peers[j]`` (of this task), in one call.

        What :class:`~invbench.core.vector.InverseProblemVectorEnv` calls. The default suits tasks
        whose forward model is the same for every instance (FWI: one acquisition); tasks whose
        observation operator depends on the instance (Darcy's sensor layout) override it.
        """
        return self._simulate(m)

    def transform_data(self, d: torch.Tensor) -> torch.Tensor:
        """Processing the task applies to predicted data before the misfit (e.g. a low-cut filter).

        Public so that solvers computing their own misfit from :meth:`operator` compare like with
        like: ``transform_data(operator(m))`` against ``instance.observed``. The identity here;
        tasks override it. Differentiable, and no PDE solve.
        """
        return d

    def _extra_obs(self) -> dict[str, np.ndarray]:
        return {}

    def _install(self, instance: Instance) -> None:
        """Set the state ``_simulate`` needs for a served instance (what ``_make_instance`` sets)."""

    # ------------------------------------------------------------------ Gymnasium API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Draw an instance: ``options={"split": "test", "index": i}`` (index drawn if absent)."""
        super().reset(seed=seed)
        options = dict(options or {})
        if self._served is not None and self._instance is not None:
            raise EpisodeStateError(
                "a solver cannot reset its environment: it holds the one instance the harness drew "
                f"({self._served.split} #{self._served.index}) and its solve counters"
            )
        split = options.pop("split", "test")
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
        if split == HIDDEN_SPLIT and self._served is None:
            hidden_salt()  # refuse early, naming the missing salt
        n = self.n_instances[split]
        index = options.pop("index", None)
        if index is None:
            index = int(self.np_random.integers(0, min(n, 2**31 - 1)))
        index = int(index)
        if not 0 <= index < n:
            raise ValueError(f"index {index} out of range for split {split!r} with {n} instances")
        if options:
            raise ValueError(f"unknown reset options {sorted(options)}; expected 'split' and 'index'")
        if self._served is not None:
            if (split, index) != (self._served.split, self._served.index):
                raise EpisodeStateError(
                    f"this environment serves {self._served.split} #{self._served.index}, "
                    f"not {split} #{index}"
                )
            self._instance = self._served
            self._install(self._served)
        else:
            self._instance = self._make_instance(split, index)
        self.counter = SolveCounter(budget=self.budget)
        self._pending_adjoint = 0
        self._finalized = False
        self.final_prediction = None
        self._t_episode = time.perf_counter()
        self._last_model = self._instance.initial.astype(np.float32)
        self._static_obs = {
            "observed": self._instance.observed.detach().cpu().numpy().astype(np.float32),
            "mask": self._instance.mask.detach().cpu().numpy().reshape(-1).astype(np.int8),
            "initial_model": self._instance.initial.astype(np.float32),
        }
        obs = self._observation(self._last_model, misfit=np.inf, gradient=None)
        return obs, self.current_info()

    def step(self, action: np.ndarray) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Evaluate a proposed field: returns its misfit, gradient and the reward ``-misfit``."""
        misfit, grad = self.evaluate(action, gradient=True)
        assert grad is not None
        self._last_model = np.asarray(action, dtype=np.float32)
        obs = self._observation(self._last_model, misfit=misfit, gradient=grad)
        truncated = self.counter.remaining < 2
        return obs, -float(misfit), False, truncated, self.current_info()

    # ------------------------------------------------------------------ counted physics
    @property
    def instance(self) -> Instance:
        """The current instance (raises before ``reset``)."""
        if self._instance is None:
            raise EpisodeStateError("call reset() before using the environment")
        return self._instance

    def operator(self, m: torch.Tensor) -> torch.Tensor:
        """Counted, differentiable forward operator for solvers that backpropagate through physics.

        Each call counts one forward solve per instance in the batch; a backward pass through the
        result counts one adjoint solve per instance. The adjoint is reserved at call time when the
        input requires grad, so a budget is never overrun.

        Args:
            m: Parameter field(s) in physical units, ``(B, *field_shape)`` or ``field_shape``.

        Returns:
            Predicted data ``(B, *data_shape)`` (or ``data_shape`` for an unbatched input), on the
            environment's device, before the task's data transform (see :meth:`data_misfit`).
        """
        self._check_active()
        unbatched = tuple(m.shape) == tuple(self.field_shape)
        mb = m.unsqueeze(0) if unbatched else m
        self._validate_field(mb)
        pred = self._counted_solve(type(self)._simulate, mb.to(self.device, torch.float32))
        return pred[0] if unbatched else pred

    def _misfits(self, pred: torch.Tensor) -> torch.Tensor:
        """Relative data misfit of each row of predicted data ``(B, *data_shape)`` (no solve)."""
        pred = self.transform_data(pred)
        inst = self.instance
        return torch.stack(
            [relative_misfit(p, inst.observed, kind=self.misfit_kind, mask=inst.mask) for p in pred]
        )

    def _counted_solve(self, simulate: Any, m: torch.Tensor) -> torch.Tensor:
        """Run ``simulate(self, m)``, paying one forward solve per field.

        The call runs with ``_in_operator`` set, so the solver-side wrapper of ``_simulate`` does
        not count it a second time. When ``m`` requires grad, the adjoint is reserved now (so a
        budget is never overrun) and counted when the backward pass reaches the field.
        """
        b = int(m.shape[0])
        needs_adjoint = torch.is_grad_enabled() and m.requires_grad
        self.counter.reserve(b * (2 if needs_adjoint else 1) + self._pending_adjoint)
        if needs_adjoint:
            m = _AdjointProbe.apply(m, self)
            self._pending_adjoint += b
        self._in_operator = True
        try:
            with Stopwatch(self.counter):
                pred = simulate(self, m)
        finally:
            self._in_operator = False
        self.counter.forward += b
        if needs_adjoint:
            pred.register_hook(self._adjoint_started)
        return pred

    def data_misfit(self, m: torch.Tensor) -> torch.Tensor:
        """Relative data misfit of field(s) ``m`` (counted; differentiable); one value per instance."""
        pred = self.operator(m)
        return self._misfits(pred.unsqueeze(0) if pred.dim() == len(self.data_shape) else pred)

    def evaluate(self, model: np.ndarray, *, gradient: bool = True) -> tuple[float, np.ndarray | None]:
        """Misfit (and its gradient w.r.t. the field, physical units) of one field; counted.

        Args:
            model: One parameter field of shape ``field_shape`` in physical units.
            gradient: Also run the adjoint and return the gradient.

        Returns:
            ``(misfit, gradient)``; the gradient is ``None`` when not requested.
        """
        arr = self._validate_action(model)
        m = torch.from_numpy(arr).to(self.device).unsqueeze(0)
        # The field was validated once above; the solve goes straight to the counted call.
        if not gradient:
            with torch.no_grad():
                return float(self._misfits(self._counted_solve(type(self)._simulate, m))[0]), None
        m.requires_grad_(True)
        j = self._misfits(self._counted_solve(type(self)._simulate, m))[0]
        j.backward()
        assert m.grad is not None
        return float(j.detach()), m.grad[0].detach().cpu().numpy().astype(np.float32)

    def finalize(self, estimate: np.ndarray) -> dict[str, float]:
        """End the episode and score the final estimate against the hidden truth.

        Called by the harness after the solver returns. Further steps raise until ``reset``.
        The final data misfit is computed with one uncounted forward solve (scoring, not solving).
        """
        self._harness_only("finalize()")
        arr = self._validate_action(estimate)
        self._check_active()
        self._finalized = True
        with torch.no_grad():
            pred = self.transform_data(self._simulate(torch.from_numpy(arr).to(self.device).unsqueeze(0)))
            inst = self.instance
            misfit = float(relative_misfit(pred[0], inst.observed, kind=self.misfit_kind, mask=inst.mask))
        self.final_prediction = (pred[0] * inst.mask).cpu().numpy()
        scores = self._score(arr, inst.truth)
        scores["data_misfit"] = misfit
        return scores

    @abc.abstractmethod
    def _score(self, estimate: np.ndarray, truth: np.ndarray) -> dict[str, float]:
        """Model metrics of an estimate against the hidden truth."""

    def rescore(self, estimate: np.ndarray, split: str, index: int) -> dict[str, float]:
        """The metrics of ``estimate`` on instance ``(split, index)`` that need no observed data.

        What ``leaderboard submit`` recomputes from a stored estimate: every metric of
        :meth:`finalize` except the data misfit (which needs the observed data and, for FWI, a
        wave simulation). Needs no episode; harness side only.
        """
        self._harness_only("rescore()")
        if isinstance(estimate, torch.Tensor):
            estimate = estimate.detach().cpu().numpy()
        arr = np.ascontiguousarray(np.asarray(estimate, dtype=np.float32))
        self._validate_field(torch.from_numpy(arr).unsqueeze(0))
        return self._rescore(arr, self.true_model(split, index))

    def _rescore(self, estimate: np.ndarray, truth: np.ndarray) -> dict[str, float]:
        """:meth:`rescore` given the truth; tasks whose metrics need more than the truth override it."""
        return self._score(estimate, truth)

    def figure_arrays(self, estimate: np.ndarray) -> dict[str, np.ndarray]:
        """Extra arrays for a finished episode's figure (after :meth:`finalize`; not counted)."""
        self._harness_only("figure_arrays()")
        if not self._finalized:
            raise EpisodeStateError("figure_arrays() is only available after finalize()")
        return {}

    # ------------------------------------------------------------------ internals
    def _adjoint_started(self, grad: torch.Tensor) -> None:
        self._t_adjoint_start = time.perf_counter()

    def _adjoint_done(self, batch: int) -> None:
        self.counter.adjoint += batch
        self._pending_adjoint = max(self._pending_adjoint - batch, 0)
        self.counter.physics_time += time.perf_counter() - self._t_adjoint_start

    def _check_active(self) -> None:
        if self._instance is None:
            raise EpisodeStateError("call reset() before step()/operator()")
        if self._finalized:
            raise EpisodeStateError("the episode was finalized; call reset() to start a new one")

    def _validate_field(self, m: torch.Tensor) -> None:
        shape = tuple(m.shape[1:])
        if m.dim() != len(self.field_shape) + 1 or shape != tuple(self.field_shape):
            raise InvalidActionError(
                f"expected a field of shape {self.field_shape} (or batched (B, *{self.field_shape})), "
                f"got {tuple(m.shape)}"
            )
        with torch.no_grad():
            if not bool(torch.isfinite(m).all()):
                raise InvalidActionError("the proposed field contains NaN or inf")
            lo, hi = float(m.min()), float(m.max())
        tol = 1e-4 * max(abs(self.field_low), abs(self.field_high), 1.0)
        if lo < self.field_low - tol or hi > self.field_high + tol:
            raise InvalidActionError(
                f"the proposed field has values in [{lo:.6g}, {hi:.6g}], outside the task's range "
                f"[{self.field_low:.6g}, {self.field_high:.6g}]; clip your estimate to the range"
            )

    def _validate_action(self, action: Any) -> np.ndarray:
        if isinstance(action, torch.Tensor):
            action = action.detach().cpu().numpy()
        try:
            arr = np.asarray(action, dtype=np.float32)
        except (TypeError, ValueError) as e:
            raise InvalidActionError(f"the action must be a numeric array of shape {self.field_shape}") from e
        self._validate_field(torch.from_numpy(arr).unsqueeze(0))
        self._check_active()
        return np.ascontiguousarray(arr)

    def _observation(
        self, model: np.ndarray, *, misfit: float, gradient: np.ndarray | None
    ) -> dict[str, np.ndarray]:
        grad = np.zeros(self.field_shape, np.float32) if gradient is None else gradient
        obs = {
            **{k: v.copy() for k, v in self._static_obs.items()},
            "model": model.astype(np.float32),
            "misfit": np.array([misfit], dtype=np.float32),
            "gradient": grad.astype(np.float32),
        }
        obs.update(self._extra_obs())
        return obs

    def current_info(self) -> dict[str, Any]:
        """The ``info`` dict ``step`` would return now: PDE-solve counters, instance, times.

        For solvers that drive :meth:`operator` directly and report progress to the harness.
        """
        inst = self.instance
        info: dict[str, Any] = dict(self.counter.as_dict())
        info.update(split=inst.split, index=inst.index)
        if self.report_time:
            info.update(
                wall_time=time.perf_counter() - self._t_episode, physics_time=self.counter.physics_time
            )
        return info
