import torch

from recsys.models.base import Dropout


def test_dropout_zeroes_a_share_p_and_scales_the_rest_by_one_over_one_minus_p():
    torch.manual_seed(0)
    drop = Dropout(0.75)
    x = torch.ones(200_000, requires_grad=True)
    y = drop(x)
    assert set(y.unique().tolist()) == {0.0, 4.0}
    assert abs(float((y == 0).float().mean()) - 0.75) < 0.005
    y.sum().backward()
    assert torch.equal(x.grad, y.detach())  # the gradient flows through the kept units only, scaled alike


def test_dropout_is_the_identity_in_eval_mode_and_at_p_zero():
    x = torch.randn(8, 3)
    assert torch.equal(Dropout(0.5).eval()(x), x)
    assert torch.equal(Dropout(0.0)(x), x)
