"""Full waveform inversion (FWI) on OpenFWI-style velocity families."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from invbench.core.cache import cached_array, content_key
from invbench.core.env import Instance, InverseProblemEnv
from invbench.core.options import check_choice, check_int, check_real, option_names, reject_unknown
from invbench.core.seeding import HIDDEN_SPLIT, instance_seed
from invbench.physics.wave.acquisition import OPENFWI, Acquisition, acquisition_preset
from invbench.physics.wave.units import V_CENTER, V_MAX, V_MIN, V_SCALE
from invbench.tasks.fwi.instances import (
    INITIAL_MODELS,
    NOISE_TYPES,
    add_noise,
    initial_model,
    receiver_mask,
)
from invbench.tasks.fwi.metrics import velocity_metrics

OBSERVED_SOLVERS = ("reference", "deepwave")
# Bump when the simulated observed data would change for the same inputs (invalidates the cache).
_OBSERVED_VERSION = 1


def _check_lowcut(lowcut: Any, acq: Acquisition) -> float:
    """``lowcut`` in Hz when it is ``>= 0`` and below the source's peak frequency.

    A low-cut at or above the Ricker wavelet's peak removes most of the signal (far above it, all of
    it, and every model would then fit the data perfectly).
    """
    return check_real(
        f"lowcut (Hz; the source wavelet peaks at {acq.freq:g} Hz)", lowcut, low=0.0, high=acq.freq
    )


class FWIEnv(InverseProblemEnv):
    """Acoustic full waveform inversion of a 2D velocity map.

    ## Description
    Recover a velocity map (m/s) from surface seismic data. The true map is drawn from a
    procedural OpenFWI velocity family (or read from real OpenFWI files with ``data_dir``); the
    observed data are simulated with OpenFWI's own finite-difference scheme (``reference``) while
    the environment's forward model is deepwave's propagator, so inversions do not commit the
    inverse crime. ``observed_solver="deepwave"`` uses deepwave for both.

    ## Action Space
    ``Box(1500, 4500, (1, nz, nx), float32)``: a full velocity map in m/s, OpenFWI order
    (depth, x). NaN/inf, a wrong shape or values outside [1500, 4500] raise
    :class:`~invbench.core.errors.InvalidActionError` (solvers clip their own estimates).

    ## Observation Space
    A ``Dict`` with ``observed`` (shot, time, receiver) data with missing traces zeroed,
    ``mask`` (receiver,) 1 = recorded, ``initial_model`` and ``model`` (the last evaluated map),
    ``misfit`` (1,) relative data misfit of ``model`` (``inf`` before the first step) and
    ``gradient`` (1, nz, nx), the gradient of that misfit with respect to the velocity in m/s
    (zeros before the first step). The acquisition is ``env.unwrapped.acquisition``.

    ## Rewards
    The negative relative data misfit ``-||M(d - d_obs)||^p / ||M d_obs||^p`` (p = 2 for ``l2``,
    1 for ``l1``), computed after the task's low-cut filter.

    ## Starting State
    ``reset(seed=, options={"split": "test" | "val" | "train", "index": i})`` draws the instance;
    the same (task, split, index) gives the same instance on every machine.

    ## Episode End
    ``terminated`` is never set (there is no goal state); ``truncated`` is set when fewer than two
    PDE solves (one forward + adjoint) remain in the budget. ``info`` counts ``forward_solves``,
    ``adjoint_solves``, ``pde_solves``, ``budget`` and ``budget_left`` (and times, see below).

    ## Arguments
    family, family_version (the family generator's version, ``invbench.data.families.VERSIONS``;
    ``None``: the newest; task ids pin it where a family has several), acquisition (``"openfwi"``,
    ``"tiny"``, ``"wide"`` or an ``Acquisition`` dict),
    budget (PDE solves), noise (std relative to the clean data RMS), noise_type (``gaussian`` or
    ``laplace``), missing_traces (receivers removed, same for all shots), lowcut (Hz, 0 = none),
    initial (``smooth``, ``linear``, ``homogeneous``), smooth_sigma, misfit (``l2`` or ``l1``),
    observed_solver, data_dir, n_val, n_test, device, report_time (off by default; when on, ``info`` also
    carries ``wall_time`` and ``physics_time``, seconds since reset and inside PDE solves, which are not
    bit-reproducible; the harness times runs itself). Every option is checked when the task is made:
    a bad value or an unknown name raises a ``ValueError`` naming it and what it accepts.

    ## Version History
    * v0: initial release.
    * v1 (FlatFault-A/B, CurveFault-A/B and their robustness variants): maps from the rebuilt fault
      generator (``family_version=1``, calibrated on real CurveFault-A maps); the v0 ids keep the
      legacy generator (``family_version=0``) and reproduce their instances.
    """

    plotter = "invbench.tasks.fwi.figure:plot_fwi_result"
    task_family = "fwi"

    def __init__(
        self,
        family: str = "FlatVel-A",
        *,
        family_version: int | None = None,
        acquisition: str | dict[str, Any] | Acquisition = "openfwi",
        budget: int = 600,
        noise: float = 0.0,
        noise_type: str = "gaussian",
        missing_traces: int = 0,
        lowcut: float = 0.0,
        initial: str = "smooth",
        smooth_sigma: float = 10.0,
        misfit: str = "l2",
        observed_solver: str = "reference",
        data_dir: str | Path | None = None,
        n_val: int = 100,
        n_test: int = 100,
        device: str | torch.device | None = None,
        report_time: bool = False,
        **unknown: Any,
    ) -> None:
        from invbench.data.families import FAMILIES, family_spec

        reject_unknown(type(self).__name__, unknown, option_names(type(self)))
        self.family = check_choice("family", family, FAMILIES)
        family_spec(self.family, family_version)  # a version the family does not have raises here
        self.family_version = None if family_version is None else int(family_version)
        self.acquisition = acquisition_preset(acquisition)
        acq = self.acquisition
        self.options = {
            "noise": check_real("noise (std relative to the clean data RMS)", noise, low=0.0),
            "noise_type": check_choice("noise_type", noise_type, NOISE_TYPES),
            "missing_traces": check_int("missing_traces", missing_traces, low=0, high=acq.n_receivers),
            "lowcut": _check_lowcut(lowcut, acq),
            "initial": check_choice("initial", initial, INITIAL_MODELS),
            # 0 would make the "smoothed" start the true map itself.
            "smooth_sigma": check_real("smooth_sigma (cells)", smooth_sigma, low=0.0, low_open=True),
            "observed_solver": check_choice("observed_solver", observed_solver, OBSERVED_SOLVERS),
        }
        self._directory = None
        n_instances = {"val": n_val, "test": n_test}
        if data_dir is not None:
            from invbench.data.openfwi import OpenFWIDirectory

            if acq.model_shape != OPENFWI.model_shape:
                raise ValueError("data_dir (real OpenFWI maps) requires the OpenFWI 70 x 70 acquisition")
            self._directory = OpenFWIDirectory(data_dir)
            n_val_real = max(1, self._directory.n_maps // 10)
            n_instances = {"val": n_val_real, "test": self._directory.n_maps - n_val_real, "train": 0}
        super().__init__(
            budget=budget, misfit=misfit, n_instances=n_instances, device=device, report_time=report_time
        )
        self.field_shape = (1, acq.nz, acq.nx)
        self.field_low, self.field_high = V_MIN, V_MAX
        self.field_center, self.field_scale = V_CENTER, V_SCALE
        self.data_shape = acq.data_shape
        self.action_space = spaces.Box(V_MIN, V_MAX, self.field_shape, np.float32)
        self.observation_space = spaces.Dict(
            {
                "observed": spaces.Box(-np.inf, np.inf, self.data_shape, np.float32),
                "mask": spaces.MultiBinary(acq.n_receivers),
                "initial_model": spaces.Box(V_MIN, V_MAX, self.field_shape, np.float32),
                "model": spaces.Box(V_MIN, V_MAX, self.field_shape, np.float32),
                "misfit": spaces.Box(0.0, np.inf, (1,), np.float32),
                "gradient": spaces.Box(-np.inf, np.inf, self.field_shape, np.float32),
            }
        )
        self._propagator: Any = None

    # ------------------------------------------------------------------ physics
    @property
    def propagator(self) -> Any:
        """The deepwave :class:`~invbench.physics.wave.propagator.AcousticPropagator` (built lazily).

        On a solver-side environment only the counted paths (:meth:`operator`) reach it.
        """
        if not self._in_operator:
            self._harness_only("the propagator (use operator(), which counts)")
        if self._propagator is None:
            from invbench.physics.wave.propagator import AcousticPropagator

            self._propagator = AcousticPropagator(self.acquisition, device=self.device)
        return self._propagator

    def _simulate(self, m: torch.Tensor) -> torch.Tensor:
        return self.propagator(m)

    def transform_data(self, d: torch.Tensor) -> torch.Tensor:
        """The task's low-cut filter (``lowcut`` Hz, zero-phase) on predicted data; identity at 0."""
        if self.options["lowcut"] > 0:
            from invbench.physics.wave.filters import highpass

            return highpass(d, self.acquisition.dt, self.options["lowcut"])
        return d

    # ------------------------------------------------------------------ instances
    @property
    def map_key(self) -> str:
        """What determines the hidden maps: the family and the grid shape."""
        return f"{self.family}/{self.acquisition.nz}x{self.acquisition.nx}"

    def true_model(self, split: str, index: int) -> np.ndarray:
        """The hidden true map of an instance, ``(1, nz, nx)`` m/s (for the harness, not solvers)."""
        self._harness_only("true_model()")
        if self._directory is not None and split == HIDDEN_SPLIT:
            raise ValueError(
                "the hidden split is procedural: a task on a real data folder (data_dir) has no hidden maps"
            )
        if self._directory is not None:
            n_val = self.n_instances["val"]
            i = index if split == "val" else n_val + index
            return np.asarray(self._directory.velocity(i), dtype=np.float32)
        from invbench.data.families import generate

        seed = instance_seed(self.map_key, split, index)
        shape = self.acquisition.model_shape
        return generate(self.family, 1, seed, shape=shape, version=self.family_version)[0]

    def clean_data(self, truth: np.ndarray, split: str, index: int) -> np.ndarray:
        """Noise-free observed data ``(shot, time, receiver)``, simulated once and cached on disk."""
        self._harness_only("clean_data()")
        if self._directory is not None and self.acquisition == OPENFWI:
            n_val = self.n_instances["val"]
            seis = self._directory.seismic(index if split == "val" else n_val + index)
            if seis is not None:
                return np.asarray(seis, dtype=np.float32)
        solver = self.options["observed_solver"]
        key = content_key(truth, self.acquisition.to_dict(), solver, _OBSERVED_VERSION)

        def compute() -> np.ndarray:
            v = torch.from_numpy(truth).unsqueeze(0)
            with torch.no_grad():
                if solver == "reference":
                    from invbench.physics.wave.reference import reference_forward

                    d = reference_forward(v, self.acquisition, device=self.device)
                else:
                    d = self.propagator(v.to(self.device))
            return d[0].detach().cpu().numpy().astype(np.float32)

        return cached_array("observed", key, compute, shape=self.acquisition.data_shape)

    def _make_instance(self, split: str, index: int) -> Instance:
        truth = self.true_model(split, index)
        clean = self.clean_data(truth, split, index)
        o = self.options
        noise_rng = np.random.default_rng(
            instance_seed(self.map_key, split, index, purpose=f"noise:{o['noise']}")
        )
        data = add_noise(clean, o["noise"], o["noise_type"], noise_rng)
        mask_rng = np.random.default_rng(instance_seed(self.map_key, split, index, purpose="missing"))
        mask = receiver_mask(self.acquisition.n_receivers, o["missing_traces"], mask_rng)
        obs_t = torch.from_numpy(data * mask[None, None, :]).to(self.device)
        obs_t = self.transform_data(obs_t.unsqueeze(0))[0] * torch.from_numpy(mask).to(self.device)
        init = initial_model(truth, o["initial"], sigma=o["smooth_sigma"])
        init = np.clip(init, V_MIN, V_MAX)
        return Instance(
            split=split,
            index=index,
            seed=instance_seed(self.map_key, split, index),
            truth=truth,
            observed=obs_t,
            mask=torch.from_numpy(mask).to(self.device).reshape(1, 1, -1),
            initial=init,
        )

    def _score(self, estimate: np.ndarray, truth: np.ndarray) -> dict[str, float]:
        return velocity_metrics(estimate, truth)
