"""Rank tasks: the ranking family trained, registered and promoted, beside the rating models.

Each ranker gets a nested MLflow run: every candidate of its grid with its validation NDCG@10, the chosen
settings, the test scores of the protocol with their intervals, the checkpoint and the pyfunc model (a score
per (user_id, movie_id)). Each becomes a version of ``movielens-topn``; the run's best by validation NDCG@10
is its ``challenger``, and takes ``champion`` only when it ranks better than the champion for this run's test
users, both having learned from the same rows (the champion's settings refitted on this run's training +
validation rows when it came from another split), by a paired bootstrap over users."""

import json

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

import mlflow
from recsys import columns as C
from recsys.evaluation.promotion import PromotionConfig, decide_topn
from recsys.evaluation.ranking import ACCURACY
from recsys.memory import release_memory
from recsys.models.checkpoint import save_checkpoint
from recsys.pipeline.topn import Protocol, choose_and_test, fit_ranker, in_time_order
from recsys.store import artifacts
from tasks import pyfunc, tracking
from tasks.champion import champion_of, load_version
from tasks.handles import RankedVariant, RegisteredRanker, SplitHandle
from tasks.register import TOPN_DECISION_TAG, commit_decision, register_each
from tasks.registry_lock import registry_lock
from tasks.runtime import CHALLENGER, TOPN_MODEL, work_folder


def metric_name(key: str) -> str:
    """An MLflow metric name for a protocol key ("ndcg@10" -> "ndcg_at_10": MLflow refuses "@")."""
    return key.replace("@", "_at_")


def _test_metrics(scores) -> dict:
    out = {f"test_{k}": v for k, v in scores.metrics.items()}
    out |= {f"test_{k}_low": scores.low[k] for k in ACCURACY} | {f"test_{k}_high": scores.high[k] for k in ACCURACY}
    return out


@task(name="train-ranker", task_run_name="rank-{variant}-seed-{prepared.split_seed}", cache_policy=NO_CACHE)
def train_ranker(prepared: SplitHandle, variant: str, parent_run_id: str) -> RankedVariant:
    """Ranker ``variant`` chosen on validation NDCG@10 over its grid, refitted on training + validation rows,
    tested once by the top-N protocol, checkpointed and logged."""
    settings = prepared.config.selected_rankers()[variant]
    client, logger = tracking.client(), get_run_logger()
    run = client.create_run(
        tracking.experiment_id(client),
        run_name=variant,
        tags={
            "mlflow.parentRunId": parent_run_id,
            "variant": variant,
            "family": "topn",
            "seed": str(prepared.split_seed),
        }
        | tracking.process_tags(),
    )
    run_id = run.info.run_id
    params = {"variant": variant, "grid": settings.grid, "data_fingerprint": prepared.fingerprint}
    params |= {"split_seed": prepared.split_seed, "split": prepared.split_name}
    tracking.log_params(client, run_id, params)
    tracking.log_dataset(client, run_id, prepared.config.data.source, prepared.fingerprint, prepared.split_name)
    with tracking.ends_run_on_failure(run_id), tracking.system_metrics(run_id):
        result = choose_and_test(
            variant, settings.model, settings.grid, prepared.stored, seed=prepared.split_seed, progress=logger.info
        )
        tracking.log_params(client, run_id, {"model": result.config.model_dump()})
        for step, tried in enumerate(result.tried):
            client.log_metric(run_id, "val_ndcg_at_10", tried.validation.metrics["ndcg@10"], step=step)
        client.log_text(run_id, json.dumps([t.row() for t in result.tried], indent=2), artifacts.RANKER_TRIED)
        chosen_val = result.validation.metrics["ndcg@10"]
        metrics = _test_metrics(result.test) | {"best_val_ndcg@10": chosen_val, "fit_seconds": result.fit_seconds}
        metrics |= {"scoring_seconds": result.scoring_seconds, "test_users": result.test.users}
        for key, value in metrics.items():
            client.log_metric(run_id, metric_name(key), float(value))
        path = work_folder().trained_checkpoint(parent_run_id, variant, prepared.split_seed)
        checkpoint = save_checkpoint(path, variant, result.ranker, *prepared.stored.vocabularies())
        client.log_artifact(run_id, str(checkpoint), artifact_path=artifacts.CHECKPOINT)
        with mlflow.start_run(run_id=run_id):
            model_uri = pyfunc.log_model(checkpoint, prepared.stored.head(5))
        client.set_terminated(run_id, "FINISHED")
    logger.info(
        "%s: test NDCG@10 %.4f [%.4f, %.4f] over %d users, precision@10 %.4f, coverage %.3f",
        variant,
        result.test.metrics["ndcg@10"],
        result.test.low["ndcg@10"],
        result.test.high["ndcg@10"],
        result.test.users,
        result.test.metrics["precision@10"],
        result.test.metrics["coverage"],
    )
    test = {k.removeprefix("test_"): v for k, v in _test_metrics(result.test).items()}
    ranked = RankedVariant(
        variant,
        prepared.split_seed,
        run_id,
        str(checkpoint),
        model_uri,
        chosen_val,
        test,
        result.test.users,
        result.fit_seconds,
    )
    release_memory()
    return ranked


