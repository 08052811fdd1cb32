"""The reference study's claims, each checked against a run's numbers: a verdict and the evidence.

Verdicts are :class:`~recsys.analysis.verdict.Verdict` members: held, partly or did not hold (or not measured
when the run lacks the variants a claim needs), by one rule (:func:`verdict_of_parts`, :data:`RULE`): each claim
is made of parts (a variant on a seed, a net, one half of a two-part claim); held when every part held, partly
when at least half did, else did not hold. Gaps between two variants count only when a paired bootstrap on the
test rows says they are real; the bootstrap resamples users, not rows, since the rows of one user are not
independent (a user who rates generously errs alike on all of them).
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recsys import columns as C
from recsys.analysis.inputs import BOOTSTRAP_ROWS, learned_sample, rows_mse, sampled
from recsys.analysis.verdict import Verdict
from recsys.data.split import rows_of
from recsys.evaluation.metrics.bootstrap import percentile_interval, resampled_group_means
from recsys.models.biases import biases_only_predictions

RECURRENT = ("lstm", "gru", "bilstm")
RULE = "held when every part held, partly when at least half did"


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


def paired_gaps(
    y: np.ndarray, predictions: dict[str, np.ndarray], reference: np.ndarray, seed: int, users: np.ndarray
) -> dict:
    """For each of ``predictions``: its MSE (``mse_a``), the reference's (``mse_b``), the difference with a 95%
    paired bootstrap interval and whether it is real; one resample of the ``users`` (N,) (each drawn user's
    rows together) shared by all of them."""
    values = np.column_stack([(p - y) ** 2 for p in predictions.values()] + [(reference - y) ** 2])  # (N, k+1)
    boot = resampled_group_means(values, users, 1000, seed)  # (1000, k + 1)
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
        y, base, users = test[C.RATING].to_numpy()[rows], reference(run)[rows], test[C.USER_ID].to_numpy()[rows]
        per_seed.append(paired_gaps(y, {n: run.predictions[n][rows] for n in names}, base, run.seed, users))
    return {name: [gaps[name] for gaps in per_seed] for name in names}


def verdict_over_seeds(gaps: dict[str, list[dict]]) -> Verdict:
    """The parts are each variant on each seed; a part holds when its gap is real and negative."""
    return verdict_of_parts([g["significant"] and g["delta_mse"] < 0 for gs in gaps.values() for g in gs])


def verdict_of_parts(parts: list[bool]) -> Verdict:
    """:data:`RULE`: held when every part held, partly when at least half did (not one part of many), else
    did not hold."""
    held = sum(parts)
    return Verdict.HELD if held == len(parts) else Verdict.PARTLY if 2 * held >= len(parts) else Verdict.DID_NOT_HOLD


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
        where = f"the verdict rests on one split (seed {runs[0].seed}; --seeds N gives the spread over splits)"
    else:
        where = f"{len(runs)} splits (seeds {', '.join(str(r.seed) for r in runs)}): mean ± std over seeds"
    return f"{where}; 95% intervals resample users; parts: each variant on each seed, {RULE}"


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
FEATURE_INPUTS = ("wide_deep",)  # nets that read the movies' year and genres (recsys.data.features), not ids alone
OVERFIT_RISE = 0.002  # validation MSE this far above its minimum after the best epoch: a rise, not noise
OVERFIT_WINDOW = (3, 12)  # "about 6 epochs"


def seed_histories(data) -> list[tuple[int, dict[str, pd.DataFrame]]]:
    """Each seed's per-epoch histories: the run's own, then each further seed's that has them."""
    return [(data.seed, data.histories)] + [(s.seed, s.histories) for s in data.other_seeds if s.histories]


def over_seeds(values: dict[str, list[float]], fmt: str = ".4f") -> str:
    """``name mean ± sd`` over seeds for each name (the sample standard deviation; 0 for one seed)."""
    return ", ".join(
        f"{n} {np.mean(v):{fmt}} ± {np.std(v, ddof=1) if len(v) > 1 else 0.0:{fmt}}" for n, v in values.items()
    )


