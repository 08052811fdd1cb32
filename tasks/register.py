"""Register-models and promote tasks: every variant becomes a version of ``movielens-rating``; the run's
best by validation MSE (never by test rows) gets the ``challenger`` alias, and takes ``champion`` only when
it beats the current champion's test MSE on the same test rows by a margin (:mod:`recsys.evaluation.promotion`)."""

from mlflow.exceptions import MlflowException
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

import mlflow
from recsys import columns as C
from recsys.data.split import rows_of
from recsys.evaluation.predictions import predict_ids, regression_metrics
from recsys.evaluation.promotion import Contender, PromotionConfig, decide_promotion, decision_markdown
from tasks import tracking
from tasks.champion import load_registered
from tasks.handles import EvaluatedVariant, PreparedData, RegisteredVariant, load_prepared
from tasks.runtime import CHALLENGER, CHAMPION, REGISTERED_MODEL, work_dir


def challenger_of(registered: list[RegisteredVariant]) -> RegisteredVariant:
    """The run's best variant by validation MSE (never by test rows)."""
    return min(registered, key=lambda r: r.evaluated.best_val_mse)


@task(name="register-models", cache_policy=NO_CACHE, **tracking.IO_RETRIES)
def register_models(results: list[EvaluatedVariant], seed: int, parent_run_id: str) -> list[RegisteredVariant]:
    """Register each variant's model of the run's own ``seed`` (the first; further seeds only measure the
    spread) and point ``challenger`` at the best by validation MSE."""
    client = tracking.client()
    registered = []
    for result in (r for r in results if r.seed == seed):
        version = mlflow.register_model(
            result.model_uri, REGISTERED_MODEL, tags={"variant": result.variant, "run_id": result.run_id}
        )
        registered.append(RegisteredVariant(result, int(version.version)))
    best = challenger_of(registered)
    client.set_registered_model_alias(REGISTERED_MODEL, CHALLENGER, str(best.version))
    client.set_tag(parent_run_id, "challenger_variant", best.evaluated.variant)
    table = [r.evaluated.to_dict() | {"model_version": r.version} for r in registered]
    create_table_artifact(key="registered-models", table=table, description="train-all variants, test rows")
    get_run_logger().info("%s v%d (%s) is the %r", REGISTERED_MODEL, best.version, best.evaluated.variant, CHALLENGER)
    return registered


@task(name="promote-challenger", cache_policy=NO_CACHE, **tracking.IO_RETRIES)
def promote_challenger(
    registered: list[RegisteredVariant], prepared: PreparedData, parent_run_id: str, promotion: PromotionConfig
) -> dict:
    """Compare the challenger with the champion on this run's test rows; move ``champion`` only if it wins.
    The decision is logged as the parent run's ``promotion`` tag and ``promotion.md``, and in Prefect."""
    client = tracking.client()
    best = challenger_of(registered)
    challenger = Contender(str(best.version), best.evaluated.variant, best.evaluated.test_mse)
    champion, same_rows = current_champion(client, prepared)
    decision = decide_promotion(challenger, champion, promotion.margin, same_rows)
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
    loaded = load_registered(CHAMPION, work_dir() / "champion")
    test = rows_of(load_prepared(prepared).split, C.TEST)
    return regression_metrics(test[C.RATING], predict_ids(loaded.model, loaded.user_vocab, loaded.movie_vocab, test))[
        "mse"
    ]
