"""Top-N over the whole catalogue, as the field measures it: for each evaluated user, every movie they have
not rated in the rows the pipeline knows (training and validation) is a candidate; the model's top ``n`` are
compared with the user's held-out test rows rated ``relevant_at`` or more.

Per user: precision@n (hits / n), recall@n (hits / relevant), NDCG@n (binary gains, discount
1/log2(rank + 1)), AP@n (the mean of precision@r over the ranks r of the hits, divided by min(relevant, n))
and hit rate (at least one hit); each averaged over the users, every user weighted equally. The baselines a
model must beat on MovieLens are here too, as score providers with the same ``score_matrix`` interface as a
model: the most popular movies, the highest mean rating shrunk towards the global mean, and random.
"""

import numpy as np
import torch

from recsys.data.vocab import UNKNOWN_IDX
from recsys.evaluation.metrics.checks import require_positive_int


def relevant_sets(user_idx, movie_idx, ratings, relevant_at: float = 4.0) -> dict[int, np.ndarray]:
    """The movie_idx each user_idx rated ``relevant_at`` or more (aligned (N,) arrays of test rows); movies
    the model never saw (index 0) count as relevant but can never be recommended."""
    users, movies = np.asarray(user_idx, np.int64), np.asarray(movie_idx, np.int64)
    liked = np.asarray(ratings, np.float64) >= relevant_at
    out: dict[int, list[int]] = {}
    for user, movie in zip(users[liked].tolist(), movies[liked].tolist(), strict=True):
        out.setdefault(user, []).append(movie)
    return {user: np.array(sorted(movies)) for user, movies in out.items()}


TOPN_NAMES = ("precision", "recall", "ndcg", "map", "hit_rate")


def topn_per_user(lists: np.ndarray, users: np.ndarray, relevant: dict[int, np.ndarray]) -> np.ndarray:
    """Each user's precision, recall, NDCG, AP and hit (U, 5), in :data:`TOPN_NAMES` order, of ``lists``
    (U, n): row i is user ``users[i]``'s top n, best first; every user must have a relevant movie."""
    n = lists.shape[1]
    discounts = 1 / np.log2(np.arange(n) + 2.0)  # (n,)
    scores = np.zeros((len(users), len(TOPN_NAMES)))
    for i, user in enumerate(users.tolist()):
        wanted = relevant.get(user)
        if wanted is None or len(wanted) == 0:
            raise ValueError(f"user_idx {user} has no relevant test movie: sample users with at least one")
        hit = np.isin(lists[i], wanted)  # (n,)
        ideal = discounts[: min(len(wanted), n)].sum()
        precision_at = np.cumsum(hit) / np.arange(1, n + 1)
        scores[i] = (
            hit.mean(),
            hit.sum() / len(wanted),
            (hit * discounts).sum() / ideal,
            (precision_at * hit).sum() / min(len(wanted), n),
            float(hit.any()),
        )
    return scores


def topn_accuracy(lists: np.ndarray, users: np.ndarray, relevant: dict[int, np.ndarray]) -> dict[str, float]:
    """Mean precision, recall, NDCG, MAP and hit rate of ``lists`` over the users (each weighted equally)."""
    return dict(zip(TOPN_NAMES, topn_per_user(lists, users, relevant).mean(0).tolist(), strict=True))


class ConstantScores:
    """The same score of every movie for every user (a popularity-style baseline), as a model's
    ``score_matrix`` gives them: (U, n_movies)."""

    def __init__(self, scores: np.ndarray):
        self.scores = torch.as_tensor(np.asarray(scores, dtype=np.float32))

    def score_matrix(self, user_idx: torch.Tensor) -> torch.Tensor:
        return self.scores.expand(len(user_idx), -1).clone()

    def __call__(self, user_idx: torch.Tensor, movie_idx: torch.Tensor) -> torch.Tensor:
        return self.scores[movie_idx]


class RandomScores:
    """Seeded random scores, the same for a user whichever batch they come in."""

    def __init__(self, n_movies: int, seed: int):
        self.n_movies, self.seed = require_positive_int(n_movies, "n_movies"), seed

    def score_matrix(self, user_idx: torch.Tensor) -> torch.Tensor:
        rows = [np.random.default_rng([self.seed, int(u)]).random(self.n_movies) for u in user_idx.tolist()]
        return torch.as_tensor(np.stack(rows), dtype=torch.float32)


def popularity_scores(train_movie_idx, n_movies: int) -> ConstantScores:
    """Most popular first: each movie's number of training ratings."""
    counts = np.bincount(np.asarray(train_movie_idx, np.int64), minlength=n_movies).astype(np.float64)
    counts[UNKNOWN_IDX] = -1.0
    return ConstantScores(counts)


def shrunk_mean_scores(train_movie_idx, train_ratings, n_movies: int, shrinkage: float = 10.0) -> ConstantScores:
    """Highest mean rating first, each movie's mean pulled towards the global mean by ``shrinkage``
    pseudo-ratings, so a movie rated 5 once does not top the list."""
    movies, ratings = np.asarray(train_movie_idx, np.int64), np.asarray(train_ratings, np.float64)
    counts = np.bincount(movies, minlength=n_movies)
    sums = np.bincount(movies, weights=ratings, minlength=n_movies)
    scores = (sums + shrinkage * ratings.mean()) / (counts + shrinkage)
    scores[UNKNOWN_IDX] = -1.0
    return ConstantScores(scores)
