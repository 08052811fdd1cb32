"""The temporary Prefect server a flow command starts first thing (cli/prefect_server.py): a real uvicorn
process serving Prefect's API, which a flow run in a fresh process reports to, private to the command (the
registry lock takes no server-wide limit on it), and gone when the command exits."""

import json
import os
import subprocess
import sys

from cli import prefect_server
from tasks import runtime

COMMAND = """
import json, os, sys
from cli import prefect_server
prefect_server.start()
from prefect import flow
from prefect.client.orchestration import get_client
from tasks.runtime import shared_prefect_server

@flow
def hello():
    return 42

prefect_server.ready()
pid = prefect_server._SERVER[0].process.pid
print(json.dumps({"value": hello(), "api": os.environ["PREFECT_API_URL"], "pid": pid,
                  "shared": shared_prefect_server(), "runs": len(get_client(sync_client=True).read_flow_runs())}))
"""


def test_a_command_starts_its_own_server_reports_to_it_and_stops_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "RECSYS_TEMPORARY"))}
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    done = subprocess.run([sys.executable, "-c", COMMAND], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    shown = json.loads(done.stdout.strip().splitlines()[-1])
    assert shown["value"] == 42 and shown["runs"] == 1  # the flow run is on this server
    assert shown["api"].startswith("http://127.0.0.1:") and shown["api"].endswith("/api")
    assert shown["shared"] is False  # the registry lock sees a private server
    assert not os.path.exists(f"/proc/{shown['pid']}") or "zombie" in open(f"/proc/{shown['pid']}/status").read()
    assert "View at" not in done.stderr  # no links to a UI it does not serve


def test_a_server_named_already_is_used_as_it_is(monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    monkeypatch.setattr(prefect_server, "_SERVER", [])
    prefect_server.start()
    assert prefect_server._SERVER == [] and os.environ["PREFECT_API_URL"] == "http://127.0.0.1:4200/api"
    prefect_server.ready()  # nothing to wait for
    assert runtime.shared_prefect_server()


def test_the_marker_names_agree():
    assert prefect_server.TEMPORARY_API == runtime.TEMPORARY_PREFECT_API
