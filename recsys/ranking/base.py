"""What every ranker is: fitted on interactions (which movies each user rated, optionally only ratings at or
above a threshold), it scores every movie_idx for a batch of user_idx, higher first, the unknown movie slot
never recommended; saved and loaded through its ``state_dict`` like every model."""

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from recsys.data.tensors import RatingTensors
from recsys.data.vocab import UNKNOWN_IDX


def interaction_matrix(interactions: RatingTensors, n_users: int, n_movies: int, min_rating: float | None = None):
    """The users' interactions as a binary (n_users, n_movies) float32 CSR matrix: 1 where the user rated the
    movie (``min_rating`` or more when given); unknown users and movies (index 0) left out."""
    users, movies = interactions.user_idx.numpy(), interactions.movie_idx.numpy()
    keep = (users != UNKNOWN_IDX) & (movies != UNKNOWN_IDX)
    if min_rating is not None:
        keep &= interactions.rating.numpy() >= min_rating
    ones = np.ones(int(keep.sum()), dtype=np.float32)
    matrix = sp.csr_matrix((ones, (users[keep], movies[keep])), shape=(n_users, n_movies), dtype=np.float32)
    matrix.data[:] = 1.0  # a pair rated twice counts once
    return matrix


class Ranker(nn.Module):
    """Base class of the ranking family: :meth:`fit` on interactions, then :meth:`score_matrix`."""

    def __init__(self, n_users: int, n_movies: int):
        super().__init__()
        self.n_users, self.n_movies = n_users, n_movies

    def fit(self, interactions: RatingTensors) -> "Ranker":
        """Learn from ``interactions`` (the rows a run may learn from); returns self."""
        raise NotImplementedError

    def score_matrix(self, user_idx: torch.Tensor) -> torch.Tensor:
        """Scores (U, n_movies) of every movie for each user_idx (U,); -inf for the unknown movie slot."""
        raise NotImplementedError

    sized_buffers: tuple[str, ...] = ()  # buffers whose length depends on the data: resized before loading

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        for name in self.sized_buffers:
            saved = state_dict.get(prefix + name)
            if saved is not None and saved.shape != getattr(self, name).shape:
                setattr(self, name, torch.empty(saved.shape, dtype=saved.dtype))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @staticmethod
    def unknown_last(scores: torch.Tensor) -> torch.Tensor:
        scores[:, UNKNOWN_IDX] = float("-inf")
        return scores
