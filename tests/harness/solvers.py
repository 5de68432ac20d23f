"""Solvers that misbehave on purpose, for the harness tests (loaded as ``tests.harness.solvers:Name``)."""

from __future__ import annotations

import os
import time
from typing import Any, ClassVar

import numpy as np

from invbench.core.solver import Progress, Solver


def _info(env) -> dict[str, Any]:
    return dict(env.unwrapped.counter.as_dict())


class Boom(Solver):
    name: ClassVar[str] = "boom"
    defaults: ClassVar[dict[str, Any]] = {"iterations": 5}

    def solve(self, env, *, callback=None):
        env.step(env.unwrapped.instance.initial)
        raise RuntimeError("boom after one step")


class Sleepy(Solver):
    """Calls the callback every iteration but takes long: the cooperative timeout stops it."""

    name: ClassVar[str] = "sleepy"
    defaults: ClassVar[dict[str, Any]] = {"iterations": 10_000, "sleep": 0.02}

    def solve(self, env, *, callback=None):
        for it in range(1, self.params["iterations"] + 1):
            time.sleep(self.params["sleep"])
            if callback is not None:
                callback(Progress(iteration=it, misfit=1.0, info=_info(env)))
        return env.unwrapped.instance.initial


class Hang(Solver):
    """Never calls the callback: only the watchdog can stop it."""

    name: ClassVar[str] = "hang"
    defaults: ClassVar[dict[str, Any]] = {}

    def solve(self, env, *, callback=None):
        try:
            while True:
                time.sleep(0.01)
        except Exception:  # a solver's broad except must not swallow the timeout
            return env.unwrapped.instance.initial


class Blowup(Solver):
    """Reports a misfit that grows a hundredfold per iteration."""

    name: ClassVar[str] = "blowup"
    defaults: ClassVar[dict[str, Any]] = {"iterations": 5}

    def solve(self, env, *, callback=None):
        for it in range(1, self.params["iterations"] + 1):
            if callback is not None:
                callback(Progress(iteration=it, misfit=100.0**it, info=_info(env)))
        return env.unwrapped.instance.initial


class NaNEstimate(Solver):
    name: ClassVar[str] = "nan-estimate"
    defaults: ClassVar[dict[str, Any]] = {}

    def solve(self, env, *, callback=None):
        return np.full(env.unwrapped.field_shape, np.nan, np.float32)


class Fussy(Solver):
    name: ClassVar[str] = "fussy"
    defaults: ClassVar[dict[str, Any]] = {}

    def applies_to(self, env):
        return "needs a quantum computer"

    def solve(self, env, *, callback=None):
        raise AssertionError("never called")


class Initial(Solver):
    """Returns the initial model after counting one step; crashes the run (KeyboardInterrupt)
    on instance ``crash_index`` while ``INVBENCH_TEST_CRASH`` is set, like a killed process."""

    name: ClassVar[str] = "initial"
    defaults: ClassVar[dict[str, Any]] = {"crash_index": -1}
    amortized: ClassVar[bool] = True

    def weights(self):
        training = {"device": "cuda", "steps": 100, "wall_time_s": 12.5}
        return [{"name": "prior", "sha256": "ab" * 32, "manifest_sha256": "cd" * 32, "training": training}]

    def solve(self, env, *, callback=None):
        inst = env.unwrapped.instance
        if os.environ.get("INVBENCH_TEST_CRASH") and inst.index == self.params["crash_index"]:
            raise KeyboardInterrupt
        obs, _, _, _, info = env.step(inst.initial)
        if callback is not None:
            callback(Progress(iteration=1, misfit=float(obs["misfit"][0]), info=info))
        return inst.initial
