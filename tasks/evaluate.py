"""Evaluate-a-variant task: score the stored test rows and log test metrics to the variant's run."""

from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from recsys import columns as C
from recsys.evaluation.predictions import predict_ids, regression_metrics
from recsys.evaluation.seeds import summarise_over_seeds
from recsys.memory import release_memory
from recsys.models.checkpoint import load_checkpoint
from tasks import tracking
from tasks.handles import EvaluatedVariant, SplitHandle, TrainedVariant


def _test_scores(checkpoint: str, test) -> dict[str, float]:
    loaded = load_checkpoint(Path(checkpoint))
    return regression_metrics(test[C.RATING], predict_ids(loaded.model, loaded.user_vocab, loaded.movie_vocab, test))


@task(name="evaluate-variant", task_run_name="evaluate-{trained.variant}-seed-{trained.seed}", cache_policy=NO_CACHE)
def evaluate_variant(trained: TrainedVariant, prepared: SplitHandle) -> EvaluatedVariant:
    """Test MSE, RMSE and MAE of the checkpoint on the split's test rows, with the training summary; after a
    refit also those of the model of the training rows alone (``test_*_train_only``)."""
    test = prepared.stored.rows(C.TEST)
    scores = _test_scores(trained.checkpoint_path, test)
    first = _test_scores(trained.train_only_checkpoint_path, test) if trained.train_only_checkpoint_path else {}
    del test
    release_memory()  # the models went with _test_scores's frames, the test rows here
    client = tracking.client()
    for key, value in scores.items():
        client.log_metric(trained.run_id, f"test_{key}", value)
    for key, value in first.items():
        client.log_metric(trained.run_id, f"test_{key}_train_only", value)
    client.set_terminated(trained.run_id, "FINISHED")
    get_run_logger().info(
        "%s: test MSE %.4f, RMSE %.4f, MAE %.4f%s",
        trained.variant,
        scores["mse"],
        scores["rmse"],
        scores["mae"],
        f" (trained on the training rows alone: MSE {first['mse']:.4f})" if first else "",
    )
    return EvaluatedVariant(
        trained.variant,
        trained.seed,
        trained.run_id,
        trained.model_uri,
        trained.best_epoch,
        trained.best_val_mse,
        scores["mse"],
        scores["rmse"],
        scores["mae"],
        trained.fit_seconds,
        first.get("mse"),
    )


@task(name="summarise-seeds", cache_policy=NO_CACHE)
def summarise_seeds(results: list[EvaluatedVariant], parent_run_id: str) -> list[dict]:
    """Mean and standard deviation of each variant's test MSE over the seeds, logged to the parent run."""
    summary = summarise_over_seeds([r.to_dict() for r in results])
    client = tracking.client()
    for row in summary:
        client.log_metric(parent_run_id, f"{row['variant']}_test_mse_mean", row["test_mse_mean"])
        client.log_metric(parent_run_id, f"{row['variant']}_test_mse_std", row["test_mse_std"])
    if summary and summary[0]["seeds"] > 1:
        create_table_artifact(key="seed-summary", table=summary, description="test MSE over seeds")
    return summary
