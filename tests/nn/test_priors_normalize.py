import math

import numpy as np
import pytest
import torch

from invbench.data.darcy_fields import bimaterial_log_k, grf_log_k
from invbench.data.families import generate
from invbench.nn.normalize import Normalization, normalization_for


def test_fwi_pad_crop_round_trip():
    norm = normalization_for("fwi")
    v = generate("CurveFault-B", 3, seed=1)
    x = norm.to_model_units(v)
    assert x.shape == (3, 1, 72, 72) and norm.model_shape == (72, 72)
    # RED-DiffEq pads with a constant zero (in model units, i.e. 3000 m/s) by one cell on every side
    border = torch.cat([x[..., 0, :], x[..., -1, :], x[..., :, 0], x[..., :, -1]], dim=-1)
    assert torch.all(border == 0.0)
    np.testing.assert_allclose(x[:, :, 1:-1, 1:-1].numpy(), (v - 3000.0) / 1500.0, atol=1e-6)
    assert x.min() >= -1.0 and x.max() <= 1.0
    back = norm.from_model_units(x)
    assert back.shape == (3, 1, 70, 70)
    np.testing.assert_allclose(back.numpy(), v, atol=1e-3)


def test_three_dim_input_and_shape_errors():
    norm = normalization_for("fwi")
    assert norm.to_model_units(np.full((2, 70, 70), 1500.0)).shape == (2, 1, 72, 72)
    with pytest.raises(ValueError, match="70, 70"):
        norm.to_model_units(np.zeros((2, 1, 72, 72)))
    with pytest.raises(ValueError, match="72, 72"):
        norm.from_model_units(torch.zeros(2, 1, 70, 70))


def test_to_model_units_is_differentiable():
    norm = normalization_for("fwi")
    v = torch.full((1, 1, 70, 70), 2000.0, requires_grad=True)
    norm.to_model_units(v).sum().backward()
    assert torch.allclose(v.grad, torch.full_like(v, 1 / 1500.0))


def test_bimaterial_maps_to_exactly_plus_minus_one():
    norm = normalization_for("darcy-bimaterial", (32, 32))
    x = norm.to_model_units(bimaterial_log_k(8, 0, n=32))
    assert set(np.unique(np.round(x.numpy(), 6))) == {-1.0, 1.0}
    assert norm.center == pytest.approx(math.log(6.0)) and norm.scale == pytest.approx(math.log(2.0))


def test_grf_mass_within_unit_interval():
    x = normalization_for("darcy-grf").to_model_units(grf_log_k(200, 3))
    outside = (x.abs() > 1.0).float().mean().item()
    assert outside < 5e-4
    assert 0.1 < x.std().item() < 0.35


def test_normalization_dict_round_trip_and_checks():
    norm = normalization_for("fwi")
    d = norm.to_dict()
    assert Normalization.from_dict(d) == norm
    d["model_shape"] = [70, 70]
    with pytest.raises(ValueError, match="model_shape"):
        Normalization.from_dict(d)
    with pytest.raises(ValueError, match="unknown domain"):
        normalization_for("heat")
