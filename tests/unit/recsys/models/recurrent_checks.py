"""Helpers for the recurrent variants' tests: capture what flows into and out of the recurrent layer, and
the LSTM and GRU cell equations written out by hand (PyTorch's gate order: LSTM i, f, g, o; GRU r, z, n)."""

import torch

from recsys.models import build_model
from tests.unit.recsys.models.contract import SHAPE

USERS, MOVIES = torch.tensor([1, 2, 3]), torch.tensor([4, 5, 6])


def build(variant: str, **config):
    return build_model(variant, config, SHAPE, seed=0).eval()


def capture(model, users=USERS, movies=MOVIES):
    """The recurrent layer's input (B, T, F; the input dropout's output, the same in eval mode) and the hidden
    representation at ``recurrent_out``."""
    seen = {}
    hooks = [
        model.input_dropout.register_forward_hook(lambda m, args, out: seen.update(steps=out.detach())),
        model.recurrent_out.register_forward_hook(lambda m, args, out: seen.update(h=out.detach())),
    ]
    try:
        with torch.no_grad():
            seen["rating"] = model(users, movies)
    finally:
        for hook in hooks:
            hook.remove()
    return seen


def lstm_step(layer, x, h, c, suffix=""):
    """One LSTM step by hand: x (B, F), h and c (B, H) -> new h and c."""
    gates = x @ getattr(layer, f"weight_ih_l0{suffix}").T + getattr(layer, f"bias_ih_l0{suffix}")
    gates = gates + h @ getattr(layer, f"weight_hh_l0{suffix}").T + getattr(layer, f"bias_hh_l0{suffix}")
    i, f, g, o = gates.chunk(4, dim=1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def gru_step(layer, x, h):
    """One GRU step by hand: x (B, F), h (B, H) -> new h."""
    r_i, z_i, n_i = (x @ layer.weight_ih_l0.T + layer.bias_ih_l0).chunk(3, dim=1)
    r_h, z_h, n_h = (h @ layer.weight_hh_l0.T + layer.bias_hh_l0).chunk(3, dim=1)
    r, z = torch.sigmoid(r_i + r_h), torch.sigmoid(z_i + z_h)
    n = torch.tanh(n_i + r * n_h)
    return (1 - z) * n + z * h


def embeddings(model, users=USERS, movies=MOVIES):
    with torch.no_grad():
        return model.user_emb(users), model.movie_emb(movies)  # (B, dim) each
