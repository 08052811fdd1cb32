"""Soak: the real services left running while deployments run one after another, as a schedule would.

Starts `recsys services` in fresh folders (free ports), runs ``--runs`` times `prefect deployment run
train-all/train-all -p config={"epochs": 2}` (every default variant, analysis included), then ``--runs``
times `retrain/retrain`. For each run: its outcome, its wall time, and the peak memory (RSS of a process
and of everything it started) of the worker with its flow runs, of the Prefect server and of the MLflow
server while it ran; at the end the sizes of the stores and of the work folder. Results go to
``bench/results/soak.json``. Targets: no failed run, and memory that stays flat from the first to the last.

    RECSYS_DATA=../shared/data/ml-latest-small .venv/bin/python bench/soak.py [--runs 20]
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results" / "soak.json"
SERVICES = ("worker", "prefect-server", "mlflow-server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree_rss(root: int) -> int:
    """Resident memory (bytes) of ``root`` and every process below it (a worker's flow runs included)."""
    parents, rss = {}, {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(") ", 1)[1].split()[1])
            status = (stat.parent / "status").read_text()
        except (OSError, IndexError):
            continue
        line = next((x for x in status.splitlines() if x.startswith("VmRSS:")), "VmRSS: 0 kB")
        rss[int(stat.parent.name)] = int(line.split()[1]) * 1024
    below, frontier = {root}, [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier and pid not in below]
        below.update(frontier)
    return sum(rss.get(pid, 0) for pid in below)


class PeakMemory:
    """Samples each service's session RSS every half second while a run goes; keeps the peaks."""

    def __init__(self, pids: dict[str, int]):
        self.pids, self.peaks, self.running = pids, dict.fromkeys(pids, 0), True
        self.thread = threading.Thread(target=self.sample, daemon=True)

    def sample(self) -> None:
        while self.running:
            for name, pid in self.pids.items():
                self.peaks[name] = max(self.peaks[name], tree_rss(pid))
            time.sleep(0.5)

    def __enter__(self) -> "PeakMemory":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.running = False
        self.thread.join()


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.exists() else 0


def deployment(env: dict, name: str, params: list[str]) -> dict:
    command = [BIN / "prefect", "deployment", "run", name, *params, "--watch", "--watch-timeout", "1800"]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    return {"deployment": name, "ok": done.returncode == 0, "seconds": time.perf_counter() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if not os.environ.get("RECSYS_DATA"):
        parser.error("set RECSYS_DATA to the ml-latest-small folder")
    tmp = Path(tempfile.mkdtemp(prefix="recsys-soak-"))
    ports = {"PREFECT_PORT": str(free_port()), "MLFLOW_PORT": str(free_port())}
    env = (
        os.environ
        | ports
        | {
            "SERVICES_DIR": str(tmp / "services"),
            "MLFLOW_STORE_DIR": str(tmp / "mlflow"),
            "RECSYS_WORKDIR": str(tmp / "work"),
            "RECSYS_DATA": str(Path(os.environ["RECSYS_DATA"]).resolve()),
        }
    )
    recsys = [str(BIN / "recsys"), "services"]
    subprocess.run([*recsys, "start"], env=env, check=True)
    credentials = (tmp / "services" / "credentials.env").read_text().splitlines()
    env |= dict(line.split("=", 1) for line in credentials)
    env |= {
        "PREFECT_HOME": str(tmp / "services" / "prefect"),
        "PREFECT_API_URL": f"http://127.0.0.1:{ports['PREFECT_PORT']}/api",
        "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{ports['MLFLOW_PORT']}",
    }
    # a pid file holds "pid start-time" (cli/services.py checks both before it signals anything)
    pids = {name: int((tmp / "services" / f"{name}.pid").read_text().split()[0]) for name in SERVICES}
    runs = []
    try:
        plan = [("train-all/train-all", ["-p", 'config={"epochs": 2}'])] * args.runs
        plan += [("retrain/retrain", [])] * args.runs
        for i, (name, params) in enumerate(plan, start=1):
            with PeakMemory(pids) as memory:
                outcome = deployment(env, name, params)
            runs.append(outcome | {f"peak_rss_{k}": v for k, v in memory.peaks.items()})
            peaks = ", ".join(f"{k} {v / 2**20:.0f} MB" for k, v in memory.peaks.items())
            runs[-1] |= {f"after_{k}": v for k, v in sizes_of(tmp).items()}  # disk growth, run by run
            print(
                f"{i:3d} {name:22s} {'ok' if outcome['ok'] else 'FAILED'} {outcome['seconds']:6.1f}s  {peaks}",
                flush=True,
            )
            write(args.out, runs, sizes_of(tmp), tmp, len(plan))  # after each run: a cut-short soak keeps its figures
    finally:
        subprocess.run([*recsys, "stop"], env=env)
    summary = write(args.out, runs, sizes_of(tmp), tmp, len(plan))
    print(json.dumps({"failures": summary["failures"], "sizes": summary["sizes"]}, indent=2))


def sizes_of(tmp: Path) -> dict[str, int]:
    return {
        "mlflow_db_bytes": folder_size(tmp / "mlflow") - folder_size(tmp / "mlflow" / "artifacts"),
        "mlflow_artifacts_bytes": folder_size(tmp / "mlflow" / "artifacts"),
        "prefect_home_bytes": folder_size(tmp / "services" / "prefect"),
        "work_folder_bytes": folder_size(tmp / "work"),
    }


def write(out: Path, runs: list[dict], sizes: dict[str, int], tmp: Path, planned: int) -> dict:
    failures = sum(not r["ok"] for r in runs)
    summary = {"planned": planned, "done": len(runs), "runs": runs, "failures": failures, "sizes": sizes}
    summary["folder"] = str(tmp)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
