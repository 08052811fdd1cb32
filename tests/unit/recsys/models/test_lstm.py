import math

import torch

from tests.unit.recsys.models.contract import ModelContract
from tests.unit.recsys.models.recurrent_checks import build, capture, embeddings, lstm_step


class TestLSTM(ModelContract):
    variant = "lstm"


class TestLSTMTwoStep(ModelContract):
    variant = "lstm"
    config = {"mode": "two_step"}


def test_lstm_defaults_to_the_mode_that_trained_better():
    assert build("lstm").config.mode == "single_step"


def test_single_step_feeds_user_and_movie_as_one_step_of_100_features():
    seen = capture(build("lstm", mode="single_step"))
    assert seen["steps"].shape == (3, 1, 100)
    assert seen["h"].shape == (3, 50)


def test_two_step_feeds_the_user_then_the_movie_as_two_steps_of_50_features():
    model = build("lstm", mode="two_step")
    seen = capture(model)
    e_u, e_m = embeddings(model)
    assert seen["steps"].shape == (3, 2, 50) and seen["h"].shape == (3, 50)
    assert torch.equal(seen["steps"][:, 0], e_u) and torch.equal(seen["steps"][:, 1], e_m)


def test_single_step_lstm_by_hand_on_one_unit():
    model = build("lstm", mode="single_step", dim=1, hidden=1)
    with torch.no_grad():
        model.user_emb.weight[1], model.movie_emb.weight[4] = 1.0, 2.0  # x = [1, 2]
        lstm = model.recurrent
        lstm.weight_ih_l0.copy_(torch.tensor([[0.5, 0.0], [9.0, 9.0], [0.0, 0.5], [1.0, -1.0]]))  # i, f, g, o
        for b in (lstm.bias_ih_l0, lstm.bias_hh_l0):
            b.zero_()
        model.out.weight.fill_(1.0)
        model.out.bias.zero_()
    sigmoid = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    c = sigmoid(0.5) * math.tanh(1.0)  # the forget gate (9.0) multiplies a zero cell state
    h = sigmoid(-1.0) * math.tanh(c)  # 0.2689 * tanh(0.4741) = 0.1187
    seen = capture(model, torch.tensor([1]), torch.tensor([4]))
    assert abs(h - 0.1187) < 1e-4 and abs(seen["h"].item() - h) < 1e-6
    assert torch.allclose(seen["rating"], model.squash(torch.tensor([h])))


def test_two_step_lstm_state_is_the_cell_run_over_user_then_movie():
    model = build("lstm", mode="two_step")
    e_u, e_m = embeddings(model)
    zeros = torch.zeros(3, 50)
    with torch.no_grad():
        h1, c1 = lstm_step(model.recurrent, e_u, zeros, zeros)
        h2, _ = lstm_step(model.recurrent, e_m, h1, c1)
    assert torch.allclose(capture(model)["h"], h2, atol=1e-6)
