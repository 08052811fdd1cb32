"""Ingestion tasks: find the release (with retries: it may be a download), clean and validate it into
Parquet (cached on content and code), then report what was kept and set aside to MLflow and Prefect."""

import functools
import hashlib
from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from recsys.data import io, schema
from recsys.data.ingest import IngestResult, check_quarantine_share, ingest_release
from recsys.data.io.download import redact_source
from recsys.files import staged_folder
from recsys.store import artifacts
from recsys.store.ingestion import ID_MARKER, IngestionFolder, check_output_folder, write_ingestion
from tasks import tracking
from tasks.handles import IngestionHandle
from tasks.runtime import code_version, data_source, work_folder
from tasks.validation import DataValidationError, TableToValidate, validate_tables

# what an ingestion folder is written by: every module of the library's base, data and store folders, and the
# tasks that write and validate it (their handle included, since Prefect keeps it as the cached result)
CODE_VERSION = code_version(
    [
        "recsys/*.py",
        "recsys/data/**/*.py",
        "recsys/store/**/*.py",
        "tasks/ingest.py",
        "tasks/validation.py",
        "tasks/handles.py",
    ]
)


def _retry_only_io(task, task_run, state) -> bool:
    """Retry a download or disk hiccup, never a file that is simply not MovieLens."""
    exc = state.result(raise_on_failure=False)
    return isinstance(exc, OSError) and not isinstance(exc, io.DataFormatError)


@task(
    name="fetch-data", retries=2, retry_delay_seconds=[2, 10], retry_condition_fn=_retry_only_io, cache_policy=NO_CACHE
)
def fetch_data(source: str | None) -> str:
    """The local folder of the release named by ``source`` (or ``RECSYS_DATA``, or the default URL)."""
    folder = io.resolve_source(data_source(source), work_folder().cache)
    shown = data_source(source) or io.DEFAULT_SOURCE
    get_run_logger().info("data source %s -> %s", redact_source(shown), folder)
    return str(folder)


def check_source(source: str | None) -> Path:
    """The local folder of the data source (or ``RECSYS_DATA``, or the default URL); raises, naming it, when it
    cannot be read: a missing path, or a URL that does not serve a release (it is downloaded into the cache)."""
    return io.resolve_source(data_source(source), work_folder().cache)


def _fingerprint(folder: Path) -> str:
    """The release's content hash (:func:`recsys.data.io.release_fingerprint`); hashed once per process while
    the files' sizes and times stay the same (the cache key, the output folder and the task body all need it:
    0.5 s each on 25M ratings)."""
    files = io.release_files(folder, io.detect_release(folder)[1])
    return _hashed(str(folder), tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files))


@functools.lru_cache(maxsize=16)
def _hashed(folder: str, stats: tuple[tuple[str, int, int], ...]) -> str:  # stats: the cache key only
    return io.release_fingerprint(Path(folder))


def _output_dir(folder: Path, out: str | None) -> Path:
    return Path(out).resolve() if out else work_folder().ingestion(_fingerprint(folder))


def _cache_key(context, parameters) -> str:
    """Content of the raw files + code version + the output folder's identity. The folder gets a random
    id on first use, so a deleted work folder is a cache miss and is rebuilt; outputs deleted one by one
    are reported by ``report_ingestion`` (``--refresh`` rebuilds them)."""
    folder = Path(parameters["folder"])
    out = IngestionFolder(_output_dir(folder, parameters.get("out")))
    key = f"{_fingerprint(folder)}|{CODE_VERSION}|{out.path}|{out.identity()}"
    return hashlib.sha256(key.encode()).hexdigest()


@task(name="ingest", cache_key_fn=_cache_key, persist_result=True)
def ingest(folder: str, out: str | None = None) -> IngestionHandle:
    """Clean the release (row rules, quarantine), validate what was kept with Great Expectations and
    write Parquet, the quarantine, the report and Data Docs to ``out`` (default: keyed by content)."""
    if out is not None:  # the deployment's `out` parameter too: nothing of the operator's is replaced
        check_output_folder(Path(out))
    return run_ingestion(Path(folder), _output_dir(Path(folder), out), get_run_logger())


