"""Registered models loaded for answers (``recsys recommend`` and ``recsys similar``): a version's checkpoint
from the registry, and from its train-all run the split (which rows it learned from) and the movie titles."""

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import mlflow
from recsys import columns as C
from recsys.data.split import rows_of
from recsys.data.vocab import Vocabulary
from recsys.models import RatingModel
from recsys.models.checkpoint import TrainedModel, load_checkpoint
from recsys.serving import movie_support
from recsys.store import artifacts
from recsys.store.artifacts import read_frame
from tasks import tracking
from tasks.runtime import CHAMPION, REGISTERED_MODEL


@dataclass(frozen=True)
class Answering:
    """A registered model ready to answer, and what its train-all run stored beside it."""

    variant: str
    version: str
    model: RatingModel
    user_vocab: Vocabulary
    movie_vocab: Vocabulary
    split: pd.DataFrame  # every rating of its run with its part: train, val, test
    movies: pd.DataFrame  # the movies table: movie_id, title, year, genres
    pipeline_run_id: str
    registered: str = REGISTERED_MODEL  # the registered model it is a version of

    def known(self) -> pd.DataFrame:
        """The rows the pipeline knew when it trained this model (training and validation): a refitted
        ensemble learned from both, and a user has rated every one of them."""
        return self.split[self.split[C.SPLIT].isin([C.TRAIN, C.VAL])]

    def support(self) -> np.ndarray:
        """Training ratings per movie_idx (n_movies,)."""
        train = rows_of(self.split, C.TRAIN)
        return movie_support(self.movie_vocab.encode(train[C.MOVIE_ID].to_numpy()), self.movie_vocab.size)

    def describe(self) -> str:
        return f"{self.variant} ({self.registered} v{self.version}, run {self.pipeline_run_id[:8]})"


def load_variant(variant: str | None, fall_back: bool = False, name: str = REGISTERED_MODEL) -> Answering:
    """The champion of registered model ``name`` (``variant`` None or the champion's own), else the registered
    ``variant`` trained in the champion's run (the same data and split); failing that, the newest registered
    version of ``variant``; with ``fall_back``, the champion when ``variant`` was never registered."""
    client = tracking.client()
    if variant is not None and not has_champion(name):  # registered, never promoted: the newest version
        champion, parent = None, None
    else:
        champion = client.get_model_version_by_alias(name, CHAMPION)
        if variant is None or champion.tags.get("variant") == variant:
            return load_answering(champion, name)
        parent = tracking.pipeline_run_of_version(client, champion)
    versions = client.search_model_versions(f"name = '{name}' and tags.variant = '{variant}'")
    if not versions and fall_back and champion is not None:
        return load_answering(champion, name)
    if not versions:
        raise ValueError(f"no registered version of variant {variant!r}; train it with recsys train-all --variants")
    in_run = [v for v in versions if parent is not None and tracking.pipeline_run_of_version(client, v) == parent]
    return load_answering(max(in_run or versions, key=lambda v: int(v.version)), name)


def load_answering(version, name: str = REGISTERED_MODEL) -> Answering:
    """A registered model version (an MLflow ``ModelVersion``) with its run's split and movies table."""
    loaded = load_version(version.version, name)
    parent = tracking.pipeline_run_of_version(tracking.client(), version)
    split, movies = read_run_tables(parent, (artifacts.SPLIT, artifacts.MOVIES))
    vocabs = loaded.user_vocab, loaded.movie_vocab
    return Answering(loaded.variant, version.version, loaded.model, *vocabs, split, movies, parent, name)


def load_version(version: str | int, name: str = REGISTERED_MODEL) -> TrainedModel:
    """Version ``version`` of registered model ``name``, downloaded into a fresh temporary folder (removed after
    loading, so no file of another version can be picked up) and loaded."""
    with tempfile.TemporaryDirectory(prefix="recsys-model-") as folder:
        uri = f"models:/{name}/{version}"
        local = Path(mlflow.artifacts.download_artifacts(uri, dst_path=folder))
        return load_checkpoint(artifacts.checkpoint_in(local))


def champion_of(name: str, client=None, alias: str = CHAMPION):
    """The version ``alias`` (``champion``, or ``previous``) of registered model ``name`` points to, or None only
    when MLflow says the model or the alias does not exist (any other error is raised, never taken for "no
    champion")."""
    from mlflow.exceptions import MlflowException

    try:
        return (client or tracking.client()).get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        if "not found" in str(exc).lower() or "does not exist" in str(exc).lower():
            return None
        raise


def has_champion(name: str) -> bool:
    return champion_of(name) is not None


def has_artifact(client, run_id: str, path: str) -> bool:
    """Whether run ``run_id`` holds the artifact ``path`` (listed in its own folder)."""
    folder, _, _ = path.rpartition("/")
    return path in {a.path for a in client.list_artifacts(run_id, folder or None)}


def read_run_text(run_id: str, path: str) -> str | None:
    """The text artifact ``path`` of run ``run_id``, or None when the run has none."""
    client = tracking.client()
    if not has_artifact(client, run_id, path):
        return None
    with tempfile.TemporaryDirectory(prefix="recsys-run-") as tmp:
        return Path(client.download_artifacts(run_id, path, tmp)).read_text()


def read_run_table(run_id: str, path: str) -> pd.DataFrame | None:
    """The Parquet artifact ``path`` of run ``run_id``, or None when the run no longer holds it."""
    if not has_artifact(tracking.client(), run_id, path):
        return None
    (table,) = read_run_tables(run_id, (path,))
    return table


def read_run_tables(run_id: str, paths: tuple[str, ...]) -> list[pd.DataFrame]:
    """The Parquet artifacts ``paths`` of run ``run_id``, read through a temporary folder."""
    client = tracking.client()
    with tempfile.TemporaryDirectory(prefix="recsys-run-") as folder:
        return [read_frame(client.download_artifacts(run_id, path, folder)) for path in paths]


def with_titles(frame: pd.DataFrame, movies: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (with movie_id) and each movie's title from the movies table, in the same order."""
    return frame.merge(movies[[C.MOVIE_ID, C.TITLE]], on=C.MOVIE_ID, how="left", validate="m:1")
