import numpy as np
import pytest

from recsys.evaluation.predictions import regression_metrics


def test_metrics_on_four_rows_by_hand():
    # errors 0.5, -1, 0, 1.5 -> squares 0.25, 1, 0, 2.25 (mean 0.875); absolutes mean 3/4
    m = regression_metrics(np.array([4.0, 3.0, 5.0, 2.0]), np.array([4.5, 2.0, 5.0, 3.5]))
    assert m["mse"] == pytest.approx(0.875)
    assert m["rmse"] == pytest.approx(0.875**0.5)
    assert m["mae"] == pytest.approx(0.75)


def test_metrics_refuse_missing_or_nan_predictions():
    with pytest.raises(ValueError, match="3 predictions for 4 ratings"):
        regression_metrics(np.ones(4), np.ones(3))
    with pytest.raises(ValueError, match="1 predictions are NaN"):
        regression_metrics(np.ones(2), np.array([1.0, np.nan]))
