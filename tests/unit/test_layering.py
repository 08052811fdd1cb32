"""The architecture, checked: flows -> tasks -> recsys, never backwards; inside recsys the topic folders
depend one way (data <- store <- models <- ranking <- training <- evaluation <- serving <- analysis <- pipeline)
with no cycle and no TYPE_CHECKING workaround; and the library never loads prefect, mlflow or great_expectations."""

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import recsys

REPO = Path(__file__).resolve().parents[2]
# the library's layers, lowest first; the top-level modules columns, strict and files are the base
LAYERS = ("base", "data", "store", "ranking", "models", "training", "evaluation", "serving", "analysis", "pipeline")


def layer(module: str) -> int:
    parts = module.split(".")
    name = parts[1] if len(parts) > 1 else "base"
    return LAYERS.index(name) if name in LAYERS else 0


def module_name(path: Path) -> str:
    relative = path.relative_to(REPO).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def imports(path: Path, top_level_only: bool = False) -> set[str]:
    """The modules ``path`` imports (``from a.b import c`` counts as a.b.c when that is a module)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else ast.walk(tree)
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names if is_module(f"{node.module}.{alias.name}")}
    return found


def is_module(name: str) -> bool:
    base = REPO.joinpath(*name.split("."))
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def sources(folder: str) -> list[Path]:
    return sorted((REPO / folder).rglob("*.py"))


def backward_imports(me: str, imported: set[str]) -> list[str]:
    return [
        f"{me} ({LAYERS[layer(me)]}) imports {other} ({LAYERS[layer(other)]})"
        for other in sorted(imported)
        if other.startswith("recsys.") and layer(other) > layer(me)
    ]


def test_recsys_folders_depend_one_way():
    wrong = [line for path in sources("recsys") for line in backward_imports(module_name(path), imports(path))]
    assert not wrong, "\n".join(wrong)


def test_no_import_cycle_and_no_type_checking_workaround():
    graph = {
        module_name(p): {m for m in imports(p, top_level_only=True) if m.startswith("recsys") and is_module(m)}
        for p in sources("recsys")
    }
    assert not [p for p in sources("recsys") if "TYPE_CHECKING" in p.read_text()]
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for nxt in graph.get(node, ()):
            assert state.get(nxt) != "open", "import cycle: " + " -> ".join([*trail, node, nxt])
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = "done"

    for node in graph:
        if node not in state:
            visit(node, [])


def test_flows_compose_tasks_and_tasks_never_import_flows():
    assert not [p for p in sources("recsys") if imports(p) & {"tasks", "flows"} or _prefixed(imports(p), "tasks.")]
    assert not [p for p in sources("recsys") if _prefixed(imports(p), "flows.")]
    assert not [p for p in sources("tasks") if _prefixed(imports(p), "flows.")]


def _prefixed(names: set[str], prefix: str) -> bool:
    return any(n.startswith(prefix) for n in names)


def test_recsys_modules_import_without_orchestration_packages():
    modules = [m.name for m in pkgutil.walk_packages(recsys.__path__, "recsys.")]
    code = (
        f"import importlib, sys\nfor m in {modules!r}: importlib.import_module(m)\n"
        "bad = sorted({n.split('.')[0] for n in sys.modules} & {'prefect', 'mlflow', 'great_expectations'})\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert len(modules) >= 40
    assert out.stdout.strip() == "", f"recsys pulled in: {out.stdout.strip()}"


def test_the_checker_sees_a_backward_import(tmp_path):
    """The rule itself: a data module importing the trainer (even inside a function) is reported."""
    module = tmp_path / "split.py"
    module.write_text("def f():\n    from recsys.training.trainer import train_model\n")
    assert backward_imports("recsys.data.split", imports(module)) == [
        "recsys.data.split (data) imports recsys.training.trainer (training)"
    ]
    assert backward_imports("recsys.analysis.run", {"recsys.models.base", "recsys.columns"}) == []


def test_nothing_imports_the_command_line_package():
    """The command line sits on top: it may import flows, tasks and recsys; none of them imports it."""
    wrong = [str(p) for f in ("recsys", "tasks", "flows") for p in sources(f) if _prefixed(imports(p) | {""}, "cli")]
    assert not wrong, wrong


def test_no_module_writes_the_environment_at_import_time():
    """Environment defaults are set at start-up in one place (cli/environment.py), never as a side effect of
    importing a module."""

    def writes(path: Path) -> bool:
        for node in ast.parse(path.read_text()).body:  # module-level statements only
            text = ast.unparse(node)
            if "os.environ" in text and ("setdefault" in text or "update" in text or "os.environ[" in text):
                return isinstance(node, ast.Expr | ast.Assign)
        return False

    wrong = [str(p) for f in ("recsys", "tasks", "flows", "cli") for p in sources(f) if writes(p)]
    assert not wrong, wrong


def test_the_worker_gets_the_environment_defaults_of_the_command_line():
    import yaml

    from cli.environment import DEFAULTS

    pool = yaml.safe_load((REPO / "prefect.yaml").read_text())["definitions"]["work_pool"]
    assert pool["job_variables"]["env"] == DEFAULTS


LAYOUT_WORDS = ("read_parquet", "write_parquet", "to_parquet", "shutil", '.parquet"', '.json"', '.pt"')


def test_tasks_hold_no_file_layout():
    """Every on-disk layout and MLflow artifact name is the store's (recsys/store): a task calls it and reports,
    and never reads or writes a table itself, removes a folder or spells a file name."""
    found = [
        f"{path.relative_to(REPO)}: {word}"
        for path in sources("tasks")
        for word in LAYOUT_WORDS
        if word in path.read_text()
    ]
    assert not found, "\n".join(found)


def test_flows_hold_flows_only():
    """Every module of flows/ defines a Prefect flow and nothing that parses arguments or runs as a script."""
    wrong = [
        str(path.relative_to(REPO))
        for path in sources("flows")
        if path.name != "__init__.py"
        and ("@flow(" not in path.read_text() or "argparse" in path.read_text() or "__main__" in path.read_text())
    ]
    assert not wrong, wrong
