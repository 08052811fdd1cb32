"""retrain: the scheduled retraining. Ingests (a cache hit when nothing changed), and runs train-all only
when the data or the settings differ from those the champion was trained on, or when forced."""

from prefect import flow, get_run_logger

from flows.train_all import train_all
from recsys.pipeline.config import PipelineConfig
from tasks.ingest import fetch_data, ingest
from tasks.retrain import reason_to_retrain


@flow(name="retrain")
def retrain(config: PipelineConfig = PipelineConfig(), force: bool = False) -> dict:  # noqa: B008
    """Retrain (train-all with ``config``) unless the champion already learned from this data with these
    settings (the config's settings fingerprint), or these settings already lost on this data to the champion
    serving now; ``force`` trains anyway. Returns whether it trained and why."""
    dataset = ingest(fetch_data(config.data.source))
    decision = reason_to_retrain(dataset, config)
    if not decision.train and not force:
        get_run_logger().info("skipping: %s (force=True trains)", decision.reason)
        return {"trained": False, "reason": decision.reason}
    why = decision.reason if decision.train else "forced"
    get_run_logger().info("retraining: %s", why)
    train_all(config)
    return {"trained": True, "reason": why}
