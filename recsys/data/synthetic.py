"""Synthetic MovieLens-shaped data, generated from the declared schema, for tests and benchmarks.

Users and movies get long-tailed activity and popularity (Zipf-like weights); ratings come from a
hidden low-rank taste model plus noise, rounded to half stars, so models have something to learn.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from recsys import columns as C
from recsys.data.releases import ML100K_GENRES, NO_GENRES
from recsys.data.schema import TIMESTAMP_MIN

GENRE_NAMES = [g for g in ML100K_GENRES if g not in NO_GENRES]  # the 18 genres MovieLens uses


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


def write_large_release(
    folder: Path, n_ratings: int, n_users: int, n_movies: int, seed: int, chunk: int = 5_000_000
) -> Path:
    """A release in the real CSV layout with exactly ``n_ratings`` unique ratings, long-tailed user activity
    and movie popularity (ml-25m: 25,000,095 ratings, 162,541 users, 59,047 movies), written in chunks."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from recsys.data import io

    folder.mkdir(parents=True, exist_ok=True)
    io.write_release_csv(folder, make_ratings(2, 2, 1, seed).head(0), make_movies(n_movies, seed))
    options = pacsv.WriteOptions(include_header=False)
    with open(folder / "ratings.csv", "ab") as out:
        for part in large_rating_chunks(n_ratings, n_users, n_movies, seed, chunk):
            table = pa.table(
                {"userId": part[C.USER_ID], "movieId": part[C.MOVIE_ID]}
                | {"rating": part[C.RATING], "timestamp": part[C.TIMESTAMP]}
            )
            pacsv.write_csv(table, out, write_options=options)
    return folder


def large_rating_chunks(n_ratings: int, n_users: int, n_movies: int, seed: int, chunk: int = 5_000_000):
    """The ratings of :func:`write_large_release` as frames of ``chunk`` rows (our column names), in order."""
    keys = _unique_pairs(n_ratings, n_users, n_movies, seed)
    rng = np.random.default_rng(seed + 1)
    bias = rng.normal(0, 0.5, n_movies)
    for start in range(0, n_ratings, chunk):
        part = keys[start : start + chunk]
        users, movies = part // n_movies, part % n_movies
        rating = np.clip(np.round((3.5 + bias[movies] + rng.normal(0, 0.9, len(part))) * 2) / 2, 0.5, 5.0)
        stamps = TIMESTAMP_MIN + rng.integers(0, 750_000_000, len(part))
        yield pd.DataFrame({C.USER_ID: users + 1, C.MOVIE_ID: movies + 1, C.RATING: rating, C.TIMESTAMP: stamps})


def _unique_pairs(n: int, n_users: int, n_movies: int, seed: int) -> np.ndarray:
    """``n`` distinct user*n_movies+movie keys, sorted by user (as GroupLens files are), Zipf-like weights."""
    rng = np.random.default_rng(seed)
    user_w, movie_w = 1.0 / np.arange(1, n_users + 1) ** 0.6, 1.0 / np.arange(1, n_movies + 1) ** 0.9
    keys = np.empty(0, dtype=np.int64)
    while len(keys) < n:
        draw = int((n - len(keys)) * 1.3) + 1000
        users = rng.choice(n_users, size=draw, p=user_w / user_w.sum())
        movies = rng.choice(n_movies, size=draw, p=movie_w / movie_w.sum())
        keys = np.unique(np.concatenate([keys, users.astype(np.int64) * n_movies + movies]))
    return np.sort(rng.choice(keys, size=n, replace=False))
