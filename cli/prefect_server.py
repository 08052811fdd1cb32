"""Prefect's temporary server for a command that runs flows in this process, started first thing.

Without ``PREFECT_API_URL`` Prefect starts a temporary server itself, at the first flow call: after the
command has imported torch, MLflow, Prefect and the flows (about 7 s here), so the run waited for both in
turn (the server took another 7 s on a warm Prefect home, 12 s on a new one, on 2 cores). :func:`start`
launches the same server the same way (``uvicorn`` on Prefect's app factory, UI off, Prefect's ephemeral
settings) before any of those imports, so it boots on the other core meanwhile; ``PREFECT_API_URL`` then
names it, and :func:`ready`, called just before the first flow, waits for its health check. It is stopped when
the command exits (and by the watchdog, :mod:`cli.watchdog`, if the command is killed).

Two commands sharing a Prefect home would boot two servers on one new database at once, and its
migrations clash ("table already exists"): Prefect's own server never met that, since a second run starts
it only after waiting its turn. A file lock in the Prefect home is held from the launch until the server
answers, so a second command launches its server once the first one's database is ready.

``RECSYS_TEMPORARY_PREFECT_API`` holds the same URL, so the code that treats a ``PREFECT_API_URL`` as a
server shared with other runs (the registry lock's global concurrency limit) knows this one is private.
"""

import atexit
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from importlib.util import find_spec
from pathlib import Path

from filelock import FileLock, Timeout

TEMPORARY_API = "RECSYS_TEMPORARY_PREFECT_API"  # the same name as tasks.runtime.TEMPORARY_PREFECT_API
SERVER_ENV = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}


class TemporaryServer:
    """One uvicorn process serving Prefect's API on a free port of 127.0.0.1; its output goes to a temporary
    file, quoted when it fails to start."""

    def __init__(self, booting: FileLock | None = None):
        self.booting = booting  # held until the server answers (or fails): released by wait or stop
        self.port = free_port()
        self.api_url = f"http://127.0.0.1:{self.port}/api"
        self.output = tempfile.TemporaryFile()
        prefect_parent = Path(find_spec("prefect").origin).parent.parent  # without importing prefect
        command = [sys.executable, "-m", "uvicorn", "--app-dir", str(prefect_parent), "--factory"]
        command += ["prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--log-level", "error", "--lifespan", "on"]
        self.process = subprocess.Popen(
            command, env=os.environ | SERVER_ENV, stdout=self.output, stderr=subprocess.STDOUT
        )
        self.healthy = False

    def wait(self, timeout: float) -> None:
        """Until the API answers its health check; a clear error if the server exits or stays silent."""
        deadline = time.monotonic() + timeout
        try:
            while not self.healthy:
                if self.process.poll() is not None:
                    raise RuntimeError(f"Prefect's temporary server exited ({self.process.returncode}): {self._tail()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Prefect's temporary server did not answer in {timeout:.0f} s: {self._tail()}")
                try:
                    with urllib.request.urlopen(f"{self.api_url}/health", timeout=2) as response:
                        self.healthy = response.status == 200
                except (urllib.error.URLError, OSError):
                    time.sleep(0.1)
        finally:
            self._booted()

    def _booted(self) -> None:
        if self.booting is not None and self.booting.is_locked:
            self.booting.release()

    def stop(self) -> None:
        self._booted()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.output.close()

    def _tail(self) -> str:
        self.output.seek(0)
        return self.output.read()[-2000:].decode(errors="replace").strip() or "(no output)"


_SERVER: list[TemporaryServer] = []


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start() -> None:
    """Start the temporary server now, unless ``PREFECT_API_URL`` names a server already or Prefect's
    temporary server is turned off (``PREFECT_SERVER_EPHEMERAL_ENABLED=false``: Prefect's own error then)."""
    if _SERVER or os.environ.get("PREFECT_API_URL"):
        return
    if os.environ.get("PREFECT_SERVER_EPHEMERAL_ENABLED", "true").lower() in ("0", "false", "no"):
        return
    timeout = float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120"))
    home = Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()
    home.mkdir(parents=True, exist_ok=True)
    booting = FileLock(str(home / ".recsys-temporary-server.lock"))
    try:
        booting.acquire(timeout=timeout)  # another command's server is booting on this home: after it
    except Timeout:
        return  # Prefect starts its own at the first flow, as before
    server = TemporaryServer(booting)
    _SERVER.append(server)
    atexit.register(server.stop)
    os.environ["PREFECT_API_URL"] = os.environ[TEMPORARY_API] = server.api_url
    os.environ.setdefault("PREFECT_UI_URL", "")  # it serves no UI: no "View at" links to it in the log


def ready() -> None:
    """Wait for the server :func:`start` started (if any), for as long as Prefect would wait for its own."""
    if _SERVER:
        _SERVER[0].wait(float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")))
