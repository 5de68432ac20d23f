import pytest
import torch
from diffusers import DDPMScheduler

from invbench.nn.diffusion.presets import ScheduleSpec
from invbench.nn.diffusion.prior import DiffusionPrior

from .conftest import tiny_prior


def test_alpha_bar_matches_ddpm_linear_schedule(prior):
    ref = DDPMScheduler(num_train_timesteps=1000, beta_start=1e-4, beta_end=0.02, beta_schedule="linear")
    t = torch.tensor([0, 1, 500, 999])
    assert torch.allclose(prior.alpha_bar(t), ref.alphas_cumprod[t].float())
    assert prior.alpha_bar(7).shape == ()
    ab = prior.alpha_bar(torch.arange(1000))
    assert torch.all(ab[1:] < ab[:-1])


def test_sigmoid_schedule_is_symmetric():
    base = tiny_prior()
    p = DiffusionPrior(base.unet, base.normalization, ScheduleSpec(beta_schedule="sigmoid"))
    # abar after t + 1 of T steps: the sigmoid schedule passes 1/2 half-way, after 500 of 1000 steps
    assert p.alpha_bar(499).item() == pytest.approx(0.5, abs=1e-4)
    assert p.alpha_bar(999).item() < 1e-6


def test_add_noise_then_eps_from_x0_recovers_eps(prior):
    g = torch.Generator().manual_seed(0)
    x0 = torch.rand((4, 1, 16, 16), generator=g) * 2 - 1
    eps = torch.randn((4, 1, 16, 16), generator=g)
    for t in (0, 10, 500, 999, torch.tensor([3, 250, 700, 990])):
        x_t = prior.add_noise(x0, eps, t)
        torch.testing.assert_close(prior.eps_from_x0(x_t, x0, t), eps, atol=2e-3, rtol=1e-3)


def test_x0_and_eps_are_consistent(prior):
    g = torch.Generator().manual_seed(1)
    x_t = torch.randn((3, 1, 16, 16), generator=g)
    t = torch.tensor([100, 400, 800])
    x0 = prior.x0(x_t, t, clip=False)
    torch.testing.assert_close(prior.eps_from_x0(x_t, x0, t), prior.eps(x_t, t), atol=1e-4, rtol=1e-4)
    clipped = prior.x0(x_t, t)
    assert clipped.min() >= -1.0 and clipped.max() <= 1.0
    assert not torch.equal(clipped, x0)  # an untrained network's x0 leaves [-1, 1] at t = 800


def test_step_validation(prior):
    x = torch.zeros(2, 1, 16, 16)
    with pytest.raises(ValueError, match="lie in"):
        prior.eps(x, 1000)
    with pytest.raises(ValueError, match="lie in"):
        prior.alpha_bar(-1)
    with pytest.raises(TypeError, match="integers"):
        prior.eps(x, 0.5)
    with pytest.raises(ValueError, match=r"\(2,\) tensor"):
        prior.eps(x, torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="model units"):
        prior.eps(torch.zeros(2, 1, 8, 8), 0)


def test_gradients_flow_to_the_input_not_the_weights(prior):
    x = torch.randn(2, 1, 16, 16, requires_grad=True)
    prior.x0(x, 300).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in prior.unet.parameters())


def test_sampling_is_reproducible_and_in_range(prior):
    a = prior.sample(3, steps=4, generator=torch.Generator().manual_seed(5))
    b = prior.sample(3, steps=4, generator=torch.Generator().manual_seed(5))
    c = prior.sample(3, steps=4, generator=torch.Generator().manual_seed(6))
    assert a.shape == (3, 1, 16, 16)
    assert torch.equal(a, b) and not torch.equal(a, c)
    m = prior.sample(2, steps=3, eta=1.0, generator=torch.Generator().manual_seed(0), units="model")
    assert m.shape == (2, 1, 16, 16) and m.abs().max() <= 1.0  # last DDIM step returns the clipped x0
    with pytest.raises(ValueError, match="units"):
        prior.sample(1, units="m/s")


def test_fwi_prior_samples_in_velocity_range():
    p = tiny_prior("fwi", (14, 14))
    assert p.model_shape == (16, 16)
    v = p.sample(2, steps=3, generator=torch.Generator().manual_seed(0))
    assert v.shape == (2, 1, 14, 14)
    assert v.min() >= 1500.0 - 1e-3 and v.max() <= 4500.0 + 1e-3
