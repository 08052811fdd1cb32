"""Beyond accuracy: how much of the catalogue the recommendation lists use, how popular and how novel their
movies are, and how evenly they spread exposure. The catalogue is the movies with at least one training
rating (movie_idx 1 and up; slot 0 is the unknown movie)."""

import numpy as np

from recsys.data.vocab import UNKNOWN_IDX
from recsys.evaluation.metrics.checks import require_positive_int


def movie_popularity(movie_idx, n_movies: int) -> np.ndarray:
    """Training ratings per movie_idx: int64 (n_movies,), from the training rows' movie_idx (N,)."""
    movies = np.asarray(movie_idx, dtype=np.int64)
    if len(movies) and (movies.min() < 0 or movies.max() >= n_movies):
        raise ValueError(f"movie_idx outside 0..{n_movies - 1}")
    return np.bincount(movies, minlength=n_movies)


def gini(values) -> float:
    """Gini coefficient of non-negative ``values`` (m,): 0 when all are equal, (m - 1) / m when a single one
    holds everything (the plain sample form sum_i (2i - m - 1) x_(i) / (m sum x), x sorted, i from 1)."""
    x = np.sort(np.asarray(values, dtype=np.float64))
    if len(x) == 0 or (x < 0).any() or x.sum() == 0:
        raise ValueError("gini needs at least one value, none negative, not all zero")
    ranks = np.arange(1, len(x) + 1)
    return float(np.sum((2 * ranks - len(x) - 1) * x) / (len(x) * x.sum()))


def check_recommendations(recommended: np.ndarray, popularity: np.ndarray, n_users_total: int) -> None:
    """Raise unless the lists (U, n) name catalogue movies and the counts are possible for that many users."""
    if recommended.ndim != 2 or recommended.size == 0 or not np.issubdtype(recommended.dtype, np.integer):
        raise ValueError(f"recommended must be a non-empty (users, n) array of movie_idx, got {recommended.shape}")
    if popularity.ndim != 1 or (popularity < 0).any() or popularity.max() > n_users_total:
        raise ValueError(f"popularity must be (n_movies,) training counts between 0 and {n_users_total} users")
    outside = (recommended <= UNKNOWN_IDX) | (recommended >= len(popularity))
    if outside.any():
        raise ValueError(f"recommended movie_idx {int(recommended[outside][0])} is the unknown slot or out of range")
    unrated = popularity[recommended] == 0
    if unrated.any():
        raise ValueError(f"recommended movie_idx {int(recommended[unrated][0])} has no training rating")


def diversity_metrics(recommended, popularity, n_users_total: int) -> dict[str, float | int]:
    """Beyond-accuracy metrics of recommendation lists ``recommended`` (U, n) movie_idx, given the training
    ratings per movie ``popularity`` (n_movies,) (see :func:`movie_popularity`) and the number of training
    users ``n_users_total``.

    Returns ``coverage`` (distinct recommended movies / catalogue movies), ``n_recommended`` and
    ``n_catalogue`` (those two counts), ``mean_popularity`` (mean training ratings per recommended slot),
    ``novelty`` (mean self-information -log2 p(i) in bits, p(i) = training ratings of i / n_users_total, the
    share of users who rated it), and ``gini`` of exposure: how often each catalogue movie is recommended,
    never-recommended ones included (0: equal exposure, (m - 1) / m: all on one of m movies). A recommended
    movie outside the catalogue raises, so p(i) is never 0.
    """
    n_users_total = require_positive_int(n_users_total, "n_users_total")
    recs, pop = np.asarray(recommended), np.asarray(popularity)
    check_recommendations(recs, pop, n_users_total)
    in_catalogue = pop > 0
    in_catalogue[UNKNOWN_IDX] = False  # (n_movies,)
    exposure = np.bincount(recs.ravel(), minlength=len(pop))  # (n_movies,): times each movie is recommended
    n_recommended, n_catalogue = int((exposure > 0).sum()), int(in_catalogue.sum())
    return {
        "coverage": n_recommended / n_catalogue,
        "n_recommended": n_recommended,
        "n_catalogue": n_catalogue,
        "mean_popularity": float(pop[recs].mean()),
        "novelty": float(np.mean(-np.log2(pop[recs] / n_users_total))),
        "gini": gini(exposure[in_catalogue]),
    }
