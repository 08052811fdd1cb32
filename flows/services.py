"""``recsys services start|stop|status``: the pipeline's real services on 127.0.0.1, each waited on until it
answers: the Prefect server, the MLflow tracking server, the process work pool ``recsys`` with the
deployments of ``prefect.yaml``, and a worker. ``stop`` ends the worker first, then the servers, and leaves
nothing running. CI and the deployment tests use this same command.

Settings (environment): ``RECSYS_DATA`` (the data the worker's flows read; required for start),
``PREFECT_PORT`` (4200), ``MLFLOW_PORT`` (5000), ``SERVICES_DIR`` (``.services``: pids, logs, Prefect's
database), ``MLFLOW_STORE_DIR`` (``mlflow/``: the tracking server's sqlite store and artifacts).
"""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POOL = "recsys"


@dataclass(frozen=True)
class Services:
    """Where the services live and how to reach them."""

    folder: Path
    store: Path
    prefect_port: int
    mlflow_port: int
    bin: Path

    @property
    def prefect_api(self) -> str:
        return f"http://127.0.0.1:{self.prefect_port}/api"

    @property
    def tracking_uri(self) -> str:
        return f"http://127.0.0.1:{self.mlflow_port}"

    def env(self) -> dict[str, str]:
        """The environment of every service process and of a shell that uses them."""
        quiet = {"PREFECT_SERVER_ANALYTICS_ENABLED": "false", "MLFLOW_DISABLE_TELEMETRY": "true"}
        return (
            os.environ
            | quiet
            | {
                "GX_ANALYTICS_ENABLED": "false",
                "PREFECT_HOME": str(self.folder / "prefect"),
                "PREFECT_API_URL": self.prefect_api,
                "MLFLOW_TRACKING_URI": self.tracking_uri,
            }
        )


def from_environment() -> Services:
    return Services(
        folder=Path(os.environ.get("SERVICES_DIR", ROOT / ".services")).resolve(),
        store=Path(os.environ.get("MLFLOW_STORE_DIR", ROOT / "mlflow")).resolve(),
        prefect_port=int(os.environ.get("PREFECT_PORT", "4200")),
        mlflow_port=int(os.environ.get("MLFLOW_PORT", "5000")),
        bin=Path(sys.executable).parent,
    )


def run_services(action: str, services: Services | None = None) -> int:
    """Carry out ``action`` (start, stop or status); returns the exit status."""
    services = services or from_environment()
    {"start": start, "stop": stop, "status": status}[action](services)
    return 0


def start(s: Services) -> None:
    if not os.environ.get("RECSYS_DATA"):
        raise ValueError("set RECSYS_DATA to the MovieLens folder or .zip that the worker's flows read")
    s.folder.mkdir(parents=True, exist_ok=True)
    (s.store / "artifacts").mkdir(parents=True, exist_ok=True)
    prefect, mlflow = str(s.bin / "prefect"), str(s.bin / "mlflow")
    if not running(s, "prefect-server"):
        launch(s, "prefect-server", [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(s.prefect_port)])
    if not running(s, "mlflow-server"):
        store = ["--backend-store-uri", f"sqlite:///{s.store / 'mlflow.db'}"]
        store += ["--artifacts-destination", str(s.store / "artifacts")]
        address = ["--host", "127.0.0.1", "--port", str(s.mlflow_port), "--workers", "1"]
        launch(
            s, "mlflow-server", [mlflow, "server", *store, *address], {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        )
    wait_for(f"{s.prefect_api}/health", 120, s, "prefect-server")
    wait_for(f"{s.tracking_uri}/health", 120, s, "mlflow-server")
    deploy(s, prefect)
    if not running(s, "worker"):
        launch(s, "worker", [prefect, "worker", "start", "--pool", POOL])
    status(s)


def deploy(s: Services, prefect: str) -> None:
    """The work pool and every deployment of ``prefect.yaml``; the log is in ``deploy.log``."""
    log = s.folder / "deploy.log"
    with open(log, "w") as out:
        for command in (
            [prefect, "work-pool", "create", POOL, "--type", "process", "--overwrite"],
            [prefect, "deploy", "--all", "--no-prompt"],
        ):
            done = subprocess.run(command, cwd=ROOT, env=s.env(), stdout=out, stderr=subprocess.STDOUT)
            if done.returncode:
                raise RuntimeError(f"{' '.join(command[1:3])} failed; see {log}:\n{log.read_text()[-2000:]}")


def launch(s: Services, name: str, command: list[str], extra_env: dict[str, str] | None = None) -> None:
    """Start ``command`` in its own session (so stop can signal its whole process group), logging to a file."""
    with open(s.folder / f"{name}.log", "w") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=s.env() | (extra_env or {}),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    (s.folder / f"{name}.pid").write_text(str(process.pid))


def pid_of(s: Services, name: str) -> int | None:
    path = s.folder / f"{name}.pid"
    return int(path.read_text()) if path.exists() else None


def running(s: Services, name: str) -> bool:
    pid = pid_of(s, name)
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (FileNotFoundError, IndexError):
        return False


def wait_for(url: str, seconds: float, s: Services, name: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (our own server on 127.0.0.1)
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{name} did not answer at {url} within {seconds:.0f} s; see {s.folder / (name + '.log')}")


def halt(s: Services, name: str) -> None:
    """SIGTERM the process group, again if needed (an idle worker wants two), then SIGKILL."""
    pid = pid_of(s, name)
    for sig in (signal.SIGTERM, signal.SIGTERM, signal.SIGKILL):
        if not running(s, name):
            break
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + 15
        while running(s, name) and time.monotonic() < deadline:
            time.sleep(0.25)
    if pid is not None:
        _wait_until_reaped(pid)
        (s.folder / f"{name}.pid").unlink(missing_ok=True)
        print(f"stopped {name}")


def _wait_until_reaped(pid: int, seconds: float = 15) -> None:
    """A stopped server lingers as a zombie until init reaps it (a second or two here): wait for that, so
    that "stopped" means no trace of it is left."""
    deadline = time.monotonic() + seconds
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)


def stop(s: Services) -> None:
    for name in ("worker", "prefect-server", "mlflow-server"):  # the worker before the server it talks to
        halt(s, name)


def status(s: Services) -> None:
    for name in ("prefect-server", "mlflow-server", "worker"):
        if running(s, name):
            print(f"{name}: running (pid {pid_of(s, name)}, log {s.folder / (name + '.log')})")
        else:
            print(f"{name}: stopped")
    print("use them from a shell with:")
    env = s.env()
    print("  export " + " ".join(f"{k}={env[k]}" for k in ("PREFECT_HOME", "PREFECT_API_URL", "MLFLOW_TRACKING_URI")))
