import torch

from recsys.data.tensors import RatingTensors
from recsys.models import autorec, build_model
from tests.models.contract import SHAPE, ModelContract


class TestAutoRec(ModelContract):
    variant = "autorec"


class TestAutoRecWithInputDropout(ModelContract):
    variant = "autorec"
    config = {"input_dropout": 0.2}


def test_code_reads_the_movies_centred_training_ratings():
    rows = RatingTensors(torch.tensor([1, 2, 3]), torch.tensor([4, 4, 5]), torch.tensor([5.0, 2.0, 3.5]))
    model = build_model("autorec", {"hidden": 2}, SHAPE, seed=0, interactions=rows).eval()
    with torch.no_grad():
        model.encoder.weight.zero_()
        model.encoder.weight[1] = torch.tensor([1.0, 0.0])
        model.encoder.weight[2] = torch.tensor([0.0, 1.0])
    # movie 4: users 1 and 2 with ratings 5 and 2, centred on the mean 3.5: +1.5 and -1.5
    expected = torch.sigmoid(torch.tensor([[1.5, -1.5]]))
    assert torch.allclose(model.encode(torch.tensor([4])), expected)
    assert torch.allclose(model.encode(torch.tensor([7])), torch.sigmoid(torch.zeros(1, 2)))  # nobody rated 7


def test_scoring_encodes_in_chunks_with_the_same_codes(monkeypatch):
    generator = torch.Generator().manual_seed(0)
    n = 3000
    rows = RatingTensors(
        torch.randint(1, SHAPE.n_users, (n,), generator=generator),
        torch.randint(1, SHAPE.n_movies, (n,), generator=generator),
        torch.randint(1, 11, (n,), generator=generator) / 2,
    )
    model = build_model("autorec", {"hidden": 8}, SHAPE, seed=0, interactions=rows).eval()
    movies = torch.arange(SHAPE.n_movies)
    whole = model.encode(movies).detach()  # with gradients: one step over every rating
    with torch.no_grad():
        for size in (7, 300):  # ~150 ratings a movie: each movie larger than a chunk, then two a chunk
            monkeypatch.setattr(autorec, "CHUNK_INPUTS", size)
            model.train()  # no cached catalogue: the distinct movies of the batch, in chunks
            assert torch.allclose(model.encode(movies), whole, atol=1e-6)
            model.eval()  # the whole catalogue encoded in chunks, then read from the cache
            assert torch.allclose(model.encode(movies), whole, atol=1e-6)
            assert torch.allclose(model.encode(movies[5:9]), whole[5:9], atol=1e-6)


def test_cached_catalogue_codes_follow_the_weights():
    rows = RatingTensors(torch.tensor([1, 2, 3]), torch.tensor([4, 4, 5]), torch.tensor([5.0, 2.0, 3.5]))
    model = build_model("autorec", {"hidden": 2}, SHAPE, seed=0, interactions=rows).eval()
    with torch.no_grad():
        before = model.encode(torch.tensor([4, 5])).clone()
        model.encoder.weight.mul_(2)  # an in-place write, as an optimiser step or loading weights makes
        after = model.encode(torch.tensor([4, 5]))
        model.encoder.weight.div_(2)
        assert not torch.allclose(before, after)
        assert torch.allclose(model.encode(torch.tensor([4, 5])), before)
