import numpy as np
import pytest
import torch

from recsys.data.tensors import ModelShape
from recsys.data.vocab import fit_vocabulary
from recsys.models import build_model
from recsys.serving import movie_vectors, recommend, similar_movies

SHAPE = ModelShape(n_users=4, n_movies=6, rating_min=0.5, rating_max=5.0, rating_mean=3.0)
USERS, MOVIES = fit_vocabulary(np.array([10, 20, 30])), fit_vocabulary(np.array([101, 102, 103, 104, 105]))


def mf_with_movie_biases(biases):
    model = build_model("mf", {"dim": 2}, SHAPE, seed=0)
    with torch.no_grad():
        model.user_factors.weight.zero_()
        model.movie_bias.weight[:, 0] = torch.tensor(biases)
    return model.eval()


def test_recommend_ranks_unrated_movies_by_predicted_rating():
    model = mf_with_movie_biases([9.0, 0.5, 2.0, -1.0, 1.5, 1.0])  # slot 0 would win if it were allowed
    top = recommend(model, USERS, MOVIES, user_id=20, rated=np.array([102, 999]), n=3)
    assert top["movie_id"].tolist() == [104, 105, 101]  # 102 is rated; 999 is unknown and ignored
    assert top["predicted_rating"].is_monotonic_decreasing


def test_recommend_refuses_a_user_without_training_ratings():
    with pytest.raises(ValueError, match="user 99 has no training ratings"):
        recommend(mf_with_movie_biases([0.0] * 6), USERS, MOVIES, user_id=99, rated=np.array([]))


def test_similar_movies_by_cosine_of_the_embedding():
    model = build_model("mf", {"dim": 2}, SHAPE, seed=0)
    with torch.no_grad():
        model.movie_factors.weight[1:] = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1], [-1.0, 0.0], [0.7, 0.7]])
    near = similar_movies(model, MOVIES, movie_id=101, n=4)
    assert near["movie_id"].tolist() == [103, 105, 102, 104]
    assert near["cosine"].iloc[0] == pytest.approx(0.9 / np.hypot(0.9, 0.1))


def test_a_blend_offers_its_first_member_with_an_embedding_and_knn_none():
    blend = build_model("blend", {"members": ["knn", "mf"]}, SHAPE, seed=0)
    assert np.array_equal(movie_vectors(blend), blend.members["mf"].movie_factors.weight.detach().numpy())
    with pytest.raises(ValueError, match="no movie embedding"):
        similar_movies(build_model("knn", None, SHAPE, seed=0), MOVIES, 101)
