"""Feature tables for the models, built from the training rows only and keyed by embedding index.

- movie features (one row per ``movie_idx``, row 0 the unknown slot): genres multi-hot, release year and its
  bucket, popularity (training ratings, and their log), mean training rating;
- user features (one row per ``user_idx``): training ratings, mean rating, and a genre affinity per genre: the
  user's mean deviation from their own mean on that genre, shrunk towards 0 for few ratings;
- crossed user-by-genre features for the wide part of Wide & Deep, hashed into a fixed number of buckets.

Nothing here reads validation or test rows: a movie seen only in test gets the unknown slot's zeros.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys import columns as C
from recsys.data.vocab import Vocabulary

YEAR_EDGES = (1930, 1950, 1960, 1970, 1980, 1990, 1995, 2000, 2005, 2010, 2015)  # bucket 0: year unknown
AFFINITY_SHRINK = 5.0  # pseudo-ratings at zero deviation added to each user-genre mean


@dataclass(frozen=True)
class FeatureTables:
    genres: tuple[str, ...]  # the genre vocabulary: column j of the multi-hot is genres[j]
    movie_features: pd.DataFrame  # indexed by movie_idx 0..n_movies-1
    user_features: pd.DataFrame  # indexed by user_idx 0..n_users-1

    def genre_matrix(self) -> np.ndarray:
        """(n_movies, n_genres) float32 multi-hot genres, row 0 (unknown movie) all zeros."""
        return self.movie_features[[f"genre:{g}" for g in self.genres]].to_numpy(np.float32)

    @classmethod
    def from_frames(cls, movie_features: pd.DataFrame, user_features: pd.DataFrame) -> "FeatureTables":
        """Tables read back from Parquet; the genre vocabulary is in the column names."""
        genres = tuple(c.split(":", 1)[1] for c in movie_features.columns if c.startswith("genre:"))
        return cls(genres, movie_features, user_features)


def build_features(
    train: pd.DataFrame, movies: pd.DataFrame, user_vocab: Vocabulary, movie_vocab: Vocabulary
) -> FeatureTables:
    """Feature tables from the training ratings ``train`` and the movies table (movie_id, year, genres)."""
    genres = tuple(sorted({g for gs in movies[C.GENRES] for g in gs}))
    movie_table = _movie_features(train, movies, movie_vocab, genres)
    genre_of = movie_table[[f"genre:{g}" for g in genres]].to_numpy(np.float32)
    return FeatureTables(genres, movie_table, _user_features(train, user_vocab, movie_vocab, genre_of, genres))


def _movie_features(train: pd.DataFrame, movies: pd.DataFrame, movie_vocab: Vocabulary, genres: tuple[str, ...]):
    n = movie_vocab.size
    info = movies.set_index(C.MOVIE_ID).reindex(movie_vocab.ids)  # known movies in index order
    multi_hot = np.zeros((n, len(genres)), dtype=np.uint8)
    position = {g: j for j, g in enumerate(genres)}
    for row, gs in enumerate(info[C.GENRES].tolist(), start=1):
        for g in gs if isinstance(gs, list | np.ndarray) else []:
            multi_hot[row, position[g]] = 1
    year = np.zeros(n, dtype=np.int64)
    year[1:] = info[C.YEAR].astype("Int64").fillna(0).to_numpy(np.int64)
    idx = movie_vocab.encode(train[C.MOVIE_ID].to_numpy())
    count = np.bincount(idx, minlength=n)
    total = np.bincount(idx, weights=train[C.RATING].to_numpy(), minlength=n)
    count[0], total[0] = 0, 0.0
    frame = pd.DataFrame(
        {
            C.MOVIE_IDX: np.arange(n),
            C.YEAR: year,
            "year_bucket": year_bucket(year),
            "popularity": count,
            "log_popularity": np.log1p(count),
            "mean_rating": np.where(count > 0, total / np.maximum(count, 1), np.nan),
        }
    )
    genre_columns = pd.DataFrame(multi_hot, columns=[f"genre:{g}" for g in genres])
    return pd.concat([frame, genre_columns], axis=1)


def _user_features(
    train: pd.DataFrame, user_vocab: Vocabulary, movie_vocab: Vocabulary, genre_of: np.ndarray, genres: tuple[str, ...]
) -> pd.DataFrame:
    n = user_vocab.size
    u = user_vocab.encode(train[C.USER_ID].to_numpy())
    m = movie_vocab.encode(train[C.MOVIE_ID].to_numpy())
    r = train[C.RATING].to_numpy()
    count = np.bincount(u, minlength=n)
    mean = np.bincount(u, weights=r, minlength=n) / np.maximum(count, 1)
    deviation = r - mean[u]
    affinity = np.stack(
        [
            np.bincount(u, weights=genre_of[m, j] * deviation, minlength=n)
            / (np.bincount(u, weights=genre_of[m, j], minlength=n) + AFFINITY_SHRINK)
            for j in range(genre_of.shape[1])
        ],
        axis=1,
    )
    frame = pd.DataFrame(
        {C.USER_IDX: np.arange(n), "n_ratings": count, "mean_rating": np.where(count > 0, mean, np.nan)}
    )
    return pd.concat([frame, pd.DataFrame(affinity, columns=[f"affinity:{g}" for g in genres])], axis=1)


def year_bucket(year: np.ndarray) -> np.ndarray:
    """Bucket index of each year: 0 for unknown (0), then 1.. by :data:`YEAR_EDGES`."""
    return np.where(year > 0, np.searchsorted(YEAR_EDGES, year, side="right") + 1, 0)


def cross_user_genre(user_idx, genre_idx, n_buckets: int):
    """Hashed bucket of each (user, genre) pair, in [0, n_buckets): the wide part's crossed feature.
    Works on int64 numpy arrays and torch tensors alike (the model computes it per batch)."""
    return ((user_idx * 1_000_003 + genre_idx * 7_919) ^ 0x5BD1E995) % n_buckets
