"""Run inside the peers' own venv (bench/peers.py makes it): fit Surprise and LensKit on the training +
validation rows of a split file, predict its test rows, print JSON. Imports nothing of this repository."""

import json
import sys
import time

import numpy as np
import pandas as pd


def surprise_models(train: pd.DataFrame, test: pd.DataFrame, seed: int) -> dict:
    from surprise import SVD, BaselineOnly, Dataset, KNNBaseline, Reader
    from surprise.model_selection import GridSearchCV

    data = Dataset.load_from_df(train[["user_id", "movie_id", "rating"]], Reader(rating_scale=(0.5, 5.0)))
    full = data.build_full_trainset()
    grid = {"n_factors": [50, 100], "n_epochs": [20, 40], "lr_all": [0.005, 0.01], "reg_all": [0.05, 0.1]}
    search = GridSearchCV(SVD, grid, measures=["mse"], cv=3, n_jobs=1, joblib_verbose=0)  # on train+val only
    started = time.perf_counter()
    search.fit(data)
    tuned = search.best_params["mse"]
    found = {}
    for name, algo in (
        ("surprise_baselineonly", BaselineOnly(verbose=False)),
        ("surprise_svd_tuned", SVD(random_state=seed, **tuned)),
        (
            "surprise_knnbaseline",
            KNNBaseline(sim_options={"name": "pearson_baseline", "user_based": False}, verbose=False),
        ),
    ):
        began = time.perf_counter()
        algo.fit(full)
        predicted = np.array([algo.predict(u, m).est for u, m in zip(test["user_id"], test["movie_id"], strict=True)])
        found[name] = {"predictions": predicted, "seconds": time.perf_counter() - began}
    found["surprise_svd_tuned"]["settings"] = tuned
    found["surprise_svd_tuned"]["search_seconds"] = time.perf_counter() - started
    return found


def lenskit_models(train: pd.DataFrame, test: pd.DataFrame) -> dict:
    from lenskit.als import BiasedMFScorer
    from lenskit.basic.bias import BiasScorer
    from lenskit.batch import predict
    from lenskit.data import from_interactions_df
    from lenskit.pipeline import predict_pipeline

    data = from_interactions_df(train, user_col="user_id", item_col="movie_id", rating_col="rating")
    wanted = test.rename(columns={"movie_id": "item_id"})[["user_id", "item_id"]]
    found = {}
    for name, scorer in (
        ("lenskit_bias", BiasScorer(damping=5)),
        ("lenskit_biasedmf_als", BiasedMFScorer(embedding_size=50, epochs=20, regularization=0.1)),
    ):
        began = time.perf_counter()
        pipe = predict_pipeline(scorer)
        pipe.train(data)
        frame = predict(pipe, wanted).to_df().rename(columns={"item_id": "movie_id", "score": "prediction"})
        merged = test.merge(frame[["user_id", "movie_id", "prediction"]], on=["user_id", "movie_id"], how="left")
        found[name] = {"predictions": merged["prediction"].to_numpy(float), "seconds": time.perf_counter() - began}
    return found


def main() -> None:
    split, seed = pd.read_parquet(sys.argv[1]), int(sys.argv[2])
    train = split[split["split"].isin(["train", "val"])].reset_index(drop=True)
    test = split[split["split"] == "test"].reset_index(drop=True)
    rows = {"global_mean": {"predictions": np.full(len(test), train["rating"].mean()), "seconds": 0.0}}
    rows |= surprise_models(train, test, seed)
    rows |= lenskit_models(train, test)
    out = {}
    truth = test["rating"].to_numpy(float)
    for name, row in rows.items():
        predicted = np.clip(np.nan_to_num(row.pop("predictions"), nan=float(train["rating"].mean())), 0.5, 5.0)
        out[name] = row | {"test_mse": float(np.mean((predicted - truth) ** 2)), "test_rows": len(test)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
