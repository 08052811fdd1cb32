"""Register-models and promote tasks: every variant becomes a version of ``movielens-rating`` (once, however
often the task is retried); the run's best by validation MSE gets the ``challenger`` alias, and takes
``champion`` only when it predicts better than the champion on rows neither learned from, by the rule of
:mod:`recsys.evaluation.promotion`. The alias moves by compare-and-set: under the registry lock, the
champion is read again just before the move and the decision is made against that one."""

import json
import time
from dataclasses import dataclass

import pandas as pd
import yaml
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

import mlflow
from recsys import columns as C
from recsys.data.split import learned_parts
from recsys.evaluation.predictions import predict_ids
from recsys.evaluation.promotion import (
    RETRAINED_RECIPE,
    UNSEEN_ROWS,
    ComparedRows,
    Comparison,
    Contender,
    Decision,
    Gate,
    Pending,
    PromotionConfig,
    compare,
    decide_promotion,
    decision_markdown,
    kept_without_evidence,
    rows_to_compare,
    settle_pending,
)
from recsys.models.biases import biases_only_predictions
from recsys.models.checkpoint import TrainedModel
from recsys.pipeline.config import PipelineConfig
from recsys.pipeline.recipe import train_recipe
from recsys.store import artifacts
from tasks import tracking
from tasks.champion import champion_of, load_version, read_run_table, read_run_text
from tasks.handles import EvaluatedVariant, RegisteredVariant, SplitHandle
from tasks.registry_lock import registry_lock
from tasks.runtime import CHALLENGER, CHAMPION, PREVIOUS, REGISTERED_MODEL, TOPN_MODEL

DECISION_TAG, PENDING, DECIDED = "promotion", "pending", "decided"
TOPN_DECISION_TAG = "topn_promotion"  # the parent run's tag of the top-N family's decision
COMPARED_WITH_TAG = "compared_with_champion"  # the champion version the decision was made against, or "none"


def challenger_of(registered: list[RegisteredVariant]) -> RegisteredVariant:
    """The run's best variant by validation MSE (never by test rows)."""
    return min(registered, key=lambda r: r.evaluated.best_val_mse)


def find_or_register(client, result, name: str = REGISTERED_MODEL) -> int:
    """The version of registered model ``name`` made from ``result``'s run (a rating model's or a ranker's
    handle): found by its run id if an earlier try made it already."""
    found = client.search_model_versions(f"name = '{name}' and tags.run_id = '{result.run_id}'")
    if found:
        return min(int(v.version) for v in found)
    tags = {"variant": result.variant, "run_id": result.run_id, DECISION_TAG: PENDING}
    return int(mlflow.register_model(result.model_uri, name, tags=tags).version)


def mark_decided(client, registered: list, name: str = REGISTERED_MODEL) -> None:
    """The run's versions had their alias decision: no longer pending."""
    for one in registered:
        client.set_model_version_tag(name, str(one.version), DECISION_TAG, DECIDED)


def settle_undecided_versions(client) -> tuple[list[str], list[str]]:
    """:func:`settle_undecided` for both registered models, rating and top-N; the version numbers prefixed
    ``topn:`` for the latter. Called under the registry lock (it reads the aliases and records that a
    promotion writes)."""
    deleted, completed = settle_undecided(client, REGISTERED_MODEL, DECISION_TAG)
    more_deleted, more_completed = settle_undecided(client, TOPN_MODEL, TOPN_DECISION_TAG)
    return deleted + [f"topn:{v}" for v in more_deleted], completed + [f"topn:{v}" for v in more_completed]


def settle_undecided(client, name: str, decision_tag: str) -> tuple[list[str], list[str]]:
    """Versions still ``pending`` whose pipeline run has ended (the tracking server went down, the process was
    killed). A run whose decision was made (its decision tag set, or ``champion`` moved to one of its versions)
    and that died before marking its versions has them marked decided; a run that wrote its promotion record
    and died before its decision tag has the move completed (:func:`roll_forward`); the versions of a run that
    ended before deciding are deleted, so no version stays registered without a decision. Versions whose
    *pipeline* run is still RUNNING are left alone: a variant run is FINISHED at evaluation, long before its
    pipeline registers and decides, and the pipeline run stays RUNNING until after its decision (a dead
    process's run on this host is marked KILLED first, by ``tracking.mark_orphans_killed``, which reads the
    host, pid and start time the pipeline run was tagged with).
    Returns (deleted, completed) version numbers."""
    pending = client.search_model_versions(f"name = '{name}' and tags.`{DECISION_TAG}` = '{PENDING}'")
    by_pipeline: dict[str, list[str]] = {}
    for version in pending:
        by_pipeline.setdefault(tracking.pipeline_run_of_version(client, version), []).append(version.version)
    deleted, completed = [], []
    for pipeline_id, versions in by_pipeline.items():
        pipeline = client.get_run(pipeline_id)
        going = pipeline.info.status == "RUNNING"
        champion = not going and any(holds_champion(client, number, name) for number in versions)
        intent = pipeline.data.tags.get(intent_tag(decision_tag))
        action = settle_pending(going, decision_tag in pipeline.data.tags, champion, intent is not None)
        if action is Pending.LEAVE:
            continue
        if action is Pending.ROLL_FORWARD:
            roll_forward(client, name, pipeline_id, decision_tag, json.loads(intent))
        for number in versions:
            if action is Pending.DELETE:
                client.delete_model_version(name, number)
            else:
                client.set_model_version_tag(name, number, DECISION_TAG, DECIDED)
        (deleted if action is Pending.DELETE else completed).extend(versions)
    return deleted, completed


