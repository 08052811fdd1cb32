"""Top-n recommendation lists from a rating model: score every movie for a batch of users, leave out the
unknown slot (movie_idx 0) and the movies each user rated in training, keep the n best.

Scoring goes a chunk of users at a time, so memory stays at ``batch_users * n_movies`` scores whatever the
number of users. Ties in score go to the lower movie_idx, so the lists do not depend on the device.
"""

from collections.abc import Callable, Mapping
from itertools import chain

import numpy as np
import torch
from torch import nn

from recsys.data.vocab import UNKNOWN_IDX
from recsys.evaluation.metrics.checks import require_positive_int

ScoreFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (user_idx (P,), movie_idx (P,)) -> scores (P,)


def rated_movies(user_idx, movie_idx) -> dict[int, np.ndarray]:
    """The sorted distinct movie_idx each user_idx rated, from aligned (N,) training arrays."""
    users, movies = np.asarray(user_idx, dtype=np.int64), np.asarray(movie_idx, dtype=np.int64)
    if users.shape != movies.shape or users.ndim != 1:
        raise ValueError(f"user_idx {users.shape} and movie_idx {movies.shape} must be aligned (N,) arrays")
    if len(users) == 0:
        return {}
    if users.min() < 0 or movies.min() < 0:
        raise ValueError("user_idx and movie_idx must be vocabulary indices (0 or more)")
    # one int64 key per pair, sorted by user then movie: a row-wise np.unique of the (N, 2) pairs sorts them as
    # structured records, several copies of 22.5M pairs for a 25M-rating release
    width = int(movies.max()) + 1
    pairs = np.unique(users * width + movies)  # (P,)
    pair_users, pair_movies = np.divmod(pairs, width)
    keys, starts = np.unique(pair_users, return_index=True)
    return {int(u): part for u, part in zip(keys, np.split(pair_movies, starts[1:]), strict=True)}


def rated_by(exclude, user: int, n_movies: int) -> np.ndarray:
    """The movie_idx ``user`` rated, from a mapping user_idx -> movie_idx or a CSR matrix (users as rows);
    a user the mapping lacks rated nothing."""
    if hasattr(exclude, "indptr"):  # scipy.sparse CSR, read without importing scipy
        inside = user + 1 < len(exclude.indptr)
        rated = exclude.indices[exclude.indptr[user] : exclude.indptr[user + 1]] if inside else []
    elif isinstance(exclude, Mapping):
        rated = exclude.get(user, [])
    else:
        raise ValueError(f"exclude must be a mapping user_idx -> movie_idx or a CSR matrix, got {type(exclude)}")
    rated = np.asarray(rated, dtype=np.int64)
    if len(rated) and (rated.min() < 0 or rated.max() >= n_movies):
        raise ValueError(f"user_idx {user} has rated movie_idx outside 0..{n_movies - 1}: ids instead of indices?")
    return rated


def exclusion_mask(users: np.ndarray, exclude, n_movies: int) -> torch.Tensor:
    """(B, n_movies) bool: True where a movie may not be recommended (slot 0 and the user's rated ones)."""
    mask = np.zeros((len(users), n_movies), dtype=bool)
    mask[:, UNKNOWN_IDX] = True
    for row, user in enumerate(users):
        mask[row, rated_by(exclude, int(user), n_movies)] = True
    return torch.from_numpy(mask)


def module_device(module: nn.Module) -> torch.device:
    """Where a model's tensors are: a model without parameters (a lookup table, a blend) still holds its
    buffers on its device."""
    return next(chain(module.parameters(), module.buffers()), torch.empty(0)).device


@torch.no_grad()
def score_all(score_fn: ScoreFn, users: np.ndarray, n_movies: int, device: torch.device) -> torch.Tensor:
    """Scores (B, n_movies) float of every movie_idx for each of ``users`` (B,); through the model's own
    ``score_matrix`` where it has one (a factor model scores all movies with one matrix product)."""
    if hasattr(score_fn, "score_matrix"):
        scores = score_fn.score_matrix(torch.as_tensor(users, device=device))
    else:
        user_idx = torch.as_tensor(users, device=device).repeat_interleave(n_movies)  # (B * n_movies,)
        movie_idx = torch.arange(n_movies, device=device).repeat(len(users))  # (B * n_movies,)
        scores = score_fn(user_idx, movie_idx).reshape(len(users), n_movies)
    if torch.isnan(scores).any():
        raise ValueError(f"the model scored {int(torch.isnan(scores).sum())} user-movie pairs as NaN")
    return scores


def top_columns(scores: torch.Tensor, n: int) -> torch.Tensor:
    """Columns (B, n) of the n highest ``scores`` (B, M) per row, best first; ties go to the lower column."""
    threshold = torch.topk(scores, n, dim=1).values[:, -1:]  # (B, 1): the n-th highest score
    above, at = scores > threshold, scores == threshold  # (B, M) each
    room = n - above.sum(dim=1, keepdim=True)  # (B, 1): places left for the ties at the threshold
    chosen = above | (at & (torch.cumsum(at, dim=1) <= room))  # (B, M): exactly n per row
    cols = chosen.nonzero()[:, 1].reshape(len(scores), n)  # (B, n), ascending
    order = torch.sort(torch.gather(scores, 1, cols), dim=1, descending=True, stable=True).indices
    return torch.gather(cols, 1, order)


def top_n_batch(score_fn: ScoreFn, users: np.ndarray, n_movies: int, exclude, n: int, device) -> np.ndarray:
    """The top-n movie_idx (B, n) of one chunk of users (B,)."""
    scores = score_all(score_fn, users, n_movies, device)
    scores = scores.masked_fill(exclusion_mask(users, exclude, n_movies).to(device), float("-inf"))
    short = torch.isinf(torch.topk(scores, n, dim=1).values[:, -1]).cpu().numpy()  # (B,)
    if short.any():
        raise ValueError(f"user_idx {int(users[short][0])} has fewer than n={n} movies left to recommend")
    return top_columns(scores, n).cpu().numpy().astype(np.int64)


def top_n_recommendations(
    score_fn: ScoreFn, users_idx, n_movies: int, exclude, *, n: int = 10, batch_users: int = 64
) -> np.ndarray:
    """The ``n`` best-scored movie_idx for each of ``users_idx`` (U,): an int64 (U, n) array, best first.

    ``score_fn`` maps user_idx (P,) and movie_idx (P,) int64 tensors to scores (P,); a
    :class:`~recsys.models.base.RatingModel` is one (it is put in eval mode and fed on its own device).
    Movies 1..n_movies-1 are candidates, less those ``exclude`` lists for the user: a mapping user_idx ->
    movie_idx (see :func:`rated_movies`) or a CSR matrix with users as rows. Scoring takes ``batch_users``
    users at a time. Raises if a user has fewer than ``n`` candidates or a score is NaN.
    """
    users = np.asarray(users_idx, dtype=np.int64)
    if users.ndim != 1:
        raise ValueError(f"users_idx must be one-dimensional, got shape {users.shape}")
    n, batch_users = require_positive_int(n, "n"), require_positive_int(batch_users, "batch_users")
    n_movies = require_positive_int(n_movies, "n_movies")
    device = torch.device("cpu")
    if isinstance(score_fn, nn.Module):
        score_fn.eval()
        device = module_device(score_fn)
    parts = [
        top_n_batch(score_fn, users[start : start + batch_users], n_movies, exclude, n, device)
        for start in range(0, len(users), batch_users)
    ]
    return np.concatenate(parts) if parts else np.zeros((0, n), dtype=np.int64)
