import numpy as np
import pandas as pd
import pytest
import torch

from recsys.data.tensors import ModelShape
from recsys.data.vocab import fit_vocabulary
from recsys.models import build_model
from recsys.serving import NeighbourConfig, explain, movie_vectors, recommend, similar_movies

SHAPE = ModelShape(n_users=4, n_movies=6, rating_min=0.5, rating_max=5.0, rating_mean=3.0)
USERS, MOVIES = fit_vocabulary(np.array([10, 20, 30])), fit_vocabulary(np.array([101, 102, 103, 104, 105]))
SUPPORT = np.array([0, 60, 2, 40, 50, 30])  # training ratings by movie_idx (slot 0: the unknown movie)


def mf_with_movie_biases(biases):
    model = build_model("mf", {"dim": 2}, SHAPE, seed=0)
    with torch.no_grad():
        model.user_factors.weight.zero_()
        model.movie_bias.weight[:, 0] = torch.tensor(biases)
    return model.eval()


def test_recommend_ranks_unrated_movies_by_predicted_rating():
    model = mf_with_movie_biases([9.0, 0.5, 2.0, -1.0, 1.5, 1.0])  # slot 0 would win if it were allowed
    top = recommend(model, USERS, MOVIES, user_id=20, known=np.array([102, 999]), n=3)
    assert top["movie_id"].tolist() == [104, 105, 101]  # 102 is rated; 999 is unknown and ignored
    assert top["predicted_rating"].is_monotonic_decreasing


def test_recommend_refuses_a_user_without_training_ratings():
    with pytest.raises(ValueError, match="user 99 has no training ratings"):
        recommend(mf_with_movie_biases([0.0] * 6), USERS, MOVIES, user_id=99, known=np.array([]))


def test_similar_movies_by_cosine_of_the_embedding():
    model = build_model("mf", {"dim": 2}, SHAPE, seed=0)
    with torch.no_grad():
        model.movie_factors.weight[1:] = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1], [-1.0, 0.0], [0.7, 0.7]])
    plain = NeighbourConfig(shrinkage=0, min_support=0)
    near = similar_movies(model, MOVIES, SUPPORT, movie_id=101, n=4, config=plain)
    assert near["movie_id"].tolist() == [103, 105, 102, 104] and near["support"].tolist() == [40, 30, 2, 50]
    assert near["similarity"].iloc[0] == pytest.approx(0.9 / np.hypot(0.9, 0.1))
    shrunk = similar_movies(model, MOVIES, SUPPORT, movie_id=101, n=4, config=NeighbourConfig(shrinkage=10))
    assert shrunk["movie_id"].tolist() == [103, 105, 104]  # 102 has 2 ratings, under min_support 5
    assert shrunk["similarity"].iloc[0] == pytest.approx(0.9 / np.hypot(0.9, 0.1) * 40 / 50)


def test_a_blend_offers_its_first_member_with_an_embedding_and_user_knn_nothing():
    blend = build_model("blend", {"members": ["knn", "mf"]}, SHAPE, seed=0)
    assert np.array_equal(movie_vectors(blend), blend.members["mf"].movie_factors.weight.detach().numpy())
    with pytest.raises(ValueError, match="no movie embedding or similarity"):
        similar_movies(build_model("knn", {"based_on": "user"}, SHAPE, seed=0), MOVIES, SUPPORT, 101)


def test_explain_names_the_users_own_rated_movies_most_like_each_recommendation():
    model = build_model("mf", {"dim": 2}, SHAPE, seed=0)
    with torch.no_grad():
        model.movie_factors.weight[1:] = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1], [-1.0, 0.0], [0.1, 0.9]])
    rated = pd.DataFrame({"movie_id": [101, 102, 999], "rating": [5.0, 2.0, 4.0]})  # 999: unknown, skipped
    why = explain(model, MOVIES, np.array([103, 105]), rated, per_movie=1)
    assert why[["movie_id", "because_of", "your_rating"]].values.tolist() == [[103, 101, 5.0], [105, 102, 2.0]]


