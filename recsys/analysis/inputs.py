"""What the analysis of a run reads: its split, movies table, vocabularies, feature tables, trained models and
their per-epoch histories, and, for a multi-seed run, the further seeds' test-row predictions, histories and
each net's fit of the rows it learned from."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from recsys import columns as C
from recsys.data import io
from recsys.data.features import FeatureTables, build_features
from recsys.data.split import learned_parts, rows_of
from recsys.data.vocab import Vocabulary
from recsys.evaluation.predictions import predict_ids
from recsys.models import RatingModel
from recsys.models.checkpoint import StoredModels, TrainedModel, load_checkpoint
from recsys.store.analysis import AnalysisFolder


@dataclass(frozen=True)
class SeedRun:
    """A further seed of a multi-seed run, as the claims read it: its split, each variant's test-row
    predictions (N,) in split order, the per-epoch histories of the variants trained by epochs, and the MSE of
    each of those on the rows it learned from (dropout off)."""

    seed: int
    split: pd.DataFrame
    predictions: dict[str, np.ndarray]
    histories: dict[str, pd.DataFrame] = field(default_factory=dict)
    learned_mse: dict[str, float] = field(default_factory=dict)
    checkpoints: dict[str, Path] = field(default_factory=dict)  # its models, read again one at a time


def predict_split_tests(loaded: TrainedModel, split: pd.DataFrame) -> np.ndarray:
    """``loaded``'s clipped predictions (N,) of ``split``'s test rows."""
    return predict_ids(loaded.model, loaded.user_vocab, loaded.movie_vocab, rows_of(split, C.TEST))


@dataclass(frozen=True)
class RunData:
    """What the analysis reads of a run: the split (with its ``split`` column), the movies table, the
    vocabularies and feature tables of the training rows, the trained models, and their per-epoch history
    (frames of epoch, train_mse, val_mse)."""

    split: pd.DataFrame
    movies: pd.DataFrame
    user_vocab: Vocabulary
    movie_vocab: Vocabulary
    features: FeatureTables
    models: Mapping[str, RatingModel]  # a run's models are loaded as they are read: StoredModels
    histories: dict[str, pd.DataFrame]
    seed: int = 42
    other_seeds: tuple[SeedRun, ...] = ()  # the further seeds of a multi-seed run (the claims read them)
    refit: bool = False  # the models were refitted on training + validation rows (a run's ``refit``)

    def learned_rows(self, split: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``split`` the run's models learned from: training rows, and validation rows after a refit
        (what a reference model must learn from to be compared like for like)."""
        return learned_rows(split, self.refit)


def load_run_data(
    folder: AnalysisFolder,
    split: Path,
    movies: Path,
    checkpoints: dict[str, Path],
    seed: int,
    others=(),
    refit: bool = False,
) -> RunData:
    """The run as the analysis reads it, from the local copies in ``folder``: ``split`` and ``movies`` tables,
    the ``checkpoints`` of ``seed`` (variant -> file, in training order, loaded one at a time as they are
    read), each variant's history, and ``others``: (seed, split file, checkpoints) of further seeds;
    ``refit``: the models were refitted on training + validation rows."""
    if not checkpoints:
        raise ValueError("the run has no trained variants to analyze")
    histories = {variant: folder.read_history(variant) for variant in checkpoints}
    seeds = tuple(load_seed_run(*other, folder=folder, refit=refit) for other in others)
    return stored_run(io.read_parquet(split), io.read_parquet(movies), checkpoints, histories, seed, seeds, refit)


def stored_run(
    split: pd.DataFrame,
    movies: pd.DataFrame,
    checkpoints: dict[str, Path],
    histories: dict[str, pd.DataFrame],
    seed: int,
    others: tuple[SeedRun, ...] = (),
    refit: bool = False,
) -> "RunData":
    """A seed's :class:`RunData` over its stored models (loaded as they are read): the vocabularies of the first
    (the variants share them; it stays loaded) and the feature tables of the split's training rows."""
    models = StoredModels(checkpoints)
    first = models.loaded(next(iter(models)))
    features = build_features(rows_of(split, C.TRAIN), movies, first.user_vocab, first.movie_vocab)
    return RunData(split, movies, first.user_vocab, first.movie_vocab, features, models, histories, seed, others, refit)


def load_seed_run(
    seed: int, split: Path, checkpoints: dict[str, Path], folder: AnalysisFolder | None = None, refit: bool = False
) -> SeedRun:
    """A further seed's test-row predictions, its histories (those ``folder`` holds) and each net's MSE on the
    rows it learned from (its models are loaded one at a time and let go)."""
    rows = io.read_parquet(split)
    learned = learned_sample(rows, refit, seed)
    histories = {}
    if folder is not None:
        histories = {v: folder.read_history(v, seed) for v in checkpoints if folder.history(v, seed).exists()}
    predictions, learned_mse = {}, {}
    for variant, path in checkpoints.items():
        loaded = load_checkpoint(path)
        predictions[variant] = predict_split_tests(loaded, rows)
        if variant in histories and len(histories[variant]) > 1:  # trained by epochs: the overfitting claims
            learned_mse[variant] = rows_mse(loaded.model, loaded.user_vocab, loaded.movie_vocab, learned)
        del loaded
    return SeedRun(seed, rows, predictions, histories, learned_mse, dict(checkpoints))


def seed_run_data(data: "RunData", seed: SeedRun) -> "RunData":
    """A further seed of ``data``'s run as the analysis reads a run (its split, vocabularies, feature tables,
    models loaded as they are read, histories), for the steps the claims repeat on every seed."""
    return stored_run(seed.split, data.movies, seed.checkpoints, seed.histories, seed.seed, refit=data.refit)


def learned_rows(split: pd.DataFrame, refit: bool) -> pd.DataFrame:
    """The rows of ``split`` a run's models learned from: training rows, and validation rows after a refit."""
    return split[split[C.SPLIT].isin(learned_parts(refit))]


def learned_sample(split: pd.DataFrame, refit: bool, seed: int) -> pd.DataFrame:
    """The learned rows an overfitting gap is measured on: all of them unless the release is large."""
    learned = learned_rows(split, refit)
    return learned.iloc[sampled(len(learned), BOOTSTRAP_ROWS, seed)]


def rows_mse(model: RatingModel, user_vocab: Vocabulary, movie_vocab: Vocabulary, rows: pd.DataFrame) -> float:
    """MSE of ``model``'s clipped predictions of ``rows`` (dropout off, as it predicts)."""
    predicted = predict_ids(model, user_vocab, movie_vocab, rows)
    return float(np.mean((predicted - rows[C.RATING].to_numpy()) ** 2))


# Sample sizes of the analysis on large releases (the sizes of ml-latest-small are below every one of them, so
# there nothing is sampled): bootstrap intervals and paired gaps on at most BOOTSTRAP_ROWS test rows, hidden
# units on at most UNIT_ROWS validation rows, movie maps of at most MAP_MOVIES movies (the most rated).
BOOTSTRAP_ROWS, UNIT_ROWS, MAP_MOVIES = 200_000, 200_000, 3_000


def sampled(n: int, at_most: int, seed: int) -> np.ndarray:
    """Sorted positions of a seeded sample of ``at_most`` of ``n`` rows, or all of them."""
    if n <= at_most:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, at_most, replace=False))