def intent_tag(decision_tag: str) -> str:
    """The parent run's tag recording a promotion before any alias moves: ``{"version": .., "replaces": ..}``."""
    return f"{decision_tag}_record"


def roll_forward(client, name: str, pipeline_id: str, decision_tag: str, record: dict) -> None:
    """Finish a dead run's promotion from its record: ``champion`` to the recorded version and ``previous``
    to the one it replaced, unless someone moved ``champion`` elsewhere since (a rollback by hand), which is
    kept and said in the decision tag."""
    current = champion_of(name, client)
    now = None if current is None else current.version
    if now in (record["replaces"], record["version"]):
        if record["replaces"] is not None:
            client.set_registered_model_alias(name, PREVIOUS, record["replaces"])
        client.set_registered_model_alias(name, CHAMPION, record["version"])
        note = f"promoted v{record['version']}: completed from the run's record after it died"
    else:
        note = f"recorded promotion of v{record['version']} not completed: champion is v{now} since"
    client.set_tag(pipeline_id, decision_tag, note)


def commit_decision(
    client, name: str, parent_run_id: str, decision_tag: str, tag: str, promote: str | None, registered: list
) -> None:
    """One run's alias decision as a transaction, under the registry lock: when ``promote`` names a version,
    the record (that version and the champion it replaces) is written to the parent run first, then the
    aliases move; then the decision tag, then the run's versions marked decided. A run that dies anywhere in
    between is completed by the next run's :func:`settle_undecided`, never undone by deletion."""
    if promote is not None:
        before = champion_of(name, client)
        record = {"version": promote, "replaces": None if before is None else before.version}
        client.set_tag(parent_run_id, intent_tag(decision_tag), json.dumps(record))
        move_champion(client, name, promote, before)  # the champion just read: not read again
    client.set_tag(parent_run_id, decision_tag, tag[:5000])
    mark_decided(client, registered, name)


def move_champion(client, name: str, version: str, before=None) -> str | None:
    """Point ``champion`` of registered model ``name`` at ``version``, the one it pointed to (``before``, read
    here when not given) becoming ``previous`` (what ``recsys champion rollback`` goes back to); returns that
    previous version, or None. Called under the registry lock."""
    before = before if before is not None else champion_of(name, client)
    if before is not None and before.version != version:
        client.set_registered_model_alias(name, PREVIOUS, before.version)
    client.set_registered_model_alias(name, CHAMPION, version)
    return None if before is None else before.version


def roll_back(client, name: str, who: str) -> tuple[str, str]:
    """Point ``champion`` of ``name`` back at ``previous`` (and ``previous`` at the champion it replaces, so a
    second rollback rolls forward), under the registry lock; each version is tagged with what happened.
    Returns (from, to) version numbers; ValueError when there is no champion or no previous one."""
    with registry_lock():
        current = champion_of(name, client)
        if current is None:
            raise ValueError(f"{name} has no champion to roll back")
        previous = champion_of(name, client, PREVIOUS)
        if previous is None:
            raise ValueError(f"{name} has no previous champion to roll back to (v{current.version} is the first)")
        client.set_registered_model_alias(name, CHAMPION, previous.version)
        client.set_registered_model_alias(name, PREVIOUS, current.version)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        client.set_model_version_tag(
            name, current.version, "rolled_back", f"{stamp} by {who}: replaced by v{previous.version}"
        )
        client.set_model_version_tag(
            name, previous.version, "restored", f"{stamp} by {who}: replaced v{current.version}"
        )
    return current.version, previous.version


def holds_champion(client, version: str, name: str = REGISTERED_MODEL) -> bool:
    """Whether ``champion`` points to ``version`` (read from the version itself: an error is raised, never
    taken for "no champion")."""
    return CHAMPION in client.get_model_version(name, version).aliases


