"""Should the scheduled retrain run? Only when the data or the settings differ from the champion's, and not
when this very data with these very settings already lost to the champion that serves now."""

from dataclasses import dataclass

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from recsys.pipeline.config import PipelineConfig, settings_fingerprint
from tasks import tracking
from tasks.champion import champion_of
from tasks.handles import IngestionHandle
from tasks.register import COMPARED_WITH_TAG, DECISION_TAG
from tasks.runtime import REGISTERED_MODEL, data_source


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
