"""The pyfunc model each variant run logs, against a real sqlite MLflow store."""

import gc

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
