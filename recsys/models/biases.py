"""User and movie biases by alternating least squares: the baselines of item-kNN, and the "biases only"
reference (global mean + b_u + b_m, no embeddings) that the analysis compares every model against and that
a challenger must beat to be promoted."""

import numpy as np
import pandas as pd
import torch

from recsys import columns as C
from recsys.data.tensors import ModelShape
from recsys.data.vocab import fit_vocabulary


def fit_biases(
    users: torch.Tensor,
    movies: torch.Tensor,
    centred: torch.Tensor,
    shape: ModelShape,
    reg_user: float = 15.0,
    reg_movie: float = 10.0,
    iterations: int = 10,
) -> tuple[torch.Tensor, torch.Tensor]:
    """User and movie biases (n_users,), (n_movies,) by alternating ridge regressions on ``centred`` ratings
    (the training mean taken off; ``users`` and ``movies`` are the rows' (N,) indices), as Surprise's ALS
    baselines; ``reg_user`` and ``reg_movie`` are the ridges (pseudo-ratings of 0)."""
    bu = torch.zeros(shape.n_users, dtype=centred.dtype)
    bm = torch.zeros(shape.n_movies, dtype=centred.dtype)
    # ratings per user and movie plus the ridge; clamped so a row without ratings and no ridge gets 0, not 0/0
    user_denominator = (torch.bincount(users, minlength=shape.n_users) + reg_user).clamp(min=1e-12)
    movie_denominator = (torch.bincount(movies, minlength=shape.n_movies) + reg_movie).clamp(min=1e-12)
    for _ in range(iterations):
        bm = torch.zeros_like(bm).index_add(0, movies, centred - bu[users]) / movie_denominator
        bu = torch.zeros_like(bu).index_add(0, users, centred - bm[movies]) / user_denominator
    return bu, bm


def biases_only_predictions(train: pd.DataFrame, rows: pd.DataFrame) -> np.ndarray:
    """Global mean plus user and movie biases, ridge-fitted on ``train``'s ratings, clipped to their range: no
    embeddings. (N,) for the (user_id, movie_id) pairs of ``rows``; an id ``train`` never saw gets bias 0."""
    user_vocab, movie_vocab = fit_vocabulary(train[C.USER_ID]), fit_vocabulary(train[C.MOVIE_ID])
    users = torch.tensor(user_vocab.encode(train[C.USER_ID].to_numpy()))
    movies = torch.tensor(movie_vocab.encode(train[C.MOVIE_ID].to_numpy()))
    ratings = torch.tensor(train[C.RATING].to_numpy(np.float64))
    low, high, mean = float(ratings.min()), float(ratings.max()), float(ratings.mean())
    shape = ModelShape(user_vocab.size, movie_vocab.size, low, high, mean)
    bu, bm = fit_biases(users, movies, ratings - mean, shape)
    u, m = user_vocab.encode(rows[C.USER_ID].to_numpy()), movie_vocab.encode(rows[C.MOVIE_ID].to_numpy())
    return np.clip(mean + bu.numpy()[u] + bm.numpy()[m], low, high)
