"""Parquet in and out: atomic zstd writes with the content fingerprint in the file metadata."""

from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from recsys.files import atomic_write_with

FINGERPRINT_KEY = b"recsys.fingerprint"


def write_parquet(df: pd.DataFrame | pa.Table, path: Path, fingerprint: str | None = None) -> Path:
    """Write ``df`` to ``path`` atomically (zstd), storing ``fingerprint`` in the file metadata."""
    table = df if isinstance(df, pa.Table) else pa.Table.from_pandas(df, preserve_index=False)
    if fingerprint is not None:
        metadata = {**(table.schema.metadata or {}), FINGERPRINT_KEY: fingerprint.encode()}
        table = table.replace_schema_metadata(metadata)
    return atomic_write_with(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))


def read_parquet(path: Path, filters: list[tuple] | None = None, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a Parquet file written by :func:`write_parquet` into pandas; with ``filters`` (pyarrow's, e.g.
    ``[("split", "==", "test")]``) only the matching rows, so a large file is never read whole for a part."""
    return pq.read_table(path, filters=filters, columns=columns).to_pandas()


def read_head(path: Path, n: int) -> pd.DataFrame:
    """The first ``n`` rows of a Parquet file, without reading the rest."""
    batch = next(pq.ParquetFile(path).iter_batches(batch_size=n), None)
    return batch.to_pandas() if batch is not None else pq.read_schema(path).empty_table().to_pandas()


def read_fingerprint(path: Path) -> str | None:
    """The content fingerprint stored in a Parquet file's metadata, or None."""
    metadata = pq.read_schema(path).metadata or {}
    value = metadata.get(FINGERPRINT_KEY)
    return value.decode() if value is not None else None
