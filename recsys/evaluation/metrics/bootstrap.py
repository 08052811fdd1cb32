"""Error metrics with percentile bootstrap confidence intervals, paired comparisons of two predictors on the
same resampled rows, and a leaderboard that says which gaps to the best variant are real.

Every resample draws N rows with replacement; the draws depend only on N, ``n_boot`` and ``seed`` (the chunk
size is fixed), so the same seed gives identical numbers, and every predictor scored with one seed sees
the same resampled rows: :func:`bootstrap_metrics`, :func:`paired_bootstrap` and :func:`compare_to_best`
agree with one another.
"""

from collections.abc import Mapping

import numpy as np
import pandas as pd

from recsys.evaluation.metrics.checks import as_predictions, as_ratings, require_positive_int

CHUNK_ELEMENTS = 1 << 22  # resampled row numbers held at once (32 MiB of int64): bounds memory, not results


def check_level(level: float) -> float:
    """The confidence level, raising unless it lies strictly between 0 and 1."""
    if not 0 < level < 1:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level!r}")
    return float(level)


def resampled_means(values: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Column means of ``values`` (N, m) over ``n_boot`` resamples of its rows: (n_boot, m).

    Every column sees the same resampled rows, which keeps statistics of different columns paired.
    """
    n = len(values)
    out = np.empty((n_boot, values.shape[1]))
    for start, counts in draw_counts(n, n_boot, seed):  # a matrix product gives every column's mean at once
        out[start : start + len(counts)] = counts @ values / n  # (b, m)
    return out


def draw_counts(n: int, n_boot: int, seed: int):
    """For chunks of the ``n_boot`` resamples of ``n`` items (each drawing ``n`` with replacement): the first
    resample's number and how often each item was drawn in each, (b, n) float64."""
    rng = np.random.default_rng(seed)
    per_chunk = max(1, CHUNK_ELEMENTS // max(n, 1))
    for start in range(0, n_boot, per_chunk):
        b = min(per_chunk, n_boot - start)
        idx = rng.integers(0, n, size=(b, n))  # (b, n) item numbers
        counts = np.bincount((idx + n * np.arange(b)[:, None]).ravel(), minlength=b * n).reshape(b, n)
        yield start, counts.astype(np.float64)


def resampled_group_means(values: np.ndarray, groups: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """Column means of ``values`` (N, m) over ``n_boot`` resamples of its *groups* (``groups`` (N,), a user id
    per row, say): each resample draws as many groups as there are, with replacement, and keeps all the rows of
    each draw, so rows of one group, which are not independent, move together. (n_boot, m), every column on
    the same resampled groups."""
    _, group = np.unique(groups, return_inverse=True)  # (N,) 0..G-1
    n_groups = int(group.max()) + 1 if len(group) else 0
    sums = np.zeros((n_groups, values.shape[1]))
    np.add.at(sums, group, values)  # (G, m)
    sizes = np.bincount(group, minlength=n_groups).astype(np.float64)  # (G,)
    out = np.empty((n_boot, values.shape[1]))
    for start, drawn in draw_counts(n_groups, n_boot, seed):  # (b, G): how often each group was drawn
        out[start : start + len(drawn)] = (drawn @ sums) / (drawn @ sizes)[:, None]
    return out


def percentile_interval(boot: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper percentile bounds of ``boot`` (n_boot, ...) along its first axis."""
    low, high = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return low, high


def summarise_errors(point: np.ndarray, boot: np.ndarray, level: float) -> dict[str, float]:
    """mse, rmse, mae and their ``_low``/``_high`` bounds from the mean squared and absolute error:
    ``point`` (2,) on all rows, ``boot`` (n_boot, 2) per resample."""
    points = {"mse": point[0], "rmse": np.sqrt(point[0]), "mae": point[1]}
    boots = {"mse": boot[:, 0], "rmse": np.sqrt(boot[:, 0]), "mae": boot[:, 1]}
    out = {}
    for name, value in points.items():
        low, high = percentile_interval(boots[name], level)
        out.update({name: float(value), f"{name}_low": float(low), f"{name}_high": float(high)})
    return out


def bootstrap_metrics(y_true, y_pred, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> dict:
    """MSE, RMSE and MAE (rating units, squared for MSE) of ``y_pred`` (N,) against ``y_true`` (N,) on all
    rows, each with a percentile bootstrap interval at ``level``: keys ``mse``, ``mse_low``, ``mse_high``,
    the same for ``rmse`` and ``mae``, and ``n`` (rows)."""
    y_true = as_ratings(y_true)
    err = as_predictions(y_true, y_pred) - y_true
    n_boot, level = require_positive_int(n_boot, "n_boot"), check_level(level)
    values = np.column_stack([err**2, np.abs(err)])  # (N, 2): squared and absolute errors
    boot = resampled_means(values, n_boot, seed)  # (n_boot, 2)
    return {**summarise_errors(values.mean(axis=0), boot, level), "n": len(y_true)}


def paired_bootstrap(
    y_true, pred_a, pred_b, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> dict[str, float | bool]:
    """MSE of ``pred_a`` minus MSE of ``pred_b`` (both (N,)), resampling the same rows for both.

    Returns ``mse_a``, ``mse_b``, ``delta_mse`` (a minus b; negative: a is better) with ``delta_mse_low`` and
    ``delta_mse_high``; ``p_not_better``, the share of resamples where a is not better (delta >= 0), a
    one-sided p-value for "a beats b"; and ``significant``, whether the interval excludes 0.
    """
    y_true = as_ratings(y_true)
    err_a = as_predictions(y_true, pred_a, "predictions a") - y_true
    err_b = as_predictions(y_true, pred_b, "predictions b") - y_true
    n_boot, level = require_positive_int(n_boot, "n_boot"), check_level(level)
    values = np.column_stack([err_a**2, err_b**2])  # (N, 2)
    boot = resampled_means(values, n_boot, seed)  # (n_boot, 2)
    delta_boot = boot[:, 0] - boot[:, 1]  # (n_boot,)
    low, high = percentile_interval(delta_boot, level)
    point = values.mean(axis=0)
    return {
        "mse_a": float(point[0]),
        "mse_b": float(point[1]),
        "delta_mse": float(point[0] - point[1]),
        "delta_mse_low": float(low),
        "delta_mse_high": float(high),
        "p_not_better": float(np.mean(delta_boot >= 0)),
        "significant": bool(low > 0 or high < 0),
    }


def paired_user_bootstrap(
    y_true, pred_a, pred_b, users, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> dict[str, float | bool | int]:
    """As :func:`paired_bootstrap`, but resampling *users* (``users`` (N,), one id per row), each drawn with all
    of their rows: rows of one user are not independent draws (a user who rates harshly makes many rows hard
    at once), so resampling rows gives intervals too narrow when a gain comes from a few heavy raters. The MSE
    of a resample is its total squared error over its total rows (a ratio estimator). Also ``users``."""
    y_true = as_ratings(y_true)
    err_a = as_predictions(y_true, pred_a, "predictions a") - y_true
    err_b = as_predictions(y_true, pred_b, "predictions b") - y_true
    n_boot, level = require_positive_int(n_boot, "n_boot"), check_level(level)
    codes, _ = pd.factorize(np.asarray(users))
    if len(codes) != len(y_true):
        raise ValueError(f"users has {len(codes)} entries for {len(y_true)} rows")
    per_user = np.column_stack(
        [np.bincount(codes, weights=err_a**2), np.bincount(codes, weights=err_b**2), np.bincount(codes)]
    )  # (U, 3): squared errors of a and b summed per user, and the user's rows
    boot = resampled_means(per_user, n_boot, seed)  # (n_boot, 3)
    delta_boot = (boot[:, 0] - boot[:, 1]) / boot[:, 2]
    low, high = percentile_interval(delta_boot, level)
    total = per_user.sum(axis=0)
    mse_a, mse_b = total[0] / total[2], total[1] / total[2]
    return {
        "mse_a": float(mse_a),
        "mse_b": float(mse_b),
        "delta_mse": float(mse_a - mse_b),
        "delta_mse_low": float(low),
        "delta_mse_high": float(high),
        "p_not_better": float(np.mean(delta_boot >= 0)),
        "significant": bool(low > 0 or high < 0),
        "users": len(per_user),
    }


def gap_to_best(mse_boot: np.ndarray, best_boot: np.ndarray, level: float) -> dict[str, float | bool]:
    """A variant's MSE minus the best one's, per resample (n_boot,) each: interval, p-value, significance."""
    delta_boot = mse_boot - best_boot  # (n_boot,)
    low, high = percentile_interval(delta_boot, level)
    return {
        "delta_mse_low": float(low),
        "delta_mse_high": float(high),
        "p_value": float(np.mean(delta_boot <= 0)),  # share of resamples where it is not worse than the best
        "significant": bool(low > 0 or high < 0),
    }


def compare_to_best(
    y_true, predictions: Mapping[str, np.ndarray], *, n_boot: int = 1000, seed: int = 0, level: float = 0.95
) -> pd.DataFrame:
    """A leaderboard of ``predictions`` (variant name -> (N,) predicted ratings), best (lowest MSE) first.

    One row per variant: ``variant``, ``n``, mse/rmse/mae each with ``_low``/``_high`` bounds; ``delta_mse``,
    its MSE minus the best variant's, with a paired interval on the same resampled rows; ``p_value``, the
    share of resamples where it is not worse than the best; and ``significant``: whether the gap is real (the
    interval excludes 0; never for the best row, whose gap is 0). Ties for best go to the first given.
    """
    y_true = as_ratings(y_true)
    if not predictions:
        raise ValueError("no predictions to compare")
    errors = [as_predictions(y_true, p, f"predictions of {name!r}") - y_true for name, p in predictions.items()]
    n_boot, level = require_positive_int(n_boot, "n_boot"), check_level(level)
    err = np.column_stack(errors)  # (N, K)
    k = err.shape[1]
    values = np.hstack([err**2, np.abs(err)])  # (N, 2K): K squared-error columns, then K absolute-error ones
    boot, point = resampled_means(values, n_boot, seed), values.mean(axis=0)  # (n_boot, 2K), (2K,)
    best = int(np.argmin(point[:k]))
    rows = []
    for i, name in enumerate(predictions):
        errors_i = summarise_errors(point[[i, k + i]], boot[:, [i, k + i]], level)
        gap = {"delta_mse": float(point[i] - point[best]), **gap_to_best(boot[:, i], boot[:, best], level)}
        rows.append({"variant": name, "n": len(y_true), **errors_i, **gap})
    return pd.DataFrame(rows).sort_values("mse", kind="stable").reset_index(drop=True)
