"""The small typed handles tasks pass to each other: paths, ids and numbers, never frames or models. Each is
frozen: a task returns a new handle and never changes the ones it was given."""

from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from recsys import columns as C
from recsys.data import io
from recsys.data.features import FeatureTables
from recsys.data.tensors import ModelShape, PreparedSplit, RatingTensors, make_tensors
from recsys.data.vocab import Vocabulary
from recsys.pipeline.config import PipelineConfig


@dataclass(frozen=True)
class PipelineRun:
    """The parent MLflow run of a flow, and the resolved config it runs with (data source included)."""

    run_id: str
    config: PipelineConfig
    settings_fingerprint: str


@dataclass(frozen=True)
class IngestedData:
    folder: str  # the raw release, never modified
    release: str
    ratings_path: str
    movies_path: str
    quarantine_path: str
    out_dir: str  # also holds ingest_report.json, validation.json and data_docs/
    fingerprint: str
    report: dict


@dataclass(frozen=True)
class PreparedData:
    """One seed's split, stored: the split, both vocabularies and the feature tables, in one folder."""

    split_path: str  # ratings with a split column: train, val, test
    user_vocab_path: str  # user_id, user_idx
    movie_vocab_path: str  # movie_id, movie_idx
    movies_path: str  # the movies table (movie_id, title, year, genres)
    folder: str  # also holds movie_features.parquet and user_features.parquet
    shape: ModelShape
    split_name: str
    split_seed: int
    fingerprint: str  # of the data
    config: PipelineConfig  # the run's config for this seed (train seeds = split seed)


@dataclass(frozen=True)
class TrainedVariant:
    variant: str
    seed: int
    run_id: str
    checkpoint_path: str
    model_uri: str
    best_epoch: int
    best_val_mse: float
    fit_seconds: float


@dataclass(frozen=True)
class EvaluatedVariant:
    """A trained variant with its scores on the split's test rows."""

    variant: str
    seed: int
    run_id: str
    model_uri: str
    best_epoch: int
    best_val_mse: float
    test_mse: float
    test_rmse: float
    test_mae: float
    fit_seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class RegisteredVariant:
    """An evaluated variant and the version of the registered model it became."""

    evaluated: EvaluatedVariant
    version: int


def load_features(handle: PreparedData) -> FeatureTables:
    """The feature tables of the split that ``handle`` points to."""
    folder = Path(handle.folder)
    return FeatureTables.from_frames(
        io.read_parquet(folder / "movie_features.parquet"), io.read_parquet(folder / "user_features.parquet")
    )


def load_prepared(handle: PreparedData) -> PreparedSplit:
    """The split, vocabularies and shape that ``handle`` points to, read back from Parquet."""
    user_vocab, movie_vocab = load_vocabularies(handle)
    return PreparedSplit(io.read_parquet(Path(handle.split_path)), user_vocab, movie_vocab, handle.shape)


def load_vocabularies(handle: PreparedData) -> tuple[Vocabulary, Vocabulary]:
    """The user and movie vocabularies of the split that ``handle`` points to."""
    user_vocab = Vocabulary.from_frame(io.read_parquet(Path(handle.user_vocab_path)), C.USER_ID, C.USER_IDX)
    movie_vocab = Vocabulary.from_frame(io.read_parquet(Path(handle.movie_vocab_path)), C.MOVIE_ID, C.MOVIE_IDX)
    return user_vocab, movie_vocab


def load_rows(handle: PreparedData, part: str) -> pd.DataFrame:
    """Only the split's rows of ``part`` (train, val or test): at 25M ratings the whole split frame is about
    1 GB, and a task that needs one part does not hold the others."""
    return io.read_parquet(Path(handle.split_path), filters=[(C.SPLIT, "==", part)])


def load_tensors(handle: PreparedData, part: str) -> RatingTensors:
    """The tensors of one part of the split (encoded with its vocabularies)."""
    return make_tensors(load_rows(handle, part), *load_vocabularies(handle))
