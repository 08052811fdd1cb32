"""What every ranker must do, each built through the one registry like every model: one score per user and
movie, the unknown slot never recommended, nor a movie the user rated; the same scores after a checkpoint
round trip and whatever the batch of users; the same lists from the same seed; and a new user scored from
their movies alone (fold-in) as the ranker scores a known user with that history."""

import numpy as np
import pytest
import torch

from recsys.data.synthetic import make_ratings
from recsys.data.tensors import ModelShape, make_tensors
from recsys.data.vocab import fit_vocabulary
from recsys.evaluation.metrics.recommend import rated_movies, top_n_recommendations
from recsys.models import build_model, variants_of
from recsys.models.checkpoint import load_checkpoint, save_checkpoint
from recsys.ranking import Ranker

SMALL = {  # settings that fit in a second on the toy data
    "pop": {},
    "ease": {"l2": 10.0},
    "ials": {"factors": 8, "regularization": 1.0, "iterations": 5},
    "multvae": {"hidden": 16, "latent": 8, "epochs": 5, "batch_users": 16},
    "gru4rec": {"embedding": 8, "hidden": 16, "epochs": 2, "max_len": 10},
}


def data():
    ratings = make_ratings(n_users=40, n_movies=60, n_ratings=1500, seed=3).sort_values("timestamp")
    users, movies = fit_vocabulary(ratings["user_id"]), fit_vocabulary(ratings["movie_id"])
    shape = ModelShape(users.size, movies.size, 0.5, 5.0, 3.5)
    return make_tensors(ratings, users, movies), shape, users, movies


def fitted(name: str, seed: int = 0) -> Ranker:
    rows, shape, _, _ = data()
    return build_model(name, SMALL[name], shape, seed=seed).fit(rows, seed=seed)


def test_every_registered_ranker_is_covered():
    assert set(variants_of("topn")) == set(SMALL)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_the_ranker_contract(name, tmp_path):
    rows, shape, user_vocab, movie_vocab = data()
    ranker = fitted(name)
    users = torch.arange(1, shape.n_users)
    scores = ranker.score_matrix(users)
    assert scores.shape == (shape.n_users - 1, shape.n_movies) and torch.isinf(scores[:, 0]).all()
    assert torch.isfinite(scores[:, 1:]).all()
    halves = torch.cat([ranker.score_matrix(users[:7]), ranker.score_matrix(users[7:])])
    assert torch.allclose(halves, scores, atol=1e-5)  # chunked equals whole (to float rounding of the products)
    restored = load_checkpoint(save_checkpoint(tmp_path / "r.pt", name, ranker, user_vocab, movie_vocab)).model
    assert torch.allclose(restored.score_matrix(users), scores, atol=1e-6)
    seen = rated_movies(rows.user_idx.numpy(), rows.movie_idx.numpy())
    lists = top_n_recommendations(ranker, users.numpy(), shape.n_movies, seen, n=5)
    for user, top in zip(users.tolist(), lists, strict=True):
        assert not np.isin(top, seen.get(user, [])).any() and 0 not in top
    again = fitted(name)  # the same seed: the same lists
    assert np.array_equal(top_n_recommendations(again, users.numpy(), shape.n_movies, seen, n=5), lists)
    pairs = ranker.score_pairs(torch.tensor([3, 1, 3]), torch.tensor([5, 6, 7]))
    assert torch.allclose(pairs, torch.stack([scores[2, 5], scores[0, 6], scores[2, 7]]))


@pytest.mark.parametrize("name", ["pop", "ease", "multvae", "gru4rec"])
def test_a_new_user_is_scored_from_their_movies_as_a_known_user_with_them(name):
    rows, _, _, _ = data()
    ranker = fitted(name)
    user = 5
    mine = rows.user_idx == user
    folded = ranker.fold_in(rows.movie_idx[mine], rows.rating[mine])  # in the time order they were rated
    assert torch.allclose(folded, ranker.score_matrix(torch.tensor([user]))[0], atol=1e-5)


def test_ials_solves_a_new_users_factors_against_the_fixed_movie_factors():
    """implicit's recalculate_user: the fold-in of a known user's movies ranks as that user's own factors do
    (not equal: the fitted factors come from the sweep before the last movie update)."""
    rows, shape, _, _ = data()
    ranker = fitted("ials")
    user = 2
    mine = rows.user_idx == user
    folded = ranker.fold_in(rows.movie_idx[mine], rows.rating[mine])
    own = ranker.score_matrix(torch.tensor([user]))[0]
    assert folded.shape == (shape.n_movies,) and torch.isinf(folded[0])
    top_folded, top_own = set(torch.topk(folded, 10).indices.tolist()), set(torch.topk(own, 10).indices.tolist())
    assert len(top_folded & top_own) >= 7


def test_a_grid_value_out_of_bounds_is_refused_and_held_out_users_without_training_rows_are_not_scored():
    from recsys.data.tensors import RatingTensors
    from recsys.pipeline.topn import Protocol, candidates
    from recsys.ranking import EASEConfig

    with pytest.raises(ValueError, match="l2"):
        candidates(EASEConfig(), {"l2": [100.0, 0.0]})
    known = RatingTensors(torch.tensor([1, 2]), torch.tensor([1, 2]), torch.tensor([5.0, 5.0]))
    held = RatingTensors(torch.tensor([0, 0, 1]), torch.tensor([3, 4, 2]), torch.tensor([5.0, 5.0, 5.0]))
    assert Protocol.of(known, held, 5).users.tolist() == [1]  # index 0: users the vocabulary never saw


def test_only_rankers_with_movie_vectors_or_their_own_similarity_explain():
    from recsys.serving import gives_neighbours

    assert not gives_neighbours(fitted("pop"))
    assert all(gives_neighbours(fitted(name)) for name in ("ease", "ials", "multvae", "gru4rec"))
