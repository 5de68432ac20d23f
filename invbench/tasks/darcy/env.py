"""Steady Darcy flow: recover a log-conductivity field from sparse, noisy head measurements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from invbench.core.env import Instance, InverseProblemEnv
from invbench.core.errors import EpisodeStateError
from invbench.core.options import check_choice, check_int, check_real, option_names, reject_unknown
from invbench.core.seeding import instance_seed
from invbench.physics.darcy.solver import DarcyProblem, darcy_solve, solve_head
from invbench.tasks.darcy.metrics import log_k_metrics, relative_l2, wrong_phase_share
from invbench.tasks.darcy.sensors import (
    FAMILIES,
    LOG_K_MAX,
    LOG_K_MIN,
    SENSOR_LAYOUTS,
    SensorLayout,
)
from invbench.tasks.darcy.sensors import sensor_layout as build_layout
from invbench.tasks.fwi.instances import NOISE_TYPES, add_noise

DEFAULT_SENSORS = 64
BOUNDARY_CONDITIONS = ("dirichlet0", "head_drop")
MIN_GRID = 11  # the SSIM window is 11 x 11


class DarcyEnv(InverseProblemEnv):
    """Steady Darcy flow inversion of a 2D log-conductivity field (the LD-DIM task, Lin & He 2025).

    ## Description
    Recover ``log k`` on an ``n x n`` grid of the unit square from the hydraulic head ``u`` measured
    at a few sensors, where ``-div(k grad u) = f`` is solved by cell-centred finite volumes
    (:mod:`invbench.physics.darcy.solver`). The hidden field is drawn from a Gaussian random field (``GRF``,
    FNO/PDEBench covariance, mean 0 and std 1 in log k) or its thresholded two-phase version
    (``Bimaterial``, ``k`` = 3 or 12); see :mod:`invbench.data.darcy_fields`. The observed data are
    the heads of the true field at the sensors plus noise (the same discretisation as the forward
    model; the noise keeps the truth from fitting exactly).

    ## Action Space
    ``Box(-8, 8, (1, n, n), float32)``: a full field of the natural log of the conductivity, indexed
    ``[0, row = y, column = x]`` with row 0 at ``y = 0`` (the channel axis matches the FWI tasks, so
    image solvers need no reshaping). NaN/inf, a wrong shape or values outside [-8, 8] raise
    :class:`~invbench.core.errors.InvalidActionError`. The bounds hold every generated field with a
    margin: the largest ``|log k|`` in 20,000 GRF draws at 64 x 64 is 7.25 (fields are clipped to the
    bounds, which in practice changes nothing). Solvers normalise with ``env.unwrapped.field_center``
    and ``field_scale``: the family's prior mean and spread (GRF: 0 and 1; Bimaterial: log 6 and log 2,
    so the two phases sit at -1 and +1).

    ## Observation Space
    A ``Dict`` with ``observed`` (S,) noisy sensor heads, ``sensor_coords`` (S, 2) the ``(x, y)`` of the
    sensor cell centres in [0, 1], ``mask`` (S,) all ones, ``initial_model`` (1, n, n) the constant
    prior mean of log k (not the true field's mean), ``model`` the last evaluated field, ``misfit`` (1,)
    the relative data misfit of ``model`` (``inf`` before the first step) and ``gradient`` (1, n, n),
    its gradient with respect to ``log k`` (zeros before the first step; one adjoint solve).

    ## Rewards
    The negative relative data misfit ``-||d - d_obs||^p / ||d_obs||^p`` over the sensors (p = 2 for
    ``l2``, 1 for ``l1``).

    ## Starting State
    ``reset(seed=, options={"split": "test" | "val" | "train", "index": i})`` draws the instance; the
    same (task, split, index) gives the same field, sensors and noisy data on every machine.

    ## Episode End
    ``terminated`` is never set; ``truncated`` is set when fewer than two PDE solves (one forward +
    adjoint) remain in the budget. ``info`` counts ``forward_solves``, ``adjoint_solves``,
    ``pde_solves``, ``budget`` and ``budget_left`` (plus ``wall_time`` and ``physics_time`` with
    ``report_time=True``). :meth:`finalize` scores the estimate: ``rel_l2``, ``mae``, ``rmse``,
    ``ssim`` and ``psnr`` of log k (:mod:`invbench.tasks.darcy.metrics`), ``head_rel_l2`` (relative L2 error
    of the full head field the estimate predicts), for ``Bimaterial`` ``wrong_phase`` (the share of cells
    on the wrong side of the midpoint of the two phases: how sharp the interfaces are) and
    ``data_misfit``; its solves are not counted.

    ## Arguments
    * family: ``"GRF"`` (default) or ``"Bimaterial"``.
    * n: grid cells per side (default 64; at least 11, the SSIM window).
    * sensors: sensor count (default 64; 16, 64 and 256 are the standard settings).
    * sensor_layout: ``"grid"`` (default), a regular ``sqrt(S) x sqrt(S)`` sub-grid of cell centres;
      ``"random"``, distinct cells drawn per instance; ``"custom"``, the points of ``sensor_coords``.
    * sensor_coords: ``(S, 2)`` points ``(x, y)`` in [0, 1]^2, each snapped to the cell containing it;
      implies ``"custom"`` and overrides ``sensors``.
    * noise: std of the noise relative to the RMS of the clean sensor heads (default 0.01).
    * noise_type: ``"gaussian"`` (default) or ``"laplace"``.
    * budget: PDE solves per episode (default 600, i.e. 300 gradient steps).
    * bc: ``"dirichlet0"`` (default; u = 0 on the boundary, f = 1: the FNO/PDEBench setting) or
      ``"head_drop"`` (u = 1 at x = 0, u = 0 at x = 1, no flow top and bottom, f = 0).
    * misfit: ``"l2"`` (default) or ``"l1"``.
    * n_val, n_test: instances in the validation and test splits (default 100 each).
    * device: torch device of the physics (default: CUDA when available).
    * report_time: also put ``wall_time`` and ``physics_time`` in ``info`` (off by default: they are
      not bit-reproducible, and the harness times runs itself).

    Every option is checked when the task is made: a bad value or an unknown name raises a
    ``ValueError`` naming it and what it accepts.

    ## Version History
    * v0: initial release.
    """

    task_family = "darcy"

    plotter = "invbench.tasks.darcy.figure:plot_darcy_result"

    def __init__(
        self,
        family: str = "GRF",
        *,
        n: int = 64,
        sensors: int = DEFAULT_SENSORS,
        sensor_layout: str = "grid",
        sensor_coords: Sequence[Sequence[float]] | np.ndarray | None = None,
        noise: float = 0.01,
        noise_type: str = "gaussian",
        budget: int = 600,
        bc: str = "dirichlet0",
        misfit: str = "l2",
        n_val: int = 100,
        n_test: int = 100,
        device: str | torch.device | None = None,
        report_time: bool = False,
        **unknown: Any,
    ) -> None:
        reject_unknown(type(self).__name__, unknown, option_names(type(self)))
        check_choice("family", family, FAMILIES)
        n = check_int("n (grid cells per side; the SSIM window needs 11)", n, low=MIN_GRID)
        check_choice("bc", bc, BOUNDARY_CONDITIONS)
        noise = check_real("noise (std relative to the clean head RMS)", noise, low=0.0)
        check_choice("noise_type", noise_type, NOISE_TYPES)
        super().__init__(
            budget=budget,
            misfit=misfit,
            n_instances={"val": n_val, "test": n_test},
            device=device,
            report_time=report_time,
        )
        self.spec_family = FAMILIES[family]
        self.n = int(n)
        self.problem = DarcyProblem(n=self.n, bc=bc)  # type: ignore[arg-type]
        self.layout_kind = _layout_kind(sensors, sensor_layout, sensor_coords)
        self._coords_option = sensor_coords
        # Fail early on sensors that do not fit (a random layout is drawn per instance later).
        probe = sensor_layout_for(self.layout_kind, int(sensors), self.n, sensor_coords, seed=0)
        n_sensors = probe.count
        self.options = {"noise": float(noise), "noise_type": noise_type, "bc": bc}
        self.field_shape = (1, self.n, self.n)
        self.field_low, self.field_high = LOG_K_MIN, LOG_K_MAX
        self.field_center, self.field_scale = self.spec_family.center, self.spec_family.scale
        self.data_shape = (n_sensors,)
        self.action_space = spaces.Box(LOG_K_MIN, LOG_K_MAX, self.field_shape, np.float32)
        field_box = spaces.Box(LOG_K_MIN, LOG_K_MAX, self.field_shape, np.float32)
        self.observation_space = spaces.Dict(
            {
                "observed": spaces.Box(-np.inf, np.inf, self.data_shape, np.float32),
                "sensor_coords": spaces.Box(0.0, 1.0, (n_sensors, 2), np.float32),
                "mask": spaces.MultiBinary(n_sensors),
                "initial_model": field_box,
                "model": field_box,
                "misfit": spaces.Box(0.0, np.inf, (1,), np.float32),
                "gradient": spaces.Box(-np.inf, np.inf, self.field_shape, np.float32),
            }
        )
        self._layout: SensorLayout = probe
        self._cells_t = torch.from_numpy(probe.cells).to(self.device)
        self._true_head: np.ndarray | None = None
        self._pred_head: np.ndarray | None = None

    # ------------------------------------------------------------------ physics
    @property
    def map_key(self) -> str:
        """What determines the hidden fields: the family and the grid size."""
        return f"Darcy-{self.spec_family.name}/{self.n}x{self.n}"

    @property
    def sensors(self) -> SensorLayout:
        """The current instance's sensor layout (cells and coordinates)."""
        return self._layout

    def head(self, log_k: np.ndarray) -> np.ndarray:
        """Full head field ``(n, n)`` of a log-k field ``(1, n, n)`` (uncounted; for scoring and figures)."""
        self._harness_only("head() (an uncounted solve; use operator())")
        return solve_head(np.asarray(log_k, dtype=np.float64).reshape(self.n, self.n), self.problem).astype(
            np.float32
        )

    def _simulate(self, m: torch.Tensor) -> torch.Tensor:
        u = darcy_solve(m[:, 0], self.problem)
        return u.reshape(u.shape[0], -1)[:, self._cells_t]

    def _simulate_batch(self, m: torch.Tensor, peers: Sequence[InverseProblemEnv]) -> torch.Tensor:
        # One batched solve of the full head fields; each instance reads its own sensors.
        u = darcy_solve(m[:, 0], self.problem).reshape(m.shape[0], -1)
        return torch.stack([u[j, peer._cells_t] for j, peer in enumerate(peers)])  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ instances
    def true_model(self, split: str, index: int) -> np.ndarray:
        """The hidden true field of an instance, ``(1, n, n)`` log k (for the harness, not solvers)."""
        self._harness_only("true_model()")
        from invbench.data.darcy_fields import bimaterial_log_k, grf_log_k

        seed = instance_seed(self.map_key, split, index)
        draw = grf_log_k if self.spec_family.name == "GRF" else bimaterial_log_k
        field = draw(1, seed, n=self.n)[0]
        return np.clip(field, LOG_K_MIN, LOG_K_MAX)[None].astype(np.float32)

    def _use_layout(self, split: str, index: int) -> SensorLayout:
        """Install and return the sensor layout of instance ``(split, index)`` (public: no truth)."""
        layout = sensor_layout_for(
            self.layout_kind,
            self.data_shape[0],
            self.n,
            self._coords_option,
            seed=instance_seed(self.map_key, split, index, purpose="sensors"),
        )
        self._layout = layout
        self._cells_t = torch.from_numpy(layout.cells).to(self.device)
        return layout

    def _install(self, instance: Instance) -> None:
        # The layout travels with the instance: a hidden instance's is drawn with a salt the solver lacks.
        self._layout = SensorLayout(
            cells=np.asarray(instance.extras["sensor_cells"], dtype=np.int64),
            coords=np.asarray(instance.extras["sensor_coords"], dtype=np.float32),
        )
        self._cells_t = torch.from_numpy(self._layout.cells).to(self.device)

    def _make_instance(self, split: str, index: int) -> Instance:
        truth = self.true_model(split, index)
        layout = self._use_layout(split, index)
        self._true_head = self.head(truth)
        self._pred_head = None
        clean = self._true_head.reshape(-1)[layout.cells]
        o = self.options
        purpose = f"noise:{o['noise']}:{o['noise_type']}"
        noise_rng = np.random.default_rng(instance_seed(self.map_key, split, index, purpose=purpose))
        data = add_noise(clean, o["noise"], o["noise_type"], noise_rng)
        return Instance(
            split=split,
            index=index,
            seed=instance_seed(self.map_key, split, index),
            truth=truth,
            observed=torch.from_numpy(data).to(self.device),
            mask=torch.ones(layout.count, dtype=torch.float32, device=self.device),
            initial=np.full(self.field_shape, self.spec_family.center, dtype=np.float32),
            extras={"sensor_coords": layout.coords, "sensor_cells": layout.cells},
        )

    def _extra_obs(self) -> dict[str, np.ndarray]:
        return {"sensor_coords": self.instance.extras["sensor_coords"].copy()}

    # ------------------------------------------------------------------ scoring
    def _score(self, estimate: np.ndarray, truth: np.ndarray) -> dict[str, float]:
        scores = log_k_metrics(estimate, truth, low=LOG_K_MIN, high=LOG_K_MAX)
        assert self._true_head is not None
        self._pred_head = self.head(estimate)
        scores["head_rel_l2"] = relative_l2(self._pred_head, self._true_head)
        if self.spec_family.name == "Bimaterial":
            scores["wrong_phase"] = wrong_phase_share(estimate, truth)
        return scores

    def _rescore(self, estimate: np.ndarray, truth: np.ndarray) -> dict[str, float]:
        self._true_head = self.head(truth)  # head_rel_l2 compares against the true head field
        return self._score(estimate, truth)

    def figure_arrays(self, estimate: np.ndarray) -> dict[str, np.ndarray]:
        """Add the true and predicted full head fields ``(n, n)`` and the sensor coordinates ``(S, 2)``."""
        super().figure_arrays(estimate)
        if self._true_head is None:
            raise EpisodeStateError("figure_arrays() needs a finalized episode")
        pred = self._pred_head if self._pred_head is not None else self.head(estimate)
        return {
            "true_head": self._true_head.copy(),
            "predicted_head": pred.copy(),
            "sensor_coords": self._layout.coords.copy(),
        }


def _layout_kind(sensors: int, layout: str, coords: Sequence[Sequence[float]] | np.ndarray | None) -> str:
    """The layout kind implied by the options (``sensor_coords`` means ``custom``)."""
    if layout not in SENSOR_LAYOUTS:
        raise ValueError(f"unknown sensor_layout {layout!r}; expected one of {SENSOR_LAYOUTS}")
    check_int("sensors", sensors, low=1)
    if coords is None:
        if layout == "custom":
            raise ValueError("sensor_layout='custom' needs sensor_coords")
        return layout
    if layout == "random":
        raise ValueError("sensor_coords fixes the sensors; it cannot be combined with sensor_layout='random'")
    return "custom"


def sensor_layout_for(
    kind: str, count: int, n: int, coords: Sequence[Sequence[float]] | np.ndarray | None, *, seed: int
) -> SensorLayout:
    """The layout of one instance: fixed for ``grid``/``custom``, drawn from ``seed`` for ``random``."""
    return build_layout(kind, count, n, coords=coords, rng=np.random.default_rng(seed))
