"""The MLflow flavour of a trained variant: raw ids in, predicted ratings (or top-N lists) out.

The logged model carries its checkpoint (weights and vocabularies) and its code (``code_paths``: the
``recsys`` library and this package), so it loads where only MLflow and PyTorch are installed:
``models:/movielens-rating@champion`` answers ``DataFrame(user_id, movie_id)`` with ratings, mapping unknown
ids to the learned unknown slot; with the parameter ``k`` (``{"params": {"k": 10}}`` over HTTP) it answers
each user's top-``k`` list instead, and a ranker (``movielens-topn``) folds in a new user from the rows'
``rating`` column (:func:`recsys.serving.served_lists`).
"""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from mlflow.models import ModelSignature, infer_signature
from mlflow.types import ColSpec, DataType, ParamSchema, ParamSpec, Schema

import mlflow
from recsys import columns as C
from recsys.evaluation.predictions import predict_ids
from recsys.models.checkpoint import load_checkpoint
from recsys.ranking import Ranker
from recsys.serving import served_lists

# Exact pins of what the model needs at load time (passing them skips MLflow's slow inference of them).
# The recsys package travels with the model (CODE_PATHS): it need not be installed where the model loads.
PIP_REQUIREMENTS = [
    "torch==2.13.0",
    "pandas==3.1.1",
    "numpy==2.4.6",
    "pyarrow==25.0.1",
    "pydantic==2.14.4",
    "mlflow==3.17.2",
]


CODE_PATHS = [str(Path(__file__).parents[1] / "recsys"), str(Path(__file__).parent)]  # the library, this package


class RatingPredictor(mlflow.pyfunc.PythonModel):
    """A rating model's answers: a predicted rating per (user_id, movie_id); a ranker's: its score for the pair
    (higher ranks first; unknown users and movies go to index 0, whose movie scores -inf)."""

    def load_context(self, context) -> None:
        self.loaded = load_checkpoint(Path(context.artifacts["checkpoint"]))

    def predict(self, context, model_input: pd.DataFrame, params=None):
        k = int((params or {}).get("k") or 0)
        if k > 0:
            loaded = self.loaded
            return served_lists(loaded.model, loaded.user_vocab, loaded.movie_vocab, model_input, k)
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
        output = infer_signature(example, predicted).outputs
    inputs = Schema(
        [
            ColSpec(DataType.long, C.USER_ID),
            ColSpec(DataType.long, C.MOVIE_ID),
            ColSpec(DataType.double, C.RATING, required=False),  # a new user's ratings (with k, rankers)
        ]
    )
    signature = ModelSignature(inputs, output, ParamSchema([ParamSpec("k", DataType.long, 0)]))
    try:
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=str(Path(__file__).with_name("model_code.py")),
            artifacts={"checkpoint": str(checkpoint)},
            signature=signature,
            input_example=example,
            pip_requirements=PIP_REQUIREMENTS,
            code_paths=CODE_PATHS,
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
