"""ingest: validate a MovieLens release and refresh its Parquet tables, without training."""

from prefect import flow

from tasks.ingest import fetch_data, ingest, report_ingestion
from tasks.pipeline_run import end_pipeline_run, start_pipeline_run


@flow(name="ingest")
def ingest_data(
    data: str | None = None, out: str | None = None, max_quarantine_share: float = 0.01, refresh: bool = False
) -> dict:
    """Ingest ``data`` (folder, .zip or URL) into ``out``; returns the ingestion report.

    Fails on an unreadable file, on data that breaks its expectations after cleaning, or when more
    than ``max_quarantine_share`` of the rows of either table was quarantined. Unchanged input is a
    cache hit unless ``refresh``."""
    run = start_pipeline_run(
        "ingest", {"data": data, "out": out, "max_quarantine_share": max_quarantine_share, "refresh": refresh}
    )
    try:
        ingested = ingest.with_options(refresh_cache=refresh)(fetch_data(data), out)
        report = report_ingestion(ingested, run, max_quarantine_share)
    except BaseException:
        end_pipeline_run(run, "FAILED")
        raise
    end_pipeline_run(run, "FINISHED")
    return report
