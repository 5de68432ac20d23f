"""Solvers that misbehave on purpose, for the harness tests (loaded as ``tests.harness.solvers:Name``)."""

from __future__ import annotations

import os
import signal
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
    """Returns the initial model after counting one step. On instance ``crash_index``, while
    ``INVBENCH_TEST_CRASH`` holds the harness's pid, it sends that process SIGINT and waits, as a
    user's Ctrl-C would stop the run."""

    name: ClassVar[str] = "initial"
    defaults: ClassVar[dict[str, Any]] = {"crash_index": -1}
    amortized: ClassVar[bool] = True

    def weights(self):
        training = {"device": "cuda", "steps": 100, "wall_time_s": 12.5}
        return [{"name": "prior", "sha256": "ab" * 32, "manifest_sha256": "cd" * 32, "training": training}]

    def solve(self, env, *, callback=None):
        inst = env.unwrapped.instance
        if os.environ.get("INVBENCH_TEST_CRASH") and inst.index == self.params["crash_index"]:
            os.kill(int(os.environ["INVBENCH_TEST_CRASH"]), signal.SIGINT)
            time.sleep(30)
        obs, _, _, _, info = env.step(inst.initial)
        if callback is not None:
            callback(Progress(iteration=1, misfit=float(obs["misfit"][0]), info=info))
        return inst.initial


class ReadTruth(Solver):
    """Tries every public road to the truth; returns it if any road is open."""

    name: ClassVar[str] = "read-truth"
    defaults: ClassVar[dict[str, Any]] = {"road": "instance"}

    def solve(self, env, *, callback=None):
        base = env.unwrapped
        inst = base.instance
        if self.params["road"] == "instance":
            if inst.truth is None:
                raise LookupError("no truth in the instance")
            return inst.truth
        if self.params["road"] == "true_model":
            return base.true_model(inst.split, inst.index)
        if self.params["road"] == "propagator":
            base.propagator  # noqa: B018 -- the attempt is the test
        raise AssertionError("unknown road")


class WriteTruth(Solver):
    """Overwrites whatever truth it can reach with its own estimate (the initial model)."""

    name: ClassVar[str] = "write-truth"
    defaults: ClassVar[dict[str, Any]] = {}

    def solve(self, env, *, callback=None):
        inst = env.unwrapped.instance
        inst.truth = np.array(inst.initial, copy=True)
        return inst.initial


class ResetOther(Solver):
    """Resets its environment to another instance mid-solve (and its counters with it)."""

    name: ClassVar[str] = "reset-other"
    defaults: ClassVar[dict[str, Any]] = {}

    def solve(self, env, *, callback=None):
        env.step(env.unwrapped.instance.initial)
        env.reset(options={"split": "test", "index": 7})
        return env.unwrapped.instance.initial


class Internals(Solver):
    """Calls the environment's uncounted-looking internals directly."""

    name: ClassVar[str] = "internals"
    defaults: ClassVar[dict[str, Any]] = {"calls": 3}

    def solve(self, env, *, callback=None):
        import torch

        base = env.unwrapped
        m = torch.from_numpy(np.asarray(base.instance.initial, np.float32))[None]
        for _ in range(self.params["calls"]):
            base._simulate(m)
        return base.instance.initial


class Stubborn(Solver):
    """Catches every exception, the harness's timeout included, and keeps going (``forever``) or
    returns right after the first one."""

    name: ClassVar[str] = "stubborn"
    defaults: ClassVar[dict[str, Any]] = {"forever": True}

    def solve(self, env, *, callback=None):
        it = 0
        while True:
            try:
                it += 1
                time.sleep(0.02)
                if callback is not None:
                    callback(Progress(iteration=it, misfit=1.0, info=_info(env)))
            except BaseException:
                if not self.params["forever"]:
                    time.sleep(0.2)
                    return env.unwrapped.instance.initial


class Exits(Solver):
    """Leaves the process: ``sys.exit``, ``os._exit`` or a ``KeyboardInterrupt`` of its own."""

    name: ClassVar[str] = "exits"
    defaults: ClassVar[dict[str, Any]] = {"how": "sys.exit"}

    def solve(self, env, *, callback=None):
        import sys

        how = self.params["how"]
        if how == "sys.exit":
            sys.exit(3)
        if how == "os._exit":
            os._exit(3)
        raise KeyboardInterrupt


class SaltSniffer(Solver):
    """Fails if the hidden tier's salt is in its environment; otherwise returns the initial model."""

    name: ClassVar[str] = "salt-sniffer"
    defaults: ClassVar[dict[str, Any]] = {}

    def solve(self, env, *, callback=None):
        if os.environ.get("INVBENCH_HIDDEN_SALT"):
            raise AssertionError("the salt reached the solver")
        env.step(env.unwrapped.instance.initial)  # the served sensors/acquisition work without it
        return env.unwrapped.instance.initial


class BatchedBlowup(Solver):
    """Batched: the instance at sub-environment ``bad`` reports a misfit that grows, the others do not."""

    name: ClassVar[str] = "batched-blowup"
    batched: ClassVar[bool] = True
    defaults: ClassVar[dict[str, Any]] = {"iterations": 4, "bad": 1}

    def solve(self, env, *, callback=None):
        raise AssertionError("a batched cell must go through solve_batch")

    def solve_batch(self, vec_env, *, callbacks=None):
        fields = np.stack([b.instance.initial for b in vec_env.bases])
        for it in range(1, self.params["iterations"] + 1):
            misfits, _ = vec_env.evaluate(fields)
            for k, cb in enumerate(callbacks or []):
                grow = 100.0**it if k == self.params["bad"] else 1.0
                cb(Progress(iteration=it, misfit=float(misfits[k]) * grow, info=_info(vec_env.envs[k])))
        return list(fields)


class BatchedBoom(Solver):
    """Batched, and fails after one batched evaluation."""

    name: ClassVar[str] = "batched-boom"
    batched: ClassVar[bool] = True
    defaults: ClassVar[dict[str, Any]] = {}

    def solve(self, env, *, callback=None):
        raise AssertionError("a batched cell must go through solve_batch")

    def solve_batch(self, vec_env, *, callbacks=None):
        vec_env.evaluate(np.stack([b.instance.initial for b in vec_env.bases]))
        raise RuntimeError("boom in a batch")
