"""Checkpoint memory: the peak resident memory an epoch checkpoint of an ml-25m-sized I-AutoRec costs while it
is written, the way `recsys.training.resume` writes it (streamed to the file, hashed from it) against the
way it did until session 3 (tensors cloned, serialised into a buffer, the buffer copied out). The state has
I-AutoRec's shape at ml-25m: two 162,542 x 500 tables, their best copies and both Adam moments (2.6 GB).
Each way runs in a fresh process. Results: bench/results/checkpoint.json.

    .venv/bin/python bench/checkpoint.py
"""

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = """
import hashlib, io, json, resource, sys, tempfile, time
from pathlib import Path
import torch
from recsys.training.resume import save_training_state
way = sys.argv[1]
tables = {f"t{i}": torch.randn(162_542, 500) for i in range(2)}
moments = {k: (torch.zeros_like(v), torch.zeros_like(v)) for k, v in tables.items()}
best = {k: v.clone() for k, v in tables.items()}
state = {"epoch": 1, "model": tables, "optimizer": moments, "stopper": {"best_state": best}}
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
folder = Path(tempfile.mkdtemp())
started = time.perf_counter()
if way == "buffer":  # the former way
    saved = state | {"model": {k: v.detach().cpu().clone() for k, v in tables.items()}}
    buffer = io.BytesIO()
    torch.save(saved, buffer)
    data = buffer.getvalue()
    (folder / "epoch-0001.pt").write_bytes(data)
    (folder / "epoch-0001.pt.sha256").write_text(hashlib.sha256(data).hexdigest())
else:
    save_training_state(folder, state)
seconds = time.perf_counter() - started
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
size = (folder / "epoch-0001.pt").stat().st_size / 2**20
print(json.dumps({"way": way, "state_mb": size, "peak_before_mb": before, "peak_after_mb": after,
                  "extra_mb": after - before, "seconds": seconds}))
"""


def main() -> None:
    rows = []
    for way in ("buffer", "stream"):
        done = subprocess.run([sys.executable, "-c", CHILD, way], capture_output=True, text=True, check=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    out = HERE / "results" / "checkpoint.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
