"""Evaluate-a-variant task: score the stored test rows and log test metrics to the variant's run."""

from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from recsys import columns as C
from recsys.checkpoint import load_checkpoint
from recsys.evaluate import predict_ids, regression_metrics, summarise_over_seeds
from recsys.split import rows_of
from tasks import tracking
from tasks.handles import PreparedData, TrainedVariant, load_prepared


@task(name="evaluate-variant", task_run_name="evaluate-{trained.variant}", cache_policy=NO_CACHE)
def evaluate_variant(trained: TrainedVariant, prepared: PreparedData) -> dict:
    """Test MSE, RMSE and MAE of the checkpoint on the split's test rows, plus the training summary."""
    _, model, users, movies = load_checkpoint(Path(trained.checkpoint_path))
    test = rows_of(load_prepared(prepared).split, C.TEST)
    scores = regression_metrics(test[C.RATING], predict_ids(model, users, movies, test))
    metrics = {f"test_{k}": v for k, v in scores.items()}
    client = tracking.client()
    for key, value in metrics.items():
        client.log_metric(trained.run_id, key, value)
    client.set_terminated(trained.run_id, "FINISHED")
    get_run_logger().info(
        "%s: test MSE %.4f, RMSE %.4f, MAE %.4f",
        trained.variant,
        metrics["test_mse"],
        metrics["test_rmse"],
        metrics["test_mae"],
    )
    return {
        "variant": trained.variant,
        "seed": prepared.split_seed,
        "run_id": trained.run_id,
        "model_uri": trained.model_uri,
        "best_epoch": trained.best_epoch,
        "best_val_mse": trained.best_val_mse,
        **metrics,
        "fit_seconds": trained.fit_seconds,
    }


@task(name="summarise-seeds", cache_policy=NO_CACHE)
def summarise_seeds(results: list[dict], parent_run_id: str) -> list[dict]:
    """Mean and standard deviation of each variant's test MSE over the seeds, logged to the parent run."""
    summary = summarise_over_seeds(results)
    client = tracking.client()
    for row in summary:
        client.log_metric(parent_run_id, f"{row['variant']}_test_mse_mean", row["test_mse_mean"])
        client.log_metric(parent_run_id, f"{row['variant']}_test_mse_std", row["test_mse_std"])
    if summary and summary[0]["seeds"] > 1:
        create_table_artifact(key="seed-summary", table=summary, description="test MSE over seeds")
    return summary
