"""Record-notification task: a failed or crashed deployment run, written where someone will see it (a log file
of JSON lines, and a webhook when one is set)."""

import json
import os
import time
import urllib.request
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE


def notification_log() -> Path:
    """``RECSYS_NOTIFY_LOG`` (``recsys services start`` sets it to ``notifications.log`` in its folder), else
    ``notifications.log`` in the work folder."""
    from tasks.runtime import work_dir

    return Path(os.environ.get("RECSYS_NOTIFY_LOG") or work_dir() / "notifications.log")


@task(name="record-notification", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def record_notification(flow_run: str, state: str) -> dict:
    """Describe the flow run (its name, deployment, state and message, read from Prefect), append it to the
    notification log and post it to ``RECSYS_NOTIFY_WEBHOOK`` when set; returns what was recorded."""
    from prefect.client.orchestration import get_client

    run_id = flow_run.removeprefix("prefect.flow-run.")
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run_id)
        deployment = client.read_deployment(run.deployment_id).name if run.deployment_id else None
        flow = client.read_flow(run.flow_id).name
    record = {
        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "flow_run_id": run_id,
        "flow_run": run.name,
        "deployment": f"{flow}/{deployment}" if deployment else flow,
        "state": state.removeprefix("prefect.flow-run."),
        "message": (run.state.message or "")[:2000] if run.state else "",
    }
    log = notification_log()
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as out:
        out.write(json.dumps(record) + "\n")
    hook = os.environ.get("RECSYS_NOTIFY_WEBHOOK")
    if hook:
        request = urllib.request.Request(hook, json.dumps(record).encode(), {"Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=20).close()
    get_run_logger().warning(
        "%s %s: %s (recorded in %s)", record["deployment"], record["state"], record["message"], log
    )
    return record
