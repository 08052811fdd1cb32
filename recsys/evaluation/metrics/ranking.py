"""Ranking quality of predicted ratings on held-out rows: for each user, rank that user's test rows by
predicted rating and ask whether the relevant ones (rating at least ``relevant_at``) come first.

Conventions: ties in prediction go to the lower movie_id, so results do not depend on row order.
precision@k divides the relevant rows among the user's top k by min(k, rows of the user), so a user with
fewer than k test rows can still reach 1. recall@k and NDCG@k (binary gains, discount 1/log2(rank + 1),
rank from 1, against the ideal ordering) are averaged over the users with at least one relevant row; the
others are counted in ``n_users_without_relevant``. Every mean gives each user equal weight.
"""

import numpy as np
import pandas as pd

from recsys import columns as C
from recsys.evaluation.metrics.checks import as_predictions, as_ratings, require_columns, require_positive_int


def ranked_rows(frame: pd.DataFrame, y_pred: np.ndarray, relevant_at: float) -> pd.DataFrame:
    """The rows sorted by user, then best predicted first (ties: lower movie_id), with their 0-based
    ``rank`` within the user and whether each is ``relevant``."""
    rows = pd.DataFrame(
        {
            C.USER_ID: frame[C.USER_ID].to_numpy(),
            C.MOVIE_ID: frame[C.MOVIE_ID].to_numpy(),
            "relevant": frame[C.RATING].to_numpy(dtype=np.float64) >= relevant_at,
            C.PREDICTION: y_pred,
        }
    )
    rows = rows.sort_values([C.USER_ID, C.PREDICTION, C.MOVIE_ID], ascending=[True, False, True], kind="stable")
    return rows.assign(rank=rows.groupby(C.USER_ID, sort=False).cumcount().to_numpy())


def per_user_counts(rows: pd.DataFrame, k: int) -> pd.DataFrame:
    """Per user: test rows, relevant rows, relevant rows in the top k (hits) and their DCG."""
    top = rows["relevant"] & (rows["rank"] < k)
    gains = top / np.log2(rows["rank"].to_numpy() + 2.0)  # (N,): 1/log2(position + 1), position from 1
    per_row = pd.DataFrame({C.USER_ID: rows[C.USER_ID], "relevant": rows["relevant"], "hit": top, "dcg": gains})
    return per_row.groupby(C.USER_ID).agg(
        n_rows=("hit", "size"), n_relevant=("relevant", "sum"), hits=("hit", "sum"), dcg=("dcg", "sum")
    )


def ideal_dcg(n_relevant: np.ndarray, k: int) -> np.ndarray:
    """DCG (U,) of the ideal ordering: min(k, relevant) ones first; 0 for users without relevant rows."""
    cumulative = np.concatenate([[0.0], np.cumsum(1 / np.log2(np.arange(k) + 2.0))])  # (k + 1,)
    return cumulative[np.minimum(n_relevant, k)]


def ranking_metrics(frame: pd.DataFrame, y_pred, k: int = 10, relevant_at: float = 4.0) -> dict[str, float | int]:
    """Mean precision@k, recall@k and NDCG@k of ranking each user's rows of ``frame`` (user_id, movie_id,
    rating) by ``y_pred`` (N,), aligned with the rows; see the module docstring for the conventions.

    Returns ``precision``, ``recall``, ``ndcg`` (NaN when no user has a relevant row), ``k``, ``n_users``
    (users with test rows) and ``n_users_without_relevant`` (left out of recall and NDCG).
    """
    require_columns(frame, [C.USER_ID, C.MOVIE_ID, C.RATING], "the scored frame")
    y_pred = as_predictions(as_ratings(frame[C.RATING].to_numpy()), y_pred)
    k = require_positive_int(k, "k")
    users = per_user_counts(ranked_rows(frame, y_pred, relevant_at), k)
    precision = users["hits"] / np.minimum(users["n_rows"], k)
    with_relevant = users[users["n_relevant"] > 0]
    recall = with_relevant["hits"] / with_relevant["n_relevant"]
    ndcg = with_relevant["dcg"] / ideal_dcg(with_relevant["n_relevant"].to_numpy(), k)
    return {
        "precision": float(precision.mean()),
        "recall": float(recall.mean()) if len(with_relevant) else float("nan"),
        "ndcg": float(ndcg.mean()) if len(with_relevant) else float("nan"),
        "k": k,
        "n_users": len(users),
        "n_users_without_relevant": len(users) - len(with_relevant),
    }
