"""The MLflow flavour of a trained variant: raw ids in, predicted ratings out.

The logged model carries its checkpoint (weights and vocabularies), so ``models:/movielens-rating@champion``
answers ``DataFrame(user_id, movie_id)`` with ratings, mapping unknown ids to the learned unknown slot.
"""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from mlflow.models import infer_signature

import mlflow
from recsys import columns as C
from recsys.evaluation.predictions import predict_ids
from recsys.models.checkpoint import load_checkpoint
from recsys.ranking import Ranker

# Exact pins of what the model needs at load time (passing them skips MLflow's slow inference of them).
# The recsys package itself must be installed where the model is loaded.
PIP_REQUIREMENTS = [
    "torch==2.13.0",
    "pandas==3.1.1",
    "numpy==2.4.6",
    "pyarrow==25.0.1",
    "pydantic==2.14.4",
    "mlflow==3.17.2",
]


class RatingPredictor(mlflow.pyfunc.PythonModel):
    """A rating model's answers: a predicted rating per (user_id, movie_id); a ranker's: its score for the pair
    (higher ranks first; unknown users and movies go to index 0, whose movie scores -inf)."""

    def load_context(self, context) -> None:
        self.loaded = load_checkpoint(Path(context.artifacts["checkpoint"]))

    def predict(self, context, model_input: pd.DataFrame, params=None) -> np.ndarray:
        return answers(self.loaded, model_input)


def answers(loaded, frame: pd.DataFrame) -> np.ndarray:
    if isinstance(loaded.model, Ranker):
        users = torch.from_numpy(loaded.user_vocab.encode(frame[C.USER_ID].to_numpy()))
        movies = torch.from_numpy(loaded.movie_vocab.encode(frame[C.MOVIE_ID].to_numpy()))
        return loaded.model.score_pairs(users, movies).numpy()
    return predict_ids(loaded.model, loaded.user_vocab, loaded.movie_vocab, frame)


def log_model(checkpoint: Path, example: pd.DataFrame) -> str:
    """Log the checkpoint as a pyfunc model in the active run; returns its model URI."""
    example = example[[C.USER_ID, C.MOVIE_ID]].reset_index(drop=True)
    loaded = load_checkpoint(checkpoint)
    predicted = answers(loaded, example)
    with warnings.catch_warnings():  # ids are never missing, so MLflow's hint on integer columns is noise
        warnings.simplefilter("ignore", UserWarning)
        signature = infer_signature(example, predicted)
    try:
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(Path(__file__).with_name("model_code.py")),
            artifacts={"checkpoint": str(checkpoint)},
            signature=signature,
            input_example=example,
            pip_requirements=PIP_REQUIREMENTS,
        )
    finally:  # also when the input-example check fails after the model was loaded
        forget_loaded_code_model()
    return info.model_uri


def forget_loaded_code_model() -> None:
    """MLflow keeps the last model it loaded from code (here to check the input example) in a module global,
    ``mlflow.models.model.__mlflow_model__``, until the next load: after a train-all the last variant logged,
    at 25M ratings the blend and its five members (about 1.8 GB), stayed for the analysis."""
    import mlflow.models.model

    mlflow.models.model.__mlflow_model__ = None
