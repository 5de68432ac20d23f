"""Benchmarks: one training step of the FWI diffusion prior's UNet on this machine's CPU.

What a stronger FWI prior costs to train (issue: "an FWI prior worth its name"): steps per second of
the ``lite`` UNet and of wider or deeper variants, float32 against bfloat16 autocast, at batch 16
and 32 on 72 x 72 fields (FWI's padded maps). Run with ``make bench``; nothing here asserts a time.
"""

import pytest
import torch
from diffusers import UNet2DModel

from invbench.nn.diffusion.presets import UNetSpec, get_preset

VARIANTS = {
    "lite": get_preset("lite").unet,
    "wide": UNetSpec((48, 96, 96, 192), 1, (False,) * 4, True, 8, 32),
    "deep": UNetSpec((32, 64, 64, 128), 2, (False,) * 4, True, 8, 32),
}


@pytest.mark.parametrize("batch", [16, 32])
@pytest.mark.parametrize("bf16", [False, True], ids=["fp32", "bf16"])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_bench_prior_training_step(benchmark, variant, bf16, batch):
    torch.manual_seed(0)
    model = UNet2DModel(**VARIANTS[variant].diffusers_config((72, 72)))
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.randn(batch, 1, 72, 72)
    t = torch.randint(0, 1000, (batch,))

    def step() -> float:
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = model(x, t).sample
        loss = (out.float() - x).pow(2).mean()
        loss.backward()
        opt.step()
        return float(loss)

    benchmark.extra_info["parameters"] = sum(p.numel() for p in model.parameters())
    assert torch.isfinite(torch.tensor(benchmark.pedantic(step, rounds=3, warmup_rounds=1)))
