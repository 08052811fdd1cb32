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


def command_env(home) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "RECSYS_TEMPORARY"))}
    return env | {"PREFECT_HOME": str(home)}


def test_a_command_starts_its_own_server_reports_to_it_and_stops_it(tmp_path):
    env = command_env(tmp_path / "store" / "prefect")  # a home whose folder does not exist yet, nor its parent
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


def test_two_commands_sharing_a_new_prefect_home_boot_their_servers_in_turn(tmp_path):
    """Two servers migrating one new database at once clashed; the boot lock lets the second wait."""
    env = command_env(tmp_path / "prefect")
    both = [
        subprocess.Popen([sys.executable, "-c", COMMAND], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=300) for process in both]
    assert [p.returncode for p in both] == [0, 0], [err[-2000:] for _, err in outputs]
    assert [json.loads(out.splitlines()[-1])["value"] for out, _ in outputs] == [42, 42]
