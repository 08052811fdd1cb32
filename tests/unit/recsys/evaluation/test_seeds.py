from recsys.evaluation.seeds import summarise_over_seeds


def test_seeds_summary_gives_mean_and_spread_per_variant_and_nothing_for_no_results():
    rows = [
        {"variant": "mf", "test_mse": 0.78, "test_rmse": 0.883},
        {"variant": "mf", "test_mse": 0.80, "test_rmse": 0.894},
        {"variant": "knn", "test_mse": 0.77, "test_rmse": 0.877},
    ]
    mf, knn = summarise_over_seeds(rows)
    assert (mf["variant"], mf["seeds"], round(mf["test_mse_mean"], 6)) == ("mf", 2, 0.79)
    assert round(mf["test_mse_std"], 6) == round(0.02 / 2**0.5, 6) and knn["test_mse_std"] == 0.0
    assert summarise_over_seeds([]) == []  # no variant finished: the run fails naming them, not here
