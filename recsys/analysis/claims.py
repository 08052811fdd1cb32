"""The reference study's claims, each checked against a run's numbers: a verdict and the evidence.

Verdicts are :class:`~recsys.analysis.verdict.Verdict` members: held, partly or did not hold (or not measured
when the run lacks the variants a claim needs). Gaps between two variants count only when a paired bootstrap on
the test rows says they are real.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys import columns as C
from recsys.analysis.inputs import BOOTSTRAP_ROWS, sampled
from recsys.analysis.verdict import Verdict
from recsys.data.split import rows_of
from recsys.evaluation.metrics.bootstrap import percentile_interval, resampled_means
from recsys.evaluation.predictions import predict_ids
from recsys.models.biases import biases_only_predictions

RECURRENT = ("lstm", "gru", "bilstm")


def study_claims(analysis, data) -> pd.DataFrame:
    """One row per claim: claim, verdict (a :class:`Verdict`), evidence (for :class:`recsys.analysis.Analysis` of
    ``data``)."""
    checks = (
        embeddings_matter,
        recurrent_beats_baseline,
        overfits_after_six_epochs,
        wide_deep_overfits_less_scores_worse,
        units_follow_rating_and_year,
        wide_deep_recommends_more_diverse,
    )
    return pd.DataFrame([check(analysis, data) for check in checks], columns=["claim", "verdict", "evidence"])


def claims_as_text(claims: pd.DataFrame) -> pd.DataFrame:
    """``claims`` with each verdict as its words ("did not hold"), for Parquet and CSV, which hold text."""
    return claims.assign(verdict=[verdict.value for verdict in claims["verdict"]])


@dataclass(frozen=True)
class SeedRows:
    """One seed's split and its variants' test-row predictions."""

    seed: int
    split: pd.DataFrame
    predictions: dict[str, np.ndarray]

    def test(self) -> pd.DataFrame:
        return rows_of(self.split, C.TEST)


def seed_rows(analysis, data) -> list[SeedRows]:
    """The run's own seed first, then each further seed of a multi-seed run."""
    others = [SeedRows(s.seed, s.split, s.predictions) for s in data.other_seeds]
    return [SeedRows(data.seed, data.split, analysis.predictions), *others]


def bias_only_predictions(split: pd.DataFrame, test: pd.DataFrame, data=None) -> np.ndarray:
    """Global mean plus user and movie biases, clipped: no embeddings. (N,) for the rows of ``test``. Ridge-fitted
    on the rows of ``split`` the run's models learned from (``data``'s: training rows, and validation rows after
    a refit), else on the training rows."""
    learned = data.learned_rows(split) if data is not None else rows_of(split, C.TRAIN)
    return biases_only_predictions(learned, test)


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


def gaps_over_seeds(runs: list[SeedRows], names: list[str], reference) -> dict[str, list[dict]]:
    """Per variant in ``names``: its paired gap to ``reference(run)`` (predictions (N,)) on each seed's test
    rows, in seed order."""
    per_seed = []
    for run in runs:
        test = run.test()
        rows = sampled(len(test), BOOTSTRAP_ROWS, run.seed)  # all of them unless the release is large
        y, base = test[C.RATING].to_numpy()[rows], reference(run)[rows]
        per_seed.append(paired_gaps(y, {n: run.predictions[n][rows] for n in names}, base, run.seed))
    return {name: [gaps[name] for gaps in per_seed] for name in names}


def verdict_over_seeds(gaps: dict[str, list[dict]]) -> Verdict:
    """Held: every variant's gap is real and negative on every seed; partly: on some; else did not hold."""
    real = {n: [g["significant"] and g["delta_mse"] < 0 for g in gs] for n, gs in gaps.items()}
    return verdict_of(all(all(flags) for flags in real.values()), any(any(flags) for flags in real.values()))


def verdict_of(every: bool, some: bool) -> Verdict:
    """Held when ``every`` part of a claim held, partly when only ``some`` did, else did not hold."""
    return Verdict.HELD if every else Verdict.PARTLY if some else Verdict.DID_NOT_HOLD


def describe_gap(name: str, gaps: list[dict]) -> str:
    """One variant's gap: on one seed its MSE and interval; on several the mean and spread over seeds, how
    many seeds found it real, and each seed's interval."""
    if len(gaps) == 1:
        g = gaps[0]
        real = ", real" if g["significant"] else ", within noise"
        interval = f"[{g['delta_mse_low']:+.4f}, {g['delta_mse_high']:+.4f}]"
        return f"{name} {g['mse_a']:.4f} ({g['delta_mse']:+.4f} {interval}{real})"
    deltas = np.array([g["delta_mse"] for g in gaps])
    real = sum(g["significant"] and g["delta_mse"] < 0 for g in gaps)
    intervals = " ".join(f"[{g['delta_mse_low']:+.4f}, {g['delta_mse_high']:+.4f}]" for g in gaps)
    return (
        f"{name} gap {deltas.mean():+.4f} ± {deltas.std(ddof=1):.4f} over {len(gaps)} seeds, real in {real} of "
        f"{len(gaps)} (per seed {intervals})"
    )


