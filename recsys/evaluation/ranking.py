"""The one top-N protocol, for a ranker or any score provider with ``score_matrix``: every eligible user (one
with a held-out movie rated ``relevant_at`` or more), the whole catalogue less the movies the user's known rows
hold (``exclude``), relevant = the held-out movies rated ``relevant_at`` or more. Precision@10, recall@10 and
@20, NDCG@10, MAP@10 and hit rate@10, each with an interval from a bootstrap over users (a user's movies are
not independent draws, so users are what is resampled), and the coverage and novelty of the top-10 lists."""

from dataclasses import dataclass

import numpy as np

from recsys.evaluation.metrics.bootstrap import percentile_interval, resampled_means
from recsys.evaluation.metrics.diversity import diversity_metrics
from recsys.evaluation.metrics.recommend import top_n_recommendations
from recsys.evaluation.metrics.topn import TOPN_NAMES, topn_per_user

ACCURACY = ("precision@10", "recall@10", "recall@20", "ndcg@10", "map@10", "hit_rate@10")


@dataclass(frozen=True)
class TopNScores:
    """A ranker's scores under the protocol: each metric's mean over ``users`` users, with the bootstrap
    interval of the accuracy metrics (over users) at ``level``; coverage and novelty of the top-10 lists."""

    users: int
    metrics: dict[str, float]
    low: dict[str, float]
    high: dict[str, float]
    level: float
    user_idx: np.ndarray  # (U,) the users scored
    per_user: np.ndarray  # (U, 6) each user's ACCURACY values (for paired comparisons)
    top: np.ndarray  # (U, 20) each user's list, best first

    def ratio_to(self, other: "TopNScores", metric: str = "ndcg@10") -> float:
        return self.metrics[metric] / other.metrics[metric]

    def of_user(self, metric: str = "ndcg@10") -> dict[int, float]:
        """Each scored user's value of ``metric``."""
        column = self.per_user[:, ACCURACY.index(metric)]
        return dict(zip(self.user_idx.tolist(), column.tolist(), strict=True))


def score_topn(
    scorer,
    users: np.ndarray,
    relevant: dict[int, np.ndarray],
    exclude,
    popularity: np.ndarray,
    n_users_total: int,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> TopNScores:
    """``scorer``'s top-20 lists for ``users`` (U,) scored against ``relevant`` (user_idx -> movie_idx), the
    movies ``exclude`` lists for each user left out (see :func:`top_n_recommendations`); ``popularity``
    (n_movies,) training interactions per movie and ``n_users_total`` for novelty."""
    n_movies = len(popularity)
    lists = top_n_recommendations(scorer, users, n_movies, exclude, n=20)  # (U, 20), best first
    at_10 = topn_per_user(lists[:, :10], users, relevant)  # (U, 5)
    recall_20 = topn_per_user(lists, users, relevant)[:, TOPN_NAMES.index("recall")]  # (U,)
    columns = [0, 1, None, 2, 3, 4]  # ACCURACY's order from TOPN_NAMES' (recall@20 from its own lists)
    values = np.column_stack([recall_20 if c is None else at_10[:, c] for c in columns])  # (U, 6)
    low, high = percentile_interval(resampled_means(values, n_boot, seed), level)
    diversity = diversity_metrics(lists[:, :10], popularity, n_users_total)
    means = dict(zip(ACCURACY, values.mean(0).tolist(), strict=True))
    means |= {"coverage": float(diversity["coverage"]), "novelty": float(diversity["novelty"])}
    return TopNScores(
        len(users),
        means,
        dict(zip(ACCURACY, low.tolist(), strict=True)),
        dict(zip(ACCURACY, high.tolist(), strict=True)),
        level,
        np.asarray(users),
        values,
        lists,
    )


def paired_users(
    a: TopNScores, b: TopNScores, *, metric: str = "ndcg@10", n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> dict[str, float | bool]:
    """``metric`` of ``a`` minus that of ``b`` over the users both scored, resampling the same users for both
    (a user's list is one draw): ``delta`` with its interval, ``p_not_better`` (the share of resamples where a
    does not beat b) and ``significant`` (the interval excludes 0)."""
    of_a, of_b = a.of_user(metric), b.of_user(metric)
    users = sorted(set(of_a) & set(of_b))
    if not users:
        raise ValueError("the two top-N scores share no user to compare on")
    values = np.array([[of_a[u], of_b[u]] for u in users])  # (U, 2)
    boot = resampled_means(values, n_boot, seed)
    delta_boot = boot[:, 0] - boot[:, 1]
    low, high = percentile_interval(delta_boot, level)
    point = values.mean(0)
    return {
        "users": len(users),
        "a": float(point[0]),
        "b": float(point[1]),
        "delta": float(point[0] - point[1]),
        "delta_low": float(low),
        "delta_high": float(high),
        "p_not_better": float(np.mean(delta_boot <= 0)),
        "significant": bool(low > 0 or high < 0),
    }
