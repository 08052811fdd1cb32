"""Register-models and promote tasks: every variant becomes a version of ``movielens-rating``; the run's
best by validation MSE (never by test rows) gets the ``challenger`` alias, and takes ``champion`` only when
it beats the current champion's test MSE on the same test rows by a margin (:mod:`recsys.promotion`)."""

from mlflow.exceptions import MlflowException
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

import mlflow
from recsys import columns as C
from recsys.evaluate import predict_ids, regression_metrics
from recsys.promotion import Contender, decide_promotion, decision_markdown
from recsys.split import rows_of
from tasks import tracking
from tasks.champion import load_registered
from tasks.handles import PreparedData, load_prepared
from tasks.runtime import CHALLENGER, CHAMPION, REGISTERED_MODEL, work_dir


@task(name="register-models", cache_policy=NO_CACHE, **tracking.IO_RETRIES)
def register_models(results: list[dict], parent_run_id: str) -> dict:
    """Register each variant's model and point ``challenger`` at the best; returns its result row."""
    client = tracking.client()
    for row in results:
        version = mlflow.register_model(
            row["model_uri"], REGISTERED_MODEL, tags={"variant": row["variant"], "run_id": row["run_id"]}
        )
        row["model_version"] = int(version.version)
    best = min(results, key=lambda row: row["best_val_mse"])
    client.set_registered_model_alias(REGISTERED_MODEL, CHALLENGER, str(best["model_version"]))
    client.set_tag(parent_run_id, "challenger_variant", best["variant"])
    create_table_artifact(key="registered-models", table=results, description="train-all variants, test rows")
    get_run_logger().info("%s v%d (%s) is the %r", REGISTERED_MODEL, best["model_version"], best["variant"], CHALLENGER)
    return best


@task(name="promote-challenger", cache_policy=NO_CACHE, **tracking.IO_RETRIES)
def promote_challenger(best: dict, prepared: PreparedData, parent_run_id: str, margin: float) -> dict:
    """Compare the challenger with the champion on this run's test rows; move ``champion`` only if it wins.
    The decision is logged as the parent run's ``promotion`` tag and ``promotion.md``, and in Prefect."""
    client = tracking.client()
    challenger = Contender(str(best["model_version"]), best["variant"], float(best["test_mse"]))
    champion, same_rows = current_champion(client, prepared)
    decision = decide_promotion(challenger, champion, margin, same_rows)
    if decision.promote:
        client.set_registered_model_alias(REGISTERED_MODEL, CHAMPION, challenger.version)
        client.set_tag(parent_run_id, "champion_variant", challenger.variant)
    client.set_tag(parent_run_id, "promotion", "promoted" if decision.promote else "kept")
    markdown = decision_markdown(decision)
    client.log_text(parent_run_id, markdown, "promotion.md")
    create_markdown_artifact(key="promotion", markdown=markdown, description="challenger against champion")
    get_run_logger().info("promotion: %s", decision.reason)
    return decision.to_dict()


def current_champion(client, prepared: PreparedData) -> tuple[Contender | None, bool]:
    """The champion's test MSE on this run's test rows, and whether those are the rows it was scored on
    (same data fingerprint and split); if not, it is scored again here. (None, True) without a champion."""
    try:
        version = client.get_model_version_by_alias(REGISTERED_MODEL, CHAMPION)
    except MlflowException:
        return None, True
    run = client.get_run(version.tags["run_id"])
    params = run.data.params
    same = params.get("data_fingerprint") == prepared.fingerprint and params.get("split") == prepared.split_name
    if same:
        return Contender(version.version, version.tags["variant"], float(run.data.metrics["test_mse"])), True
    return Contender(version.version, version.tags["variant"], rescore_champion(prepared)), False


def rescore_champion(prepared: PreparedData) -> float:
    """The champion's test MSE on this run's test rows (the data or the split changed since it was scored)."""
    _, model, users, movies = load_registered(CHAMPION, work_dir() / "champion")
    test = rows_of(load_prepared(prepared).split, C.TEST)
    return regression_metrics(test[C.RATING], predict_ids(model, users, movies, test))["mse"]
