"""User and movie biases by alternating least squares: the baselines of item-kNN, and the "biases only"
reference (global mean + b_u + b_m, no embeddings) that the analysis compares every model against."""

import torch

from recsys.data.tensors import ModelShape


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
