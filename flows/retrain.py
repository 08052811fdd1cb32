"""retrain: the scheduled retraining. Ingests (a cache hit when nothing changed), and runs train-all only
when the data or the settings differ from those the champion was trained on, or when forced; and never on a
release that fails the release gate, unless someone accepts it."""

from prefect import flow, get_run_logger

from flows.train_all import train_all
from recsys.pipeline.config import PipelineConfig
from tasks.ingest import fetch_data, ingest
from tasks.retrain import ReleaseGateFailed, check_release, reason_to_retrain


@flow(name="retrain")
def retrain(
    config: PipelineConfig = PipelineConfig(),  # noqa: B008
    force: bool = False,
    accept_release: str | None = None,
) -> dict:
    """Retrain (train-all with ``config``) unless the champion already learned from this data with these
    settings (the config's settings fingerprint), or these settings already lost on this data to the champion
    serving now; ``force`` trains anyway. Before training, the release gate compares the release with the
    accepted one (the champion's): a failed gate stops the flow (failed, the champion untouched, the report in
    MLflow and Prefect) unless ``accept_release`` ("who: why") is given, which is recorded. Returns whether it
    trained and why."""
    dataset = ingest(fetch_data(config.data.source))
    decision = reason_to_retrain(dataset, config)
    if not decision.train and not force:
        get_run_logger().info("skipping: %s (force=True trains)", decision.reason)
        return {"trained": False, "reason": decision.reason}
    gate = check_release(dataset, config.release_gate, accept_release)
    if not gate.passed:
        raise ReleaseGateFailed(
            f"{gate.reason}; the champion is untouched. Report: MLflow run {gate.run_id} (release_gate.md). "
            "If the release is right, run retrain again with accept_release='who: why'"
        )
    why = decision.reason if decision.train else "forced"
    get_run_logger().info("retraining: %s", why)
    train_all(config)
    return {"trained": True, "reason": why}