def challenger_of(registered: list[RegisteredRanker]) -> RegisteredRanker:
    """The run's best ranker by validation NDCG@10 (never by test rows)."""
    return max(registered, key=lambda r: r.ranked.val_ndcg)


@task(name="register-rankers", cache_policy=NO_CACHE, **tracking.IO_RETRIES)
def register_rankers(results: list[RankedVariant], seed: int, parent_run_id: str) -> list[RegisteredRanker]:
    """Each ranker of the run's own ``seed`` a version of ``movielens-topn`` (once), ``challenger`` on the best
    by validation NDCG@10."""
    client = tracking.client()
    registered = [RegisteredRanker(r, v) for r, v in register_each(client, results, seed, TOPN_MODEL)]
    if not registered:
        return []
    best = challenger_of(registered)
    client.set_registered_model_alias(TOPN_MODEL, CHALLENGER, str(best.version))
    client.set_tag(parent_run_id, "topn_challenger_variant", best.ranked.variant)
    table = [r.ranked.to_dict() | {"model_version": r.version} for r in registered]
    create_table_artifact(key="registered-rankers", table=table, description="train-all rankers, top-N on test users")
    get_run_logger().info("%s v%d (%s) is the %r", TOPN_MODEL, best.version, best.ranked.variant, CHALLENGER)
    return registered


@task(name="promote-ranker", cache_policy=NO_CACHE, **tracking.IO_RETRIES)
def promote_ranker(
    registered: list[RegisteredRanker], prepared: SplitHandle, parent_run_id: str, promotion: PromotionConfig
) -> dict:
    """Under the registry lock: the top-N challenger against the champion for this run's test users, both
    having learned from this run's training + validation rows; ``champion`` moves only if the challenger's
    NDCG@10 gain clears the rule (paired bootstrap over users). The decision: the parent run's
    ``topn_promotion`` tag and ``topn_promotion.md``."""
    client, logger = tracking.client(), get_run_logger()
    if not registered:
        return {"promote": False, "reason": "no ranker finished"}
    best = challenger_of(registered)
    with registry_lock():
        champion = champion_of(TOPN_MODEL, client)
        if champion is None or int(champion.version) == best.version:
            reason = "no champion yet" if champion is None else "it is the champion already"
            decision = {"promote": True, "reason": reason}
        else:
            decision = decide_topn(*compare_rankers(client, best, champion, prepared), promotion)
        if decision["promote"]:
            client.set_tag(parent_run_id, "topn_champion_variant", best.ranked.variant)
        tag = ("promoted" if decision["promote"] else "kept") + f": {decision['reason']}"
        promoted = str(best.version) if decision["promote"] else None
        commit_decision(client, TOPN_MODEL, parent_run_id, TOPN_DECISION_TAG, tag, promoted, registered)
    markdown = f"# Top-N promotion\n\n{best.ranked.variant} (v{best.version}): {tag}\n"
    client.log_text(parent_run_id, markdown, artifacts.TOPN_PROMOTION_NOTE)
    create_markdown_artifact(key="topn-promotion", markdown=markdown, description="top-N challenger against champion")
    logger.info("top-N promotion: %s", tag)
    return decision


def compare_rankers(client, best: RegisteredRanker, champion_version, prepared: SplitHandle):
    """Both rankers' test scores for this run's test users: the challenger as registered; the champion as
    registered when it learned from this very split, else its chosen settings refitted on this run's training
    + validation rows (so neither learned from a test movie). Returns (challenger, champion, basis)."""
    data = prepared.stored
    known = in_time_order(data, (C.TRAIN, C.VAL))
    protocol = Protocol.of(known, data.tensors(C.TEST), data.shape.n_movies)
    challenger = protocol.score(load_version(best.version, TOPN_MODEL).model, seed=prepared.split_seed)
    champion = load_version(champion_version.version, TOPN_MODEL)
    champion_run = client.get_run(champion_version.run_id)
    same_split = (
        champion_run.data.params.get("data_fingerprint") == prepared.fingerprint
        and champion_run.data.params.get("split") == prepared.split_name
        and champion_run.data.params.get("split_seed") == str(prepared.split_seed)
    )
    if same_split:
        basis = "the champion as registered (it learned from this split's training + validation rows)"
        model = champion.model
    else:
        basis = "the champion's settings refitted on this run's training + validation rows"
        model = fit_ranker(champion.variant, champion.model.config, data, known, seed=prepared.split_seed)
    them = protocol.score(model, seed=prepared.split_seed)
    return (
        challenger,
        them,
        f"{best.ranked.variant} v{best.version} against {champion.variant} v{champion_version.version}; {basis}",
    )
