"""The ranking family: models fitted on *which* movies users rated, that score every movie for a user so the
best come first (``score_matrix``), for top-N lists rather than ratings. The rating models answer "how would
this user rate this movie"; these answer "what should this user watch next". They are registered beside the
rating variants, in the same registry (:mod:`recsys.models`), as the ``topn`` family."""

from recsys.ranking.base import Ranker, RankerConfig, interaction_matrix
from recsys.ranking.ease import EASE, EASEConfig
from recsys.ranking.gru4rec import GRU4Rec, GRU4RecConfig
from recsys.ranking.ials import IALS, IALSConfig
from recsys.ranking.multvae import MultVAE, MultVAEConfig
from recsys.ranking.popularity import Popularity, PopularityConfig

__all__ = [
    "EASE",
    "EASEConfig",
    "GRU4Rec",
    "GRU4RecConfig",
    "IALS",
    "IALSConfig",
    "MultVAE",
    "MultVAEConfig",
    "Popularity",
    "PopularityConfig",
    "Ranker",
    "RankerConfig",
    "interaction_matrix",
]
