"""``recsys services start|stop|status``: the pipeline's real services on 127.0.0.1, each waited on until it
answers: the Prefect server, the MLflow tracking server, the process work pool ``recsys`` with the
deployments of ``prefect.yaml``, and a worker. ``stop`` ends the worker first, then the servers, and leaves
nothing running. CI and the deployment tests use this same command.

Both servers listen on 127.0.0.1 only and let no one in without credentials: the MLflow tracking server
runs MLflow's basic-auth app (user ``admin``), the Prefect server checks an auth string. The credentials come
from the environment (``MLFLOW_TRACKING_PASSWORD``, ``PREFECT_API_AUTH_STRING``) or else from
``SERVICES_DIR/credentials.env``, made with random secrets on the first start (mode 600; ``.services/`` is
git-ignored) and read by the worker and by ``set -a; . .services/credentials.env; set +a`` in a shell. They
are never printed or logged.

Settings (environment): ``RECSYS_DATA`` (the data the worker's flows read; required for start),
``PREFECT_PORT`` (4200), ``MLFLOW_PORT`` (5000), ``SERVICES_DIR`` (``.services``: pids, logs, Prefect's
database, the credentials and MLflow's user store), ``MLFLOW_STORE_DIR`` (``mlflow/``: the tracking server's
sqlite store and artifacts).
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from cli.environment import DEFAULTS
from recsys.processes import started, stat_fields

ROOT = Path(__file__).resolve().parents[1]
POOL = "recsys"
ADMIN = "admin"  # MLflow's basic-auth administrator


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

    @property
    def credentials_file(self) -> Path:
        return self.folder / "credentials.env"

    def env(self) -> dict[str, str]:
        """The environment of every service process and of a shell that uses them (credentials included)."""
        where = {
            "GX_ANALYTICS_ENABLED": "false",
            "PREFECT_HOME": str(self.folder / "prefect"),
            "PREFECT_API_URL": self.prefect_api,
            "MLFLOW_TRACKING_URI": self.tracking_uri,
            "RECSYS_NOTIFY_LOG": os.environ.get("RECSYS_NOTIFY_LOG") or str(self.folder / "notifications.log"),
        }
        return DEFAULTS | dict(os.environ) | credentials(self) | where  # a value the environment sets is kept


def from_environment() -> Services:
    return Services(
        folder=Path(os.environ.get("SERVICES_DIR", ROOT / ".services")).resolve(),
        store=Path(os.environ.get("MLFLOW_STORE_DIR", ROOT / "mlflow")).resolve(),
        prefect_port=int(os.environ.get("PREFECT_PORT", "4200")),
        mlflow_port=int(os.environ.get("MLFLOW_PORT", "5000")),
        bin=Path(sys.executable).parent,
    )


def credentials(s: Services) -> dict[str, str]:
    """The services' credentials: from the environment when it has them, else from the credentials file,
    which the first call makes with random secrets (readable by its owner only)."""
    if os.environ.get("MLFLOW_TRACKING_PASSWORD") and os.environ.get("PREFECT_API_AUTH_STRING"):
        keys = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "PREFECT_API_AUTH_STRING")
        return {k: os.environ[k] for k in keys if k in os.environ} | {"MLFLOW_TRACKING_USERNAME": ADMIN}
    if not s.credentials_file.exists():
        s.folder.mkdir(parents=True, exist_ok=True)
        made = {
            "MLFLOW_TRACKING_USERNAME": ADMIN,
            "MLFLOW_TRACKING_PASSWORD": secrets.token_urlsafe(18),
            "PREFECT_API_AUTH_STRING": f"recsys:{secrets.token_urlsafe(18)}",
            "MLFLOW_FLASK_SERVER_SECRET_KEY": secrets.token_urlsafe(24),  # the server's CSRF key, kept across starts
        }
        fd = os.open(s.credentials_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write("".join(f"{k}={v}\n" for k, v in made.items()))
    lines = s.credentials_file.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def write_auth_config(s: Services) -> Path:
    """MLflow's basic-auth settings: its user store beside the credentials, nobody allowed anything by default."""
    path = s.folder / "mlflow-auth.ini"
    path.write_text(
        "[mlflow]\n"
        "default_permission = NO_PERMISSIONS\n"
        f"database_uri = sqlite:///{s.folder / 'mlflow-users.db'}\n"
        f"admin_username = {ADMIN}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
        "grant_default_workspace_access = false\n"
        "auth_cache_ttl_seconds = 60\n"  # one password hash a minute, not one per request (3x the throughput)
    )
    return path


def add_parser(sub) -> None:
    command = sub.add_parser(
        "services",
        epilog="""examples:
  RECSYS_DATA=~/ml-latest-small recsys services start   servers, deployments, automations, worker
  recsys services status
  recsys services stop
""",
        help="the real Prefect and MLflow servers and a worker, on 127.0.0.1",
    )
    command.add_argument("action", choices=["start", "stop", "status"])


