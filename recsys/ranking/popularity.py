"""``pop``: the most-popular list, the yardstick of every top-N table: each movie scored by how many users
interacted with it, the same list for everyone (less what each user has seen)."""

import numpy as np
import torch

from recsys.data.tensors import RatingTensors
from recsys.ranking.base import Ranker, interaction_matrix


class Popularity(Ranker):
    """score(u, m) = number of users who rated m (``min_rating`` or more when given)."""

    def __init__(self, n_users: int, n_movies: int, min_rating: float | None = None):
        super().__init__(n_users, n_movies)
        self.min_rating = min_rating
        self.register_buffer("counts", torch.zeros(n_movies))

    def fit(self, interactions: RatingTensors) -> "Popularity":
        matrix = interaction_matrix(interactions, self.n_users, self.n_movies, self.min_rating)
        self.counts = torch.from_numpy(np.asarray(matrix.sum(axis=0), dtype=np.float32).ravel())
        return self

    def score_matrix(self, user_idx: torch.Tensor) -> torch.Tensor:
        return self.unknown_last(self.counts.expand(len(user_idx), -1).clone())
