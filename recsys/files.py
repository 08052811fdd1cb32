"""Atomic writes: the one way files are written, so a crash or a full disk never leaves a half-written file
under a final name.

Every writer (Parquet, JSON, checkpoints, reports, figures) goes through :func:`staged`: the bytes go
to a temporary file in the same folder, are flushed and fsynced, and the file is renamed over its final name
(``os.replace`` is atomic on one file system); on any error the temporary file is removed and the old file,
if any, is left as it was. A set of files that belongs together is published with :func:`publish_folder`.
"""

import contextlib
import ctypes
import errno
import functools
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


@contextmanager
def staged(path: Path) -> Iterator[str]:
    """A temporary file name beside ``path`` for the block to write; when the block ends without an error it
    is fsynced and renamed to ``path``, else removed (an older ``path`` stays as it was)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@contextmanager
def atomic_write(path: Path, mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
    """An open file for the block, published at ``path`` only when the block ends without an error."""
    with staged(path) as tmp, open(tmp, mode, encoding=None if "b" in mode else encoding) as handle:
        yield handle


def atomic_write_with(path: Path, write: Callable[[str], Any]) -> Path:
    """Publish what ``write(temporary_name)`` writes (for libraries that take a file name, not a handle)."""
    with staged(path) as tmp:
        write(tmp)
    return Path(path)


def write_bytes(path: Path, data: bytes) -> Path:
    with atomic_write(path, "wb") as handle:
        handle.write(data)
    return Path(path)


def write_text(path: Path, text: str) -> Path:
    with atomic_write(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return Path(path)


def write_json(path: Path, payload: Any) -> Path:
    """``payload`` as indented JSON (values JSON does not know, as text)."""
    return write_text(path, json.dumps(payload, indent=2, default=str) + "\n")


def publish_folder(staging: Path, target: Path) -> Path:
    """Move the finished folder ``staging`` to ``target`` in one rename, replacing an older ``target``, so a
    reader sees the old set of files or the new one, never a mix. On Linux the two folders are swapped in one
    step (``renameat2`` with ``RENAME_EXCHANGE``) and ``target`` is never missing: moving the old one aside
    first left an instant without it, and a concurrent run of the same data that opened its split then failed
    with FileNotFoundError (CI, two runs at once). Elsewhere the old one is moved aside first."""
    staging, target = Path(staging), Path(target)
    try:
        os.rename(staging, target)  # no target yet (a rename onto a folder with files in it fails)
        return target
    except OSError:
        if not target.is_dir():
            raise
    if _exchange(staging, target):
        shutil.rmtree(staging, ignore_errors=True)  # the old folder, now under the staging name
        return target
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):  # another publisher may have moved it aside meanwhile
        os.replace(target, old)
    os.replace(staging, target)
    shutil.rmtree(old, ignore_errors=True)
    return target


_RENAME_EXCHANGE, _AT_FDCWD = 2, -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths atomically (Linux ``renameat2``); False where the system or the file system
    cannot, so the caller falls back."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOENT):
        return False  # not supported here, or the target went meanwhile: the caller's fallback handles both
    raise OSError(code, os.strerror(code), str(b))


@contextmanager
def staged_folder(target: Path, keep: tuple[str, ...] = ()) -> Iterator[Path]:
    """A fresh folder beside ``target`` for the block to fill; published at ``target`` in one rename when the
    block ends without an error (the files named in ``keep`` carried over from the old ``target``), removed
    otherwise, so a reader never takes a half-written set of files for a whole one."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.staging-"))
    try:
        yield staging
        for name in keep:
            if (target / name).exists() and not (staging / name).exists():
                shutil.copy2(target / name, staging / name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    publish_folder(staging, target)


def source_digest(root: Path | None = None) -> str:
    """A hash of every Python source file of the library (``root``: the ``recsys`` package folder), each path
    hashed with its bytes: what an epoch checkpoint was written by, so a checkpoint of other code is never
    resumed (the package version stays "0.1.0" across every change)."""
    return _digest(Path(root) if root is not None else Path(__file__).parent)


@functools.lru_cache(maxsize=4)
def _digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@contextmanager
def folder_lock(folder: Path, timeout: float = -1) -> Iterator[Path]:
    """Hold an exclusive lock on ``folder`` (the hidden file ``.<folder>.lock`` beside it) for the block: another
    process using the same folder waits (``timeout`` seconds, -1 for ever) instead of writing into, resuming
    from or removing files under a run that is still using them. The lock dies with its process."""
    from filelock import FileLock

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder.parent / f".{folder.name}.lock"), timeout=timeout):
        yield folder
