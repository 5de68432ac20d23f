"""The shared training loop trains any module: resumable, EMA, checkpoints, optional bf16."""

import pytest
import torch

from invbench.nn.training import TrainingLoop, TrainSpec, resumable_preset_config
from invbench.nn.weights import WeightsError, load_module, write_weights

SPEC = TrainSpec(batch_size=8, lr=0.05, steps=12, warmup_steps=2, ema_decay=0.5, ema_every=1, ema_start=3,
                 checkpoint_every=4)  # fmt: skip
TRUE_W = torch.tensor([[1.0, -2.0, 0.5]])


def loss(model, step):
    g = torch.Generator().manual_seed(step)
    x = torch.randn(SPEC.batch_size, 3, generator=g)
    return ((model(x) - x @ TRUE_W.T) ** 2).mean()


def _loop(out, **kw):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    return TrainingLoop(model, loss, SPEC, out=out, config={"task": "fit"}, device=torch.device("cpu"),
                        name="lin", **kw)  # fmt: skip


def _export(loop, out):
    def export(wall):
        training = {"device": "cpu", "steps": loop.step, "wall_time_s": wall}
        config = {"in_features": 3, "out_features": 1}
        arch = "torch.nn:Linear"
        state = loop.ema_state()
        return write_weights(out, state, name="lin", kind="test", architecture=arch, config=config,
                             training=training, ema=True)  # fmt: skip

    return export


def test_a_resumed_run_reproduces_an_uninterrupted_one(tmp_path):
    whole = _loop(tmp_path / "a.safetensors")
    full = whole.run(12, _export(whole, tmp_path / "a.safetensors"))
    assert full.step == 12 and full.losses[-1] < full.losses[0]
    part = _loop(tmp_path / "b.safetensors")
    part.run(8, _export(part, tmp_path / "b.safetensors"))
    resumed = _loop(tmp_path / "b.safetensors")
    with pytest.raises(WeightsError, match="--resume"):
        resumed.resume_or_start(resume=False)
    resumed.resume_or_start(resume=True)
    assert resumed.step == 8
    rest = resumed.run(12, _export(resumed, tmp_path / "b.safetensors"))
    assert rest.start_step == 8 and rest.losses == full.losses
    a, manifest = load_module(tmp_path / "a.safetensors", device="cpu")
    b, _ = load_module(tmp_path / "b.safetensors", device="cpu")
    assert torch.equal(a.weight, b.weight) and manifest["training"]["steps"] == 12


def test_ema_copies_until_its_start_then_averages(tmp_path):
    loop = _loop(tmp_path / "e.safetensors")
    for _ in range(3):
        loop.train_step()
    assert torch.equal(loop.ema.weight, loop.model.weight)
    before = loop.ema.weight.clone()
    loop.train_step()
    assert torch.allclose(loop.ema.weight, 0.5 * before + 0.5 * loop.model.weight)


def test_bf16_autocast_runs_on_the_cpu(tmp_path):
    loop = _loop(tmp_path / "f.safetensors", bf16=True)
    assert loop.train_step() > 0


def test_recalibrated_copy_recomputes_batch_norm_and_leaves_the_model_alone():
    from invbench.nn.batch_norm import recalibrated_copy

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    batches = [torch.randn(8, 3) + 5.0 for _ in range(4)]
    before = model[1].running_mean.clone()
    out = recalibrated_copy(model, batches)
    with torch.no_grad():
        expected = model[0](torch.cat(batches)).mean(dim=0)
    assert torch.allclose(out[1].running_mean, expected, atol=1e-5) and not out.training
    assert torch.equal(model[1].running_mean, before)
    with pytest.raises(ValueError, match="at least one batch"):
        recalibrated_copy(model, [])
    plain = torch.nn.Linear(3, 2)
    assert torch.equal(recalibrated_copy(plain, []).weight, plain.weight)


def test_resumable_preset_config_drops_only_the_step_count():
    class Preset:
        def to_dict(self):
            return {"name": "p", "train": {"steps": 10, "lr": 1e-3}}

    preset = Preset()
    assert resumable_preset_config(preset) == {"name": "p", "train": {"lr": 1e-3}}
    assert preset.to_dict()["train"]["steps"] == 10
