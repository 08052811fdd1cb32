"""Wall time of the default ``recsys train-all`` on ml-latest-small, and where it goes, against a reference commit.

Each round runs the command of this checkout and of ``--reference`` (a git revision, checked out once into a
temporary worktree and run with this venv) one after the other, each in its own fresh work folder, MLflow
store and Prefect home, so neither reuses the other's ingestion or checkpoints. For every run it records the
wall time, the run's own phases read from its log (start-up until the flow begins, ingestion and split, the
rating models, the rankers, the analysis, the rest), each variant's training seconds and test MSE (``--json``
output). Medians over the rounds, and the ratio to the reference's median. Results go to
``bench/results/trainall.json``. Never run it beside another training or test run.

Prefect's database: by default each run's fresh Prefect home gets a copy of one made at the start of the
bench (Prefect's temporary server booted once on an empty home, no flow run), as on a machine that has run
the pipeline before; what a person iterating meets. Creating it takes the server about 13 s here against 4 s
to open it (Prefect's migrations), which the very first run on a machine pays: ``--first-run`` measures that
(an empty Prefect home for each run). Neither carries a task run, a cached result or an MLflow record.

    RECSYS_DATA=../shared/data/ml-latest-small .venv/bin/python bench/trainall.py [--reference 927b6cf] [--rounds 1]
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "trainall.json"
REFERENCE = "927b6cf"  # before the epochs were cut (refit included): 243-251 s here (c94a85d, no refit: 248 s)
STAMP = re.compile(r"^(\d\d:\d\d:\d\d\.\d+) \| \w+ +\| (.*)$")
# (phase, the log line that ends it); each phase starts where the one before it ended
PHASES = (
    ("start-up", r"Beginning flow run .* for flow 'train-all'"),
    ("ingest and split", r"Beginning subflow run .* for flow 'train-variants'"),
    ("rating models", r"Task run 'promote-challenger-.*' - Finished"),
    ("rankers", r"Task run 'promote-ranker-.*' - Finished"),
    ("analysis", r"Flow run .* - Finished in state"),  # the analyze subflow's end
)


def prefect_database(home: Path) -> Path:
    """A Prefect home whose database exists: this checkout's temporary server booted on it once, then stopped."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"} | {"PREFECT_HOME": str(home)}
    boot = "from cli import prefect_server; prefect_server.start(); prefect_server.ready()"
    subprocess.run([sys.executable, "-c", boot], cwd=ROOT, env=env | {"PYTHONPATH": str(ROOT)}, check=True)
    if not (home / "prefect.db").exists():  # a server of another kind (PREFECT_API_URL, ephemeral mode off)
        raise SystemExit(f"no Prefect database was created in {home}: run with --first-run, or unset PREFECT_*")
    return home


def run_once(code: Path, data: str, folder: Path, prefect_home: Path | None = None) -> dict:
    """``recsys train-all --json`` of the code at ``code`` in fresh stores under ``folder``; its Prefect home
    a copy of ``prefect_home`` (a database, nothing run) or empty."""
    folder.mkdir(parents=True)
    if prefect_home is not None:
        shutil.copytree(prefect_home, folder / "prefect")
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "MLFLOW_TRACKING_URI")}
    env |= {
        "PYTHONPATH": str(code),
        "RECSYS_WORKDIR": str(folder / "work"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{folder}/mlflow.db",
        "PREFECT_HOME": str(folder / "prefect"),
    }
    command = [sys.executable, "-m", "cli.main", "train-all", "--data", data, "--json"]
    started_at = datetime.now()
    started = time.perf_counter()
    done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    (folder / "stderr.log").write_text(done.stderr)
    if done.returncode != 0:
        raise SystemExit(f"train-all of {code} failed ({done.returncode}): {done.stderr[-3000:]}")
    shown = json.loads(done.stdout[done.stdout.index("{") :])
    return {"wall_seconds": wall, "phases": phases(done.stderr, started_at, wall), "results": _results(shown)}


def phases(log: str, started_at: datetime, wall: float) -> dict[str, float]:
    """Seconds of each phase of :data:`PHASES` from the log's timestamps; "rest" up to the process's end."""
    stamps = []
    for line in log.splitlines():
        if match := STAMP.match(line):
            clock = datetime.strptime(match.group(1), "%H:%M:%S.%f").time()
            stamps.append((datetime.combine(started_at.date(), clock), match.group(2)))
    out, last = {}, started_at
    for name, pattern in PHASES:
        found = [when for when, text in stamps if when >= last and re.search(pattern, text)]
        if found:
            out[name] = (found[0] - last).total_seconds()
            last = found[0]
    out["rest"] = wall - (last - started_at).total_seconds()
    return out


def _results(shown: dict) -> list[dict]:
    keys = ("variant", "best_epoch", "test_mse", "test_rmse", "test_mse_train_only", "fit_seconds", "ndcg@10")
    return [{k: row[k] for k in keys if k in row} for row in shown["rating"] + shown["topn"]]


def worktree(revision: str, into: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(into), revision], check=True)
    return into


def summary(runs: list[dict]) -> dict:
    walls = [r["wall_seconds"] for r in runs]
    names = {name for r in runs for name in r["phases"]}
    return {
        "wall_seconds_median": statistics.median(walls),
        "wall_seconds": walls,
        "phases_median": {n: statistics.median(r["phases"].get(n, 0.0) for r in runs) for n in sorted(names)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("RECSYS_DATA"), help="ml-latest-small folder")
    parser.add_argument("--reference", default=REFERENCE, help="git revision to compare with ('' for none)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--first-run", action="store_true", help="an empty Prefect home for each run (see above)")
    args = parser.parse_args()
    if not args.data:
        parser.error("give --data or set RECSYS_DATA to the ml-latest-small folder")
    data = str(Path(args.data).resolve())
    runs: dict[str, list[dict]] = {"current": [], "reference": []}
    with tempfile.TemporaryDirectory(prefix="recsys-bench-trainall-") as tmp:
        codes = {"current": ROOT}
        home = None if args.first_run else prefect_database(Path(tmp) / "prefect-home")
        if args.reference:
            codes["reference"] = worktree(args.reference, Path(tmp) / "reference-code")
        try:
            for round_ in range(args.rounds):
                order = list(codes.items()) if round_ % 2 == 0 else list(codes.items())[::-1]
                for name, code in order:  # the reference first in odd rounds: neither always goes first
                    result = run_once(code, data, Path(tmp) / f"{name}-{round_}", home)
                    print(f"{name} round {round_ + 1}: {result['wall_seconds']:.0f} s {result['phases']}", flush=True)
                    runs[name].append(result)
        finally:
            if args.reference:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(codes["reference"])])
    out = {"data": data, "reference": args.reference or None, "rounds": args.rounds, "runs": runs}
    out["prefect_home"] = "empty (--first-run)" if args.first_run else "a copy of a created database"
    out["current"] = summary(runs["current"])
    if runs["reference"]:
        out["reference_summary"] = summary(runs["reference"])
        out["ratio_to_reference"] = (
            out["current"]["wall_seconds_median"] / out["reference_summary"]["wall_seconds_median"]
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2))
    print(json.dumps({k: out[k] for k in ("current", "reference_summary", "ratio_to_reference") if k in out}, indent=2))


if __name__ == "__main__":
    main()
