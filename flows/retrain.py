"""retrain: the scheduled retraining. Ingests (a cache hit when nothing changed), and runs train-all only
when the data or the settings differ from those the champion was trained on, or when forced."""

from typing import Literal

from prefect import flow, get_run_logger

from flows.train_all import train_all
from recsys.models import DEFAULT_VARIANTS, settings_fingerprint
from tasks.ingest import fetch_data, ingest
from tasks.retrain import reason_to_retrain


@flow(name="retrain")
def retrain(
    data: str | None = None,
    variants: list[str] = DEFAULT_VARIANTS,
    epochs: int | None = None,
    seed: int = 42,
    split: Literal["random", "temporal_global", "temporal_user"] = "random",
    promotion_margin: float = 0.0,
    force: bool = False,
) -> dict:
    """Retrain (train-all with these parameters) unless the champion already learned from this data with
    these settings; ``force`` trains anyway. Returns whether it trained and why."""
    dataset = ingest(fetch_data(data))
    reason = reason_to_retrain(dataset, settings_fingerprint(variants, epochs, seed, split))
    if reason is None and not force:
        get_run_logger().info("skipping: the champion was trained on this data with these settings (force=True trains)")
        return {"trained": False, "reason": "champion is current"}
    why = reason or "forced"
    get_run_logger().info("retraining: %s", why)
    train_all(data=data, variants=variants, epochs=epochs, seed=seed, split=split, promotion_margin=promotion_margin)
    return {"trained": True, "reason": why}
