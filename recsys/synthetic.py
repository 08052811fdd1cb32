"""Synthetic MovieLens-shaped data, generated from the declared schema, for tests and benchmarks.

Users and movies get long-tailed activity and popularity (Zipf-like weights); ratings come from a
hidden low-rank taste model plus noise, rounded to half stars, so models have something to learn.
"""

import numpy as np
import pandas as pd

from recsys import columns as C
from recsys.schema import TIMESTAMP_MIN

GENRE_NAMES = [
    "Action",
    "Adventure",
    "Animation",
    "Children",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
]


def make_movies(n_movies: int, seed: int) -> pd.DataFrame:
    """``n_movies`` movies (movie_id 1..n, title ending in the release year, year, genres as a list of 1 to 3)."""
    rng = np.random.default_rng(seed)
    years = rng.integers(1930, 2016, n_movies)
    genres = [sorted(rng.choice(GENRE_NAMES, size=rng.integers(1, 4), replace=False).tolist()) for _ in range(n_movies)]
    return pd.DataFrame(
        {
            C.MOVIE_ID: np.arange(1, n_movies + 1, dtype=np.int64),
            C.TITLE: [f"Movie {i} ({y})" for i, y in zip(range(1, n_movies + 1), years, strict=True)],
            C.YEAR: pd.array(years, dtype="Int64"),
            C.GENRES: genres,
        }
    )


def make_ratings(n_users: int, n_movies: int, n_ratings: int, seed: int, rank: int = 3) -> pd.DataFrame:
    """About ``n_ratings`` unique (user, movie) ratings in half stars, with long-tailed activity."""
    rng = np.random.default_rng(seed)
    user_w = 1.0 / np.arange(1, n_users + 1) ** 0.8
    movie_w = 1.0 / np.arange(1, n_movies + 1) ** 0.9
    users = rng.choice(n_users, size=n_ratings, p=user_w / user_w.sum())
    movies = rng.choice(n_movies, size=n_ratings, p=movie_w / movie_w.sum())
    pairs = np.unique(np.stack([users, movies], axis=1), axis=0)
    u, m = pairs[:, 0], pairs[:, 1]
    taste_u, taste_m = rng.normal(size=(n_users, rank)), rng.normal(size=(n_movies, rank))
    bias_m = rng.normal(0, 0.5, n_movies)
    raw = 3.5 + bias_m[m] + 0.4 * (taste_u[u] * taste_m[m]).sum(1) + rng.normal(0, 0.5, len(u))
    rating = np.clip(np.round(raw * 2) / 2, 0.5, 5.0)
    timestamp = TIMESTAMP_MIN + rng.integers(0, 600_000_000, len(u))
    return pd.DataFrame({C.USER_ID: u + 1, C.MOVIE_ID: m + 1, C.RATING: rating, C.TIMESTAMP: timestamp})
