"""Unpacking a release archive safely: everything about the archive is checked before a single file is
written, and the unpacked folder is published in one rename, so a half-unpacked folder never counts."""

import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from recsys import files
from recsys.data.io.download import SourceError


@dataclass(frozen=True)
class ArchiveLimits:
    max_members: int = 1000  # GroupLens zips hold 4 to 10 files
    max_member_bytes: int = 4 << 30  # ml-32m's ratings.csv is 877 MB unpacked
    max_total_bytes: int = 8 << 30
    # Deflated CSV shrinks 3-6x (ml-latest-small 3.3x, ml-25m 4.6x); a run of zeros 1000x. A member is held
    # to the ratio only past ``ratio_floor_bytes`` unpacked, so tiny, very regular files (an empty links.csv)
    # still pass.
    max_ratio: float = 100.0
    ratio_floor_bytes: int = 1 << 20


def check_archive(archive: zipfile.ZipFile, path: Path, limits: ArchiveLimits = ArchiveLimits()) -> None:  # noqa: B008
    """Refuse, naming the member, an archive with too many members, a member too large (by its declared
    size), a member that unpacks to more than ``max_ratio`` times its packed size (a zip bomb: a few MB
    that would unpack to gigabytes of zeros), a total too large, an absolute name, a name that climbs out of
    the target (``..``) or a link."""
    members = archive.infolist()
    if len(members) > limits.max_members:
        raise SourceError(f"{path}: {len(members)} members is over the limit of {limits.max_members}")
    total = 0
    for member in members:
        name = PurePosixPath(member.filename)
        if name.is_absolute() or member.filename.startswith(("/", "\\")) or ":" in name.parts[0]:
            raise SourceError(f"{path}: member {member.filename!r} has an absolute name")
        if ".." in name.parts:
            raise SourceError(f"{path}: member {member.filename!r} would be written outside the target folder")
        if stat.S_ISLNK(member.external_attr >> 16):
            raise SourceError(f"{path}: member {member.filename!r} is a symbolic link")
        if member.file_size > limits.max_member_bytes:
            raise SourceError(
                f"{path}: member {member.filename!r} unpacks to {member.file_size:,} bytes, over the limit"
            )
        packed = max(member.compress_size, 1)
        if member.file_size > limits.ratio_floor_bytes and member.file_size / packed > limits.max_ratio:
            raise SourceError(
                f"{path}: member {member.filename!r} unpacks to {member.file_size:,} bytes from {packed:,}, "
                f"a compression ratio of {member.file_size / packed:,.0f} (the limit is {limits.max_ratio:,.0f}): "
                "refused as a possible zip bomb"
            )
        total += member.file_size
    if total > limits.max_total_bytes:
        raise SourceError(
            f"{path}: the archive unpacks to {total:,} bytes, over the limit of {limits.max_total_bytes:,}"
        )


def extract(archive_path: Path, target: Path, limits: ArchiveLimits = ArchiveLimits()) -> Path:  # noqa: B008
    """Unpack ``archive_path`` into ``target`` (checked first; published by one rename); returns ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive_path) as archive:
        check_archive(archive, archive_path, limits)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
        try:
            archive.extractall(staging)  # sizes are bounded: zipfile stops each member at its declared size
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return files.publish_folder(staging, target)
