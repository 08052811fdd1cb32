import math

import torch

from tests.unit.recsys.models.contract import ModelContract
from tests.unit.recsys.models.recurrent_checks import build, capture, embeddings, gru_step


class TestGRU(ModelContract):
    variant = "gru"


class TestGRUTwoStep(ModelContract):
    variant = "gru"
    config = {"mode": "two_step"}


def test_gru_defaults_to_the_mode_that_trained_better():
    assert build("gru").config.mode == "single_step"


def test_gru_layer_shapes_in_both_modes():
    single, two = capture(build("gru", mode="single_step")), capture(build("gru", mode="two_step"))
    assert single["steps"].shape == (3, 1, 100) and two["steps"].shape == (3, 2, 50)
    assert single["h"].shape == two["h"].shape == (3, 50)


def test_single_step_gru_by_hand_on_one_unit():
    model = build("gru", mode="single_step", dim=1, hidden=1)
    with torch.no_grad():
        model.user_emb.weight[1], model.movie_emb.weight[4] = 1.0, 2.0  # x = [1, 2]
        gru = model.recurrent
        gru.weight_ih_l0.copy_(torch.tensor([[1.0, 0.0], [0.0, -0.5], [0.5, 0.25]]))  # r, z, n
        for b in (gru.bias_ih_l0, gru.bias_hh_l0):
            b.zero_()
        gru.bias_hh_l0[2] = 0.2  # b_hn, gated by r
    sigmoid = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    r, z = sigmoid(1.0), sigmoid(-1.0)
    h = (1 - z) * math.tanh(1.0 + r * 0.2)  # 0.7311 * tanh(1.1462) = 0.5969
    assert abs(h - 0.5969) < 1e-4
    assert abs(capture(model, torch.tensor([1]), torch.tensor([4]))["h"].item() - h) < 1e-6


def test_two_step_gru_state_is_the_cell_run_over_user_then_movie():
    model = build("gru", mode="two_step")
    e_u, e_m = embeddings(model)
    with torch.no_grad():
        h2 = gru_step(model.recurrent, e_m, gru_step(model.recurrent, e_u, torch.zeros(3, 50)))
    assert torch.allclose(capture(model)["h"], h2, atol=1e-6)