def test_which_models_can_give_neighbours_is_asked_of_the_model_not_its_name():
    from recsys.models import build_model
    from recsys.serving import gives_neighbours

    assert gives_neighbours(build_model("knn", None, SHAPE, seed=0))  # its own item-item similarity
    assert gives_neighbours(build_model("mf", None, SHAPE, seed=0))  # movie vectors
    assert not gives_neighbours(build_model("autorec", None, SHAPE, seed=0))  # neither


TITLED = pd.DataFrame(
    {
        "movie_id": [858, 1221, 2023, 8607, 1],
        "title": [
            "Godfather, The (1972)",
            "Godfather: Part II, The (1974)",
            "Godfather: Part III, The (1990)",
            "Tokyo Godfathers (2003)",
            "Toy Story (1995)",
        ],
    }
)


def test_a_title_names_a_movie_exactly_without_its_year_or_by_a_unique_part():
    from recsys.serving import movie_by_title

    assert movie_by_title(TITLED, "Godfather, The (1972)") == 858
    assert movie_by_title(TITLED, "godfather, the") == 858  # without its year, case ignored
    assert movie_by_title(TITLED, "Toy Sto") == 1  # the one title containing it


def test_an_ambiguous_or_unknown_title_lists_the_candidates_with_their_ids():
    from recsys.serving import movie_by_title

    with pytest.raises(ValueError, match=r"4 movies match 'Godfather'.*858: Godfather, The \(1972\).*8607"):
        movie_by_title(TITLED, "Godfather")
    with pytest.raises(ValueError, match=r"no movie is titled 'Toy Stroy'; closest: 1: Toy Story \(1995\)"):
        movie_by_title(TITLED, "Toy Stroy")


def test_a_new_users_list_leaves_out_the_given_movies_and_refuses_unknown_ones():
    from recsys.data.tensors import ModelShape, RatingTensors
    from recsys.data.vocab import Vocabulary
    from recsys.ranking import EASE, EASEConfig
    from recsys.serving import recommend_new_user

    vocab = Vocabulary(np.array([10, 20, 30, 40]))  # movie ids -> idx 1..4
    rows = RatingTensors(torch.tensor([1, 1, 2, 2, 3]), torch.tensor([1, 2, 1, 2, 3]), torch.full((5,), 5.0))
    ranker = EASE(EASEConfig(l2=1.0), ModelShape(4, 5, 0.5, 5.0, 3.5)).fit(rows)
    given = pd.DataFrame({"movie_id": [10], "rating": [5.0]})
    top = recommend_new_user(ranker, vocab, given, n=3)
    assert top["movie_id"].iloc[0] == 20 and 10 not in set(top["movie_id"])  # 20 goes with 10
    with pytest.raises(ValueError, match="never saw in training: 99"):
        recommend_new_user(ranker, vocab, pd.DataFrame({"movie_id": [10, 99], "rating": [5.0, 4.0]}))


def test_a_new_user_whose_ratings_all_fall_below_the_threshold_is_told_so():
    from recsys.data.tensors import ModelShape, RatingTensors
    from recsys.data.vocab import Vocabulary
    from recsys.ranking import EASE, EASEConfig
    from recsys.serving import recommend_new_user

    vocab = Vocabulary(np.array([10, 20, 30, 40]))
    rows = RatingTensors(torch.tensor([1, 1, 2]), torch.tensor([1, 2, 1]), torch.full((3,), 5.0))
    ranker = EASE(EASEConfig(l2=1.0, min_rating=4.0), ModelShape(3, 5, 0.5, 5.0, 3.5)).fit(rows)
    with pytest.raises(ValueError, match="none of the given ratings is 4 or more"):
        recommend_new_user(ranker, vocab, pd.DataFrame({"movie_id": [10], "rating": [2.0]}))
