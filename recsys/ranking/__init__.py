"""The ranking family: models fitted on *which* movies users rated, that score every movie for a user so the
best come first (``score_matrix``), for top-N lists rather than ratings. The rating models answer "how would
this user rate this movie"; these answer "what should this user watch next"."""

from recsys.ranking.base import Ranker, interaction_matrix
from recsys.ranking.ease import EASE
from recsys.ranking.popularity import Popularity

__all__ = ["EASE", "Popularity", "Ranker", "interaction_matrix"]
