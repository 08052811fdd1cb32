import torch

from recsys.data.tensors import RatingTensors
from recsys.models import autorec
from tests.building import built
from tests.unit.recsys.models.contract import SHAPE, ModelContract


class TestAutoRec(ModelContract):
    variant = "autorec"


class TestAutoRecWithInputDropout(ModelContract):
    variant = "autorec"
    config = {"input_dropout": 0.2}


def test_code_reads_the_movies_centred_training_ratings():
    rows = RatingTensors(torch.tensor([1, 2, 3]), torch.tensor([4, 4, 5]), torch.tensor([5.0, 2.0, 3.5]))
    model = built("autorec", {"hidden": 2}, SHAPE, seed=0, interactions=rows).eval()
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
    model = built("autorec", {"hidden": 8}, SHAPE, seed=0, interactions=rows).eval()
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
    model = built("autorec", {"hidden": 2}, SHAPE, seed=0, interactions=rows).eval()
    with torch.no_grad():
        before = model.encode(torch.tensor([4, 5])).clone()
        model.encoder.weight.mul_(2)  # an in-place write, as an optimiser step or loading weights makes
        after = model.encode(torch.tensor([4, 5]))
        model.encoder.weight.div_(2)
        assert not torch.allclose(before, after)
        assert torch.allclose(model.encode(torch.tensor([4, 5])), before)


def test_training_step_matches_the_plain_lookup_then_sum_in_loss_and_gradients():
    """The step sums codes with embedding_bag and counts each distinct user's penalty once (memory at 25M);
    the loss and the encoder's gradient are those of one looked-up row per read rating, lazy or dense."""
    from recsys.models.interactions import segments

    generator = torch.Generator().manual_seed(0)
    n = 800
    rows = RatingTensors(
        torch.randint(1, SHAPE.n_users, (n,), generator=generator),
        torch.randint(1, SHAPE.n_movies, (n,), generator=generator),
        torch.randint(1, 11, (n,), generator=generator).float() / 2,
    )
    users, movies = rows.user_idx[:32], rows.movie_idx[:32]

    def plain_loss(model):
        distinct, inverse = torch.unique(movies, return_inverse=True)
        positions, owner = segments(model.rater_ptr, distinct)
        read = model.encoder.weight[model.rater_users[positions]]  # (T, hidden): one row per read rating
        terms = read * (model.rater_ratings[positions] - model.rating_centre)[:, None]
        code = torch.sigmoid(torch.zeros(len(distinct), terms.shape[1]).index_add(0, owner, terms) + model.encoder_bias)
        raw = (model.decoder.weight[users] * code[inverse]).sum(1) + model.decoder_bias.weight[users, 0]
        squares = read.square().sum() if model.encoder.lazy else model.encoder.weight.square().sum()
        penalty = model.decoder.weight[users].square().sum(1).mean() + squares / len(model.rater_users)
        return model.squash(raw).sum() + model.config.l2 * penalty

    for lazy in (False, True):
        model = built("autorec", {"hidden": 8}, SHAPE, seed=0, interactions=rows).train()
        model.encoder.lazy = lazy
        expected = plain_loss(model)
        (want,) = torch.autograd.grad(expected, model.encoder.weight)
        loss = model(users, movies).sum() + model.penalty(users, movies)
        if lazy:
            loss.backward()
            (pending,) = model.encoder.take_pending()  # forward and penalty share one leaf of the rows read
            rows_read, leaf = pending
            got = torch.zeros_like(model.encoder.weight).index_add_(0, rows_read, leaf.grad)
        else:
            (got,) = torch.autograd.grad(loss, model.encoder.weight)
        assert torch.allclose(loss, expected, atol=1e-5), lazy
        assert torch.allclose(got, want, atol=1e-6), lazy
        assert want.abs().sum() > 0
