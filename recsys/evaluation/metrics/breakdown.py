"""Error metrics broken down by how much the training rows know about a test row's user (activity: how many
training ratings the user has) and movie (popularity: how many training ratings the movie has). Bucket 0 is
the cold start: a user or movie the training rows never showed, which the model predicts from its unknown
slot (see :mod:`recsys.data.vocab`)."""

from collections.abc import Sequence

import numpy as np
import pandas as pd

from recsys import columns as C
from recsys.data.vocab import fit_vocabulary
from recsys.evaluation.metrics.checks import as_predictions, as_ratings, require_columns

# lower bounds of the buckets: 0 (cold), 1-19, 20-49, 50-199, 200+ training ratings of the user
USER_ACTIVITY_EDGES = (0, 1, 20, 50, 200)
# 0 (cold), 1-4, 5-19, 20-99, 100+ training ratings of the movie
MOVIE_POPULARITY_EDGES = (0, 1, 5, 20, 100)

BREAKDOWN_COLUMNS = ["dimension", "bucket", "n", "mse", "rmse", "mae"]


def bucket_labels(edges: Sequence[int]) -> list[str]:
    """Labels of the buckets whose lower bounds are ``edges``: ``"0"``, ``"1-19"``, ..., ``"200+"``."""
    bounds = [int(e) for e in edges]
    if not bounds or bounds[0] != 0 or any(b <= a for a, b in zip(bounds, bounds[1:], strict=False)):
        raise ValueError(f"edges must start at 0 and increase strictly, got {list(edges)}")
    labels = [str(lo) if hi == lo + 1 else f"{lo}-{hi - 1}" for lo, hi in zip(bounds, bounds[1:], strict=False)]
    return [*labels, f"{bounds[-1]}+"]


def activity_buckets(counts, edges: Sequence[int] = USER_ACTIVITY_EDGES) -> pd.Categorical:
    """The bucket of each count (N,) of training ratings, as an ordered categorical (N,) whose categories
    are :func:`bucket_labels` of ``edges`` (lower bounds; the last bucket is open-ended)."""
    labels = bucket_labels(edges)
    counts = np.asarray(counts)
    if counts.ndim != 1 or not np.issubdtype(counts.dtype, np.integer) or (counts < 0).any():
        raise ValueError("counts must be a one-dimensional array of non-negative whole numbers")
    codes = np.searchsorted(np.asarray(edges), counts, side="right") - 1  # (N,) position of the bucket
    return pd.Categorical.from_codes(codes, categories=labels, ordered=True)


def training_counts(ids: pd.Series, train_ids: pd.Series) -> np.ndarray:
    """How many times each of ``ids`` (N,) occurs among ``train_ids``: int64 (N,), 0 for an id never seen."""
    vocab = fit_vocabulary(train_ids)
    per_idx = np.bincount(vocab.encode(train_ids.to_numpy()), minlength=vocab.size)  # slot 0 stays 0: cold
    return per_idx[vocab.encode(ids.to_numpy())]


def bucket_errors(err: np.ndarray, buckets: pd.Categorical, dimension: str) -> pd.DataFrame:
    """n, mse, rmse and mae of the errors (N,) in every bucket, empty ones included (n 0, metrics NaN)."""
    frame = pd.DataFrame({"bucket": buckets, "sq": err**2, "abs": np.abs(err)})
    out = frame.groupby("bucket", observed=False).agg(n=("sq", "size"), mse=("sq", "mean"), mae=("abs", "mean"))
    out = out.reset_index().assign(dimension=dimension, rmse=lambda f: np.sqrt(f["mse"]))
    return out.assign(bucket=out["bucket"].astype(str))[BREAKDOWN_COLUMNS]


def breakdown_metrics(
    frame: pd.DataFrame,
    y_pred,
    train: pd.DataFrame,
    *,
    user_edges: Sequence[int] = USER_ACTIVITY_EDGES,
    movie_edges: Sequence[int] = MOVIE_POPULARITY_EDGES,
) -> pd.DataFrame:
    """Errors of ``y_pred`` (N,), aligned with the rows of ``frame`` (user_id, movie_id, rating), per
    user-activity and per movie-popularity bucket, counted on the ``train`` rows (user_id, movie_id).

    A tidy frame with columns dimension (``"user_activity"`` or ``"movie_popularity"``), bucket (labels of
    :func:`bucket_labels`, in order), n, mse, rmse, mae. Every bucket gets a row, so tables of different
    runs line up; an empty bucket has n 0 and NaN metrics.
    """
    require_columns(frame, [C.USER_ID, C.MOVIE_ID, C.RATING], "the scored frame")
    require_columns(train, [C.USER_ID, C.MOVIE_ID], "the training frame")
    y_true = as_ratings(frame[C.RATING].to_numpy())
    err = as_predictions(y_true, y_pred) - y_true  # (N,)
    users = activity_buckets(training_counts(frame[C.USER_ID], train[C.USER_ID]), user_edges)
    movies = activity_buckets(training_counts(frame[C.MOVIE_ID], train[C.MOVIE_ID]), movie_edges)
    parts = [bucket_errors(err, users, "user_activity"), bucket_errors(err, movies, "movie_popularity")]
    return pd.concat(parts, ignore_index=True)
