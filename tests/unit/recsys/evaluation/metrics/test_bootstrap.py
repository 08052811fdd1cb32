import numpy as np
import pytest

from recsys.evaluation.metrics import bootstrap_metrics, compare_to_best, paired_bootstrap
from recsys.evaluation.predictions import regression_metrics

Y = np.array([4.0, 3.0, 5.0, 2.0])
PRED = np.array([4.5, 2.0, 5.0, 3.5])  # errors 0.5, -1, 0, 1.5


def noisy(n=300, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(1, 11, n) / 2
    return y, y + rng.normal(0, 0.8, n), y + rng.normal(0, 1.2, n)


def test_point_estimates_on_four_rows_by_hand():
    # squares 0.25, 1, 0, 2.25 -> mse 3.5/4 = 0.875; absolutes 0.5, 1, 0, 1.5 -> mae 3/4
    m = bootstrap_metrics(Y, PRED, n_boot=50)
    assert m["mse"] == pytest.approx(0.875) and m["mae"] == pytest.approx(0.75)
    assert m["rmse"] == pytest.approx(0.875**0.5) and m["n"] == 4
    assert {k: m[k] for k in ("mse", "rmse", "mae")} == pytest.approx(regression_metrics(Y, PRED))
    # no resample of four rows can leave [min, max] of the squared errors
    assert 0 <= m["mse_low"] <= m["mse_high"] <= 2.25


def test_equal_errors_give_a_zero_width_interval():
    # every error is 0.5, so every resample has mse 0.25 and mae 0.5
    m = bootstrap_metrics(Y, Y + 0.5, n_boot=20)
    assert (m["mse_low"], m["mse"], m["mse_high"]) == pytest.approx((0.25, 0.25, 0.25))
    assert (m["mae_low"], m["mae_high"]) == pytest.approx((0.5, 0.5))


def test_same_seed_same_numbers_and_interval_holds_the_estimate():
    y, pred, _ = noisy()
    first, again = bootstrap_metrics(y, pred, seed=3), bootstrap_metrics(y, pred, seed=3)
    assert first == again
    assert first != bootstrap_metrics(y, pred, seed=4)
    for name in ("mse", "rmse", "mae"):
        assert first[f"{name}_low"] < first[name] < first[f"{name}_high"]
    assert first["rmse_low"] == pytest.approx(np.sqrt(first["mse_low"]), rel=1e-3)


def test_chunked_resampling_gives_the_unchunked_interval(monkeypatch):
    """The chunk bounds memory, not results: 200 resamples drawn two at a time give the interval drawn at once."""
    from recsys.evaluation.metrics import bootstrap

    y, pred, _ = noisy(50)
    whole = bootstrap_metrics(y, pred, n_boot=200, seed=1)  # 200 x 50 draws fit in one chunk
    monkeypatch.setattr(bootstrap, "CHUNK_ELEMENTS", 120)  # two resamples of 50 rows per chunk
    chunked = bootstrap_metrics(y, pred, n_boot=200, seed=1)
    assert chunked == pytest.approx(whole, rel=1e-12)  # the same draws; sums in another order on some CPUs (SIMD)
    assert chunked["mse_low"] < chunked["mse"] < chunked["mse_high"]


def test_paired_on_four_rows_by_hand():
    # a: mse 0.875 (above); b = y + 0.5: mse 0.25 -> a minus b = 0.625
    p = paired_bootstrap(Y, PRED, Y + 0.5, n_boot=50)
    assert (p["mse_a"], p["mse_b"], p["delta_mse"]) == pytest.approx((0.875, 0.25, 0.625))


def test_identical_predictions_differ_by_zero_and_not_significantly():
    y, pred, _ = noisy()
    p = paired_bootstrap(y, pred, pred.copy(), n_boot=200)
    assert (p["delta_mse"], p["delta_mse_low"], p["delta_mse_high"]) == (0.0, 0.0, 0.0)
    assert p["p_not_better"] == 1.0 and p["significant"] is False


def test_a_clear_gap_is_significant():
    y, good, bad = noisy()
    p = paired_bootstrap(y, good, bad + 1.0, n_boot=200)
    assert p["delta_mse_high"] < 0 and p["significant"] is True and p["p_not_better"] == 0.0
    assert paired_bootstrap(y, bad + 1.0, good, n_boot=200)["p_not_better"] == 1.0


def test_leaderboard_puts_the_best_first_and_agrees_with_the_paired_comparison():
    y, good, bad = noisy()
    close = good + 0.1 * (good - y)  # errors 1.1 times as large: mse 1.21 times
    board = compare_to_best(y, {"bad": bad, "good": good, "close": close}, n_boot=300, seed=5)
    assert list(board["variant"]) == ["good", "close", "bad"]
    best = board.iloc[0]
    assert (best["delta_mse"], best["p_value"], best["significant"]) == (0.0, 1.0, False)
    assert bool(board.set_index("variant").loc["bad", "significant"])
    # the same seed resamples the same rows: each row matches the one-variant and the paired functions
    alone = bootstrap_metrics(y, bad, n_boot=300, seed=5)
    row = board.set_index("variant").loc["bad"]
    assert {k: row[k] for k in alone} == pytest.approx(alone)
    paired = paired_bootstrap(y, bad, good, n_boot=300, seed=5)
    assert (row["delta_mse"], row["delta_mse_low"], row["delta_mse_high"]) == pytest.approx(
        (paired["delta_mse"], paired["delta_mse_low"], paired["delta_mse_high"])
    )


def test_inputs_are_checked():
    with pytest.raises(ValueError, match="3 predictions for 4 ratings"):
        bootstrap_metrics(Y, PRED[:3])
    with pytest.raises(ValueError, match="1 predictions b are NaN"):
        paired_bootstrap(Y, PRED, np.array([1.0, np.nan, 2.0, 3.0]))
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_metrics(Y, PRED, n_boot=0)
    with pytest.raises(ValueError, match="level"):
        bootstrap_metrics(Y, PRED, level=1.5)
    with pytest.raises(ValueError, match="no predictions"):
        compare_to_best(Y, {})
    with pytest.raises(ValueError, match="predictions of 'short'"):
        compare_to_best(Y, {"ok": PRED, "short": PRED[:2]})
    with pytest.raises(ValueError, match="no rows"):
        bootstrap_metrics([], [])