def run_ingestion(release: Path, out_dir: Path, logger=None) -> IngestionHandle:
    """The ingest task's work, callable without Prefect (the benchmark times exactly this). Everything is
    written into a staging folder published at ``out_dir`` in one rename once whole and valid."""
    fingerprint = _fingerprint(release)
    with staged_folder(out_dir, keep=(ID_MARKER,)) as staging:
        result = ingest_release(release)
        reports = validate_tables(tables_to_validate(result), docs_dir=IngestionFolder(staging).data_docs)
        report = write_ingestion(IngestionFolder(staging), result, fingerprint, [r.to_dict() for r in reports])
        if logger is not None:
            kept, read = len(result.ratings.kept), result.ratings.rows_read
            movies, movies_read = len(result.movies.kept), result.movies.rows_read
            logger.info("%s: kept %d of %d ratings, %d of %d movies", result.release, kept, read, movies, movies_read)
        for r in reports:
            if not r.success:
                raise DataValidationError(r)
    return IngestionHandle(str(release), result.release, str(out_dir), fingerprint, report)


def tables_to_validate(result: IngestResult) -> list[TableToValidate]:
    """Both kept tables with their schema, file and the file line of each row."""
    ratings = schema.ratings_spec(result.rating_values)
    return [
        TableToValidate(schema.MOVIES, result.movies.kept, result.files[1], result.movies.kept_lines),
        TableToValidate(ratings, result.ratings.kept, result.files[0], result.ratings.kept_lines),
    ]


@task(name="report-ingestion", cache_policy=NO_CACHE, **tracking.IO_RETRIES)
def report_ingestion(data: IngestionHandle, run_id: str, max_quarantine_share: float) -> dict:
    """Log the report, GX results, Data Docs and quarantine counts to MLflow and a Prefect markdown
    artifact; then fail if more than ``max_quarantine_share`` of either table was quarantined."""
    client, out = tracking.client(), data.stored
    missing = out.missing()
    if missing:
        raise FileNotFoundError(
            f"{out.path}: {missing} of a cached ingestion are gone; run again with refresh "
            "(recsys ingest --refresh) to rebuild them"
        )
    for path in out.logged():
        client.log_artifact(run_id, str(path), artifact_path=artifacts.INGEST)
    client.log_artifacts(run_id, str(out.data_docs), artifact_path=artifacts.INGEST_DOCS)
    tracking.log_params(client, run_id, {"data_fingerprint": data.fingerprint, "release": data.release})
    for table in ("ratings", "movies"):
        counts = data.report[table]
        client.log_metric(run_id, f"{table}_rows_read", counts["rows_read"])
        client.log_metric(run_id, f"{table}_rows_kept", counts["rows_kept"])
        for reason, n in counts["quarantined_by_reason"].items():
            client.log_metric(run_id, f"quarantined_{table}_{reason}", n)
    create_markdown_artifact(key="ingest-validation", markdown=summarise(data.report))
    check_quarantine_share(data.report, max_quarantine_share)
    return data.report


def summarise(report: dict) -> str:
    """A short Markdown summary of an ingestion report (for Prefect and the command line)."""
    lines = [f"**{report['release']}** ({report['layout']} layout), fingerprint `{report['fingerprint'][:12]}`", ""]
    lines += ["| table | read | kept | quarantined | by reason |", "|---|---|---|---|---|"]
    for table in ("ratings", "movies"):
        c = report[table]
        reasons = ", ".join(f"{k}: {v}" for k, v in c["quarantined_by_reason"].items()) or "none"
        lines.append(f"| {table} | {c['rows_read']} | {c['rows_kept']} | {c['rows_quarantined']} | {reasons} |")
    return "\n".join(lines)
