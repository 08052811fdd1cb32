"""The registered champion, loaded for answers (``recsys recommend`` and ``recsys similar``): its
checkpoint from the registry, and from its train-all run the training rows and the movie titles."""

import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

import mlflow
from recsys import columns as C
from recsys.data.split import rows_of
from recsys.data.vocab import Vocabulary
from recsys.models import RatingModel
from recsys.models.checkpoint import TrainedModel, load_checkpoint
from tasks import tracking
from tasks.runtime import CHAMPION, REGISTERED_MODEL


@dataclass(frozen=True)
class Champion:
    variant: str
    version: str
    model: RatingModel
    user_vocab: Vocabulary
    movie_vocab: Vocabulary
    train: pd.DataFrame  # the training rows it learned from
    movies: pd.DataFrame  # the movies table: movie_id, title, year, genres
    pipeline_run_id: str


def load_champion(alias: str = CHAMPION) -> Champion:
    """Download the model behind ``movielens-rating@alias`` and what its run stored beside it."""
    client = tracking.client()
    version = client.get_model_version_by_alias(REGISTERED_MODEL, alias)
    folder = Path(tempfile.mkdtemp(prefix="recsys-champion-"))
    loaded = load_registered(alias, folder)
    parent = client.get_run(version.tags["run_id"]).data.tags["mlflow.parentRunId"]
    split = pd.read_parquet(client.download_artifacts(parent, "data/split.parquet", str(folder)))
    movies = pd.read_parquet(client.download_artifacts(parent, "data/movies.parquet", str(folder)))
    train = rows_of(split, C.TRAIN)
    return Champion(
        loaded.variant, version.version, loaded.model, loaded.user_vocab, loaded.movie_vocab, train, movies, parent
    )


def load_registered(alias: str, folder: Path) -> TrainedModel:
    """The checkpoint behind ``movielens-rating@alias``, downloaded into ``folder`` and loaded."""
    local = Path(mlflow.artifacts.download_artifacts(f"models:/{REGISTERED_MODEL}@{alias}", dst_path=str(folder)))
    return load_checkpoint(next(local.rglob("*.pt")))


def with_titles(frame: pd.DataFrame, movies: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (with movie_id) and each movie's title from the movies table, in the same order."""
    return frame.merge(movies[[C.MOVIE_ID, C.TITLE]], on=C.MOVIE_ID, how="left", validate="m:1")
