"""The CPU path of the recurrent variants unrolls their one or two steps by hand (RecurrentNet.final_state):
it must give what the layer itself gives, values and gradients, for every variant and mode."""

import pytest
import torch

from tests.unit.recsys.models.recurrent_checks import build


def _layer_final_state(model, steps):
    _, final = model.recurrent(steps)
    h_n = final[0] if isinstance(final, tuple) else final
    return torch.cat(list(h_n), dim=1)


@pytest.mark.parametrize("mode", ["single_step", "two_step"])
@pytest.mark.parametrize("variant", ["lstm", "gru", "bilstm"])
def test_unrolled_steps_equal_the_recurrent_layer(variant, mode):
    model = build(variant, mode=mode)
    users, movies = torch.arange(1, 9), torch.arange(2, 10)
    outputs, grads = [], []
    for final_state in (model.final_state, lambda steps: _layer_final_state(model, steps)):
        model.zero_grad()
        h = final_state(model.steps(users, movies))
        h.pow(2).sum().backward()
        outputs.append(h.detach())
        # one step from a zero state never reads weight_hh: no gradient unrolled, a zero one through the layer
        grads.append([torch.zeros_like(p) if p.grad is None else p.grad.clone() for p in model.recurrent.parameters()])
    assert outputs[0].shape == (8, 100 if variant == "bilstm" else 50)
    assert torch.allclose(outputs[0], outputs[1], atol=1e-6)
    for unrolled, layer in zip(*grads, strict=True):
        assert torch.allclose(unrolled, layer, atol=1e-5)
