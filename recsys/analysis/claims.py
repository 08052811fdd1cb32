"""The reference study's claims, each checked against a run's numbers: a verdict and the evidence.

Verdicts are "held", "partly" or "did not hold" (or "not measured" when the run lacks the variants a claim
needs). Gaps between two variants count only when a paired bootstrap on the test rows says they are real.
"""

import numpy as np
import pandas as pd
import torch

from recsys import columns as C
from recsys.data.split import rows_of
from recsys.evaluation.metrics.bootstrap import percentile_interval, resampled_means
from recsys.models.biases import fit_biases

RECURRENT = ("lstm", "gru", "bilstm")


def study_claims(analysis, data) -> pd.DataFrame:
    """One row per claim: claim, verdict, evidence (for :class:`recsys.analysis.Analysis` of ``data``)."""
    checks = (
        embeddings_matter,
        recurrent_beats_baseline,
        overfits_after_six_epochs,
        wide_deep_overfits_less_scores_worse,
        units_follow_rating_and_year,
        wide_deep_recommends_more_diverse,
    )
    return pd.DataFrame([check(analysis, data) for check in checks], columns=["claim", "verdict", "evidence"])


def _test_predictions(analysis, data) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    return rows_of(data.split, C.TEST), analysis.predictions


def bias_only_predictions(data, test: pd.DataFrame) -> np.ndarray:
    """Global mean plus user and movie biases (ridge-fitted on the training rows), clipped: no embeddings."""
    train = rows_of(data.split, C.TRAIN)
    users = torch.tensor(data.user_vocab.encode(train[C.USER_ID].to_numpy()))
    movies = torch.tensor(data.movie_vocab.encode(train[C.MOVIE_ID].to_numpy()))
    ratings = torch.tensor(train[C.RATING].to_numpy(np.float64))
    shape = next(iter(data.models.values())).shape
    bu, bm = fit_biases(users, movies, ratings - ratings.mean(), shape)
    u, m = data.user_vocab.encode(test[C.USER_ID].to_numpy()), data.movie_vocab.encode(test[C.MOVIE_ID].to_numpy())
    predicted = float(ratings.mean()) + bu.numpy()[u] + bm.numpy()[m]
    return np.clip(predicted, shape.rating_min, shape.rating_max)


def paired_gaps(y: np.ndarray, predictions: dict[str, np.ndarray], reference: np.ndarray, seed: int) -> dict:
    """For each of ``predictions``: its MSE (``mse_a``), the reference's (``mse_b``), the difference with a 95%
    paired bootstrap interval and whether it is real; one resample of the rows shared by all of them."""
    values = np.column_stack([(p - y) ** 2 for p in predictions.values()] + [(reference - y) ** 2])  # (N, k+1)
    boot = resampled_means(values, 1000, seed)  # (1000, k + 1)
    point = values.mean(0)
    out = {}
    for i, name in enumerate(predictions):
        low, high = percentile_interval(boot[:, i] - boot[:, -1], 0.95)
        out[name] = {
            "mse_a": float(point[i]),
            "mse_b": float(point[-1]),
            "delta_mse": float(point[i] - point[-1]),
            "delta_mse_low": float(low),
            "delta_mse_high": float(high),
            "significant": bool(low > 0 or high < 0),
        }
    return out


def embeddings_matter(analysis, data) -> tuple[str, str, str]:
    claim = "Embeddings matter (learned user and movie vectors beat user and movie biases alone)"
    test, predictions = _test_predictions(analysis, data)
    embedded = [n for n in ("mf", "baseline", *RECURRENT, "wide_deep") if n in predictions]
    if not embedded:
        return claim, "not measured", "no variant with embeddings in this run"
    y, biases = test[C.RATING].to_numpy(), bias_only_predictions(data, test)
    gaps = paired_gaps(y, {n: predictions[n] for n in embedded}, biases, data.seed)
    better = [n for n, g in gaps.items() if g["significant"] and g["delta_mse"] < 0]
    verdict = "held" if len(better) == len(embedded) else "partly" if better else "did not hold"
    evidence = f"biases only: test MSE {gaps[embedded[0]]['mse_b']:.4f}; " + "; ".join(
        f"{n} {g['mse_a']:.4f} ({g['delta_mse']:+.4f} [{g['delta_mse_low']:+.4f}, {g['delta_mse_high']:+.4f}])"
        for n, g in gaps.items()
    )
    return claim, verdict, evidence


def recurrent_beats_baseline(analysis, data) -> tuple[str, str, str]:
    claim = "The recurrent layer beats the baseline net's dense layer"
    test, predictions = _test_predictions(analysis, data)
    found = [n for n in RECURRENT if n in predictions]
    if "baseline" not in predictions or not found:
        return claim, "not measured", "needs baseline and a recurrent variant"
    y = test[C.RATING].to_numpy()
    gaps = paired_gaps(y, {n: predictions[n] for n in found}, predictions["baseline"], data.seed)
    better = [n for n, g in gaps.items() if g["significant"] and g["delta_mse"] < 0]
    verdict = "held" if len(better) == len(found) else "partly" if better else "did not hold"
    evidence = f"baseline test MSE {gaps[found[0]]['mse_b']:.4f}; " + "; ".join(
        f"{n} {g['mse_a']:.4f} (gap {g['delta_mse']:+.4f} [{g['delta_mse_low']:+.4f}, {g['delta_mse_high']:+.4f}]"
        f"{', real' if g['significant'] else ', within noise'})"
        for n, g in gaps.items()
    )
    return claim, verdict, evidence


