import numpy as np
import pandas as pd
import pytest

from recsys import columns as C
from recsys.evaluation.metrics import activity_buckets, breakdown_metrics, bucket_labels

# training: user 1 rated three times, user 2 once; movie 10 three times, movie 20 once
TRAIN = pd.DataFrame({C.USER_ID: [1, 1, 1, 2], C.MOVIE_ID: [10, 10, 20, 10]})
TEST = pd.DataFrame({C.USER_ID: [1, 2, 3, 1], C.MOVIE_ID: [10, 20, 10, 30], C.RATING: [4.0, 3.0, 5.0, 2.0]})
PRED = np.array([4.5, 2.0, 5.0, 3.5])  # errors 0.5, -1, 0, 1.5


def test_default_buckets():
    counts = np.array([0, 1, 19, 20, 49, 50, 199, 200, 5000])
    expected = ["0", "1-19", "1-19", "20-49", "20-49", "50-199", "50-199", "200+", "200+"]
    assert list(activity_buckets(counts)) == expected
    assert bucket_labels((0, 1, 5, 20, 100)) == ["0", "1-4", "5-19", "20-99", "100+"]


def test_breakdown_on_four_rows_by_hand():
    # user training counts per row 3, 1, 0, 3 -> buckets 2+, 1, 0, 2+
    #   0: row 3 (error 0) -> mse 0; 1: row 2 (error -1) -> mse 1, mae 1; 2+: rows 1, 4 -> mse (0.25 + 2.25)/2
    # movie training counts per row 3, 1, 3, 0 -> buckets 2+, 1, 2+, 0
    #   0: row 4 -> mse 2.25, mae 1.5; 1: row 2 -> mse 1; 2+: rows 1, 3 -> mse 0.25/2, mae 0.5/2
    out = breakdown_metrics(TEST, PRED, TRAIN, user_edges=(0, 1, 2), movie_edges=(0, 1, 2))
    assert list(out.columns) == ["dimension", "bucket", "n", "mse", "rmse", "mae"]
    assert list(out["dimension"]) == ["user_activity"] * 3 + ["movie_popularity"] * 3
    assert list(out["bucket"]) == ["0", "1", "2+"] * 2
    assert list(out["n"]) == [1, 1, 2, 1, 1, 2]
    assert out["mse"].tolist() == pytest.approx([0.0, 1.0, 1.25, 2.25, 1.0, 0.125])
    assert out["mae"].tolist() == pytest.approx([0.0, 1.0, 1.0, 1.5, 1.0, 0.25])
    assert out["rmse"].tolist() == pytest.approx(np.sqrt(out["mse"]).tolist())


def test_every_bucket_gets_a_row_even_when_empty():
    out = breakdown_metrics(TEST, PRED, TRAIN)  # default edges: nobody has 20+ training ratings
    users = out[out["dimension"] == "user_activity"].set_index("bucket")
    assert list(users.index) == ["0", "1-19", "20-49", "50-199", "200+"]
    assert users.loc["1-19", "n"] == 3 and users.loc["200+", "n"] == 0 and np.isnan(users.loc["200+", "mse"])
    assert out["n"].sum() == 2 * len(TEST)


def test_inputs_are_checked():
    with pytest.raises(ValueError, match=r"scored frame lacks column\(s\) \['rating'\]"):
        breakdown_metrics(TEST.drop(columns=C.RATING), PRED, TRAIN)
    with pytest.raises(ValueError, match=r"training frame lacks column\(s\) \['movie_id'\]"):
        breakdown_metrics(TEST, PRED, TRAIN.drop(columns=C.MOVIE_ID))
    with pytest.raises(ValueError, match="3 predictions for 4 ratings"):
        breakdown_metrics(TEST, PRED[:3], TRAIN)
    with pytest.raises(ValueError, match="edges must start at 0"):
        activity_buckets(np.array([1, 2]), (1, 5))
    with pytest.raises(ValueError, match="increase strictly"):
        activity_buckets(np.array([1, 2]), (0, 5, 5))
    with pytest.raises(ValueError, match="non-negative"):
        activity_buckets(np.array([-1, 2]))
