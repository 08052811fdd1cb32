"""Item-kNN for large catalogues: each movie keeps only its ``keep`` most similar movies (a sparse table),
computed in blocks of movies, and a prediction reads only those.

A dense movie-by-movie similarity needs ``n_movies²`` floats (14 GB for ml-25m's 59,047 movies). Here the
shrunk Pearson-baseline similarity (as in :mod:`recsys.models.knn`) is computed ``block`` movies at a time
with sparse products of the residual matrix, and only each row's best ``keep`` positive entries are kept:
``keep`` floats and indices per movie. The products cost about the sum over users of their ratings squared,
so a user's ratings beyond ``max_user_ratings`` (a seeded sample of that many is kept) do not enter the
similarity; every rating still enters the baselines and the residuals a prediction averages.

A prediction for (u, m) looks up m's kept neighbours that u rated (one ``searchsorted`` of the batch's
(user, neighbour) keys in the sorted training keys) and averages the residuals of the ``k`` most similar.
"""

import numpy as np
import torch
from scipy import sparse


def top_neighbours(
    user_idx: torch.Tensor,
    movie_idx: torch.Tensor,
    residual: torch.Tensor,
    shape: tuple[int, int],
    shrinkage: float,
    keep: int,
    max_user_ratings: int,
    block: int = 1024,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Row pointers (n_movies + 1,), neighbour movie_idx and similarities of each movie's ``keep`` most similar
    movies (positive similarities only), best first. ``shape`` is (n_users, n_movies)."""
    users, movies, z = _capped(user_idx.numpy(), movie_idx.numpy(), residual.numpy(), max_user_ratings)
    n_users, n_movies = shape
    by_movie = sparse.csr_matrix((z.astype(np.float32), (movies, users)), shape=(n_movies, n_users))
    rated = by_movie.copy()
    rated.data[:] = 1.0
    squared = by_movie.multiply(by_movie).tocsr()
    by_user, rated_t, squared_t = by_movie.T.tocsr(), rated.T.tocsr(), squared.T.tocsr()
    ptr, indices, values = [0], [], []
    for start in range(0, n_movies, block):
        rows = slice(start, min(start + block, n_movies))
        sim = _block_similarity(by_movie[rows], rated[rows], squared[rows], by_user, rated_t, squared_t, shrinkage)
        sim[np.arange(sim.shape[0]), np.arange(rows.start, rows.stop)] = 0.0  # a movie is not its own neighbour
        for row in sim:
            best = _best(row, keep)
            indices.append(best)
            values.append(row[best])
            ptr.append(ptr[-1] + len(best))
    return (
        torch.tensor(ptr, dtype=torch.long),
        torch.from_numpy(np.concatenate(indices).astype(np.int64)),
        torch.from_numpy(np.concatenate(values).astype(np.float32)),
    )


def _capped(users: np.ndarray, movies: np.ndarray, z: np.ndarray, cap: int) -> tuple[np.ndarray, ...]:
    """The ratings, with each user's beyond ``cap`` dropped (a seeded random sample of ``cap`` kept)."""
    counts = np.bincount(users)
    if counts.max(initial=0) <= cap:
        return users, movies, z
    order = np.lexsort((np.random.default_rng(0).random(len(users)), users))
    starts = np.cumsum(counts) - counts
    rank = np.arange(len(order)) - starts[users[order]]
    kept = order[rank < cap]
    return users[kept], movies[kept], z[kept]


def _block_similarity(z, r, sq, z_t, r_t, sq_t, shrinkage: float) -> np.ndarray:
    """Shrunk Pearson-baseline similarity of a block of movies (rows of ``z``) to every movie: (b, n_movies)."""
    dot = (z @ z_t).toarray()  # Σ_u z_bu z_mu over co-raters
    own = (sq @ r_t).toarray()  # Σ over co-raters of z_bu²
    other = (r @ sq_t).toarray()  # Σ over co-raters of z_mu²
    co = (r @ r_t).toarray() - 1.0
    np.clip(co, 0.0, None, out=co)
    sim = dot / np.sqrt(np.maximum(own * other, 1e-12))
    return sim * (co / np.maximum(co + shrinkage, 1e-12))


def _best(row: np.ndarray, keep: int) -> np.ndarray:
    """Indices of the ``keep`` largest positive entries of ``row``, best first (ties: the lower index)."""
    positive = np.flatnonzero(row > 0)
    if len(positive) > keep:
        positive = positive[np.argpartition(-row[positive], keep - 1)[:keep]]
    return positive[np.lexsort((positive, -row[positive]))]


def neighbour_offsets(
    users: torch.Tensor,
    movies: torch.Tensor,
    table: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    rated: tuple[torch.Tensor, torch.Tensor, int],
    k: int,
) -> torch.Tensor:
    """For rows (users (B,), movies (B,)): the similarity-weighted mean residual of the ``k`` most similar of
    each movie's kept neighbours that the user rated (B,); 0 where there is none. ``table`` is (ptr, neighbour,
    similarity); ``rated`` is (sorted keys user * n_movies + movie of the training rows, their residuals,
    n_movies)."""
    ptr, neighbour, similarity = table
    keys, residuals, n_movies = rated
    width = int((ptr[1:] - ptr[:-1]).max()) if len(ptr) > 1 else 0
    if width == 0 or len(keys) == 0:
        return torch.zeros(len(users))
    slots = ptr[movies][:, None] + torch.arange(width)[None, :]  # (B, width)
    inside = slots < ptr[movies + 1][:, None]
    slots = slots.clamp(max=len(neighbour) - 1)
    wanted = users[:, None] * n_movies + neighbour[slots]  # (B, width)
    found = torch.searchsorted(keys, wanted).clamp(max=len(keys) - 1)
    hit = inside & (keys[found] == wanted)
    s = torch.where(hit, similarity[slots], torch.full_like(similarity[slots], -1.0))
    top, best = s.topk(min(k, width), dim=1)
    weights = top.clamp(min=0)
    total = weights.sum(1)
    values = residuals[torch.gather(found, 1, best)]
    return (weights * values).sum(1) / total.clamp(min=1e-9) * (total > 0)
