"""``pop``: the most-popular list, the yardstick of every top-N table: each movie scored by how many users
interacted with it, the same list for everyone (less what each user has seen)."""

import numpy as np
import torch

from recsys.data.tensors import ModelShape, RatingTensors
from recsys.ranking.base import Ranker, RankerConfig, interaction_matrix


class PopularityConfig(RankerConfig):
    """``pop`` has nothing to set but what counts as an interaction."""


class Popularity(Ranker):
    """score(u, m) = number of users who rated m (``min_rating`` or more when given)."""

    def __init__(self, config: PopularityConfig, shape: ModelShape):
        super().__init__(config, shape)
        self.register_buffer("counts", torch.zeros(shape.n_movies))

    def fit(self, interactions: RatingTensors, *, seed: int = 0) -> "Popularity":
        matrix = interaction_matrix(interactions, self.n_users, self.n_movies, self.config.min_rating)
        self.counts = torch.from_numpy(np.asarray(matrix.sum(axis=0), dtype=np.float32).ravel())
        return self

    def score_matrix(self, user_idx: torch.Tensor) -> torch.Tensor:
        return self.unknown_last(self.counts.expand(len(user_idx), -1).clone())

    def fold_in(self, movie_idx: torch.Tensor, rating: torch.Tensor) -> torch.Tensor:
        return self.unknown_last(self.counts.clone())
