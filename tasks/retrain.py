"""Should the scheduled retrain run? Only when the data or the settings differ from the champion's, and not
when this very data with these very settings already lost to the champion that serves now."""

from dataclasses import dataclass

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from recsys.data.gate import ReleaseGateConfig, ReleaseProfile, measured
from recsys.pipeline.config import PipelineConfig, settings_fingerprint
from recsys.store import artifacts
from tasks import tracking
from tasks.champion import champion_of, read_run_table
from tasks.handles import IngestionHandle
from tasks.register import COMPARED_WITH_TAG, DECISION_TAG
from tasks.runtime import REGISTERED_MODEL, data_source
from tasks.validation import release_expectations, validate_with


@dataclass(frozen=True)
class RetrainDecision:
    train: bool
    reason: str


@task(name="compare-with-champion", cache_policy=NO_CACHE, **tracking.IO_RETRIES)
def reason_to_retrain(data: IngestionHandle, config: PipelineConfig) -> RetrainDecision:
    """Train when there is no champion, or the data or settings differ from the champion's; not when the
    champion was trained on exactly this data with exactly these settings ("champion is current"), nor when
    an earlier run with this data and these settings was judged against the champion serving now and kept it
    ("already tried": the same recipe on the same rows would lose again; ``force`` trains anyway). An MLflow
    error other than "no champion" is raised, never taken for "no champion"."""
    settings = settings_fingerprint(config.with_source(data_source(config.data.source)))
    client = tracking.client()
    version = champion_of(REGISTERED_MODEL, client)
    tried = already_tried(client, data.fingerprint, settings, "none" if version is None else version.version)
    if tried is not None:
        return RetrainDecision(False, tried)
    if version is None:
        return RetrainDecision(True, "there is no champion yet")
    parent_id = tracking.pipeline_run_of_version(client, version)
    params = client.get_run(parent_id).data.params
    if params.get("data_fingerprint") != data.fingerprint:
        was = params.get("data_fingerprint", "?")[:12]
        return RetrainDecision(True, f"the data changed (fingerprint {data.fingerprint[:12]}, the champion's {was})")
    if params.get("settings_fingerprint") != settings:
        was = params.get("settings_fingerprint", "unknown")
        return RetrainDecision(True, f"the settings changed ({settings}, champion's {was})")
    get_run_logger().info("champion v%s was trained on this data with these settings", version.version)
    return RetrainDecision(False, "champion is current")


def already_tried(client, data_fingerprint: str, settings: str, champion: str) -> str | None:
    """Why training again is pointless, when a finished run of this data and these settings was judged
    against ``champion`` (a version number, or "none") and kept it; else None."""
    runs = client.search_runs(
        [tracking.experiment_id(client)],
        filter_string=(
            f"params.data_fingerprint = '{data_fingerprint}' and params.settings_fingerprint = '{settings}' "
            f"and tags.{COMPARED_WITH_TAG} = '{champion}' and attributes.status = 'FINISHED'"
        ),
        order_by=["attributes.start_time DESC"],
        max_results=20,
    )
    for run in runs:
        decision = run.data.tags.get(DECISION_TAG, "")
        if decision.startswith("kept"):
            against = "no champion" if champion == "none" else f"champion v{champion}"
            return (
                f"already tried: run {run.info.run_id[:8]} trained these settings on this data and was judged "
                f"against {against} ({decision}); nothing changed since (force=True trains anyway)"
            )
    return None


class ReleaseGateFailed(ValueError):
    """A new release does not look like the accepted one: not trained on."""


@dataclass(frozen=True)
class GateOutcome:
    passed: bool
    reason: str
    run_id: str | None  # the MLflow run holding the report (None when there was nothing to compare with)


