"""All file I/O of the library: finding a release, reading its text files, and Parquet in and out."""

from recsys.data.io.parquet import read_fingerprint, read_head, read_parquet, write_parquet
from recsys.data.io.sources import (
    DEFAULT_SOURCE,
    detect_release,
    fingerprint_files,
    release_files,
    release_fingerprint,
    resolve_source,
    write_release_csv,
)
from recsys.data.io.text import DataFormatError, RawTable, read_text_table

__all__ = [
    "DEFAULT_SOURCE",
    "DataFormatError",
    "RawTable",
    "detect_release",
    "fingerprint_files",
    "release_fingerprint",
    "read_fingerprint",
    "read_head",
    "read_parquet",
    "read_text_table",
    "release_files",
    "resolve_source",
    "write_parquet",
    "write_release_csv",
]
