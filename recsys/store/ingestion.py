"""An ingestion folder: the release's kept rows as Parquet, the quarantine, the ingestion report, the Great
Expectations results and Data Docs. Written into a staging folder and published whole
(:func:`recsys.files.staged_folder`), so a reader sees all of it or none."""

import uuid
from dataclasses import dataclass
from pathlib import Path

from recsys.data import io
from recsys.data.ingest import IngestResult
from recsys.files import write_json

ID_MARKER = ".ingest-id"  # a random id given to the folder on first use (the ingestion cache's key reads it)


@dataclass(frozen=True)
class IngestionFolder:
    path: Path

    @property
    def ratings(self) -> Path:
        return self.path / "ratings.parquet"

    @property
    def movies(self) -> Path:
        return self.path / "movies.parquet"

    @property
    def quarantine(self) -> Path:
        return self.path / "quarantine.parquet"

    @property
    def report(self) -> Path:
        return self.path / "ingest_report.json"

    @property
    def validation(self) -> Path:
        return self.path / "validation.json"

    @property
    def data_docs(self) -> Path:
        return self.path / "data_docs"

    def read_ratings(self):
        """The kept ratings (user_id, movie_id, rating, timestamp)."""
        return io.read_parquet(self.ratings)

    def read_movies(self):
        """The kept movies (movie_id, title, year, genres and the release's genre flags)."""
        return io.read_parquet(self.movies)

    def outputs(self) -> tuple[Path, ...]:
        return (self.ratings, self.movies, self.quarantine, self.report, self.validation)

    def logged(self) -> tuple[Path, ...]:
        """The files a run logs to MLflow (the tables themselves are logged with the split)."""
        return (self.report, self.validation, self.quarantine)

    def missing(self) -> list[str]:
        """The names of the outputs that are not there (a cached ingestion whose files were deleted)."""
        return [path.name for path in self.outputs() if not path.exists()]

    def identity(self) -> str:
        """The folder's random id, given on first use: a deleted and rebuilt folder is a new one."""
        marker = self.path / ID_MARKER
        if not marker.exists():
            self.path.mkdir(parents=True, exist_ok=True)
            marker.write_text(uuid.uuid4().hex)
        return marker.read_text()


def check_output_folder(path: Path) -> None:
    """Refuse ``path`` as an ingestion's output folder when it holds anything but an earlier ingestion's
    outputs: the new tables are published by replacing the folder whole, which would take those files with it."""
    path = Path(path)
    if not path.exists():
        return
    if not path.is_dir():
        raise ValueError(f"{path} is a file: give a folder for the ingested tables")
    folder = IngestionFolder(path)
    ours = {p.name for p in folder.outputs()} | {folder.data_docs.name, ID_MARKER}
    foreign = sorted(p.name for p in path.iterdir() if p.name not in ours)
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
        raise ValueError(
            f"{path} holds files that are not an ingestion's ({shown}), and writing the tables replaces the folder "
            "whole: give an empty or new folder, or one an earlier `recsys ingest` wrote"
        )


def write_ingestion(folder: IngestionFolder, result: IngestResult, fingerprint: str, validation: list[dict]) -> dict:
    """Write the kept tables, the quarantine, the validation results and the report into ``folder``; returns the
    report."""
    io.write_parquet(result.ratings.kept, folder.ratings, fingerprint)
    io.write_parquet(result.movies.kept, folder.movies, fingerprint)
    io.write_parquet(result.quarantine(), folder.quarantine, fingerprint)
    report = result.report(fingerprint)
    write_json(folder.validation, validation)
    write_json(folder.report, report)
    return report
