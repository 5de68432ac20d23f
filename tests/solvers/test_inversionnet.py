"""InversionNet: OpenFWI's architecture, its transforms, training on tiny pairs, and the amortized solver."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from invbench.core.files import sha256_file
from invbench.data.pairs import generate_pairs, read_manifest
from invbench.harness.cells import Cell, to_json
from invbench.harness.execute import run_cell
from invbench.nn.training import TrainSpec
from invbench.nn.weights import WeightsError
from invbench.registry import make
from solvers.inversionnet.network import InversionNet as Network
from solvers.inversionnet.presets import InversionNetPreset, get_preset
from solvers.inversionnet.solver import InversionNet, check_observed
from solvers.inversionnet.train import AdamWLoop, train_inversionnet
from solvers.inversionnet.transforms import DATA_MAX, DATA_MIN, DataTransform

TASK = "invbench/FWI-Tiny-v0"
FAST = {"observed_solver": "deepwave"}


def tiny_preset(steps: int = 6, decimation: int = 4) -> InversionNetPreset:
    train = TrainSpec(batch_size=4, lr=2e-3, steps=steps, ema_decay=0.9, ema_every=1, ema_start=2,
                      checkpoint_every=3, export_dtype="float32")  # fmt: skip
    return InversionNetPreset("tiny", (4, 4, 8, 8, 16), (2, 2, 2, 2), decimation, 1e-4, train, "test")


@pytest.fixture(scope="module")
def pair_dirs(tmp_path_factory):
    """Two folders of FWI-Tiny train pairs (disjoint index ranges), at 4 ms."""
    root = tmp_path_factory.mktemp("inv-pairs")
    generate_pairs(TASK, 16, root / "a", shard_size=8, device="cpu")
    generate_pairs(TASK, 12, root / "b", start=100, shard_size=8, device="cpu")
    return [root / "a", root / "b"]


@pytest.fixture(scope="module")
def checkpoint(pair_dirs, tmp_path_factory):
    out = tmp_path_factory.mktemp("inv-weights") / "fwi-inversionnet-tiny.safetensors"
    train_inversionnet(pair_dirs, tiny_preset(), out=out, held_out=4, device="cpu")
    return out


def test_paper_network_is_openfwis_inversionnet():
    net = Network()  # OpenFWI's sizes: 5 shots x 1000 samples x 70 receivers -> 70 x 70
    # OpenFWI's network.py: 24,409,123 parameters (its layer list, counted), latent kernel (8, ceil(70 / 8)).
    assert sum(p.numel() for p in net.parameters()) == 24_409_123
    assert net.latent[0].kernel_size == (8, 9) and net.decoder[0][0].kernel_size == (5, 5)
    with torch.no_grad():
        y = net.eval()(torch.randn(1, 5, 1000, 70))
    assert y.shape == (1, 1, 70, 70) and float(y.abs().max()) <= 1.0


def test_sizes_are_parameters_and_wrong_input_is_named():
    net = Network(3, 125, 32, (32, 32), (4, 4, 8, 8, 16), (1, 1, 2, 2))
    assert net(torch.randn(2, 3, 125, 32)).shape == (2, 1, 32, 32)
    with pytest.raises(ValueError, match=r"reads \(B, 3, 125, 32\) data, got \(2, 3, 500, 32\)"):
        net(torch.randn(2, 3, 500, 32))
    with pytest.raises(ValueError, match="time_strides"):
        Network(time_strides=(3, 2, 2, 2))


def test_transforms_are_openfwis():
    t = DataTransform()
    edges = t.data(torch.tensor([DATA_MIN, DATA_MAX, 0.0]))
    np.testing.assert_allclose(edges[:2], [-1.0, 1.0], atol=1e-6)
    lo, hi = np.log1p(-DATA_MIN), np.log1p(DATA_MAX)
    assert float(edges[2]) == pytest.approx((0 + lo) / (hi + lo) * 2 - 1)  # sign(0) log1p(0) = 0
    v = torch.tensor([1500.0, 3000.0, 4500.0])
    np.testing.assert_allclose(t.label(v), [-1, 0, 1])
    np.testing.assert_allclose(t.velocity(t.label(v)), v)


def test_presets_follow_openfwi_for_paper_and_quarter_it_for_lite():
    paper, lite = get_preset("paper"), get_preset("lite")
    assert paper.widths == (32, 64, 128, 256, 512) and paper.time_decimation == 1
    assert (paper.train.lr, paper.weight_decay, paper.train.batch_size) == (1e-4, 1e-4, 256)
    assert lite.widths == tuple(w // 4 for w in paper.widths) and lite.time_decimation == 4
    with pytest.raises(ValueError, match="unknown InversionNet preset"):
        get_preset("huge")


def test_training_records_its_data_and_cost_and_uses_adamw(checkpoint, pair_dirs):
    manifest = json.loads(checkpoint.with_suffix(".json").read_text())
    tr = manifest["training"]
    assert manifest["kind"] == "inversion-network" and tr["steps"] == 6 and tr["device"] == "cpu"
    assert tr["wall_time_s"] > 0 and tr["optimizer"]["name"] == "AdamW"
    assert [p["task"] for p in tr["data"]["pairs"]] == [TASK, TASK]
    assert [p["start"] for p in tr["data"]["pairs"]] == [0, 100]
    assert sum(p["pde_solves"] for p in tr["data"]["pairs"]) == 28 and tr["data"]["training_pairs"] == 24
    held = tr["held_out"]
    assert held["pairs"] == 4 and 0 < held["mae"] <= held["rmse"] < 2
    assert manifest["acquisition"] == read_manifest(pair_dirs[0])["config"]["acquisition"]
    assert manifest["transform"]["time_decimation"] == 4


def test_exported_batch_norm_statistics_belong_to_the_exported_weights(checkpoint, pair_dirs):
    """The recorded held-out errors are the loaded module's, whose BatchNorm stats match its own weights."""
    from invbench.data.pairs import PairSet
    from invbench.nn.weights import load_module

    manifest = json.loads(checkpoint.with_suffix(".json").read_text())
    assert manifest["training"]["batch_norm"]["training_pairs"] == 24
    net, _ = load_module(str(checkpoint), torch.device("cpu"), required=("transform",))
    data = PairSet(pair_dirs, time_decimation=4, held_out=4, batch_size=4, seed=0, stream=3)
    transform = DataTransform(**manifest["transform"])
    held = data.held_idx
    with torch.no_grad():
        err = net(transform.data(data.data[held])).float() - transform.label(data.velocity[held])
    assert float(err.abs().mean()) == pytest.approx(manifest["training"]["held_out"]["mae"], rel=1e-5)
    # The running mean of the first BatchNorm is the mean of its inputs over the training pairs
    # the export passed through it, not the live model's (EMA decay 0.9 makes them differ).
    bn = next(m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d))
    first_conv = next(m for m in net.modules() if isinstance(m, torch.nn.Conv2d))
    x = transform.data(data.data[data.train_idx])
    with torch.no_grad():
        expected = first_conv(x).mean(dim=(0, 2, 3))
    assert torch.allclose(bn.running_mean, expected, atol=1e-4)


