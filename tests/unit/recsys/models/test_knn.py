import dataclasses

import pytest
import torch

from recsys.data.tensors import ModelShape, RatingTensors
from recsys.models import build_model
from recsys.models.knn import similarity
from tests.unit.recsys.models.contract import DirectFitContract


class TestItemKNN(DirectFitContract):
    variant = "knn"


class TestUserKNN(DirectFitContract):
    variant = "knn"
    config = {"based_on": "user"}


def test_similarity_by_hand():
    # residuals of 3 users (rows) on 3 movies (columns); user 2 did not rate movie 0
    z = torch.tensor([[1.0, 2.0, 0.0], [-1.0, -1.0, 1.0], [0.0, 1.0, -1.0]])
    rated = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 1.0]])
    sim = similarity(z, rated, shrinkage=0.0)
    # movies 0 and 1, co-rated by users 0 and 1: (1*2 + 1*1) / sqrt((1+1) * (4+1)); shrink factor (2-1)/(2-1+0)
    assert sim[0, 1].item() == pytest.approx(3 / 10**0.5)
    assert sim[0, 0].item() == 0.0
    shrunk = similarity(z, rated, shrinkage=1.0)
    assert shrunk[0, 1].item() == pytest.approx(3 / 10**0.5 * 1 / 2)


def test_prediction_is_the_baseline_plus_the_neighbours_weighted_residuals():
    shape = ModelShape(n_users=4, n_movies=4, rating_min=0.5, rating_max=5.0, rating_mean=3.0)
    # users 1 and 3 rated movies 1, 2 and 3; user 2 rated movies 1 and 2, and is asked about movie 3
    rows = RatingTensors(
        torch.tensor([1, 1, 1, 3, 3, 3, 2, 2]),
        torch.tensor([1, 2, 3, 1, 2, 3, 1, 2]),
        torch.tensor([4.0, 2.0, 3.0, 5.0, 1.0, 4.5, 5.0, 3.0]),
    )
    model = build_model("knn", {"k": 1, "shrinkage": 0.0}, shape, seed=0)
    model.fit_directly(rows, rows)
    sim = model.tables()[3]
    z = torch.zeros(4, 4).index_put_((model.train_user, model.train_movie), model.residual)
    baseline = model.mean + model.user_bias[2] + model.movie_bias[3]
    # user 2 rated movies 1 and 2; with k = 1 the more similar of the two to movie 3 is the neighbour
    best = 1 if sim[3, 1] >= sim[3, 2] else 2
    expected = baseline + (z[2, best] if sim[3, best] > 0 else 0.0)
    assert sim[3, best] > 0 and z[2, best] != 0  # the case worth checking: a neighbour that moves the baseline
    assert model(torch.tensor([2]), torch.tensor([3])).item() == pytest.approx(float(expected), abs=1e-5)


def test_a_large_catalogue_refuses_user_neighbours_and_keeps_movie_neighbours_sparse():
    with pytest.raises(ValueError, match="based_on: movie"):
        build_model("knn", {"based_on": "user"}, ModelShape(10, 30_000, 0.5, 5.0, 3.5), seed=0)
    assert build_model("knn", None, ModelShape(10, 30_000, 0.5, 5.0, 3.5), seed=0).sparse


class TestSparseItemKNN(DirectFitContract):
    variant = "knn"
    config = {"dense_up_to": 0}  # the large-catalogue path on the tiny split


def test_the_sparse_table_predicts_as_the_dense_similarity_when_it_keeps_every_neighbour(tiny_prepared):
    train, val = tiny_prepared.tensors("train"), tiny_prepared.tensors("val")
    dense = build_model("knn", None, tiny_prepared.shape, seed=0)
    sparse = build_model(
        "knn", {"dense_up_to": 0, "keep": 10_000, "max_user_ratings": 10_000}, tiny_prepared.shape, seed=0
    )
    for model in (dense, sparse):
        model.fit_directly(train, val)
    assert sparse.sparse and len(sparse.nbr_idx) > 0
    with torch.no_grad():
        assert torch.allclose(dense(val.user_idx, val.movie_idx), sparse(val.user_idx, val.movie_idx), atol=1e-4)
        query = torch.tensor([1, 2])
        assert torch.allclose(dense.movie_similarity(query).clamp(min=0), sparse.movie_similarity(query), atol=1e-5)


def test_a_model_loaded_again_reuses_its_similarity_and_other_training_rows_get_their_own(tiny_prepared, monkeypatch):
    from recsys.models import knn

    built = []
    monkeypatch.setattr(knn, "similarity", lambda *a: built.append(1) or similarity(*a))
    monkeypatch.setattr(knn, "_TABLES", knn.OrderedDict())
    train, val = tiny_prepared.tensors("train"), tiny_prepared.tensors("val")
    model = build_model("knn", None, tiny_prepared.shape, seed=0)
    model.fit_directly(train, val)
    users, movies = val.user_idx[:50], val.movie_idx[:50]
    first = model(users, movies)
    again = build_model("knn", None, tiny_prepared.shape, seed=0)  # as a checkpoint of it is loaded again
    again.load_state_dict(model.state_dict())
    assert torch.equal(again(users, movies), first) and len(built) == 1
    other = build_model("knn", None, tiny_prepared.shape, seed=0)
    other.fit_directly(val, val)  # other rows: other residuals, other similarity
    other(users, movies)
    assert len(built) == 2


@pytest.mark.parametrize("based_on", ["movie", "user"])
def test_a_movie_rated_once_is_left_out_of_the_products_and_the_similarity_is_the_same(tiny_prepared, based_on):
    """(n - 1) shrinks every similarity of a movie (or user) with one rating to exactly 0, so the tables
    leave it out of the products: the similarity equals the one computed over every movie."""
    train, val = tiny_prepared.tensors("train"), tiny_prepared.tensors("val")
    # a new movie rated once (by the first training row's user), and a new user who rated once (its movie)
    movie, user = tiny_prepared.shape.n_movies, tiny_prepared.shape.n_users
    shape = dataclasses.replace(tiny_prepared.shape, n_movies=movie + 1, n_users=user + 1)
    rows = RatingTensors(
        torch.cat([train.user_idx, train.user_idx[:1], torch.tensor([user])]),
        torch.cat([train.movie_idx, torch.tensor([movie]), train.movie_idx[:1]]),
        torch.cat([train.rating, torch.tensor([4.0, 3.0])]),
    )
    model = build_model("knn", {"based_on": based_on}, shape, seed=0)
    model.fit_directly(rows, val)
    by_user = based_on == "movie"
    n_rows, n_cols = (shape.n_users, shape.n_movies) if by_user else (shape.n_movies, shape.n_users)
    index = (model.train_user, model.train_movie) if by_user else (model.train_movie, model.train_user)
    z = torch.zeros(n_rows, n_cols).index_put_(index, model.residual)
    rated = torch.zeros(n_rows, n_cols).index_put_(index, torch.ones_like(model.residual))
    assert (rated.sum(0) == 1).any()  # the added movie (or user) has one rating
    full = similarity(z, rated, model.config.shrinkage)
    assert torch.allclose(model.tables()[3], full, atol=1e-6)
