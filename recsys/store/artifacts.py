"""The names of what a pipeline run logs to MLflow, as paths inside the run's artifacts: one place, so the
writer and every reader (promotion, the analysis, `recsys recommend`) agree; and how a frame is written to
and read from such a file."""

from pathlib import Path, PurePosixPath

from recsys.data import io

CONFIG = "config.yaml"  # the pipeline run's resolved config
DATA = "data"  # the folder of the run's split and movies table
SPLIT = f"{DATA}/split.parquet"  # every rating with its part: train, val, test
MOVIES = f"{DATA}/movies.parquet"  # titles, years and genres, for answers and the analysis
INGEST = "ingest"  # the ingestion report, GX results and quarantine
INGEST_DOCS = f"{INGEST}/data_docs"  # Great Expectations' Data Docs
CHECKPOINT = "checkpoint"  # a variant run's checkpoint folder, holding one CHECKPOINT_SUFFIX file
CHECKPOINT_SUFFIX = ".pt"
REPORT = "report"  # the analysis: tables, figures and the page
REPORT_PAGE = f"{REPORT}/report.html"
PROMOTION_NOTE = "promotion.md"  # the promotion decision and its numbers
TOPN_PROMOTION_NOTE = "topn_promotion.md"  # the top-N family's promotion decision
RANKER_TRIED = "validation/tried.json"  # a ranker's run: every candidate of its grid and its validation NDCG@10
RELEASE_GATE = "release_gate.json"  # a release-gate run: every expectation and its outcome
RELEASE_GATE_NOTE = "release_gate.md"  # the same, to read
COMPARED_ROWS = "promotion/compared_rows.parquet"  # the rows the decision compared, both models' predictions


def seed_data(seed: int) -> str:
    """The folder of a further seed's split in a multi-seed run."""
    return f"{DATA}/seed-{seed}"


def seed_split(seed: int) -> str:
    return f"{seed_data(seed)}/split.parquet"


def write_frame(frame, folder: Path, artifact_file: str) -> Path:
    """Write ``frame`` (a DataFrame) into ``folder`` as the file that is logged at ``artifact_file``; returns it."""
    return io.write_parquet(frame, folder / PurePosixPath(artifact_file).name)


def read_frame(path: Path):
    """A frame artifact downloaded to ``path``."""
    return io.read_parquet(Path(path))


def checkpoint_in(folder: Path) -> Path:
    """The one checkpoint file in a downloaded checkpoint or model folder (at any depth)."""
    (found,) = Path(folder).rglob(f"*{CHECKPOINT_SUFFIX}")
    return found
