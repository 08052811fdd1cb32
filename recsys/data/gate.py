"""The release gate: what a new release must look like, measured against the last accepted one (the release
the champion learned), before the scheduled retrain trains on it. A release with half the ratings, a shifted
rating distribution or mostly unknown users or movies is stopped, not trained on and promoted.

Pure: frames in, a profile and the thresholds out; ``tasks/validation.py`` turns them into Great
Expectations expectations and runs them.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import Field

from recsys import columns as C
from recsys.strict import StrictConfig


class ReleaseGateConfig(StrictConfig):
    """Thresholds of the release gate of the scheduled ``retrain`` (``recsys train-all`` trains regardless)."""

    min_rows_share: float = Field(
        0.9, gt=0, le=1, description="the new release must hold at least this share of the accepted one's ratings"
    )
    max_rating_divergence: float = Field(
        0.05,
        gt=0,
        description="largest KL divergence of the new rating distribution (shares per value) from the accepted one's",
    )
    max_unknown_users: float = Field(
        0.3, ge=0, le=1, description="largest share of ratings by users the accepted release did not have"
    )
    max_unknown_movies: float = Field(
        0.3, ge=0, le=1, description="largest share of ratings of movies the accepted release did not have"
    )


@dataclass(frozen=True)
class ReleaseProfile:
    """What the gate compares a new release with: the accepted release's ratings, rating shares and ids."""

    rows: int
    rating_values: list[float]
    rating_shares: list[float]
    users: np.ndarray
    movies: np.ndarray

    @classmethod
    def of(cls, ratings: pd.DataFrame) -> "ReleaseProfile":
        """The profile of ``ratings`` (user_id, movie_id, rating)."""
        shares = ratings[C.RATING].value_counts(normalize=True).sort_index()
        return cls(
            rows=len(ratings),
            rating_values=[float(v) for v in shares.index],
            rating_shares=[float(s) for s in shares.to_numpy()],
            users=np.unique(ratings[C.USER_ID].to_numpy()),
            movies=np.unique(ratings[C.MOVIE_ID].to_numpy()),
        )

    def min_rows(self, config: ReleaseGateConfig) -> int:
        return int(np.ceil(config.min_rows_share * self.rows))


def measured(accepted: ReleaseProfile, ratings: pd.DataFrame) -> dict[str, float]:
    """The gate's figures for a new release, as numbers to log: its rows against the accepted release's, and
    the shares of its ratings by unknown users and of unknown movies."""
    return {
        "release_rows": float(len(ratings)),
        "accepted_rows": float(accepted.rows),
        "rows_share": len(ratings) / max(accepted.rows, 1),
        "unknown_user_share": float(1 - np.isin(ratings[C.USER_ID].to_numpy(), accepted.users).mean()),
        "unknown_movie_share": float(1 - np.isin(ratings[C.MOVIE_ID].to_numpy(), accepted.movies).mean()),
    }