def run(args) -> int:
    return run_services(args.action)


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
    for name, port in (("prefect-server", s.prefect_port), ("mlflow-server", s.mlflow_port)):
        if not running(s, name) and port_taken(port):
            raise RuntimeError(f"port {port} on 127.0.0.1 is taken by another process: stop it, or set another port")
    prefect, mlflow, secret = str(s.bin / "prefect"), str(s.bin / "mlflow"), credentials(s)
    if not running(s, "prefect-server"):
        command = [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(s.prefect_port)]
        launch(s, "prefect-server", command, {"PREFECT_SERVER_API_AUTH_STRING": secret["PREFECT_API_AUTH_STRING"]})
    if not running(s, "mlflow-server"):
        launch(s, "mlflow-server", [mlflow, "server", *mlflow_options(s)], mlflow_env(s, secret))
    wait_for(f"{s.prefect_api}/health", 120, s, "prefect-server")
    wait_for(f"{s.tracking_uri}/health", 120, s, "mlflow-server")
    deploy(s, prefect)
    automate(s)
    if not running(s, "worker"):
        launch(s, "worker", [prefect, "worker", "start", "--pool", POOL])
    status(s)


def mlflow_options(s: Services) -> list[str]:
    """The tracking server: sqlite store and artifacts under the store folder, one worker, basic auth."""
    store = ["--backend-store-uri", f"sqlite:///{s.store / 'mlflow.db'}", "--artifacts-destination"]
    address = ["--host", "127.0.0.1", "--port", str(s.mlflow_port), "--workers", "1"]
    return [*store, str(s.store / "artifacts"), *address, "--app-name", "basic-auth"]


def mlflow_env(s: Services, secret: dict[str, str]) -> dict[str, str]:
    return {
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        "MLFLOW_AUTH_CONFIG_PATH": str(write_auth_config(s)),
        "MLFLOW_AUTH_ADMIN_PASSWORD": secret["MLFLOW_TRACKING_PASSWORD"],
        "MLFLOW_FLASK_SERVER_SECRET_KEY": secret.get("MLFLOW_FLASK_SERVER_SECRET_KEY", secrets.token_urlsafe(24)),
    }


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


def automate(s: Services) -> None:
    """The automations of ``automations.yaml`` (a failed scheduled run is recorded); the log in ``deploy.log``."""
    log = s.folder / "deploy.log"
    with open(log, "a") as out:
        command = [str(s.bin / "python"), "-m", "cli.automations"]
        done = subprocess.run(command, cwd=ROOT, env=s.env(), stdout=out, stderr=subprocess.STDOUT)
    if done.returncode:
        raise RuntimeError(f"creating the automations failed; see {log}:\n{log.read_text()[-2000:]}")


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
    (s.folder / f"{name}.pid").write_text(f"{process.pid} {started(process.pid)}")


def recorded(s: Services, name: str) -> tuple[int, str] | None:
    """The pid and start time ``name``'s pid file records (a file without a start time records "")."""
    path = s.folder / f"{name}.pid"
    if not path.exists():
        return None
    pid, _, start = path.read_text().strip().partition(" ")
    return int(pid), start


def pid_of(s: Services, name: str) -> int | None:
    """The pid in ``name``'s pid file when that process is the one launched (its start time matches the one
    recorded); a stale file (the process gone and its pid reused, after a reboot say) is removed, so an
    unrelated process group is never signalled."""
    found = recorded(s, name)
    if found is None:
        return None
    if not alive(*found):
        (s.folder / f"{name}.pid").unlink(missing_ok=True)
        if started(found[0]):
            print(f"{name}: its pid file named pid {found[0]}, now another process: the file was removed")
        return None
    return found[0]


def alive(pid: int, start: str) -> bool:
    """Whether process ``pid`` is the one that started at ``start`` and is not a zombie."""
    return bool(start) and started(pid) == start and not _is_zombie(pid)


def running(s: Services, name: str) -> bool:
    found = recorded(s, name)
    return found is not None and alive(*found)


def _is_zombie(pid: int) -> bool:
    fields = stat_fields(pid)
    return bool(fields) and fields[0] == "Z"


def port_taken(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


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
    """SIGTERM the process group, again if needed (an idle worker wants two), then SIGKILL; only when the pid
    file names the process it started (:func:`pid_of`)."""
    pid = pid_of(s, name)
    if pid is None:
        return
    start = started(pid)
    for sig in (signal.SIGTERM, signal.SIGTERM, signal.SIGKILL):
        if not alive(pid, start):
            break
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + 15
        while alive(pid, start) and time.monotonic() < deadline:
            time.sleep(0.25)
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
    print(f"  set -a; . {s.credentials_file}; set +a   # the credentials (never printed)")
