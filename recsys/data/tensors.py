"""From a ratings frame to what training needs: a split, vocabularies fitted on its training rows, and
tensors prepared once per run so the trainer only slices them."""

from dataclasses import asdict, dataclass
from typing import Protocol

import numpy as np
import pandas as pd
import torch

from recsys import columns as C
from recsys.data.features import FeatureTables, build_features
from recsys.data.split import SplitConfig, make_split, rows_of
from recsys.data.vocab import UNKNOWN_IDX, Vocabulary, fit_vocabulary


@dataclass(frozen=True)
class ModelShape:
    """What a model needs to know about the data to be built: table sizes and the rating scale."""

    n_users: int  # embedding rows, the unknown slot included
    n_movies: int
    rating_min: float
    rating_max: float
    rating_mean: float  # of the training rows; the output starts there
    n_genres: int = 0  # columns of the genre multi-hot, for models that read movie features

    def to_dict(self) -> dict:
        return asdict(self)


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


def make_tensors(frame: pd.DataFrame, user_vocab: Vocabulary, movie_vocab: Vocabulary) -> RatingTensors:
    """Encode a ratings frame with the fitted vocabularies (unknown ids become index 0)."""
    return RatingTensors(
        torch.from_numpy(user_vocab.encode(frame[C.USER_ID].to_numpy())),
        torch.from_numpy(movie_vocab.encode(frame[C.MOVIE_ID].to_numpy())),
        torch.from_numpy(frame[C.RATING].to_numpy(dtype=np.float32)),
    )


class SplitData(Protocol):
    """What training reads of a prepared split, whether held in memory (:class:`PreparedSplit`) or read part
    by part from its stored folder (:class:`recsys.store.splits.SplitFolder`): the complete model shape, the
    feature tables and one part's tensors at a time."""

    @property
    def shape(self) -> ModelShape: ...

    @property
    def features(self) -> FeatureTables: ...

    def tensors(self, part: str) -> RatingTensors: ...

    def timestamps(self, part: str) -> torch.Tensor: ...


@dataclass(frozen=True)
class PreparedSplit:
    """A split, complete when made: the split frame, the vocabularies and feature tables fitted on its training
    rows, and the model shape they give (``n_genres`` included). The one data object a model is fitted on."""

    split: pd.DataFrame
    user_vocab: Vocabulary
    movie_vocab: Vocabulary
    features: FeatureTables
    shape: ModelShape

    def tensors(self, part: str) -> RatingTensors:
        """Tensors of the ``train``, ``val`` or ``test`` rows."""
        return make_tensors(rows_of(self.split, part), self.user_vocab, self.movie_vocab)

    def timestamps(self, part: str) -> torch.Tensor:
        """When each row of ``part`` was rated (N,) int64, aligned with :meth:`tensors`."""
        return torch.from_numpy(rows_of(self.split, part)[C.TIMESTAMP].to_numpy(dtype=np.int64))

    def counts(self) -> dict[str, int]:
        """Rows per part, known users and movies, and rows whose user or movie is unknown."""
        out = {"n_users": len(self.user_vocab.ids), "n_movies": len(self.movie_vocab.ids)}
        for part in (C.TRAIN, C.VAL, C.TEST):
            tensors = self.tensors(part)
            out[f"n_{part}"] = len(tensors)
            if part != C.TRAIN:
                out.update({f"{part}_{k}": v for k, v in tensors.unknown_counts().items()})
        return out


def prepare_split(ratings: pd.DataFrame, movies: pd.DataFrame, config: SplitConfig) -> PreparedSplit:
    """Split ``ratings``; fit the user and movie vocabularies and the feature tables (genres and year of
    ``movies``, user activity) on the training rows only (see :mod:`recsys.data.features`)."""
    split = make_split(ratings, config)
    train = rows_of(split, C.TRAIN)
    user_vocab, movie_vocab = fit_vocabulary(train[C.USER_ID]), fit_vocabulary(train[C.MOVIE_ID])
    features = build_features(train, movies, user_vocab, movie_vocab)
    # the scale the release uses (half stars from 0.5, or whole stars from 1), read off the training rows
    rating = train[C.RATING]
    shape = ModelShape(
        user_vocab.size,
        movie_vocab.size,
        float(rating.min()),
        float(rating.max()),
        float(rating.mean()),
        n_genres=len(features.genres),
    )
    return PreparedSplit(split, user_vocab, movie_vocab, features, shape)


def spread_square(block: torch.Tensor, kept: torch.Tensor, n: int) -> torch.Tensor:
    """The (n, n) matrix that is ``block`` (K, K) at the rows and columns ``kept`` (K,) and 0 elsewhere: a
    movie-by-movie matrix computed over some movies only (EASE's B, kNN's similarity). Rows, then columns,
    into place: two copies rather than one index over K^2 pairs."""
    rows = torch.zeros(len(kept), n, device=block.device).index_copy_(1, kept, block)
    return torch.zeros(n, n, device=block.device).index_copy_(0, kept, rows)