@task(name="release-gate", cache_policy=NO_CACHE, **tracking.IO_RETRIES)
def check_release(data: IngestionHandle, gate: ReleaseGateConfig, accept_release: str | None = None) -> GateOutcome:
    """The release gate before the scheduled retrain trains on ``data``: Great Expectations expectations
    derived from the last accepted release (the one the champion learned, read from its run's split): at
    least ``min_rows_share`` of its ratings, a rating distribution within ``max_rating_divergence`` (KL), at
    most ``max_unknown_users`` / ``max_unknown_movies`` of the ratings by users or of movies it did not have.
    Every outcome goes to an MLflow run (``pipeline=release-gate``: figures as metrics, ``release_gate.json``
    and ``.md``) and a Prefect markdown artifact. ``accept_release`` ("who: why") lets a failed release
    through, recorded on that run. No champion, or one whose split is gone: nothing to compare with, passed."""
    client, logger = tracking.client(), get_run_logger()
    champion = champion_of(REGISTERED_MODEL, client)
    accepted_run = None if champion is None else tracking.pipeline_run_of_version(client, champion)
    split = None if accepted_run is None else read_run_table(accepted_run, artifacts.SPLIT)
    if split is None:
        why = "no accepted release to compare with (no champion, or its run lost its split)"
        logger.info("release gate: %s", why)
        return GateOutcome(True, why, None)
    accepted = ReleaseProfile.of(split)
    ratings = data.stored.read_ratings()
    report = validate_with("release-gate", ratings, release_expectations(accepted, gate), data.folder)
    figures = measured(accepted, ratings)
    accepted_by = None if report.success else accept_release  # an override only matters when the gate fails
    if report.success:
        reason = "the release looks like the accepted one"
    else:
        failed = ", ".join(f"{o.expectation}({o.column or 'table'})" for o in report.failures())
        reason = f"the release gate failed: {failed} ({describe(figures)})"
    tags = {"pipeline": "release-gate", "release_gate": "passed" if report.success else "failed"}
    tags |= {"accepted_release_run": accepted_run, "release": data.release} | tracking.process_tags()
    if accepted_by:
        tags["accepted_by"] = accepted_by
    run = client.create_run(tracking.experiment_id(client), run_name="release-gate", tags=tags)
    run_id = run.info.run_id
    for key, value in figures.items():
        client.log_metric(run_id, key, value)
    client.log_dict(run_id, {"passed": report.success, "figures": figures} | report.to_dict(), artifacts.RELEASE_GATE)
    note = gate_markdown(report, figures, reason, accepted_by)
    client.log_text(run_id, note, artifacts.RELEASE_GATE_NOTE)
    client.set_terminated(run_id, "FINISHED")
    create_markdown_artifact(key="release-gate", markdown=note, description="the new release against the accepted one")
    if not report.success:
        logger.warning("%s%s", reason, f"; accepted by {accepted_by}" if accepted_by else "")
    if accepted_by:
        reason = f"accepted: {accepted_by}; {reason}"
    return GateOutcome(report.success or bool(accepted_by), reason, run_id)


def describe(figures: dict[str, float]) -> str:
    return (
        f"{figures['release_rows']:.0f} ratings against {figures['accepted_rows']:.0f}, unknown users "
        f"{figures['unknown_user_share']:.1%}, unknown movies {figures['unknown_movie_share']:.1%}"
    )


def gate_markdown(report, figures: dict[str, float], reason: str, accepted_by: str | None) -> str:
    lines = [f"## Release gate: {'passed' if report.success else 'FAILED'}", "", reason + ".", ""]
    lines += ["| expectation | column | passed | observed / bad rows |", "|---|---|---|---|"]
    for o in report.outcomes:
        seen = o.observed if o.observed is not None else f"{o.unexpected_count} rows"
        lines.append(f"| {o.expectation} | {o.column or 'table'} | {'yes' if o.success else '**no**'} | {seen} |")
    if accepted_by:
        lines += ["", f"Accepted anyway by: {accepted_by}."]
    return "\n".join(lines) + "\n"
