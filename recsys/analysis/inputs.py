"""What the analysis of a run reads: its split, movies table, vocabularies, feature tables, trained models and
their per-epoch histories, and, for a multi-seed run, the further seeds' test-row predictions."""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys import columns as C
from recsys.data.features import FeatureTables
from recsys.data.split import rows_of
from recsys.data.vocab import Vocabulary
from recsys.evaluation.predictions import predict_ids
from recsys.models import RatingModel
from recsys.models.checkpoint import TrainedModel


@dataclass(frozen=True)
class SeedRun:
    """A further seed of a multi-seed run, as the claims read it: its split and each variant's test-row
    predictions (N,) in split order."""

    seed: int
    split: pd.DataFrame
    predictions: dict[str, np.ndarray]


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
    models: dict[str, RatingModel]
    histories: dict[str, pd.DataFrame]
    seed: int = 42
    other_seeds: tuple[SeedRun, ...] = ()  # the further seeds of a multi-seed run (the claims read them)
