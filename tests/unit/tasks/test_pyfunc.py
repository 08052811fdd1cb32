"""The pyfunc model each variant run logs, against a real sqlite MLflow store."""

import gc

import pandas as pd

import mlflow
from recsys.models.base import RatingModel
from recsys.models.checkpoint import save_checkpoint
from recsys.models.registry import build_model
from tasks.pyfunc import log_model


def test_logging_the_model_keeps_no_copy_of_it_in_memory(tiny_prepared, tmp_path):
    """MLflow loads the logged model back to check its input example and kept it in a module global (at 25M
    the blend and its members, about 1.8 GB, stayed for the rest of the run)."""
    prepared = tiny_prepared
    gc.collect()
    before = {id(m) for m in gc.get_objects() if isinstance(m, RatingModel)}  # other tests' models
    model = build_model("mf", None, prepared.shape, seed=0)
    checkpoint = save_checkpoint(tmp_path / "mf.pt", "mf", model, prepared.user_vocab, prepared.movie_vocab)
    del model
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    try:
        with mlflow.start_run():
            uri = log_model(checkpoint, prepared.split.head(5))
    finally:
        mlflow.set_tracking_uri(None)
    assert uri.startswith("models:/")
    gc.collect()
    assert [m for m in gc.get_objects() if isinstance(m, RatingModel) and id(m) not in before] == []


def test_the_logged_model_carries_its_code_and_answers_ratings_or_top_k_lists(tiny_prepared, tmp_path):
    """Issue 21: a served model stands alone (its code travels as ``code_paths``) and answers a top-N list per
    user with the parameter ``k`` as well as ratings without it; the movies of a user's rows are left out."""
    from pathlib import Path

    import pytest

    from recsys import columns as C

    prepared = tiny_prepared
    model = build_model("mf", None, prepared.shape, seed=0)
    checkpoint = save_checkpoint(tmp_path / "mf.pt", "mf", model, prepared.user_vocab, prepared.movie_vocab)
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    try:
        with mlflow.start_run():
            uri = log_model(checkpoint, prepared.split.head(5))
        local = Path(mlflow.artifacts.download_artifacts(uri, dst_path=str(tmp_path / "model")))
        loaded = mlflow.pyfunc.load_model(str(local))
    finally:
        mlflow.set_tracking_uri(None)
    assert (local / "code" / "recsys" / "serving.py").is_file() and (local / "code" / "tasks" / "pyfunc.py").is_file()
    user, seen = int(prepared.user_vocab.ids[0]), int(prepared.movie_vocab.ids[0])
    rows = pd.DataFrame({C.USER_ID: [user], C.MOVIE_ID: [seen]})
    assert len(loaded.predict(rows)) == 1  # a rating
    lists = loaded.predict(rows, params={"k": 3})
    assert list(lists.columns) == [C.USER_ID, "rank", C.MOVIE_ID, "score"] and list(lists["rank"]) == [1, 2, 3]
    assert seen not in set(lists[C.MOVIE_ID]) and lists["score"].is_monotonic_decreasing
    with pytest.raises(Exception, match="has no training ratings"):
        loaded.predict(pd.DataFrame({C.USER_ID: [10**9], C.MOVIE_ID: [0]}), params={"k": 3})
