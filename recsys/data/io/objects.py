"""A release on object storage or another filesystem that pyarrow reaches (``s3://bucket/ml-25m``,
``gs://...``, ``hdfs://...``, ``file:///...``): a folder (or a ``.zip``) copied into the cache, then read as
a local release.

The copy is kept beside a manifest of each file's size and modification time; a later use lists the
remote files again and copies only what changed, so a new release in the bucket changes the data
fingerprint (and a scheduled ``retrain`` trains) while an unchanged one costs one listing. Files are
copied in 8 MiB blocks through :mod:`recsys.files` (never half-written under their final name).
Credentials come from the filesystem's own environment (``AWS_*``, ``GOOGLE_APPLICATION_CREDENTIALS``) and
never appear in the cache's names, which are hashes of the URI.
"""

import hashlib
import json
from pathlib import Path

from recsys import files
from recsys.data.io.download import SourceError, redact

SCHEMES = ("s3://", "gs://", "gcs://", "hdfs://", "viewfs://", "abfs://", "abfss://", "file://")
BLOCK = 8 << 20


def is_object_uri(source: str | None) -> bool:
    return bool(source) and str(source).startswith(SCHEMES)


def fetch_objects(uri: str, cache_dir: Path) -> Path:
    """The local copy of the folder or ``.zip`` at ``uri``, refreshed from it (see the module docstring)."""
    from pyarrow import fs

    try:
        filesystem, root = fs.FileSystem.from_uri(uri)
        info = filesystem.get_file_info(root)
    except (OSError, ValueError) as error:  # pyarrow: ArrowInvalid is a ValueError, ArrowIOError an OSError
        raise SourceError(f"{redact(uri)}: cannot open ({error})") from error
    if info.type == fs.FileType.NotFound:
        raise SourceError(f"{redact(uri)}: no such file or folder")
    if info.type == fs.FileType.File:
        listed = [info]
        base = root.rsplit("/", 1)[0]
    else:
        listed = [i for i in filesystem.get_file_info(fs.FileSelector(root, recursive=True)) if i.is_file]
        base = root
    target = cache_dir / "objects" / hashlib.sha256(uri.encode()).hexdigest()[:16]
    manifest_path = target / ".manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    current = {}
    for item in listed:
        name = item.path[len(base) :].lstrip("/")
        stamp = [item.size, item.mtime_ns]
        current[name] = stamp
        if manifest.get(name) != stamp or not (target / name).exists():
            _copy(filesystem, item.path, target / name)
    for gone in set(manifest) - set(current):  # removed from the source: not part of the release any more
        (target / gone).unlink(missing_ok=True)
    files.write_json(manifest_path, current)
    return target / listed[0].base_name if info.type == fs.FileType.File else target


def _copy(filesystem, path: str, local: Path) -> None:
    local.parent.mkdir(parents=True, exist_ok=True)
    with filesystem.open_input_stream(path) as remote, files.atomic_write(local) as out:
        while block := remote.read(BLOCK):
            out.write(block)
