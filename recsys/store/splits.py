"""A prepared split's folder: the split (every rating with its part), both vocabularies, the feature tables and
the model shape, all fitted on the training rows, published together (the six files appear at once or not at
all), in the work folder's ``splits/`` apart from the ingestion (:meth:`recsys.store.work.WorkFolder.split`).
Read back, it is the
same data object as the :class:`~recsys.data.tensors.PreparedSplit` it was written from, one part at a time."""

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from recsys import columns as C
from recsys.data import io
from recsys.data.features import FeatureTables
from recsys.data.tensors import ModelShape, PreparedSplit, RatingTensors, make_tensors
from recsys.data.vocab import Vocabulary
from recsys.files import staged_folder, write_json


@dataclass(frozen=True)
class SplitFolder:
    path: Path

    @property
    def split(self) -> Path:
        return self.path / "split.parquet"  # user_id, movie_id, rating, timestamp, split

    @property
    def user_vocab(self) -> Path:
        return self.path / "user_vocab.parquet"  # user_id, user_idx

    @property
    def movie_vocab(self) -> Path:
        return self.path / "movie_vocab.parquet"  # movie_id, movie_idx

    @property
    def movie_features(self) -> Path:
        return self.path / "movie_features.parquet"

    @property
    def user_features(self) -> Path:
        return self.path / "user_features.parquet"

    @property
    def shape_file(self) -> Path:
        return self.path / "shape.json"  # the ModelShape, n_genres included

    def complete(self) -> bool:
        """Whether the folder holds a whole split (it is published in one rename, so all or none)."""
        paths = (self.split, self.user_vocab, self.movie_vocab, self.movie_features, self.user_features)
        return all(p.exists() for p in (*paths, self.shape_file))

    @cached_property
    def shape(self) -> ModelShape:
        return ModelShape(**json.loads(self.shape_file.read_text()))

    @cached_property
    def features(self) -> FeatureTables:
        return FeatureTables.from_frames(io.read_parquet(self.movie_features), io.read_parquet(self.user_features))

    def vocabularies(self) -> tuple[Vocabulary, Vocabulary]:
        """The user and movie vocabularies."""
        user_vocab = Vocabulary.from_frame(io.read_parquet(self.user_vocab), C.USER_ID, C.USER_IDX)
        movie_vocab = Vocabulary.from_frame(io.read_parquet(self.movie_vocab), C.MOVIE_ID, C.MOVIE_IDX)
        return user_vocab, movie_vocab

    def rows(self, part: str) -> pd.DataFrame:
        """Only the split's rows of ``part`` (train, val or test): at 25M ratings the whole split frame is about
        1 GB, and a step that needs one part does not hold the others."""
        return io.read_parquet(self.split, filters=[(C.SPLIT, "==", part)])

    def ratings(self) -> pd.DataFrame:
        """Every rating of the split, parts together: user_id, movie_id, rating."""
        return io.read_parquet(self.split, columns=[C.USER_ID, C.MOVIE_ID, C.RATING])

    def timestamps(self, part: str) -> torch.Tensor:
        """When each row of ``part`` was rated (N,) int64, aligned with :meth:`tensors`."""
        frame = io.read_parquet(self.split, filters=[(C.SPLIT, "==", part)], columns=[C.TIMESTAMP])
        return torch.from_numpy(frame[C.TIMESTAMP].to_numpy(dtype=np.int64))

    def head(self, n: int) -> pd.DataFrame:
        """The split's first ``n`` rows (an input example)."""
        return io.read_head(self.split, n)

    def tensors(self, part: str) -> RatingTensors:
        """The tensors of one part of the split, encoded with its vocabularies."""
        return make_tensors(self.rows(part), *self.vocabularies())


def write_split(target: SplitFolder, prepared: PreparedSplit, fingerprint: str) -> None:
    """Publish the split, both vocabularies, the feature tables and the shape at ``target`` together."""
    with staged_folder(target.path) as staging:
        out = SplitFolder(staging)
        io.write_parquet(prepared.split.astype({C.SPLIT: str}), out.split, fingerprint)
        io.write_parquet(prepared.user_vocab.to_frame(C.USER_ID, C.USER_IDX), out.user_vocab)
        io.write_parquet(prepared.movie_vocab.to_frame(C.MOVIE_ID, C.MOVIE_IDX), out.movie_vocab)
        io.write_parquet(prepared.features.movie_features, out.movie_features)
        io.write_parquet(prepared.features.user_features, out.user_features)
        write_json(out.shape_file, prepared.shape.to_dict())
