import torch

from tests.unit.recsys.models.contract import ModelContract
from tests.unit.recsys.models.recurrent_checks import build, capture, embeddings, lstm_step


class TestBiLSTM(ModelContract):
    variant = "bilstm"


class TestBiLSTMTwoSteps(ModelContract):
    variant = "bilstm"
    config = {"mode": "two_step"}


def test_bilstm_defaults_to_one_step_like_the_study():
    assert build("bilstm").config.mode == "single_step"


def test_bilstm_output_holds_both_directions_in_both_modes():
    single, two = capture(build("bilstm", mode="single_step")), capture(build("bilstm", mode="two_step"))
    assert single["steps"].shape == (3, 1, 100) and two["steps"].shape == (3, 2, 50)
    assert single["h"].shape == two["h"].shape == (3, 100)


def test_single_step_bilstm_is_two_independent_cells_on_the_same_step():
    model = build("bilstm", mode="single_step")
    x = torch.cat(embeddings(model), dim=1)  # (3, 100)
    zeros = torch.zeros(3, 50)
    with torch.no_grad():
        forward, _ = lstm_step(model.recurrent, x, zeros, zeros)
        backward, _ = lstm_step(model.recurrent, x, zeros, zeros, suffix="_reverse")
    assert torch.allclose(capture(model)["h"], torch.cat([forward, backward], dim=1), atol=1e-6)


def test_two_step_bilstm_reads_user_then_movie_forwards_and_movie_then_user_backwards():
    model = build("bilstm", mode="two_step")
    e_u, e_m = embeddings(model)
    zeros = torch.zeros(3, 50)
    with torch.no_grad():
        forward, _ = lstm_step(model.recurrent, e_m, *lstm_step(model.recurrent, e_u, zeros, zeros))
        rev = lstm_step(model.recurrent, e_m, zeros, zeros, suffix="_reverse")
        backward, _ = lstm_step(model.recurrent, e_u, *rev, suffix="_reverse")
    assert torch.allclose(capture(model)["h"], torch.cat([forward, backward], dim=1), atol=1e-6)
