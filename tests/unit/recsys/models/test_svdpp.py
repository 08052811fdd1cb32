import pytest
import torch

from recsys.data.tensors import RatingTensors
from recsys.models import build_model
from tests.building import built
from tests.unit.recsys.models.contract import SHAPE, ModelContract


class TestSVDpp(ModelContract):
    variant = "svdpp"


def rows():
    # user 1 rated movies 2 and 3; user 2 rated movie 3; user 0 (unknown) rated nothing
    return RatingTensors(torch.tensor([1, 1, 2]), torch.tensor([2, 3, 3]), torch.tensor([4.0, 3.0, 5.0]))


def test_implicit_term_is_the_normalised_sum_of_the_rated_movies_factors():
    model = built("svdpp", {"dim": 2}, SHAPE, seed=0, interactions=rows())
    with torch.no_grad():
        model.implicit_factors.weight[2] = torch.tensor([1.0, 0.0])
        model.implicit_factors.weight[3] = torch.tensor([0.0, 3.0])
    implicit = model.implicit(torch.tensor([1, 2, 0, 1]))
    expected = torch.tensor([[1.0, 3.0], [0.0, 3.0], [0.0, 0.0], [1.0, 3.0]])
    expected[[0, 3]] /= 2**0.5  # |N(1)| = 2
    assert torch.allclose(implicit, expected)


def test_prediction_formula_by_hand():
    model = built("svdpp", {"dim": 2, "l2": 0.0}, SHAPE, seed=0, interactions=rows())
    with torch.no_grad():
        for table in (model.user_factors, model.movie_factors, model.implicit_factors, model.user_bias):
            table.weight.zero_()
        model.user_factors.weight[2] = torch.tensor([1.0, 0.0])
        model.implicit_factors.weight[3] = torch.tensor([0.0, 2.0])
        model.movie_factors.weight[5] = torch.tensor([0.5, 1.0])
        model.movie_bias.weight[5] = 0.25
    raw = 0.5 * 1.0 + 1.0 * 2.0 + 0.25  # q · (p + y_3 / sqrt(1)) + b_m
    assert model(torch.tensor([2]), torch.tensor([5])).item() == pytest.approx(model.squash(torch.tensor(raw)).item())


def test_checkpoint_buffers_take_the_saved_size():
    trained = built("svdpp", None, SHAPE, seed=0, interactions=rows())
    fresh = build_model("svdpp", None, SHAPE, seed=1)
    assert fresh.rated_movies.shape == (0,)
    fresh.load_state_dict(trained.state_dict())
    assert torch.equal(fresh.rated_movies, trained.rated_movies)


def test_reads_are_reused_for_the_same_batch_and_redone_after_a_reload():
    model = built("svdpp", None, SHAPE, seed=0, interactions=rows())
    users = torch.tensor([1, 2, 1])
    first = model.reads(users)
    assert model.reads(users) is first  # forward then penalty on one batch: computed once
    assert model.reads(torch.tensor([1, 2, 1])) is not first  # another tensor
    other = RatingTensors(torch.tensor([1, 2, 2]), torch.tensor([4, 3, 5]), torch.tensor([4.0, 3.0, 5.0]))
    model.load_state_dict(built("svdpp", None, SHAPE, seed=0, interactions=other).state_dict())
    assert model.reads(users) is not first and model.rated_movies.tolist() == [4, 3, 5]


def test_on_a_large_release_a_heavy_rater_keeps_a_fixed_subset_of_max_implicit_movies():
    users = torch.tensor([1] * 10 + [2] * 2)
    many = RatingTensors(users, torch.tensor([*range(1, 11), 1, 2]), torch.full((12,), 4.0))
    capped = built("svdpp", {"max_implicit": 4, "implicit_cap_from": 12}, SHAPE, seed=0, interactions=many)
    kept = capped.rated_movies[capped.rated_ptr[1] : capped.rated_ptr[2]].tolist()
    assert len(kept) == 4 and set(kept) <= set(range(1, 11))  # 4 of user 1's 10 movies
    assert capped.rated_movies[capped.rated_ptr[2] : capped.rated_ptr[3]].tolist() == [1, 2]  # under the cap
    small = built("svdpp", {"max_implicit": 4, "implicit_cap_from": 13}, SHAPE, seed=0, interactions=many)
    assert int(small.rated_ptr[2] - small.rated_ptr[1]) == 10  # below implicit_cap_from rows: every movie


def test_scoring_sums_in_chunks_the_same_as_training_does(monkeypatch):
    from recsys.models import svdpp

    generator = torch.Generator().manual_seed(0)
    n = 2000
    many = RatingTensors(
        torch.randint(1, SHAPE.n_users, (n,), generator=generator),
        torch.randint(1, SHAPE.n_movies, (n,), generator=generator),
        torch.full((n,), 4.0),
    )
    model = built("svdpp", {"dim": 4}, SHAPE, seed=0, interactions=many)
    users = torch.arange(SHAPE.n_users)
    whole = model.implicit(users).detach()  # with gradients: one step
    with torch.no_grad():
        for size in (5, 300):  # ~200 movies a user: each user larger than a chunk, then one or two a chunk
            monkeypatch.setattr(svdpp, "CHUNK_INPUTS", size)
            assert torch.allclose(model.implicit(users), whole, atol=1e-6)
