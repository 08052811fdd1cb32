"""What every ranker is: built like every model from its config and the data's shape, fitted on interactions
(which movies each user rated, optionally only ratings at or above a threshold, in time order), it scores every
movie_idx for a batch of user_idx, higher first, the unknown movie slot never recommended; it scores a new user
from a list of movies alone (:meth:`Ranker.fold_in`), and saves and loads through its ``state_dict`` like every
model (:mod:`recsys.models.checkpoint`).

Leaving out what a user has already rated is the protocol's job (``exclude`` in
:func:`recsys.evaluation.metrics.recommend.top_n_recommendations`), the same for rankers and rating models.
"""

import numpy as np
import scipy.sparse as sp
import torch
from pydantic import Field
from torch import nn

from recsys.data.tensors import ModelShape, RatingTensors
from recsys.data.vocab import UNKNOWN_IDX
from recsys.strict import StrictConfig


class RankerConfig(StrictConfig):
    """Base of every ranker's config: what counts as an interaction."""

    min_rating: float | None = Field(
        None, description="count only ratings of this or more as interactions (empty: every rating counts)"
    )

    def member_names(self) -> tuple[str, ...]:
        return ()  # no ranker is an ensemble

    def refits_members(self) -> bool:
        return False


def interaction_matrix(interactions: RatingTensors, n_users: int, n_movies: int, min_rating: float | None = None):
    """The users' interactions as a binary (n_users, n_movies) float32 CSR matrix: 1 where the user rated the
    movie (``min_rating`` or more when given); unknown users and movies (index 0) left out."""
    users, movies = interactions.user_idx.numpy(), interactions.movie_idx.numpy()
    keep = (users != UNKNOWN_IDX) & (movies != UNKNOWN_IDX)
    if min_rating is not None:
        keep &= interactions.rating.numpy() >= min_rating
    ones = np.ones(int(keep.sum()), dtype=np.float32)
    matrix = sp.csr_matrix((ones, (users[keep], movies[keep])), shape=(n_users, n_movies), dtype=np.float32)
    matrix.sum_duplicates()
    matrix.data[:] = 1.0  # a pair rated twice counts once
    return matrix


def kept(interactions: RatingTensors, min_rating: float | None) -> RatingTensors:
    """The rows that count as interactions: known user and movie, rating ``min_rating`` or more when given."""
    keep = (interactions.user_idx != UNKNOWN_IDX) & (interactions.movie_idx != UNKNOWN_IDX)
    if min_rating is not None:
        keep &= interactions.rating >= min_rating
    return RatingTensors(interactions.user_idx[keep], interactions.movie_idx[keep], interactions.rating[keep])


class Ranker(nn.Module):
    """Base class of the ranking family: :meth:`fit` on interactions, then :meth:`score_matrix`.

    Rankers that score from a user's own movies (EASE, Mult-VAE, GRU4Rec) keep each user's history, in the
    order it was given, with :meth:`remember_history`; :meth:`history` reads it back."""

    fits_directly = True  # fitted by its own :meth:`fit`, not by the rating trainer's epochs
    sized_buffers: tuple[str, ...] = ()  # buffers whose length depends on the data: resized before loading

    def __init__(self, config: RankerConfig, shape: ModelShape):
        super().__init__()
        self.config, self.shape = config, shape
        self.n_users, self.n_movies = shape.n_users, shape.n_movies

    def fit(self, interactions: RatingTensors, *, seed: int = 0) -> "Ranker":
        """Learn from ``interactions`` (the rows a run may learn from, in time order); returns self."""
        raise NotImplementedError

    def score_matrix(self, user_idx: torch.Tensor) -> torch.Tensor:
        """Scores (U, n_movies) of every movie for each user_idx (U,); -inf for the unknown movie slot."""
        raise NotImplementedError

    def fold_in(self, movie_idx: torch.Tensor, rating: torch.Tensor) -> torch.Tensor:
        """Scores (n_movies,) for a user the ranker never saw, from the movies they rated (in time order) alone."""
        raise NotImplementedError

    def movie_embedding(self) -> torch.Tensor | None:
        """Learned movie vectors (n_movies, d) to compare movies by (``recsys recommend --explain``); None
        without."""
        return None

    def movie_similarity(self, query_idx: torch.Tensor) -> torch.Tensor | None:
        """The ranker's own item-item similarity (Q, n_movies), for one that has it (EASE); None otherwise."""
        return None

    @torch.no_grad()
    def score_pairs(self, user_idx: torch.Tensor, movie_idx: torch.Tensor) -> torch.Tensor:
        """The score (P,) of each (user_idx, movie_idx) pair, from each distinct user's row of scores."""
        users, inverse = torch.unique(torch.as_tensor(user_idx), return_inverse=True)
        return self.score_matrix(users)[inverse, torch.as_tensor(movie_idx)]

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        for name in self.sized_buffers:
            saved = state_dict.get(prefix + name)
            if saved is not None and saved.shape != getattr(self, name).shape:
                setattr(self, name, torch.empty(saved.shape, dtype=saved.dtype))
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @staticmethod
    def unknown_last(scores: torch.Tensor) -> torch.Tensor:
        scores[..., UNKNOWN_IDX] = float("-inf")
        return scores

    # the users' histories, for rankers that score from them
    def keeps_history(self) -> None:
        self.register_buffer("history_ptr", torch.zeros(self.n_users + 1, dtype=torch.long))
        self.register_buffer("history_movies", torch.zeros(0, dtype=torch.long))
        self.sized_buffers = (*self.sized_buffers, "history_movies")

    def remember_history(self, interactions: RatingTensors) -> None:
        """Each user's interacted movies, in the order of ``interactions`` (time order), as CSR rows; a movie
        seen twice is kept at its last place."""
        users, movies = interactions.user_idx.numpy(), interactions.movie_idx.numpy()
        order = np.argsort(users, kind="stable")
        users, movies = users[order], movies[order]
        # a repeated (user, movie) pair keeps its last occurrence
        reversed_keys = (users * self.n_movies + movies)[::-1]
        _, first_from_end = np.unique(reversed_keys, return_index=True)
        last = np.sort(len(users) - 1 - first_from_end)
        users, movies = users[last], movies[last]
        self.history_ptr = torch.from_numpy(np.searchsorted(users, np.arange(self.n_users + 1)).astype(np.int64))
        self.history_movies = torch.from_numpy(movies.astype(np.int64))

    def history(self, user: int) -> torch.Tensor:
        """The movie_idx ``user`` interacted with, in time order."""
        return self.history_movies[self.history_ptr[user] : self.history_ptr[user + 1]]

    def history_rows(self, user_idx: torch.Tensor) -> torch.Tensor:
        """The users' binary interaction rows (U, n_movies) float32."""
        out = torch.zeros(len(user_idx), self.n_movies)
        for row, user in enumerate(user_idx.tolist()):
            out[row, self.history(user)] = 1.0
        return out

    def given_row(self, movie_idx: torch.Tensor, rating: torch.Tensor) -> torch.Tensor:
        """A new user's binary row (1, n_movies) from the movies they rated (those counting as interactions)."""
        row = torch.zeros(1, self.n_movies)
        movies = torch.as_tensor(movie_idx, dtype=torch.long)
        keep = movies != UNKNOWN_IDX
        if self.config.min_rating is not None:
            keep &= torch.as_tensor(rating, dtype=torch.float32) >= self.config.min_rating
        row[0, movies[keep]] = 1.0
        return row
