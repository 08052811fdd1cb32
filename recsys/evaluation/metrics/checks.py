"""Input checks shared by the metric functions. Each raises ValueError naming the problem, so a metric never
scores a frame with a missing column, a missing prediction or a NaN."""

from collections.abc import Iterable

import numpy as np
import pandas as pd


def require_columns(frame: pd.DataFrame, columns: Iterable[str], name: str = "frame") -> None:
    """Raise unless ``frame`` has every one of ``columns``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {missing}; it has {list(frame.columns)}")


def as_ratings(y_true) -> np.ndarray:
    """True ratings as a float64 (N,) array: one-dimensional, not empty, all finite."""
    y_true = np.asarray(y_true, dtype=np.float64)
    if y_true.ndim != 1:
        raise ValueError(f"true ratings must be one-dimensional, got shape {y_true.shape}")
    if len(y_true) == 0:
        raise ValueError("no rows to score")
    if not np.isfinite(y_true).all():
        raise ValueError(f"{int((~np.isfinite(y_true)).sum())} true ratings are NaN or infinite")
    return y_true


def as_predictions(y_true: np.ndarray, y_pred, name: str = "predictions") -> np.ndarray:
    """Predictions as a float64 (N,) array aligned with ``y_true`` (N,): same length, all finite."""
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_pred.shape != y_true.shape:
        raise ValueError(f"{len(y_pred)} {name} for {len(y_true)} ratings: every row needs one")
    if not np.isfinite(y_pred).all():
        raise ValueError(f"{int((~np.isfinite(y_pred)).sum())} {name} are NaN or infinite")
    return y_pred


def require_positive_int(value, name: str) -> int:
    """``value`` as an int, raising unless it is a whole number of at least 1."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, got {value!r}")
    return int(value)
