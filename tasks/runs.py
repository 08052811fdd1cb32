"""What a finished pipeline run says about itself, read back from MLflow: the summary printed at the end of
``train-all`` and ``retrain``, the rows of ``recsys runs``, and the report page as a local file."""

from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

import mlflow
from recsys.store import artifacts
from tasks import tracking
from tasks.champion import has_artifact
from tasks.runtime import EXPERIMENT, work_folder

PIPELINES = ("train-all", "retrain", "ingest")


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    pipeline: str
    status: str
    started: str  # local time, to the second
    seconds: float | None
    challenger: str | None  # the run's best rating variant by validation MSE
    promotion: str | None  # the rating family's decision, as tagged
    topn_promotion: str | None  # the top-N family's decision
    report: str | None  # the report page as a local path (None when the run has no report)
    ui: str | None  # the run's page in the MLflow UI, when a tracking server is used

    def to_dict(self) -> dict:
        return asdict(self)

    def text(self) -> str:
        """The end of a run, in a few lines: its id and outcome, both champion decisions, the report as a path
        and a file:// link, the MLflow UI link when a server is used, and what to run next."""
        seconds = f" in {self.seconds:.0f} s" if self.seconds is not None else ""
        lines = [f"run {self.run_id} ({self.pipeline}) {self.status.lower()}{seconds}"]
        if self.promotion:
            lines.append(f"  rating champion (movielens-rating): {self.promotion}")
        if self.topn_promotion:
            lines.append(f"  top-N champion (movielens-topn):    {self.topn_promotion}")
        if self.report:
            lines.append(f"  report:    {self.report}")
            lines.append(f"             {Path(self.report).resolve().as_uri()}")
        if self.ui:
            lines.append(f"  MLflow UI: {self.ui}")
        lines.append("next: recsys report --open · recsys recommend --user 1 · recsys runs · recsys champion show")
        return "\n".join(lines)


def recent_runs(limit: int = 10, pipeline: str | None = None) -> list:
    """The newest parent runs (MLflow ``Run`` objects), newest first."""
    client = tracking.client()
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        return []
    kinds = [pipeline] if pipeline else PIPELINES
    wanted = f"tags.pipeline = '{pipeline}'" if pipeline else "tags.pipeline LIKE '%'"
    order = ["attributes.start_time DESC"]
    runs = client.search_runs([experiment.experiment_id], wanted, order_by=order, max_results=limit * 4)
    return [r for r in runs if r.data.tags.get("pipeline") in kinds][:limit]


def latest_of_this_process(pipeline: str = "train-all") -> str | None:
    """The newest ``pipeline`` parent run this process started (its host, pid and start-time tags), or None."""
    client = tracking.client()
    experiment = client.get_experiment_by_name(EXPERIMENT)
    if experiment is None:
        return None
    mine = " and ".join(f"tags.`{key}` = '{value}'" for key, value in tracking.process_tags().items())
    order = ["attributes.start_time DESC"]
    found = client.search_runs([experiment.experiment_id], f"tags.pipeline = '{pipeline}' and {mine}", order_by=order)
    return found[0].info.run_id if found else None


def summarise(run, with_report: bool = True) -> RunSummary:
    """A parent run (an MLflow ``Run``) in a few fields; the report downloaded to a local path when asked."""
    import time

    info, tags = run.info, run.data.tags
    seconds = (info.end_time - info.start_time) / 1000 if info.end_time else None
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.start_time / 1000))
    report = report_path(info.run_id) if with_report else None
    return RunSummary(
        info.run_id,
        tags.get("pipeline", "?"),
        info.status,
        started,
        seconds,
        tags.get("challenger_variant"),
        tags.get("promotion"),
        tags.get("topn_promotion"),
        None if report is None else str(report),
        ui_link(info.experiment_id, info.run_id),
    )


def ui_link(experiment_id: str, run_id: str) -> str | None:
    """The run's page in the MLflow UI of the tracking server, or None for a local store."""
    uri = tracking.tracking_uri()
    if not uri.startswith(("http://", "https://")):
        return None
    return f"{uri.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"


def report_path(run_id: str) -> Path | None:
    """The run's report page as a local file: the artifact itself when the store is a local folder, else a copy
    downloaded into the work folder (``reports/<run id>/``); None when the run has no report."""
    client = tracking.client()
    if not has_artifact(client, run_id, artifacts.REPORT_PAGE):
        return None
    root = client.get_run(run_id).info.artifact_uri
    if root.startswith("file:"):
        local = Path(url2pathname(urlsplit(root).path)) / artifacts.REPORT_PAGE
        if local.exists():
            return local
    target = work_folder().root / "reports" / run_id
    if not (target / artifacts.REPORT_PAGE).exists():
        mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=artifacts.REPORT, dst_path=str(target))
    return target / artifacts.REPORT_PAGE


@task(name="summarise-run", cache_policy=NO_CACHE, **tracking.IO_RETRIES)
def log_summary(pipeline: str = "train-all") -> dict | None:
    """Keep the summary of the ``pipeline`` run this process just made as the Prefect markdown artifact
    ``run-summary``, and log it when the flow runs from a deployment (a scheduled ``train-all`` or ``retrain``:
    the ``recsys`` command prints it itself, after its tables)."""
    from prefect.runtime import deployment

    run_id = latest_of_this_process(pipeline)
    if run_id is None:
        return None
    summary = summarise(tracking.client().get_run(run_id))
    if deployment.id is not None:
        get_run_logger().info("%s", summary.text())
    create_markdown_artifact(key="run-summary", markdown=f"```\n{summary.text()}\n```", description="the run's end")
    return summary.to_dict()
