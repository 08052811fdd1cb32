"""The served model's pip requirements (tasks/pyfunc.py) pin what constraints.txt pins: a model registered today
must load with the versions it was trained with. A local build tag (``+cpu``) is not part of the comparison:
the served model names the public version."""

from pathlib import Path

from tasks.pyfunc import PIP_REQUIREMENTS

REPO = Path(__file__).resolve().parents[3]


def pins(lines: list[str]) -> dict[str, str]:
    """``name==version`` lines as {normalised name: version without a local build tag}."""
    found = {}
    for line in lines:
        name, sep, version = line.split("#")[0].strip().partition("==")
        if sep:
            found[name.strip().lower().replace("_", "-")] = version.strip().split("+")[0]
    return found


def test_the_served_model_pins_the_versions_of_constraints_txt():
    constraints = pins((REPO / "constraints.txt").read_text().splitlines())
    served = pins(PIP_REQUIREMENTS)
    assert served, "the served model pins nothing"
    assert {name: constraints.get(name) for name in served} == served


def test_the_comparison_sees_a_drifted_pin():
    constraints = pins(["torch==2.13.0+cpu", "pandas==3.1.1"])
    assert pins(["torch==2.13.0"]).items() <= constraints.items()
    assert not pins(["pandas==3.0.0"]).items() <= constraints.items()
