"""The promotion rule, by hand: rows the champion never learned from, the gain's interval against the
margin under each rule, and a note that says which rule applied."""

import numpy as np
import pandas as pd
import pytest

from recsys import columns as C
from recsys.evaluation.promotion import (
    UNSEEN_ROWS,
    Comparison,
    Contender,
    PromotionConfig,
    compare,
    decide_promotion,
    decision_markdown,
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
    c = compare(y, good, bad, UNSEEN_ROWS, "why", PromotionConfig(n_boot=200))
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
