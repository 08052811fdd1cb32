import pytest
import torch

from recsys.models.base import Embedding


@pytest.mark.parametrize("shape", [(7,), (3, 4)])
def test_embedding_matches_torch_forward_and_gradient(shape):
    ours, theirs = Embedding(10, 3), torch.nn.Embedding(10, 3)
    theirs.load_state_dict(ours.state_dict())
    idx = torch.tensor([1, 1, 4, 9, 0, 4, 1, 2, 3, 5, 6, 7])[: torch.Size(shape).numel()].view(shape)
    out = ours(idx)
    assert out.shape == (*shape, 3) and torch.equal(out, theirs(idx))
    grad = torch.randn(*shape, 3, generator=torch.Generator().manual_seed(0))
    out.backward(grad)
    theirs(idx).backward(grad)
    assert torch.allclose(ours.weight.grad, theirs.weight.grad)
    assert torch.allclose(ours.weight.grad[1], grad.reshape(-1, 3)[(idx.reshape(-1) == 1)].sum(0))  # row 1 thrice


def test_embedding_keeps_torch_errors_for_bad_indices():
    with pytest.raises(IndexError):
        Embedding(10, 3)(torch.tensor([10]))
