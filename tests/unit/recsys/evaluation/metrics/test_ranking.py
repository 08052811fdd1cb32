import numpy as np
import pandas as pd
import pytest

from recsys import columns as C
from recsys.evaluation.metrics import ranking_metrics

# user 1: movie 3 (pred 4.0, rating 4: relevant), then the tie at 3.0 goes to the lower movie_id:
# movie 1 (rating 2: not relevant) before movie 2 (rating 5: relevant). User 2: one row, rating 3, none relevant.
FRAME = pd.DataFrame({C.USER_ID: [1, 1, 1, 2], C.MOVIE_ID: [1, 2, 3, 4], C.RATING: [2.0, 5.0, 4.0, 3.0]})
PRED = np.array([3.0, 3.0, 4.0, 4.5])


def test_ranking_on_four_rows_by_hand():
    # k = 2. user 1: top 2 = movies 3, 1 -> 1 hit; precision 1/min(2, 3) = 0.5; recall 1 of 2 relevant = 0.5;
    #   DCG = 1/log2(2) = 1, ideal = 1 + 1/log2(3) -> NDCG = 1 / 1.6309 = 0.6131
    # user 2: precision 0/min(2, 1) = 0; no relevant row, so left out of recall and NDCG
    m = ranking_metrics(FRAME, PRED, k=2)
    assert m["precision"] == pytest.approx((0.5 + 0.0) / 2)
    assert m["recall"] == pytest.approx(0.5)
    assert m["ndcg"] == pytest.approx(1 / (1 + 1 / np.log2(3)))
    assert (m["k"], m["n_users"], m["n_users_without_relevant"]) == (2, 2, 1)


def test_precision_divides_by_the_rows_a_user_has_when_fewer_than_k():
    # k = 10: user 1 has 3 rows, 2 relevant -> 2/3; user 2 -> 0/1; all relevant ranked, recall 1
    m = ranking_metrics(FRAME, PRED, k=10)
    assert m["precision"] == pytest.approx((2 / 3 + 0) / 2)
    assert m["recall"] == pytest.approx(1.0)
    # DCG of user 1: positions 1 and 3 -> 1 + 1/log2(4) = 1.5; ideal 1 + 1/log2(3)
    assert m["ndcg"] == pytest.approx(1.5 / (1 + 1 / np.log2(3)))


def test_row_order_does_not_matter():
    order = np.array([3, 1, 0, 2])
    shuffled = ranking_metrics(FRAME.iloc[order], PRED[order], k=2)
    assert shuffled == ranking_metrics(FRAME, PRED, k=2)


def test_no_relevant_rows_gives_nan_recall():
    m = ranking_metrics(FRAME, PRED, k=2, relevant_at=5.5)
    assert m["precision"] == 0.0 and np.isnan(m["recall"]) and np.isnan(m["ndcg"])
    assert m["n_users_without_relevant"] == 2


def test_inputs_are_checked():
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['movie_id'\]"):
        ranking_metrics(FRAME.drop(columns=C.MOVIE_ID), PRED)
    with pytest.raises(ValueError, match="3 predictions for 4 ratings"):
        ranking_metrics(FRAME, PRED[:3])
    with pytest.raises(ValueError, match="1 predictions are NaN"):
        ranking_metrics(FRAME, np.array([1.0, np.nan, 2.0, 3.0]))
    with pytest.raises(ValueError, match="k must be"):
        ranking_metrics(FRAME, PRED, k=0)