def overfits_after_six_epochs(analysis, data) -> tuple[str, Verdict, str]:
    """Held when every study net present, on every seed of the run, reaches its best validation MSE within
    3-12 epochs *and* its validation MSE then rises by at least 0.002 (a net whose budget or early stopping
    ended it before any rise does not count as overfitting); partly when at least half of those parts do; else
    did not hold. (It was "held" whenever every best epoch was <= 10, which a budget of 10 epochs made
    certain.)"""
    claim = "Models overfit after about 6 epochs (validation MSE rises past its minimum)"
    runs = [(seed, {n: h[n] for n in STUDY_NETS if n in h and len(h[n]) > 1}) for seed, h in seed_histories(data)]
    runs = [(seed, nets) for seed, nets in runs if nets]
    if not runs:
        return (
            claim,
            Verdict.NOT_MEASURED,
            "needs the per-epoch history of a study net (baseline, lstm, gru, wide_deep)",
        )
    low, high = OVERFIT_WINDOW
    parts, lines, epochs = [], [], {}
    for seed, nets in runs:
        best = best_epochs(nets)
        for n, history in nets.items():
            rise = validation_rise(history)
            overfit = low <= best[n] <= high and rise >= OVERFIT_RISE
            parts.append(overfit)
            epochs.setdefault(n, []).append(best[n])
            label = n if len(runs) == 1 else f"{n} seed {seed}"
            lines.append(f"{label} best epoch {best[n]}, then +{rise:.4f}" + ("" if overfit else " (no)"))
    verdict = verdict_of_parts(parts)
    spread = f"; best epoch over {len(runs)} seeds: {over_seeds(epochs, '.1f')}" if len(runs) > 1 else ""
    rule = (
        f"rule: a net overfits when its best epoch is {low}-{high} and validation MSE then rises >= {OVERFIT_RISE}; "
        f"parts: each study net{' on each seed' if len(runs) > 1 else ''}, {RULE}"
    )
    return claim, verdict, "; ".join(lines) + spread + f". {rule}"


def overfitting_gap(unseen_mse: float, learned_mse: float) -> float:
    """How much better one model fits the rows it learned from than rows it never saw: its test MSE minus its
    MSE on its own training rows, both measured in evaluation mode (dropout off, as it predicts; the per-epoch
    training loss runs with dropout on, which would flatter the nets with heavy dropout)."""
    return float(unseen_mse - learned_mse)


def learned_rows_mse(data, name: str) -> float:
    """MSE of variant ``name`` as the run scored it (dropout off) on the rows it learned from: the training
    rows, and the validation rows after a refit (:meth:`RunData.learned_rows`)."""
    learned = learned_sample(data.split, data.refit, data.seed)
    return rows_mse(data.models[name], data.user_vocab, data.movie_vocab, learned)


def validation_rise(history: pd.DataFrame) -> float:
    """How far the validation MSE climbed from its minimum by the last epoch run (0 if it never did)."""
    return float(history["val_mse"].iloc[-1] - history["val_mse"].min())


def wide_deep_overfits_less_scores_worse(analysis, data) -> tuple[str, Verdict, str]:
    """Two parts on each seed of the run: Wide & Deep's overfitting gap (test MSE minus its MSE on the rows it
    learned from) is the smallest of the nets, and its test MSE the highest."""
    claim = "Wide & Deep overfits less than the other nets but scores slightly worse"
    nets = [n for n in ("baseline", *RECURRENT, "wide_deep") if n in data.histories and len(data.histories[n]) > 1]
    if "wide_deep" not in nets or len(nets) < 2:
        return claim, Verdict.NOT_MEASURED, "needs wide_deep and another net with a history"
    board = analysis.leaderboard.set_index("variant")["mse"]
    # one model on both sides: the one scored on the test rows, against the rows it learned from (a refitted
    # model's validation curve belongs to its first fit, so it is not set against the refit's own fit)
    runs = [(data.seed, {n: board[n] for n in nets}, {n: learned_rows_mse(data, n) for n in nets})]
    skipped = []
    for other in seed_rows(analysis, data)[1:]:
        learned = next(s.learned_mse for s in data.other_seeds if s.seed == other.seed)
        present = [n for n in nets if n in learned and n in other.predictions]
        if "wide_deep" not in present or len(present) < 2:
            skipped.append(other.seed)
            continue
        ratings = other.test()[C.RATING].to_numpy()
        rows = sampled(len(ratings), BOOTSTRAP_ROWS, other.seed)  # the rows the leaderboard's MSE is on
        test = {n: float(np.mean((other.predictions[n][rows] - ratings[rows]) ** 2)) for n in present}
        runs.append((other.seed, test, {n: learned[n] for n in present}))
    parts, lines, gaps_over = [], [], {}
    for seed, test, learned in runs:
        gaps = {n: overfitting_gap(test[n], learned[n]) for n in test}
        others = [n for n in gaps if n != "wide_deep"]
        parts += [all(gaps["wide_deep"] < gaps[n] for n in others), all(test["wide_deep"] > test[n] for n in others)]
        for n, gap in gaps.items():
            gaps_over.setdefault(n, []).append(gap)
        lines.append(
            ("" if len(runs) == 1 else f"seed {seed}: ")
            + ", ".join(f"{n} {g:+.4f}" for n, g in gaps.items())
            + "; test MSE: "
            + ", ".join(f"{n} {test[n]:.4f}" for n in test)
        )
    verdict = verdict_of_parts(parts)
    rows = "training + validation" if data.refit else "training"
    evidence = f"test MSE - MSE on the {rows} rows each model learned from (dropout off): " + "; ".join(lines)
    if len(runs) > 1:
        evidence += f"; the gap over {len(runs)} seeds: {over_seeds(gaps_over)}"
    if skipped:
        evidence += f"; seeds {', '.join(map(str, skipped))} left out (no wide_deep or no other net with a history)"
    rises = {n: validation_rise(data.histories[n]) for n in nets}
    evidence += "; val MSE rise over the epochs after the best" + (f" (seed {data.seed}): " if len(runs) > 1 else ": ")
    evidence += ", ".join(f"{n} {r:+.4f}" for n, r in rises.items())
    each = " on each seed" if len(runs) > 1 else ""
    return claim, verdict, evidence + f". Parts: overfits less, scores worse{each}; {RULE}"


