"""Evaluation beyond one test MSE: bootstrap intervals and paired comparisons of variants, errors per
user-activity and movie-popularity bucket, ranking quality of the predicted ratings, and top-n lists with
their coverage, popularity, novelty and exposure inequality. Plain functions on numpy arrays and pandas
frames; each checks its inputs and raises ValueError naming the problem."""

from recsys.evaluation.metrics.bootstrap import bootstrap_metrics, compare_to_best, paired_bootstrap
from recsys.evaluation.metrics.breakdown import (
    MOVIE_POPULARITY_EDGES,
    USER_ACTIVITY_EDGES,
    activity_buckets,
    breakdown_metrics,
    bucket_labels,
)
from recsys.evaluation.metrics.diversity import diversity_metrics, gini, movie_popularity
from recsys.evaluation.metrics.ranking import ranking_metrics
from recsys.evaluation.metrics.recommend import rated_movies, top_n_recommendations

__all__ = [
    "MOVIE_POPULARITY_EDGES",
    "USER_ACTIVITY_EDGES",
    "activity_buckets",
    "bootstrap_metrics",
    "breakdown_metrics",
    "bucket_labels",
    "compare_to_best",
    "diversity_metrics",
    "gini",
    "movie_popularity",
    "paired_bootstrap",
    "ranking_metrics",
    "rated_movies",
    "top_n_recommendations",
]
