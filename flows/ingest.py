"""ingest: validate a MovieLens release and refresh its Parquet tables, without training."""

from prefect import flow

from recsys.pipeline.config import DataConfig
from tasks.ingest import fetch_data, ingest, report_ingestion
from tasks.pipeline_run import pipeline_outcome, start_ingest_run


@flow(name="ingest")
def ingest_data(data: DataConfig = DataConfig(), out: str | None = None) -> dict:  # noqa: B008
    """Ingest ``data.source`` (folder, .zip, URL or object-storage URI) into ``out``; returns the ingestion report.

    Fails on an unreadable file, on data that breaks its expectations after cleaning, or when more
    than ``data.max_quarantine_share`` of the rows of either table was quarantined. Unchanged input is a
    cache hit unless ``data.refresh``."""
    run_id = start_ingest_run(data, out)
    with pipeline_outcome(run_id):
        ingested = ingest.with_options(refresh_cache=data.refresh)(fetch_data(data.source), out)
        report = report_ingestion(ingested, run_id, data.max_quarantine_share)
    return report
