"""The registered champion, loaded for answers (``recsys recommend`` and ``recsys similar``): its
checkpoint from the registry, and from its train-all run the training rows and the movie titles."""

import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

import mlflow
from recsys import columns as C
from recsys.checkpoint import load_checkpoint
from recsys.models import RatingModel
from recsys.split import rows_of
from recsys.vocab import Vocabulary
from tasks import tracking
from tasks.runtime import CHAMPION, REGISTERED_MODEL


@dataclass(frozen=True)
class Champion:
    variant: str
    version: str
    model: RatingModel
    users: Vocabulary
    movies: Vocabulary
    train: pd.DataFrame  # the training rows it learned from
    titles: pd.DataFrame  # movie_id, title, year, genres
    pipeline_run_id: str


def load_champion(alias: str = CHAMPION) -> Champion:
    """Download the model behind ``movielens-rating@alias`` and what its run stored beside it."""
    client = tracking.client()
    version = client.get_model_version_by_alias(REGISTERED_MODEL, alias)
    folder = Path(tempfile.mkdtemp(prefix="recsys-champion-"))
    variant, model, users, movies = load_registered(alias, folder)
    parent = client.get_run(version.tags["run_id"]).data.tags["mlflow.parentRunId"]
    split = pd.read_parquet(client.download_artifacts(parent, "data/split.parquet", str(folder)))
    titles = pd.read_parquet(client.download_artifacts(parent, "data/movies.parquet", str(folder)))
    return Champion(variant, version.version, model, users, movies, rows_of(split, C.TRAIN), titles, parent)


def load_registered(alias: str, folder: Path) -> tuple[str, RatingModel, Vocabulary, Vocabulary]:
    """The checkpoint behind ``movielens-rating@alias``, downloaded into ``folder`` and loaded."""
    local = Path(mlflow.artifacts.download_artifacts(f"models:/{REGISTERED_MODEL}@{alias}", dst_path=str(folder)))
    return load_checkpoint(next(local.rglob("*.pt")))


def with_titles(frame: pd.DataFrame, titles: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (with movie_id) and each movie's title, in the same order."""
    return frame.merge(titles[[C.MOVIE_ID, C.TITLE]], on=C.MOVIE_ID, how="left", validate="m:1")
