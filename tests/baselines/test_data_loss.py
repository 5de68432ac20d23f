"""``data_loss="mean_l1"``: the Adam baselines minimise RED-DiffEq's mean L1 loss via the counted operator."""

import math

import numpy as np
import pytest
import torch

from baselines.gradient import AdamFWI, adam_inversion
from baselines.regularized import Tikhonov, TotalVariation, mean_data_power
from invbench.core.data_loss import data_terms, mean_l1_misfit
from invbench.registry import make


def _env(**kwargs):
    env = make("FWI-Tiny-v0", observed_solver="deepwave", **kwargs)
    env.reset(seed=0, options={"index": 1})
    return env


def test_mean_l1_misfit_ignores_missing_traces():
    obs = torch.tensor([[1.0, -2.0], [3.0, 4.0]])
    pred = torch.tensor([[2.0, -2.0], [0.0, 100.0]])
    mask = torch.tensor([1.0, 0.0])  # second column (trace) missing
    # observed entries: (0,0) |1|, (1,0) |3| -> mean 2
    assert float(mean_l1_misfit(pred, obs, mask)) == pytest.approx(2.0)


def test_data_terms_reports_the_task_misfit_and_counts_the_solve():
    env = _env()
    base = env.unwrapped
    field = torch.as_tensor(base.instance.initial)[None].requires_grad_(True)
    loss, rel = data_terms(env, field, "mean_l1")
    assert base.counter.forward == 1 and loss.requires_grad and float(loss.detach()) > 0
    assert rel == pytest.approx(base.evaluate(base.instance.initial, gradient=False)[0], rel=1e-5)
    with pytest.raises(ValueError, match="data_loss"):
        data_terms(env, field, "l3")


def test_adam_mean_l1_follows_the_task_l1_iterates():
    """Mean L1 = D x relative L1: Adam (scale-invariant) takes the same steps as on the L1-scored task."""
    env_l1 = _env(misfit="l1")
    ref = AdamFWI(iterations=4).solve(env_l1)
    env = _env()  # scored with L2, minimising mean L1 itself
    hist: list = []
    est = AdamFWI(iterations=4, data_loss="mean_l1").solve(env, callback=hist.append)
    assert np.abs(est - ref).max() < 2.0  # m/s; Adam's eps makes the match approximate
    plain = AdamFWI(iterations=4).solve(_env())
    assert np.abs(plain - ref).max() > 5.0  # the L2 iterates differ: the comparison can fail
    counter = env.unwrapped.counter
    assert counter.forward == counter.adjoint == 4
    assert len(hist) == 4 and "data_loss" in hist[0].info


@pytest.mark.parametrize("cls", [Tikhonov, TotalVariation])
def test_regularized_mean_l1_is_the_released_objective(cls):
    """tikhonov/tv on mean L1 with lam == the task-L1 run with lam / D (the mean-loss balance)."""
    ref = cls(iterations=4, lam=5.0).solve(_env(misfit="l1"))
    est = cls(iterations=4, lam=5.0, data_loss="mean_l1").solve(_env())
    unregularized = cls(iterations=4, lam=0.0, data_loss="mean_l1").solve(_env())
    # Adam's eps and float32 data make the match approximate: its first steps have a size set by the
    # learning rate alone, so a cell whose gradient is near zero moves by a few m/s on a float32 sign
    # change (TV: 1 cell of 1024 by 5 m/s); 999 in 1000 agree to 2 m/s ...
    diff = np.abs(est - ref)
    assert np.quantile(diff, 0.999) < 2.0 and diff.max() < 10.0 and diff.mean() < 0.1
    # ... while dropping the regulariser moves the model by tens of m/s on average.
    assert np.abs(unregularized - est).mean() > 5.0


def test_effective_lambda_for_mean_l1():
    env = _env()
    inst = env.unwrapped.instance
    d_l1 = mean_data_power(inst.observed, inst.mask, "l1")
    solver = Tikhonov(data_loss="mean_l1")
    solver.resolve_params(env)
    assert solver.effective_lambda(env) == 0.01
    solver = Tikhonov(data_loss="mean_l1", reg_scale="relative", lam=0.2)
    solver.resolve_params(env)
    assert math.isclose(solver.effective_lambda(env), 0.2 * d_l1, rel_tol=1e-12)


def test_unknown_data_loss_is_named():
    env = _env()
    with pytest.raises(ValueError, match="tikhonov: data_loss"):
        Tikhonov(data_loss="huber").solve(env)
    with pytest.raises(ValueError, match="data_loss"):
        adam_inversion(env, lr=0.03, iterations=1, data_loss="huber")


def test_mean_l1_stops_at_budget():
    env = _env(budget=7)
    hist: list = []
    AdamFWI(iterations=300, data_loss="mean_l1").solve(env, callback=hist.append)
    assert len(hist) == 3 and env.unwrapped.counter.used == 6
