"""Should the scheduled retrain run? Only when the data or the settings differ from the champion's."""

from mlflow.exceptions import MlflowException
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from recsys.pipeline.config import PipelineConfig, settings_fingerprint
from tasks import tracking
from tasks.handles import IngestionHandle
from tasks.runtime import CHAMPION, REGISTERED_MODEL, data_source


@task(name="compare-with-champion", cache_policy=NO_CACHE, **tracking.IO_RETRIES)
def reason_to_retrain(data: IngestionHandle, config: PipelineConfig) -> str | None:
    """Why training is needed (no champion, new data, other settings), or None when the champion was
    trained on exactly this data with exactly these settings."""
    settings = settings_fingerprint(config.with_source(data_source(config.data.source)))
    client = tracking.client()
    try:
        version = client.get_model_version_by_alias(REGISTERED_MODEL, CHAMPION)
    except MlflowException:
        return "there is no champion yet"
    parent_id = tracking.pipeline_run_of_version(client, version)
    params = client.get_run(parent_id).data.params
    if params.get("data_fingerprint") != data.fingerprint:
        was = params.get("data_fingerprint", "?")[:12]
        return f"the data changed (fingerprint {data.fingerprint[:12]}, the champion's {was})"
    if params.get("settings_fingerprint") != settings:
        return f"the settings changed ({settings}, champion's {params.get('settings_fingerprint', 'unknown')})"
    get_run_logger().info("champion v%s was trained on this data with these settings", version.version)
    return None
