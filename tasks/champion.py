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
    """The model behind ``movielens-rating@alias`` and what its run stored beside it."""
    client = tracking.client()
    version = client.get_model_version_by_alias(REGISTERED_MODEL, alias)
    loaded = load_version(version.version)
    parent = client.get_run(version.tags["run_id"]).data.tags["mlflow.parentRunId"]
    split, movies = read_run_tables(parent, ("data/split.parquet", "data/movies.parquet"))
    train = rows_of(split, C.TRAIN)
    return Champion(
        loaded.variant, version.version, loaded.model, loaded.user_vocab, loaded.movie_vocab, train, movies, parent
    )


def load_version(version: str | int) -> TrainedModel:
    """Version ``version`` of the registered model, downloaded into a fresh temporary folder (removed after
    loading, so no file of another version can be picked up) and loaded."""
    with tempfile.TemporaryDirectory(prefix="recsys-model-") as folder:
        uri = f"models:/{REGISTERED_MODEL}/{version}"
        local = Path(mlflow.artifacts.download_artifacts(uri, dst_path=folder))
        (checkpoint,) = local.rglob("*.pt")
        return load_checkpoint(checkpoint)


def read_run_text(run_id: str, path: str) -> str | None:
    """The text artifact ``path`` of run ``run_id``, or None when the run has none."""
    client = tracking.client()
    folder, _, _ = path.rpartition("/")
    if path not in {a.path for a in client.list_artifacts(run_id, folder or None)}:
        return None
    with tempfile.TemporaryDirectory(prefix="recsys-run-") as tmp:
        return Path(client.download_artifacts(run_id, path, tmp)).read_text()


def read_run_tables(run_id: str, paths: tuple[str, ...]) -> list[pd.DataFrame]:
    """The Parquet artifacts ``paths`` of run ``run_id``, read through a temporary folder."""
    client = tracking.client()
    with tempfile.TemporaryDirectory(prefix="recsys-run-") as folder:
        return [pd.read_parquet(client.download_artifacts(run_id, path, folder)) for path in paths]


def with_titles(frame: pd.DataFrame, movies: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (with movie_id) and each movie's title from the movies table, in the same order."""
    return frame.merge(movies[[C.MOVIE_ID, C.TITLE]], on=C.MOVIE_ID, how="left", validate="m:1")
