"""notify: what the `recsys-run-failed` automation (automations.yaml) runs when a recsys deployment run fails
or crashes."""

from prefect import flow

from tasks.notify import record_notification


@flow(name="notify")
def notify(flow_run: str, state: str) -> dict:
    """Record that ``flow_run`` (a Prefect flow run id, or its event resource id) ended in ``state``."""
    return record_notification(flow_run, state)
