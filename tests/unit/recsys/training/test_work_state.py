"""Work state that runs share (issue 20, finding 3), caused for real with separate processes: epoch
checkpoints are keyed by the library's source (not the package version, which stays "0.1.0"), a checkpoint
folder is used by one process at a time, and a split folder is keyed by its code and written once."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[4]

FOLDER_OF = """
from pathlib import Path
import recsys
from recsys.pipeline.config import PipelineConfig
from recsys.pipeline.recipe import epoch_checkpoints
from recsys.store.work import WorkFolder
settings = PipelineConfig().selected()["mf"]
work = WorkFolder(Path("work"))
assert recsys.__file__.startswith({root!r}), recsys.__file__
print(epoch_checkpoints(work, "f" * 64, "random-42-0.2-0.1", "mf", settings).name)
print(work.split("f" * 64, "random-42-0.2-0.1", __import__("recsys.files").files.source_digest()).name)
"""


def keys_of(root: Path) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = subprocess.run(
        [sys.executable, "-c", FOLDER_OF.format(root=str(root))],
        env=env,
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split()


def test_a_checkpoint_or_split_of_other_code_is_never_resumed(tmp_path):
    """The same settings, data and split under a library changed by one line: a different checkpoint folder
    and split folder (they were the same: the key held the package version, "0.1.0" across every change)."""
    copy = tmp_path / "code"
    shutil.copytree(REPO / "recsys", copy / "recsys", ignore=shutil.ignore_patterns("__pycache__"))
    before = keys_of(copy)
    assert keys_of(copy) == before  # stable for the same code
    trainer = copy / "recsys" / "training" / "trainer.py"
    trainer.write_text(trainer.read_text() + "\n# a changed training loop\n")
    after = keys_of(copy)
    assert after[0] != before[0] and after[1] != before[1]
    assert after[0].startswith("mf-") and after[1].startswith("random-42-0.2-0.1-")


HOLDER = """
import sys, time
from pathlib import Path
from recsys import files
with files.folder_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(3)
    print(f"released {time.time():.3f}", flush=True)
"""

TRAINER = """
import sys, time
from pathlib import Path
from recsys.data.split import SplitConfig
from recsys.data.synthetic import make_movies, make_ratings
from recsys.data.tensors import prepare_split
from recsys.models import get_variant
from recsys.training.config import TrainConfig
from recsys.training.variant import train_variant
ratings, movies = make_ratings(n_users=40, n_movies=60, n_ratings=1500, seed=3), make_movies(60, seed=3)
data = prepare_split(ratings, movies, SplitConfig(seed=7))
started = time.time()
config = TrainConfig(epochs=2, batch_size=128)
train_variant("mf", get_variant("mf").config_cls(), config, data, checkpoints=Path(sys.argv[1]))
print(f"trained {started:.3f} {time.time():.3f}", flush=True)
"""


def test_a_checkpoint_folder_in_use_by_another_process_is_waited_for(tmp_path):
    """Two identical runs used one checkpoint folder at once: each resumed from the other's epochs and the
    first to finish removed the folder under the other. Now the second waits for the first to let go."""
    folder = tmp_path / "checkpoints" / "mf-0123456789abcdef"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    trainer = subprocess.run(
        [sys.executable, "-c", TRAINER, str(folder)], capture_output=True, text=True, check=True, timeout=300
    )
    released = float(holder.stdout.readline().split()[1])
    holder.wait(timeout=60)
    started, finished = (float(x) for x in trainer.stdout.split()[1:3])
    assert started < released <= finished  # it began while the folder was held and ended only after
    assert not folder.exists()  # trained to the end: its checkpoints removed, as before


def test_the_next_run_removes_what_dead_runs_left_and_spares_what_a_live_one_uses(tmp_path):
    """Issue 20, finding 7: after a SIGKILL, ``.staging-*`` folders and ``.epoch-N.pt.*.tmp`` files stayed for
    ever (up to 2.6 GB at 25M ratings). The sweep at a run's start removes them, but never a checkpoint folder
    another process holds, nor a staging folder young enough to be a live writer's."""
    from recsys.store.work import WorkFolder

    work = WorkFolder(tmp_path / "work")
    old = time.time() - 2 * 3600
    dead_staging = work.root / "splits" / "abc" / ".random-42.staging-x1"
    live_staging = work.root / "splits" / "abc" / ".random-43.staging-x2"
    for folder in (dead_staging, live_staging):
        folder.mkdir(parents=True)
        (folder / "split.parquet").write_bytes(b"x" * 100)
    os.utime(dead_staging, (old, old))
    dead_tmp = work.root / "data" / "f00" / ".ratings.parquet.q1.tmp"
    dead_tmp.parent.mkdir(parents=True)
    dead_tmp.write_bytes(b"x")
    os.utime(dead_tmp, (old, old))
    idle, busy, stale = (work.root / "checkpoints" / name for name in ("mf-1", "lstm-2", "gru-3"))
    for folder in (idle, busy, stale):
        folder.mkdir(parents=True)
        (folder / "epoch-0002.pt").write_bytes(b"x")
        (folder / ".epoch-0003.pt.k2.tmp").write_bytes(b"half")
    week_ago = time.time() - 8 * 86400
    for path in (stale / "epoch-0002.pt", stale / ".epoch-0003.pt.k2.tmp"):
        os.utime(path, (week_ago, week_ago))
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(busy)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        removed = set(work.sweep())
    finally:
        holder.kill()
        holder.wait()
    assert removed == {dead_staging, dead_tmp, idle / ".epoch-0003.pt.k2.tmp", stale / ".epoch-0003.pt.k2.tmp", stale}
    assert live_staging.exists() and (idle / "epoch-0002.pt").exists()  # the resumable checkpoint stays
    assert (busy / ".epoch-0003.pt.k2.tmp").exists()  # a live run's folder is not touched
