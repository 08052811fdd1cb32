"""The promotion rule, by hand: rows the champion never learned from, the gain's interval against the
margin under each rule, and a note that says which rule applied."""

import numpy as np
import pandas as pd
import pytest

from recsys import columns as C
from recsys.evaluation.promotion import (
    RETRAINED_RECIPE,
    UNSEEN_ROWS,
    Comparison,
    Contender,
    Gate,
    PromotionConfig,
    compare,
    decide_promotion,
    decision_markdown,
    rows_to_compare,
    unseen_rows,
)

CHALLENGER = Contender("7", "blend", 0.7323)
CHAMPION = Contender("3", "mf", 0.7805)


def comparison(gain, low, high, rows=5000) -> Comparison:
    return Comparison(UNSEEN_ROWS, rows, gain, low, high, "why")


def test_unseen_rows_drop_every_pair_the_champion_learned_from():
    test = pd.DataFrame({C.USER_ID: [1, 1, 2, 3], C.MOVIE_ID: [10, 11, 10, 12], C.RATING: [4.0, 3.0, 5.0, 1.0]})
    seen = pd.DataFrame({C.USER_ID: [1, 3, 2], C.MOVIE_ID: [11, 12, 99]})
    kept = unseen_rows(test, seen)
    assert kept[[C.USER_ID, C.MOVIE_ID]].values.tolist() == [[1, 10], [2, 10]]


def test_first_model_is_promoted():
    decision = decide_promotion(CHALLENGER, None, None, PromotionConfig(margin=0.001))
    assert decision.promote and decision.reason == "no champion yet" and decision.tag().startswith("promoted")


def test_interval_rule_needs_the_lower_bound_above_the_margin():
    rule = PromotionConfig(margin=0.001)
    assert decide_promotion(CHALLENGER, CHAMPION, comparison(0.03, 0.02, 0.04), rule).promote
    noisy = decide_promotion(CHALLENGER, CHAMPION, comparison(0.004, -0.001, 0.009), rule)
    assert not noisy.promote and "lower bound (-0.0010) does not exceed the margin 0.001" in noisy.reason
    expected = "kept: gain +0.0040 [-0.0010, +0.0090] on 5000 rows (unseen rows, rule interval, margin 0.001)"
    assert noisy.tag() == expected


def test_point_rule_keeps_the_old_behaviour():
    point = PromotionConfig(margin=0.001, rule="point")
    assert decide_promotion(CHALLENGER, CHAMPION, comparison(0.004, -0.001, 0.009), point).promote
    assert not decide_promotion(CHALLENGER, CHAMPION, comparison(0.0, -0.01, 0.01), point).promote  # a tie stays


def test_a_retry_finds_itself_champion_and_stays_promoted():
    decision = decide_promotion(CHALLENGER, CHALLENGER, None, PromotionConfig())
    assert decision.promote and "champion already" in decision.reason


def test_compare_measures_the_gain_on_the_same_rows_with_a_paired_interval():
    rng = np.random.default_rng(0)
    y = rng.uniform(1, 5, 4000)
    good, bad = y + rng.normal(0, 0.5, 4000), y + rng.normal(0, 0.9, 4000)
    c = compare(y, good, bad, np.arange(4000) % 300, UNSEEN_ROWS, "why", PromotionConfig(n_boot=200))
    assert c.rows == 4000 and c.gain == pytest.approx(np.mean((bad - y) ** 2) - np.mean((good - y) ** 2))
    assert 0 < c.gain_low < c.gain < c.gain_high


def test_negative_margin_is_refused():
    with pytest.raises(ValueError, match="margin"):
        PromotionConfig(margin=-0.1)


def test_markdown_names_both_models_the_rule_and_the_rows():
    decision = decide_promotion(CHALLENGER, CHAMPION, comparison(0.03, 0.02, 0.04), PromotionConfig())
    text = decision_markdown(decision)
    assert "promoted to champion" in text and "| champion | 3 | mf | 0.7805 |" in text
    assert "Rule applied: **unseen rows**. why" in text and "Compared rows: 5000" in text


def test_pending_versions_are_left_while_their_run_goes_completed_once_decided_else_deleted():
    from recsys.evaluation.promotion import Pending, settle_pending

    assert settle_pending(run_going=True, decision_recorded=False, holds_champion=False) is Pending.LEAVE
    assert settle_pending(run_going=False, decision_recorded=False, holds_champion=True) is Pending.COMPLETE
    assert settle_pending(run_going=False, decision_recorded=True, holds_champion=False) is Pending.COMPLETE
    assert settle_pending(run_going=False, decision_recorded=False, holds_champion=False) is Pending.DELETE
    recorded = {"decision_recorded": False, "holds_champion": False, "intent_recorded": True}
    assert settle_pending(run_going=False, **recorded) is Pending.ROLL_FORWARD  # its promotion record: completed
    assert settle_pending(run_going=True, **recorded) is Pending.LEAVE


