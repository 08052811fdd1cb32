"""Downloading a release over http(s) into a cache that is validated and revalidated.

- A body is kept only when it is whole and what it claims to be: as long as its ``Content-Length``, under a
  size limit, and a zip archive (an HTML error page served with status 200 is refused). Nothing else is
  ever cached, so the next run downloads again.
- Every use of a cached file asks the server whether it changed (``If-None-Match`` / ``If-Modified-Since``);
  a 304 keeps it, a new body replaces it (a new content hash, so the data fingerprint changes and a
  scheduled ``retrain`` trains). When the server cannot be reached, a valid cached copy is used and the
  caller is told so.
- A redirect from https to http is refused; a connection that hangs ends at ``timeout`` per read and
  ``deadline`` overall.
- Credentials and signed query strings never leave this module: :func:`redact` is what gets logged, and the
  cache file is named by a hash of the URL.

Transient failures raise :class:`DownloadError` (an ``OSError``: worth a retry); permanent ones
:class:`SourceError` (a ``ValueError``: the URL or what it serves is wrong).
"""

import base64
import hashlib
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from recsys import files

ZIP_MAGIC = b"PK\x03\x04"
SECRET_PARAMS = ("signature", "sig", "token", "key", "credential", "password", "secret", "auth", "x-amz-")


class DownloadError(OSError):
    """A download that may work if tried again: a timeout, a dropped connection, a truncated body."""


class SourceError(ValueError):
    """A data source that will not work as given: a 404, an HTML page, a redirect to http, too large."""


@dataclass(frozen=True)
class DownloadLimits:
    timeout: float = 30.0  # seconds per connect or read
    deadline: float = 900.0  # seconds for the whole body
    max_bytes: int = 2 << 30  # ml-32m's zip is about 240 MB


@dataclass(frozen=True)
class Fetched:
    path: Path  # the cached archive
    changed: bool  # a new body was downloaded (False: the cached one is still the server's)
    offline: bool  # the server could not be reached; the cached copy was used


def redact_source(source: str | None) -> str | None:
    """A data source as it may be logged or stored: any URI (``http(s)://``, ``s3://``, ``gs://``,
    ``hdfs://``...) without user, password and secret-looking query parameters; a local path as it is."""
    if not source or "://" not in str(source):
        return source
    return redact(str(source))


def redact(url: str) -> str:
    """``url`` without user, password and secret-looking query parameters (what may be logged or stored)."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    query = [
        (k, "REDACTED" if any(s in k.lower() for s in SECRET_PARAMS) else v)
        for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, urllib.parse.urlencode(query), ""))


def cache_paths(url: str, cache_dir: Path) -> tuple[Path, Path]:
    """The cached body and its metadata file: named by a hash of the whole URL and its last path part."""
    name = Path(urllib.parse.urlsplit(url).path).name or "download"
    stem = f"{hashlib.sha256(url.encode()).hexdigest()[:16]}-{name}"
    folder = cache_dir / "downloads"
    return folder / stem, folder / f"{stem}.json"


def fetch(url: str, cache_dir: Path, limits: DownloadLimits = DownloadLimits()) -> Fetched:  # noqa: B008
    """The archive at ``url``, from the cache when the server says it has not changed."""
    body, meta_path = cache_paths(url, cache_dir)
    meta = _valid_cache(body, meta_path)
    plain_url, auth = _split_credentials(url)
    request = urllib.request.Request(plain_url, headers=_conditions(meta) | auth)
    try:
        response = urllib.request.build_opener(_NoDowngrade()).open(request, timeout=limits.timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 304 and meta is not None:
            return Fetched(body, changed=False, offline=False)
        raise SourceError(f"{redact(url)}: the server answered {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        if meta is not None:
            return Fetched(body, changed=False, offline=True)
        reason = getattr(exc, "reason", exc)
        raise DownloadError(f"{redact(url)}: could not connect ({reason})") from None
    with response:
        digest, size = _receive(response, body, url, limits)
    changed = meta is None or digest != meta.get("sha256")
    files.write_json(meta_path, _metadata(url, response, digest, size))
    return Fetched(body, changed=changed, offline=False)


def _split_credentials(url: str) -> tuple[str, dict[str, str]]:
    """The URL without ``user:password@`` and, when it had them, the basic-auth header they stand for."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return url, {}
    host = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    plain = urllib.parse.urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    user = urllib.parse.unquote(parts.username)
    password = urllib.parse.unquote(parts.password or "")
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return plain, {"Authorization": f"Basic {token}"}


