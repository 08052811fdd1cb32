import pytest

from recsys.evaluation.promotion import Contender, decide_promotion, decision_markdown

CHALLENGER = Contender("7", "blend", 0.7323)


def test_first_model_is_promoted():
    decision = decide_promotion(CHALLENGER, None, margin=0.001)
    assert decision.promote and decision.reason == "no champion yet"


def test_challenger_must_beat_the_champion_by_more_than_the_margin():
    assert decide_promotion(CHALLENGER, Contender("3", "mf", 0.7805), margin=0.001).promote
    kept = decide_promotion(CHALLENGER, Contender("3", "mf", 0.7330), margin=0.001)  # gain 0.0007
    assert not kept.promote and "margin 0.001" in kept.reason and "+0.0007" in kept.reason
    assert not decide_promotion(CHALLENGER, Contender("3", "blend", 0.7323), margin=0.0).promote  # a tie stays


def test_negative_margin_is_refused():
    with pytest.raises(ValueError, match="margin"):
        decide_promotion(CHALLENGER, None, margin=-0.1)


def test_markdown_names_both_models_and_the_rows():
    text = decision_markdown(decide_promotion(CHALLENGER, Contender("3", "mf", 0.7805), 0.001, same_rows=False))
    assert "promoted to champion" in text and "| champion | 3 | mf | 0.7805 |" in text and "rescored" in text
