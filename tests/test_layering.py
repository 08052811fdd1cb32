"""The library never loads prefect, mlflow or great_expectations, directly or through another module."""

import pkgutil
import subprocess
import sys

import recsys


def test_recsys_modules_import_without_orchestration_packages():
    modules = [m.name for m in pkgutil.walk_packages(recsys.__path__, "recsys.")]
    code = (
        f"import importlib, sys\nfor m in {modules!r}: importlib.import_module(m)\n"
        "bad = sorted({n.split('.')[0] for n in sys.modules} & {'prefect', 'mlflow', 'great_expectations'})\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert len(modules) >= 10
    assert out.stdout.strip() == "", f"recsys pulled in: {out.stdout.strip()}"
