"""From a ratings frame to what training needs: a split, vocabularies fitted on its training rows, and
tensors prepared once per run so the trainer only slices them."""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from recsys import columns as C
from recsys.config import SplitConfig
from recsys.features import FeatureTables, build_features
from recsys.models.base import ModelShape
from recsys.split import make_split, rows_of
from recsys.vocab import UNKNOWN_IDX, Vocabulary, fit_vocabulary


@dataclass(frozen=True)
class RatingTensors:
    """Aligned tensors of one part of a split: user_idx, movie_idx (N,) int64 and rating (N,) float32."""

    user_idx: torch.Tensor
    movie_idx: torch.Tensor
    rating: torch.Tensor

    def __len__(self) -> int:
        return int(self.rating.shape[0])

    def to(self, device: torch.device) -> "RatingTensors":
        return RatingTensors(self.user_idx.to(device), self.movie_idx.to(device), self.rating.to(device))

    def unknown_counts(self) -> dict[str, int]:
        """How many rows have a user, or a movie, that the vocabularies did not know."""
        return {
            "unknown_users": int((self.user_idx == UNKNOWN_IDX).sum()),
            "unknown_movies": int((self.movie_idx == UNKNOWN_IDX).sum()),
        }


def make_tensors(frame: pd.DataFrame, users: Vocabulary, movies: Vocabulary) -> RatingTensors:
    """Encode a ratings frame with the fitted vocabularies (unknown ids become index 0)."""
    return RatingTensors(
        torch.from_numpy(users.encode(frame[C.USER_ID].to_numpy())),
        torch.from_numpy(movies.encode(frame[C.MOVIE_ID].to_numpy())),
        torch.from_numpy(frame[C.RATING].to_numpy(dtype=np.float32)),
    )


@dataclass(frozen=True)
class PreparedSplit:
    """A split frame with the vocabularies fitted on its training rows and the resulting model shape."""

    split: pd.DataFrame
    users: Vocabulary
    movies: Vocabulary
    shape: ModelShape

    def tensors(self, part: str) -> RatingTensors:
        """Tensors of the ``train``, ``val`` or ``test`` rows."""
        return make_tensors(rows_of(self.split, part), self.users, self.movies)

    def counts(self) -> dict[str, int]:
        """Rows per part, known users and movies, and rows whose user or movie is unknown."""
        out = {"n_users": len(self.users.ids), "n_movies": len(self.movies.ids)}
        for part in (C.TRAIN, C.VAL, C.TEST):
            tensors = self.tensors(part)
            out[f"n_{part}"] = len(tensors)
            if part != C.TRAIN:
                out.update({f"{part}_{k}": v for k, v in tensors.unknown_counts().items()})
        return out


def prepare_split(ratings: pd.DataFrame, config: SplitConfig) -> PreparedSplit:
    """Split ``ratings`` and fit the user and movie vocabularies on the training rows only."""
    split = make_split(ratings, config)
    train = rows_of(split, C.TRAIN)
    users, movies = fit_vocabulary(train[C.USER_ID]), fit_vocabulary(train[C.MOVIE_ID])
    # the scale the release uses (half stars from 0.5, or whole stars from 1), read off the training rows
    rating = train[C.RATING]
    shape = ModelShape(users.size, movies.size, float(rating.min()), float(rating.max()), float(rating.mean()))
    return PreparedSplit(split, users, movies, shape)


def prepare_features(prepared: PreparedSplit, movies: pd.DataFrame) -> FeatureTables:
    """Feature tables of a split, from its training rows only (see :mod:`recsys.features`)."""
    return build_features(rows_of(prepared.split, C.TRAIN), movies, prepared.users, prepared.movies)
