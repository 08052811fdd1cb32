"""What every ranker must do: one score per user and movie, the unknown slot never recommended, nor a movie the
user rated; the same scores after a state-dict round trip and whatever the batch of users; seeded data gives
the same lists."""

import numpy as np
import pytest
import torch

from recsys.data.synthetic import make_ratings
from recsys.data.tensors import make_tensors
from recsys.data.vocab import fit_vocabulary
from recsys.evaluation.metrics.recommend import rated_movies, top_n_recommendations
from recsys.ranking import EASE, Popularity


def interactions():
    ratings = make_ratings(n_users=40, n_movies=60, n_ratings=1500, seed=3)
    users, movies = fit_vocabulary(ratings["user_id"]), fit_vocabulary(ratings["movie_id"])
    return make_tensors(ratings, users, movies), users.size, movies.size


@pytest.mark.parametrize("make", [lambda u, m: Popularity(u, m), lambda u, m: EASE(u, m, l2=10.0)])
def test_the_ranker_contract(make):
    rows, n_users, n_movies = interactions()
    ranker = make(n_users, n_movies).fit(rows)
    users = torch.arange(1, n_users)
    scores = ranker.score_matrix(users)
    assert scores.shape == (n_users - 1, n_movies) and torch.isinf(scores[:, 0]).all()
    assert torch.isfinite(scores[:, 1:]).all()
    halves = torch.cat([ranker.score_matrix(users[:7]), ranker.score_matrix(users[7:])])
    assert torch.allclose(halves, scores, atol=1e-6)  # chunked equals whole (to float rounding of the products)
    restored = make(n_users, n_movies)
    restored.load_state_dict(ranker.state_dict())
    assert torch.equal(restored.score_matrix(users), scores)
    seen = rated_movies(rows.user_idx.numpy(), rows.movie_idx.numpy())
    lists = top_n_recommendations(ranker, users.numpy(), n_movies, seen, n=5)
    for user, top in zip(users.tolist(), lists, strict=True):
        assert not np.isin(top, seen.get(user, [])).any() and 0 not in top
    again = make(n_users, n_movies).fit(interactions()[0])
    assert np.array_equal(top_n_recommendations(again, users.numpy(), n_movies, seen, n=5), lists)