def test_a_resumed_run_reproduces_an_uninterrupted_one(pair_dirs, tmp_path):
    whole = train_inversionnet(
        pair_dirs, tiny_preset(), out=tmp_path / "a.safetensors", held_out=4, device="cpu"
    )
    first = train_inversionnet(
        pair_dirs, tiny_preset(), out=tmp_path / "b.safetensors", held_out=4, device="cpu", steps=3
    )
    assert first.step == 3
    with pytest.raises(WeightsError, match="--resume"):
        train_inversionnet(pair_dirs, tiny_preset(), out=tmp_path / "b.safetensors", held_out=4, device="cpu")
    rest = train_inversionnet(
        pair_dirs, tiny_preset(), out=tmp_path / "b.safetensors", held_out=4, device="cpu", resume=True
    )
    assert rest.start_step == 3 and rest.step == 6
    assert rest.losses == whole.losses
    a, b = (load_file(tmp_path / f"{k}.safetensors") for k in "ab")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_the_loop_optimises_with_adamw(tmp_path):
    model = torch.nn.Linear(2, 1)
    loop = AdamWLoop(model, lambda m, s: m(torch.ones(1, 2)).sum(), tiny_preset().train, out=tmp_path / "w",
                     config={}, device=torch.device("cpu"), name="t", weight_decay=0.01)  # fmt: skip
    assert isinstance(loop.opt, torch.optim.AdamW) and loop.opt.param_groups[0]["weight_decay"] == 0.01


def test_pairs_finer_than_the_network_are_decimated_and_coarser_ones_refused(pair_dirs, tmp_path):
    fine = tmp_path / "fine"
    generate_pairs(TASK, 10, fine, time_decimation=2, device="cpu")
    done = train_inversionnet(
        [fine], tiny_preset(2), out=tmp_path / "f.safetensors", held_out=2, device="cpu"
    )
    assert done.manifest["architecture"]["config"]["time_samples"] == 125  # 500 samples / 2 / 2
    with pytest.raises(ValueError, match="reads data decimated 6x; these pairs are decimated 4x"):
        train_inversionnet(
            pair_dirs, tiny_preset(2, decimation=6), out=tmp_path / "g.safetensors", held_out=2
        )


def test_estimates_under_noise_and_missing_traces_without_a_pde_solve(checkpoint):
    env = make(TASK, noise=0.2, missing_traces=8, **FAST)
    env.reset(seed=0, options={"index": 1})
    solver = InversionNet(checkpoint=str(checkpoint))
    assert solver.applies_to(env) is None
    solver.setup(env)
    estimate = solver.solve(env)
    assert estimate.shape == (1, 32, 32) and estimate.dtype == np.float32 and np.isfinite(estimate).all()
    assert 1500 <= estimate.min() and estimate.max() <= 4500
    assert env.unwrapped.counter.used == 0
    # The same instance without the noise gives another estimate: the network reads the data.
    clean = make(TASK, **FAST)
    clean.reset(seed=0, options={"index": 1})
    solver.setup(clean)
    assert not np.array_equal(solver.solve(clean), estimate)