def best_epochs(histories: dict[str, pd.DataFrame]) -> dict[str, int]:
    """Epoch of the lowest validation MSE of each gradient-trained variant (closed-form ones left out)."""
    return {name: int(h.loc[h["val_mse"].idxmin(), "epoch"]) for name, h in histories.items() if len(h) > 1}


def overfits_after_six_epochs(analysis, data) -> tuple[str, str, str]:
    claim = "Models overfit after about 6 epochs (validation MSE rises past its minimum)"
    best = best_epochs(data.histories)
    if not best:
        return claim, "not measured", "no per-epoch history"
    near = [n for n, e in best.items() if e <= 10]
    verdict = "held" if len(near) == len(best) else "partly" if near else "did not hold"
    evidence = "best validation epoch: " + ", ".join(f"{n} {e}" for n, e in best.items())
    return claim, verdict, evidence


def overfitting_gap(history: pd.DataFrame) -> float:
    """Validation minus training MSE at the best validation epoch: how much better the model fits the
    rows it learned from than new ones."""
    row = history.loc[history["val_mse"].idxmin()]
    return float(row["val_mse"] - row["train_mse"])


def validation_rise(history: pd.DataFrame) -> float:
    """How far the validation MSE climbed from its minimum by the last epoch run (0 if it never did)."""
    return float(history["val_mse"].iloc[-1] - history["val_mse"].min())


def wide_deep_overfits_less_scores_worse(analysis, data) -> tuple[str, str, str]:
    claim = "Wide & Deep overfits less than the other nets but scores slightly worse"
    nets = [n for n in ("baseline", *RECURRENT, "wide_deep") if n in data.histories and len(data.histories[n]) > 1]
    if "wide_deep" not in nets or len(nets) < 2:
        return claim, "not measured", "needs wide_deep and another net with a history"
    gaps = {n: overfitting_gap(data.histories[n]) for n in nets}
    board = analysis.leaderboard.set_index("variant")["mse"]
    others = [n for n in nets if n != "wide_deep"]
    less = all(gaps["wide_deep"] < gaps[n] for n in others)
    worse = all(board["wide_deep"] > board[n] for n in others)
    verdict = "held" if less and worse else "partly" if less or worse else "did not hold"
    evidence = "val - train MSE at the best epoch: " + ", ".join(f"{n} {g:+.4f}" for n, g in gaps.items())
    rises = {n: validation_rise(data.histories[n]) for n in nets}
    evidence += "; val MSE rise over the epochs after the best: " + ", ".join(f"{n} {r:+.4f}" for n, r in rises.items())
    evidence += "; test MSE: " + ", ".join(f"{n} {board[n]:.4f}" for n in nets)
    return claim, verdict, evidence


def units_follow_rating_and_year(analysis, data) -> tuple[str, str, str]:
    claim = "Hidden units divide movies by rating and release year more than by genre"
    if not analysis.units:
        return claim, "not measured", "no variant with a hidden layer"
    summaries = {n: u.summary for n, u in analysis.units.items()}
    above = [n for n, s in summaries.items() if s["mean_r_rating_year"] > s["mean_r_genre"]]
    verdict = "held" if len(above) == len(summaries) else "partly" if above else "did not hold"
    evidence = "; ".join(
        f"{n}: R(rating, year) {s['mean_r_rating_year']:.3f} vs R(genres) {s['mean_r_genre']:.3f}, "
        f"{s['share_rating_year_above_genre']:.0%} of units"
        for n, s in summaries.items()
    )
    return claim, verdict, evidence


def wide_deep_recommends_more_diverse(analysis, data) -> tuple[str, str, str]:
    claim = "Wide & Deep recommends more diverse movies than the study's other nets"
    table = analysis.diversity.set_index("variant")
    nets = [n for n in ("baseline", *RECURRENT) if n in table.index]
    if "wide_deep" not in table.index or not nets:
        return claim, "not measured", "needs wide_deep and another of the study's nets"
    wd, others = table.loc["wide_deep"], table.loc[nets]
    wins = {
        "coverage": wd["coverage"] > others["coverage"].max(),
        "novelty": wd["novelty"] > others["novelty"].max(),
        "gini": wd["gini"] < others["gini"].min(),
    }
    verdict = "held" if all(wins.values()) else "partly" if any(wins.values()) else "did not hold"
    users = int(table["users"].iloc[0]) if "users" in table else "all"
    evidence = f"top-10 lists of {users} users; W&D ahead on {[k for k, v in wins.items() if v] or 'nothing'}; " + (
        "; ".join(
            f"{n}: coverage {r['coverage']:.3f}, novelty {r['novelty']:.2f} bits, Gini {r['gini']:.3f}"
            for n, r in table.iterrows()
        )
    )
    return claim, verdict, evidence