def units_follow_rating_and_year(analysis, data) -> tuple[str, Verdict, str]:
    """A part per net with hidden units and seed: its units correlate more with rating and year than with
    genre (the mean over units of each correlation ratio)."""
    claim = "Hidden units divide movies by rating and release year more than by genre"
    runs = [(data.seed, {n: u.summary for n, u in analysis.units.items()})]
    runs += [(s.seed, s.units) for s in analysis.other_seeds if s.units]
    if not runs[0][1]:
        return claim, Verdict.NOT_MEASURED, "no variant with a hidden layer"
    parts, lines, margins = [], [], {}
    for seed, summaries in runs:
        for n, s in summaries.items():
            parts.append(s["mean_r_rating_year"] > s["mean_r_genre"])
            margins.setdefault(n, []).append(s["mean_r_rating_year"] - s["mean_r_genre"])
            label = n if len(runs) == 1 else f"{n} seed {seed}"
            lines.append(
                f"{label}: R(rating, year) {s['mean_r_rating_year']:.3f} vs R(genres) {s['mean_r_genre']:.3f}, "
                f"{s['share_rating_year_above_genre']:.0%} of units"
            )
    verdict = verdict_of_parts(parts)
    evidence = "; ".join(lines)
    if len(runs) > 1:
        evidence += f"; R(rating, year) - R(genres) over {len(runs)} seeds: {over_seeds(margins, '.3f')}"
    inputs = [n for n in runs[0][1] if n in FEATURE_INPUTS]
    if inputs:  # a unit that reads the year or the genres is bound to divide movies by them
        evidence += (
            f". {', '.join(inputs)} takes release year and genres as inputs, so its units' split by them is partly"
            " built in, not learned from the ratings alone"
        )
    each = " on each seed" if len(runs) > 1 else ""
    return claim, verdict, evidence + f". Parts: each net{each}; {RULE}"


DIVERSITY_NETS = ("baseline", *RECURRENT, "wide_deep")  # the study's nets whose top-10 lists are compared


def wide_deep_recommends_more_diverse(analysis, data) -> tuple[str, Verdict, str]:
    """Three parts on each seed: Wide & Deep's top-10 lists have more coverage, more novelty and a lower Gini
    than every other study net's."""
    claim = "Wide & Deep recommends more diverse movies than the study's other nets"
    tables = [(data.seed, analysis.topn)] + [(s.seed, s.topn) for s in analysis.other_seeds]
    parts, wins_by_seed, main = [], [], None
    for seed, topn in tables:
        table = topn[topn["kind"] == "variant"].set_index("model")
        nets = [n for n in DIVERSITY_NETS if n in table.index and n != "wide_deep"]
        if "wide_deep" not in table.index or not nets:
            continue
        wd, others = table.loc["wide_deep"], table.loc[nets]
        wins = {
            "coverage": wd["coverage"] > others["coverage"].max(),
            "novelty": wd["novelty"] > others["novelty"].max(),
            "gini": wd["gini"] < others["gini"].min(),
        }
        parts += list(wins.values())
        wins_by_seed.append((seed, [k for k, v in wins.items() if v] or "nothing"))
        main = table if main is None else main
    if main is None:
        return claim, Verdict.NOT_MEASURED, "needs wide_deep and another of the study's nets"
    verdict = verdict_of_parts(parts)
    users = int(main["users"].iloc[0]) if "users" in main else "all"
    if len(wins_by_seed) == 1:
        ahead = f"W&D ahead on {wins_by_seed[0][1]}"
    else:
        ahead = "W&D ahead on " + ", ".join(f"{w} (seed {seed})" for seed, w in wins_by_seed)
    evidence = f"top-10 lists of {users} users; {ahead}; " + (
        "; ".join(
            f"{n}: coverage {r['coverage']:.3f}, novelty {r['novelty']:.2f} bits, Gini {r['gini']:.3f}"
            for n, r in main.iterrows()
        )
    )
    each = " on each seed" if len(wins_by_seed) > 1 else ""
    return claim, verdict, evidence + f". Parts: coverage, novelty, Gini{each}; {RULE}"
