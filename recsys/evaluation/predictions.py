"""Predictions and error metrics. Metrics fail loudly on missing or misaligned predictions."""

import numpy as np
import pandas as pd
import torch

from recsys import columns as C
from recsys.data.tensors import RatingTensors
from recsys.data.vocab import Vocabulary
from recsys.models.base import RatingModel


@torch.no_grad()
def predict(model: RatingModel, data: RatingTensors, batch_size: int = 65_536) -> np.ndarray:
    """Predicted ratings (N,) float64 for every row of ``data``, clipped to the exact rating range."""
    model.eval()
    device = model.low.device  # a buffer every model has, parameters or not
    parts = []
    for start in range(0, len(data), batch_size):
        users = data.user_idx[start : start + batch_size].to(device)
        movies = data.movie_idx[start : start + batch_size].to(device)
        parts.append(model(users, movies).float().cpu())
    out = torch.cat(parts).numpy().astype(np.float64) if parts else np.zeros(0)
    return np.clip(out, model.shape.rating_min, model.shape.rating_max)


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """MSE, RMSE and MAE of ``y_pred`` against ``y_true`` (same length, no NaN), in rating units."""
    y_true, y_pred = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"{len(y_pred)} predictions for {len(y_true)} ratings: every row needs one")
    if len(y_true) == 0:
        raise ValueError("no rows to score")
    if np.isnan(y_pred).any():
        raise ValueError(f"{int(np.isnan(y_pred).sum())} predictions are NaN")
    err = y_pred - y_true
    mse = float(np.mean(err**2))
    return {"mse": mse, "rmse": float(np.sqrt(mse)), "mae": float(np.mean(np.abs(err)))}


def predict_ids(model: RatingModel, user_vocab: Vocabulary, movie_vocab: Vocabulary, frame: pd.DataFrame) -> np.ndarray:
    """Predicted ratings (N,) for a frame of external ``user_id`` and ``movie_id``; ids the vocabularies
    do not know use the learned unknown slot."""
    missing = {C.USER_ID, C.MOVIE_ID} - set(frame.columns)
    if missing:
        raise ValueError(f"need columns {C.USER_ID!r} and {C.MOVIE_ID!r}; missing {sorted(missing)}")
    data = RatingTensors(
        torch.from_numpy(user_vocab.encode(frame[C.USER_ID].to_numpy(dtype=np.int64))),
        torch.from_numpy(movie_vocab.encode(frame[C.MOVIE_ID].to_numpy(dtype=np.int64))),
        torch.zeros(len(frame)),
    )
    return predict(model, data)