def seeds_note(runs: list[SeedRows]) -> str:
    if len(runs) == 1:
        return f"the verdict rests on one split (seed {runs[0].seed}; --seeds N gives the spread over splits)"
    return f"{len(runs)} splits (seeds {', '.join(str(r.seed) for r in runs)}): mean ± std over seeds"


def embeddings_matter(analysis, data) -> tuple[str, Verdict, str]:
    claim = "Embeddings matter (learned user and movie vectors beat user and movie biases alone)"
    runs = seed_rows(analysis, data)
    embedded = [n for n in ("mf", "baseline", *RECURRENT, "wide_deep") if n in analysis.predictions]
    if not embedded:
        return claim, Verdict.NOT_MEASURED, "no variant with embeddings in this run"
    gaps = gaps_over_seeds(runs, embedded, lambda run: bias_only_predictions(run.split, run.test(), data))
    biases = np.mean([g["mse_b"] for g in gaps[embedded[0]]])
    rows = "training + validation rows, as the refitted models" if data.refit else "training rows"
    evidence = f"{seeds_note(runs)}; biases only (fitted on the {rows}): test MSE {biases:.4f}; "
    evidence += "; ".join(describe_gap(n, g) for n, g in gaps.items())
    return claim, verdict_over_seeds(gaps), evidence


def recurrent_beats_baseline(analysis, data) -> tuple[str, Verdict, str]:
    claim = "The recurrent layer beats the baseline net's dense layer"
    runs = seed_rows(analysis, data)
    found = [n for n in RECURRENT if n in analysis.predictions]
    if "baseline" not in analysis.predictions or not found:
        return claim, Verdict.NOT_MEASURED, "needs baseline and a recurrent variant"
    gaps = gaps_over_seeds(runs, found, lambda run: run.predictions["baseline"])
    baseline = np.mean([g["mse_b"] for g in gaps[found[0]]])
    evidence = f"{seeds_note(runs)}; baseline test MSE {baseline:.4f}; "
    evidence += "; ".join(describe_gap(n, g) for n, g in gaps.items())
    return claim, verdict_over_seeds(gaps), evidence


def best_epochs(histories: dict[str, pd.DataFrame]) -> dict[str, int]:
    """Epoch of the lowest validation MSE of each gradient-trained variant (closed-form ones left out)."""
    return {name: int(h.loc[h["val_mse"].idxmin(), "epoch"]) for name, h in histories.items() if len(h) > 1}


STUDY_NETS = ("baseline", "lstm", "gru", "wide_deep")  # the study's own nets: the claim is about them
OVERFIT_RISE = 0.002  # validation MSE this far above its minimum after the best epoch: a rise, not noise
OVERFIT_WINDOW = (3, 12)  # "about 6 epochs"


def overfits_after_six_epochs(analysis, data) -> tuple[str, Verdict, str]:
    """Held when every study net present reaches its best validation MSE within 3-12 epochs *and* its
    validation MSE then rises by at least 0.002 (a net whose budget or early stopping ended it before any rise
    does not count as overfitting); partly when at least half of them do; else did not hold. (It was "held"
    whenever every best epoch was <= 10, which a budget of 10 epochs made certain.)"""
    claim = "Models overfit after about 6 epochs (validation MSE rises past its minimum)"
    nets = [n for n in STUDY_NETS if n in data.histories and len(data.histories[n]) > 1]
    if not nets:
        return (
            claim,
            Verdict.NOT_MEASURED,
            "needs the per-epoch history of a study net (baseline, lstm, gru, wide_deep)",
        )
    low, high = OVERFIT_WINDOW
    best = best_epochs({n: data.histories[n] for n in nets})
    rise = {n: validation_rise(data.histories[n]) for n in nets}
    overfit = [n for n in nets if low <= best[n] <= high and rise[n] >= OVERFIT_RISE]
    verdict = verdict_of(len(overfit) == len(nets), 2 * len(overfit) >= len(nets))
    parts = [f"{n} best epoch {best[n]}, then +{rise[n]:.4f}" + ("" if n in overfit else " (no)") for n in nets]
    rule = (
        f"rule: a net overfits when its best epoch is {low}-{high} and validation MSE then rises >= {OVERFIT_RISE}; "
        "held if every study net does, partly if at least half"
    )
    return claim, verdict, "; ".join(parts) + f". {rule}"


