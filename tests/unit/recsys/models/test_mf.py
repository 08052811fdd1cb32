import pytest
import torch

from recsys.models import build_model
from tests.unit.recsys.models.contract import SHAPE, ModelContract


class TestMatrixFactorization(ModelContract):
    variant = "mf"


def test_mf_prediction_formula_by_hand():
    model = build_model("mf", {"dim": 2, "l2": 0.0}, SHAPE, seed=0)
    with torch.no_grad():
        model.user_factors.weight[1] = torch.tensor([1.0, 2.0])
        model.movie_factors.weight[1] = torch.tensor([0.5, -1.0])
        model.user_bias.weight[1] = 0.25
        model.movie_bias.weight[1] = -0.5
    raw = 1.0 * 0.5 + 2.0 * -1.0 + 0.25 - 0.5  # -1.75
    expected = model.squash(torch.tensor([raw]))
    assert torch.allclose(model(torch.tensor([1]), torch.tensor([1])), expected)


def test_mf_penalty_is_l2_of_the_batch_rows_only():
    model = build_model("mf", {"dim": 2, "l2": 0.1}, SHAPE, seed=0)
    with torch.no_grad():
        for table in (model.user_factors, model.movie_factors, model.user_bias, model.movie_bias):
            table.weight.zero_()
        model.user_factors.weight[1] = torch.tensor([1.0, 2.0])  # squares 5
        model.movie_bias.weight[3] = 3.0  # square 9, but movie 3 is not in the batch
    assert model.penalty(torch.tensor([1, 2]), torch.tensor([1, 1])).item() == pytest.approx(0.1 * 5 / 2)
