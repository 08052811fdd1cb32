"""Ingestion benchmark: wall time, peak memory and rows per second of the ingest task's work
(read, row rules, Great Expectations validation, Parquet), each run in a fresh process.

    python bench/ingest.py                      # ml-latest-small ($RECSYS_DATA) and a synthetic ml-25m
    python bench/ingest.py --ratings 1000000    # a smaller synthetic release

The synthetic release has ml-25m's shape (25,000,095 ratings, 162,541 users, 59,047 movies) in the real
CSV format; it is generated once into bench/data/ (git-ignored). Results go to bench/results/ingest.json.
"""

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ML25M = {"n_ratings": 25_000_095, "n_users": 162_541, "n_movies": 59_047}

CHILD = """
import json, sys, time, resource
from pathlib import Path
t0 = time.perf_counter()
from tasks.ingest import run_ingestion
imported = time.perf_counter() - t0
data = run_ingestion(Path(sys.argv[1]), Path(sys.argv[2]))
print(json.dumps({"seconds": time.perf_counter() - t0, "import_seconds": imported,
                  "rows": data.report["ratings"]["rows_read"], "kept": data.report["ratings"]["rows_kept"],
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_once(release: Path) -> dict:
    """One ingestion in a fresh Python process (so peak memory is the ingestion's own)."""
    out = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, str(release), str(out)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "GX_ANALYTICS_ENABLED": "false"},
        )
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        result["wall_seconds"] = time.perf_counter() - started
        result["rows_per_second"] = result["rows"] / result["wall_seconds"]
        return result
    finally:
        shutil.rmtree(out, ignore_errors=True)


def measure(name: str, release: Path, repeats: int) -> dict:
    runs = [run_once(release) for _ in range(repeats)]
    walls = sorted(r["wall_seconds"] for r in runs)
    summary = {
        "release": name,
        "path": str(release),
        "runs": runs,
        "median_wall_seconds": walls[len(walls) // 2],
        "max_peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
    }
    summary["median_rows_per_second"] = runs[0]["rows"] / summary["median_wall_seconds"]
    print(
        f"{name:>16}: {runs[0]['rows']:>11,} rows  wall {summary['median_wall_seconds']:6.1f}s (median of "
        f"{repeats})  peak {summary['max_peak_rss_mb']:7.0f} MB  {summary['median_rows_per_second']:>12,.0f} rows/s"
    )
    return summary


def synthetic_release(n_ratings: int) -> Path:
    from recsys.data.synthetic import write_large_release

    scale = n_ratings / ML25M["n_ratings"]
    users, movies = max(100, int(ML25M["n_users"] * scale)), max(100, int(ML25M["n_movies"] * min(1, scale * 4)))
    folder = HERE / "data" / f"synthetic-{n_ratings}"
    if not (folder / "ratings.csv").exists():
        started = time.perf_counter()
        write_large_release(folder, n_ratings, users, movies, seed=25)
        print(f"generated {folder} in {time.perf_counter() - started:.0f}s")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("RECSYS_DATA"), help="ml-latest-small folder")
    parser.add_argument("--ratings", type=int, default=ML25M["n_ratings"], help="size of the synthetic release")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "targets": {"wall_seconds": 60, "peak_rss_mb": 6144},
        "releases": [],
    }
    if args.data:
        results["releases"].append(measure("ml-latest-small", Path(args.data), args.repeats))
    results["releases"].append(measure(f"synthetic-{args.ratings}", synthetic_release(args.ratings), args.repeats))
    out = HERE / "results" / "ingest.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    main()