def _conditions(meta: dict | None) -> dict[str, str]:
    if meta is None:
        return {}
    headers = {"If-None-Match": meta["etag"]} if meta.get("etag") else {}
    return headers | ({"If-Modified-Since": meta["last_modified"]} if meta.get("last_modified") else {})


def _valid_cache(body: Path, meta_path: Path) -> dict | None:
    """The metadata of a cached body that is still whole (its recorded size, a zip that opens), else None."""
    if not body.exists() or not meta_path.exists():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        whole = body.stat().st_size == meta["size"] and zipfile.is_zipfile(body)
    except (ValueError, KeyError, OSError):
        return None
    return meta if whole else None


def _receive(response, target: Path, url: str, limits: DownloadLimits) -> tuple[str, int]:
    """Write the body to ``target`` (only once whole and checked); its SHA-256 and size."""
    expected = response.headers.get("Content-Length")
    if expected is not None and int(expected) > limits.max_bytes:
        raise SourceError(f"{redact(url)}: {int(expected):,} bytes is over the limit of {limits.max_bytes:,}")
    digest, size, started = hashlib.sha256(), 0, time.monotonic()
    total = int(expected) if expected is not None else None
    with files.atomic_write(target) as out, Progress(Path(urllib.parse.urlsplit(url).path).name, total) as shown:
        for block in iter(lambda: response.read(1 << 20), b""):
            shown.update(len(block))
            if size == 0 and not block.startswith(ZIP_MAGIC):
                kind = response.headers.get("Content-Type", "unknown type")
                raise SourceError(f"{redact(url)}: the server sent {kind} that is not a zip archive ({block[:40]!r})")
            size += len(block)
            if size > limits.max_bytes:
                raise SourceError(f"{redact(url)}: the body passed the limit of {limits.max_bytes:,} bytes")
            if time.monotonic() - started > limits.deadline:
                raise DownloadError(f"{redact(url)}: the download took longer than {limits.deadline:.0f} s")
            digest.update(block)
            out.write(block)
        if expected is not None and size != int(expected):
            raise DownloadError(f"{redact(url)}: the body ended after {size:,} of {int(expected):,} bytes")
        if size == 0:
            raise SourceError(f"{redact(url)}: the server sent an empty body")
    return digest.hexdigest(), size


class Progress:
    """A download's progress on stderr: a tqdm bar (size, rate, time left) on a terminal; elsewhere (logs, CI)
    a plain line at each further tenth of the body (or 10 MB when its size is unknown), and one at the end."""

    def __init__(self, name: str, total: int | None, stream: TextIO | None = None):
        self.name, self.total, self.stream = name, total, stream or sys.stderr
        self.done, self.said, self.started, self.bar = 0, 0, time.monotonic(), None

    def __enter__(self) -> "Progress":
        if getattr(self.stream, "isatty", lambda: False)():
            from tqdm import tqdm

            self.bar = tqdm(
                total=self.total, desc=f"downloading {self.name}", unit="B", unit_scale=True, file=self.stream
            )
        return self

    def update(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
            return
        step = self.total // 10 if self.total else 10 << 20
        if self.done - self.said >= max(step, 1):
            self.said = self.done
            print(self.line(), file=self.stream, flush=True)

    def line(self) -> str:
        seconds = max(time.monotonic() - self.started, 1e-6)
        rate = self.done / seconds
        text = f"downloading {self.name}: {self.done / 1e6:,.1f} MB"
        if self.total:
            left = (self.total - self.done) / rate if rate > 0 else float("inf")
            text += f" of {self.total / 1e6:,.1f} MB ({self.done / self.total:.0%})"
            return text + f", {rate / 1e6:,.1f} MB/s, {left:,.0f} s left"
        return text + f", {rate / 1e6:,.1f} MB/s"

    def __exit__(self, kind, value, traceback) -> None:
        if self.bar is not None:
            self.bar.close()
        elif kind is None and self.done > self.said:
            print(self.line(), file=self.stream, flush=True)


def _metadata(url: str, response, digest: str, size: int) -> dict:
    headers = response.headers
    return {
        "url": redact(url),
        "etag": headers.get("ETag"),
        "last_modified": headers.get("Last-Modified"),
        "sha256": digest,
        "size": size,
    }


class _NoDowngrade(urllib.request.HTTPRedirectHandler):
    """Follows redirects, but never from https to plain http, and never with the URL's credentials to another
    host (urllib forwards every header it was given)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if req.full_url.startswith("https:") and newurl.startswith("http:"):
            raise SourceError(f"{redact(req.full_url)}: refused a redirect from https to http ({redact(newurl)})")
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and _origin(newurl) != _origin(req.full_url):
            new.remove_header("Authorization")  # the URL's credentials are for its own host only
        return new


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port