def heavy_raters(seed: int = 1):
    """300 users: 5 heavy raters with 400 rows each on which the challenger is much better, 295 with 20 rows
    each whose gain varies around slightly negative, constant within a user. Rows are not independent draws:
    the gain rests on 5 people."""
    rng = np.random.default_rng(seed)
    users, y, challenger, champion = [], [], [], []
    for user in range(300):
        n = 400 if user < 5 else 20
        gain = rng.uniform(0.1, 0.9) if user < 5 else rng.normal(-0.05, 0.3)
        truth, squared = rng.uniform(1, 5, n), rng.uniform(0.5, 1.0, n)  # the champion's squared error per row
        users += [user] * n
        y.append(truth)
        challenger.append(truth + np.sqrt(np.clip(squared - gain, 0, None)))
        champion.append(truth + np.sqrt(squared))
    return np.array(users), np.concatenate(y), np.concatenate(challenger), np.concatenate(champion)


def test_the_interval_resamples_users_so_a_gain_of_a_few_heavy_raters_is_not_taken_for_a_sure_one():
    """Issue 20, finding 8: rows were resampled as if independent; the row interval clears 0 here although the
    gain comes from 5 of 300 users, and the user interval (the one promotion uses) does not."""
    from recsys.evaluation.metrics.bootstrap import paired_bootstrap

    users, y, challenger, champion = heavy_raters()
    rows = paired_bootstrap(y, champion, challenger, n_boot=1000, seed=1)
    assert rows["delta_mse_low"] > 0  # rows resampled: looks certain
    c = compare(y, challenger, champion, users, UNSEEN_ROWS, "why", PromotionConfig(), seed=1)
    assert c.users == 300 and c.gain == pytest.approx(rows["delta_mse"])
    assert c.gain_low < 0 < c.gain  # users resampled: the same point gain, an interval that spans 0
    assert not decide_promotion(CHALLENGER, CHAMPION, c, PromotionConfig()).promote


def test_a_challenger_that_does_not_beat_the_biases_only_baseline_is_never_promoted():
    """Issue 20, finding 8: with no champion any finite model won (an mf at lr 1e-6, MSE 1.12 against 0.81 for
    biases alone, became the champion)."""
    broken = Contender("1", "mf", 1.1228)
    gate = Gate(20001, 1.1228, 0.8118)
    first = decide_promotion(broken, None, None, PromotionConfig(), gate)
    assert not first.promote and first.tag().startswith("kept: the absolute gate failed: MSE 1.1228 does not beat")
    beaten_champion = decide_promotion(broken, CHAMPION, comparison(0.03, 0.02, 0.04), PromotionConfig(), gate)
    assert not beaten_champion.promote
    good = decide_promotion(CHALLENGER, None, None, PromotionConfig(), Gate(20001, 0.7323, 0.8118))
    assert good.promote and "Absolute gate: MSE 0.7323 beats the biases-only baseline's 0.8118" in decision_markdown(
        good
    )


def test_a_champion_of_another_data_set_is_compared_recipe_against_recipe():
    """Issue 20, finding 8: a champion trained on another release was compared on the pairs whose ids matched,
    as if they meant the same people."""
    rng = np.random.default_rng(0)
    frame = lambda n, split: pd.DataFrame(  # noqa: E731
        {
            C.USER_ID: rng.integers(1, 600, n),
            C.MOVIE_ID: rng.integers(1, 3000, n),
            C.RATING: rng.integers(1, 11, n) / 2,
            C.SPLIT: split,
        }
    )
    ours = pd.concat([frame(8000, C.TRAIN), frame(2500, C.TEST)], ignore_index=True)
    test = ours[ours[C.SPLIT] == C.TEST]
    other = pd.concat([frame(8000, C.TRAIN), frame(1000, C.VAL)], ignore_index=True)  # same id ranges
    config = PromotionConfig(min_compared_rows=100)
    chosen = rows_to_compare(test, other, config, ours)
    assert chosen.basis == RETRAINED_RECIPE and "it learned another data set" in chosen.why
    same = ours.assign(**{C.SPLIT: np.where(np.arange(len(ours)) < 6000, C.TRAIN, C.TEST)})  # a grown release
    assert rows_to_compare(test, same, config, ours).basis == UNSEEN_ROWS
