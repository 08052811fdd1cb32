"""Register-models task: every variant becomes a version of ``movielens-rating``; the best one by
validation MSE (never by test rows) gets the ``champion`` alias. The gated promotion comes later."""

from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

import mlflow
from tasks import tracking
from tasks.runtime import CHAMPION, REGISTERED_MODEL


@task(name="register-models", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def register_models(results: list[dict], parent_run_id: str) -> dict:
    """Register each variant's model, set the alias on the best; returns the champion's result row."""
    client = tracking.client()
    for row in results:
        version = mlflow.register_model(
            row["model_uri"], REGISTERED_MODEL, tags={"variant": row["variant"], "run_id": row["run_id"]}
        )
        row["model_version"] = int(version.version)
    best = min(results, key=lambda row: row["best_val_mse"])
    client.set_registered_model_alias(REGISTERED_MODEL, CHAMPION, str(best["model_version"]))
    client.set_tag(parent_run_id, "champion_variant", best["variant"])
    create_table_artifact(key="registered-models", table=results, description="train-all variants, test rows")
    get_run_logger().info("%s v%d (%s) is now %r", REGISTERED_MODEL, best["model_version"], best["variant"], CHAMPION)
    return best