def register_each(client, results: list, seed: int, name: str) -> list[tuple[object, int]]:
    """Each result of the run's own ``seed`` (the first; further seeds only measure the spread) as a version of
    registered model ``name``, once however often the task is retried, under the registry lock (version
    numbers are handed out one registration at a time): (result, version) pairs."""
    with registry_lock():
        return [(r, find_or_register(client, r, name)) for r in results if r.seed == seed]


@task(name="register-models", cache_policy=NO_CACHE, **tracking.IO_RETRIES)
def register_models(results: list[EvaluatedVariant], seed: int, parent_run_id: str) -> list[RegisteredVariant]:
    """Register each variant's model of the run's own ``seed`` (the first; further seeds only measure the
    spread), each once, and point ``challenger`` at the best by validation MSE."""
    client = tracking.client()
    registered = [RegisteredVariant(r, v) for r, v in register_each(client, results, seed, REGISTERED_MODEL)]
    if not registered:
        get_run_logger().warning("no variant finished: nothing to register")
        return []
    best = challenger_of(registered)
    client.set_registered_model_alias(REGISTERED_MODEL, CHALLENGER, str(best.version))
    client.set_tag(parent_run_id, "challenger_variant", best.evaluated.variant)
    table = [r.evaluated.to_dict() | {"model_version": r.version} for r in registered]
    create_table_artifact(key="registered-models", table=table, description="train-all variants, test rows")
    get_run_logger().info("%s v%d (%s) is the %r", REGISTERED_MODEL, best.version, best.evaluated.variant, CHALLENGER)
    return registered


@dataclass(frozen=True)
class Compared:
    """The rows a comparison was made on, with both models' predictions."""

    rows: pd.DataFrame  # user_id, movie_id, rating, challenger, champion
    comparison: Comparison


@task(name="promote-challenger", cache_policy=NO_CACHE, **tracking.IO_RETRIES)
def promote_challenger(
    registered: list[RegisteredVariant], prepared: SplitHandle, parent_run_id: str, promotion: PromotionConfig
) -> dict:
    """Under the registry lock: read the champion, compare the challenger with it on rows neither learned
    from (or recipe against recipe), move ``champion`` only if the challenger wins. The decision and its
    numbers: the parent run's ``promotion`` tag, ``promotion.md`` and ``promotion/compared_rows.parquet``,
    and a Prefect markdown artifact."""
    client, logger = tracking.client(), get_run_logger()
    if not registered:
        client.set_tag(parent_run_id, "promotion", "kept: no variant finished")
        return {"promote": False, "reason": "no variant finished"}
    best = challenger_of(registered)
    with registry_lock() as lock:
        logger.info("promotion holds the %s", lock)
        decision, compared = judge(client, best, prepared, promotion)
        opponent = decision.champion.version if decision.champion is not None else "none"
        client.set_tag(parent_run_id, COMPARED_WITH_TAG, opponent)
        if decision.promote:
            client.set_tag(parent_run_id, "champion_variant", best.evaluated.variant)
        promoted = str(best.version) if decision.promote else None
        commit_decision(client, REGISTERED_MODEL, parent_run_id, DECISION_TAG, decision.tag(), promoted, registered)
    markdown = decision_markdown(decision)
    client.log_text(parent_run_id, markdown, artifacts.PROMOTION_NOTE)
    if compared is not None:
        tracking.log_frame(client, parent_run_id, compared.rows, artifacts.COMPARED_ROWS)
        client.log_metric(parent_run_id, "promotion_compared_rows", compared.comparison.rows)
    create_markdown_artifact(key="promotion", markdown=markdown, description="challenger against champion")
    logger.info("promotion: %s", decision.tag())
    return decision.to_dict()


def judge(
    client, best: RegisteredVariant, prepared: SplitHandle, promotion: PromotionConfig
) -> tuple[Decision, Compared | None]:
    """The decision against the champion as it is now (read here, inside the lock: only MLflow's "does not
    exist" means there is none). The challenger must also beat the biases-only baseline on the rows it is
    judged on (this run's test rows, or the compared rows) unless ``promotion.gate`` is ``none``."""
    champion_version = champion_of(REGISTERED_MODEL, client)
    me = Contender(str(best.version), best.evaluated.variant, best.evaluated.test_mse)  # on this run's test rows
    if champion_version is not None and int(champion_version.version) == best.version:
        return decide_promotion(me, me, None, promotion), None
    if champion_version is None:
        gate = None
        if promotion.gate == "biases":  # the biases are fitted only when the gate will read them
            test = prepared.stored.rows(C.TEST)
            baseline = biases_only_predictions(learned_rows(prepared), test)
            gate = Gate(len(test), me.mse, float(((baseline - test[C.RATING].to_numpy()) ** 2).mean()))
        return decide_promotion(me, None, None, promotion, gate), None
    them_variant = champion_version.tags.get("variant", "?")
    try:
        compared = compare_with_champion(client, champion_version, load_version(best.version), prepared, promotion)
    except LostEvidence as lost:
        them = Contender(champion_version.version, them_variant, float("nan"))
        return kept_without_evidence(me, them, str(lost), promotion), None
    rows = compared.rows
    mse = {who: float(((rows[who] - rows[C.RATING]) ** 2).mean()) for who in ("challenger", "champion", "baseline")}
    me = Contender(str(best.version), best.evaluated.variant, mse["challenger"])
    them = Contender(champion_version.version, them_variant, mse["champion"])
    gate = Gate(len(rows), mse["challenger"], mse["baseline"])
    return decide_promotion(me, them, compared.comparison, promotion, gate), compared