def overfitting_gap(history: pd.DataFrame, train_mse: float) -> float:
    """Validation MSE at the best validation epoch minus ``train_mse``, the training rows' MSE of the model
    at that epoch measured in evaluation mode (dropout off, as it predicts): how much better the model fits
    the rows it learned from than new ones. (The per-epoch training loss runs with dropout on, which would
    flatter the nets with heavy dropout.)"""
    return float(history["val_mse"].min() - train_mse)


def eval_train_mse(data, name: str) -> float:
    """MSE of variant ``name`` (its best-epoch weights, dropout off) on the run's training rows."""
    train = rows_of(data.split, C.TRAIN)
    train = train.iloc[sampled(len(train), BOOTSTRAP_ROWS, data.seed)]  # all of them unless the release is large
    predicted = predict_ids(data.models[name], data.user_vocab, data.movie_vocab, train)
    return float(np.mean((predicted - train[C.RATING].to_numpy()) ** 2))


def validation_rise(history: pd.DataFrame) -> float:
    """How far the validation MSE climbed from its minimum by the last epoch run (0 if it never did)."""
    return float(history["val_mse"].iloc[-1] - history["val_mse"].min())


def wide_deep_overfits_less_scores_worse(analysis, data) -> tuple[str, Verdict, str]:
    claim = "Wide & Deep overfits less than the other nets but scores slightly worse"
    nets = [n for n in ("baseline", *RECURRENT, "wide_deep") if n in data.histories and len(data.histories[n]) > 1]
    if "wide_deep" not in nets or len(nets) < 2:
        return claim, Verdict.NOT_MEASURED, "needs wide_deep and another net with a history"
    gaps = {n: overfitting_gap(data.histories[n], eval_train_mse(data, n)) for n in nets}
    board = analysis.leaderboard.set_index("variant")["mse"]
    others = [n for n in nets if n != "wide_deep"]
    less = all(gaps["wide_deep"] < gaps[n] for n in others)
    worse = all(board["wide_deep"] > board[n] for n in others)
    verdict = verdict_of(less and worse, less or worse)
    evidence = "val - train MSE at the best epoch (train rows scored with dropout off): "
    evidence += ", ".join(f"{n} {g:+.4f}" for n, g in gaps.items())
    rises = {n: validation_rise(data.histories[n]) for n in nets}
    evidence += "; val MSE rise over the epochs after the best: " + ", ".join(f"{n} {r:+.4f}" for n, r in rises.items())
    evidence += "; test MSE: " + ", ".join(f"{n} {board[n]:.4f}" for n in nets)
    return claim, verdict, evidence


def units_follow_rating_and_year(analysis, data) -> tuple[str, Verdict, str]:
    claim = "Hidden units divide movies by rating and release year more than by genre"
    if not analysis.units:
        return claim, Verdict.NOT_MEASURED, "no variant with a hidden layer"
    summaries = {n: u.summary for n, u in analysis.units.items()}
    above = [n for n, s in summaries.items() if s["mean_r_rating_year"] > s["mean_r_genre"]]
    verdict = verdict_of(len(above) == len(summaries), bool(above))
    evidence = "; ".join(
        f"{n}: R(rating, year) {s['mean_r_rating_year']:.3f} vs R(genres) {s['mean_r_genre']:.3f}, "
        f"{s['share_rating_year_above_genre']:.0%} of units"
        for n, s in summaries.items()
    )
    return claim, verdict, evidence


def wide_deep_recommends_more_diverse(analysis, data) -> tuple[str, Verdict, str]:
    claim = "Wide & Deep recommends more diverse movies than the study's other nets"
    table = analysis.topn[analysis.topn["kind"] == "variant"].set_index("model")
    nets = [n for n in ("baseline", *RECURRENT) if n in table.index]
    if "wide_deep" not in table.index or not nets:
        return claim, Verdict.NOT_MEASURED, "needs wide_deep and another of the study's nets"
    wd, others = table.loc["wide_deep"], table.loc[nets]
    wins = {
        "coverage": wd["coverage"] > others["coverage"].max(),
        "novelty": wd["novelty"] > others["novelty"].max(),
        "gini": wd["gini"] < others["gini"].min(),
    }
    verdict = verdict_of(all(wins.values()), any(wins.values()))
    users = int(table["users"].iloc[0]) if "users" in table else "all"
    evidence = f"top-10 lists of {users} users; W&D ahead on {[k for k, v in wins.items() if v] or 'nothing'}; " + (
        "; ".join(
            f"{n}: coverage {r['coverage']:.3f}, novelty {r['novelty']:.2f} bits, Gini {r['gini']:.3f}"
            for n, r in table.iterrows()
        )
    )
    return claim, verdict, evidence
