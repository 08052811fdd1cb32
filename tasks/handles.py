"""The small handles tasks pass to each other: paths, ids and numbers, never frames or models."""

from dataclasses import dataclass, field
from pathlib import Path

from recsys import columns as C
from recsys import io
from recsys.data import PreparedSplit
from recsys.features import FeatureTables
from recsys.models import ModelShape
from recsys.vocab import Vocabulary


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
    split_path: str  # ratings with a split column: train, val, test
    users_path: str  # user vocabulary (user_id, user_idx)
    movies_path: str  # movie vocabulary (movie_id, movie_idx)
    folder: str  # also holds movie_features.parquet and user_features.parquet
    shape: dict  # recsys.models.ModelShape as a dict
    split_name: str
    split_seed: int
    fingerprint: str
    counts: dict = field(default_factory=dict)


@dataclass(frozen=True)
class TrainedVariant:
    variant: str
    run_id: str
    checkpoint_path: str
    model_uri: str
    best_epoch: int
    best_val_mse: float
    fit_seconds: float


def load_features(handle: PreparedData) -> FeatureTables:
    """The feature tables of the split that ``handle`` points to."""
    folder = Path(handle.folder)
    return FeatureTables.from_frames(
        io.read_parquet(folder / "movie_features.parquet"), io.read_parquet(folder / "user_features.parquet")
    )


def load_prepared(handle: PreparedData) -> PreparedSplit:
    """The split, vocabularies and shape that ``handle`` points to, read back from Parquet."""
    users = Vocabulary.from_frame(io.read_parquet(Path(handle.users_path)), C.USER_ID, C.USER_IDX)
    movies = Vocabulary.from_frame(io.read_parquet(Path(handle.movies_path)), C.MOVIE_ID, C.MOVIE_IDX)
    return PreparedSplit(io.read_parquet(Path(handle.split_path)), users, movies, ModelShape(**handle.shape))