def test_a_benchmark_cell_records_an_amortized_row(checkpoint):
    params = {"checkpoint": str(checkpoint)}
    cell = Cell("t", TASK, "test", 1, "inversionnet", to_json(params), 0, 7, 7, 120.0,
                env_kwargs_json=to_json({"budget": 40, **FAST, "noise": 0.1}))  # fmt: skip
    row = run_cell(cell).row
    assert row["status"] == "done", row["reason"] + row["traceback"]
    assert row["amortized"] is True and row["pde_solves"] == 0 and row["training_steps"] == 6
    (weights,) = json.loads(row["weights"])
    assert weights["sha256"] == sha256_file(checkpoint)
    manifest = json.loads(checkpoint.with_suffix(".json").read_text())
    generation = sum(p["generation_wall_time_s"] for p in manifest["training"]["data"]["pairs"])
    assert row["training_wall_time"] == pytest.approx(manifest["training"]["wall_time_s"] + generation)
    assert np.isfinite(row["metric_mae"])


def test_unusable_data_are_errors_that_name_the_problem():
    good = torch.randn(3, 500, 32)
    check_observed(good, (3, 500, 32))
    with pytest.raises(ValueError, match="shape"):
        check_observed(good[:, :100], (3, 500, 32))
    bad = good.clone()
    bad[0, 3, 4] = float("nan")
    with pytest.raises(ValueError, match="1 NaN or infinite"):
        check_observed(bad, (3, 500, 32))
    with pytest.raises(ValueError, match="zero everywhere"):
        check_observed(torch.zeros(3, 500, 32), (3, 500, 32))


def test_skips_name_the_reason(checkpoint, tmp_path):
    fwi = make("invbench/FWI-FlatVel-A-v0")
    reason = InversionNet(checkpoint=str(checkpoint)).applies_to(fwi)
    assert reason is not None and "another acquisition" in reason and "nz" in reason
    missing = InversionNet(checkpoint=str(tmp_path / "absent.safetensors")).applies_to(make(TASK))
    assert missing is not None and "invbench generate-pairs" in missing and "--model inversionnet" in missing
    darcy = InversionNet(checkpoint=str(checkpoint)).applies_to(make("invbench/Darcy-Tiny-v0"))
    assert darcy is not None and "fwi" in darcy


def test_train_command_trains_inversionnet_on_pair_folders(pair_dirs, tmp_path):
    from invbench.cli import app

    runner = CliRunner()
    out = tmp_path / "fwi-inversionnet-lite.safetensors"
    args = ["train", "--model", "inversionnet", "--steps", "1", "--out", str(out), "--device", "cpu",
            "--held-out", "2", "--pairs", str(pair_dirs[0]), "--pairs", str(pair_dirs[1])]  # fmt: skip
    small = runner.invoke(app, args)  # lite's batch of 32 needs more than the 26 training pairs here
    assert small.exit_code == 2 and "fewer than one batch of 32" in small.output
    generate_pairs(TASK, 40, tmp_path / "more", device="cpu")
    args[-3:] = [str(tmp_path / "more")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    manifest = json.loads(out.with_suffix(".json").read_text())
    assert manifest["training"]["preset"] == "lite" and manifest["architecture"]["config"]["widths"][0] == 8
    refused = runner.invoke(app, ["train", "--model", "inversionnet", "--out", str(out)])
    assert refused.exit_code == 2 and "needs --pairs" in refused.output
    refused = runner.invoke(app, ["train", "--model", "vae", "--domain", "fwi", "--pairs", str(tmp_path)])
    assert refused.exit_code == 2 and "--pairs applies to --model inversionnet only" in refused.output


def test_shipped_lite_weights_load_offline_with_their_hash_and_read_the_data():
    """The shipped checkpoint: sha256-checked, records its training, and beats a flat map on val #0."""
    from invbench.nn.shipped import shipped_checkpoints
    from invbench.tasks.fwi.metrics import velocity_metrics

    found = shipped_checkpoints().get("fwi-inversionnet-lite")
    if found is None:
        pytest.skip("fwi-inversionnet-lite is not shipped (docs/inversionnet.md says how to train it)")
    manifest = json.loads(found.with_suffix(".json").read_text())
    assert manifest["weights"]["sha256"] == sha256_file(found)
    training = manifest["training"]
    assert training["batch_norm"]["training_pairs"] > 0 and training["held_out"]["pairs"] > 0
    env = make("invbench/FWI-FlatVel-A-v0")
    env.reset(seed=0, options={"split": "val", "index": 0})
    solver = InversionNet()
    solver.resolve_params(env)
    solver.setup(env)
    estimate = solver.solve(env)
    truth = env.unwrapped.instance.truth
    flat = np.full_like(truth, float(truth.mean()))
    assert velocity_metrics(estimate, truth)["mae"] < velocity_metrics(flat, truth)["mae"]
