"""The automations of ``automations.yaml`` on the Prefect server (``recsys services start`` runs this as
``python -m cli.automations`` in the services' environment): each replaces an automation of the same name, and
an action's ``deployment: FLOW/NAME`` becomes that deployment's id."""

import sys
from pathlib import Path

import yaml

FILE = Path(__file__).resolve().parents[1] / "automations.yaml"


def declared(path: Path = FILE) -> list[dict]:
    return yaml.safe_load(path.read_text())["automations"]


def create_all(path: Path = FILE) -> list[str]:
    """Create (or replace) every automation of ``path``; returns their names."""
    from prefect.automations import Automation
    from prefect.client.orchestration import get_client

    names = []
    with get_client(sync_client=True) as client:
        for spec in declared(path):
            for action in spec.get("actions", []):
                if "deployment" in action:
                    action["deployment_id"] = str(client.read_deployment_by_name(action.pop("deployment")).id)
            for old in client.read_automations_by_name(spec["name"]):
                client.delete_automation(old.id)
            Automation.model_validate(spec).create()
            names.append(spec["name"])
    return names


if __name__ == "__main__":
    print("automations:", ", ".join(create_all(Path(sys.argv[1]) if len(sys.argv) > 1 else FILE)))