class LostEvidence(Exception):
    """The champion cannot be compared on this run's rows: why, in words."""


def compare_with_champion(
    client, champion_version, challenger: TrainedModel, prepared: SplitHandle, promotion: PromotionConfig
) -> Compared:
    """This run's test rows the champion never learned from, when there are enough of them; else the
    champion's recipe retrained on this run's split, compared on all this run's test rows. The recipe is
    retrained too when the champion's run no longer holds its split (its evidence is gone) or the champion
    learned another data set (most of its training ratings are not in this run's data: its ids are other
    people and other movies). Raises :class:`LostEvidence` when the recipe is needed and cannot be retrained
    (no ``config.yaml``, or one that no longer validates)."""
    champion_parent = tracking.pipeline_run_of_version(client, champion_version)
    test = prepared.stored.rows(C.TEST)  # the test part alone, not the whole split
    champion_split = read_run_table(champion_parent, artifacts.SPLIT)
    if champion_split is None:
        why = (
            f"the champion's run {champion_parent[:8]} no longer holds {artifacts.SPLIT}, so which rows it learned "
            f"from is unknown: its recipe was retrained on this run's split, both scored on its {len(test)} test rows."
        )
        chosen = ComparedRows(RETRAINED_RECIPE, test, why)
    else:
        chosen = rows_to_compare(test, champion_split, promotion, prepared.stored.ratings())
    if chosen.basis == UNSEEN_ROWS:
        champion = load_version(champion_version.version)
    else:
        champion = retrain_champion_recipe(champion_parent, champion_version.tags["variant"], prepared)
    return scored(chosen, challenger, champion, promotion, prepared)


def scored(
    chosen: ComparedRows, challenger: TrainedModel, champion: TrainedModel, promotion: PromotionConfig, prepared
) -> Compared:
    """Both models' predictions on the chosen rows (each through its own vocabularies), the biases-only
    baseline's (fitted on the rows this run's models learned from) and the comparison, users resampled."""
    frame = chosen.rows[[C.USER_ID, C.MOVIE_ID, C.RATING]].reset_index(drop=True)
    for name, model in (("challenger", challenger), ("champion", champion)):
        frame[name] = predict_ids(model.model, model.user_vocab, model.movie_vocab, frame)
    frame["baseline"] = biases_only_predictions(learned_rows(prepared), frame)
    predicted = frame["challenger"].to_numpy(), frame["champion"].to_numpy()
    users = frame[C.USER_ID].to_numpy()
    seed = prepared.split_seed
    comparison = compare(frame[C.RATING].to_numpy(), *predicted, users, chosen.basis, chosen.why, promotion, seed)
    return Compared(frame, comparison)


def retrain_champion_recipe(champion_parent: str, variant: str, prepared: SplitHandle) -> TrainedModel:
    """The champion's variant as its run's ``config.yaml`` made it, trained on this run's split and seed;
    :class:`LostEvidence` when that config is gone or no longer validates."""
    from pydantic import ValidationError

    text = read_run_text(champion_parent, artifacts.CONFIG)
    if text is None:
        raise LostEvidence(f"its run {champion_parent[:8]} has no {artifacts.CONFIG} to retrain its recipe from")
    try:
        config = PipelineConfig.model_validate(yaml.safe_load(text)).for_seed(prepared.split_seed)
    except (ValidationError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[:3]
        raise LostEvidence(
            f"its run's {artifacts.CONFIG} no longer validates ({' '.join(first)}), so its recipe cannot be "
            "retrained; promote by hand with `recsys champion rollback` or a forced run"
        ) from exc
    if variant not in config.selected():
        raise LostEvidence(f"its run's config no longer selects {variant!r}")
    model = train_recipe(config, variant, prepared.stored)
    return TrainedModel(variant, model, *prepared.stored.vocabularies())


def learned_rows(prepared: SplitHandle) -> pd.DataFrame:
    """The rows this run's rating models learned from, which the biases-only gate learns from too: training
    rows, and validation rows where the models were refitted on them (``refit``)."""
    parts = learned_parts(prepared.config.refit)
    return pd.concat([prepared.stored.rows(part) for part in parts], ignore_index=True)
