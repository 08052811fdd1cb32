"""The work folder (``RECSYS_WORKDIR``, resolved by the caller): what lives where inside it.

- ``data/<fingerprint>/``: a release's ingestion (:mod:`recsys.store.ingestion`);
- ``splits/<fingerprint>/<split name>-<code>/``: its prepared splits (:mod:`recsys.store.splits`), apart from
  the ingestion, so an ingestion published again (``--refresh``, or a run with its own Prefect cache) never
  takes away a split another run is training on; keyed by the library's source hash and written once;
- ``cache/``: downloads and extracted archives;
- ``checkpoints/<variant>-<key>/``: a variant's epoch checkpoints, keyed by what decides its training (the
  library's source hash included), used by one process at a time (``.<variant>-<key>.lock``);
- ``runs/<run id>/``: a pipeline run's trained checkpoints, removed when the run ends;
- ``analysis/<run id>/``: the local copies an analysis reads, removed once published;
- ``logs/``: tracebacks of failed commands;
"""

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from recsys.store.artifacts import CHECKPOINT_SUFFIX

CHECKPOINT_KEY_LENGTH = 20  # hex digits of the checkpoint key


@dataclass(frozen=True)
class WorkFolder:
    root: Path

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def ingestion(self, fingerprint: str) -> Path:
        """The default ingestion folder of a release with content hash ``fingerprint``."""
        return self.root / "data" / fingerprint[:16]

    def split(self, fingerprint: str, split_name: str, code: str) -> Path:
        """The folder of split ``split_name`` of the release with content hash ``fingerprint``, as the library
        of source hash ``code`` writes it: the key names everything its content depends on, so a folder is
        written once and never replaced under a run reading it (another run, or other code, has its own)."""
        return self.root / "splits" / fingerprint[:16] / f"{split_name}-{code[:12]}"

    def run(self, run_id: str) -> Path:
        return self.root / "runs" / run_id

    def remove_run(self, run_id: str) -> None:
        """Remove a pipeline run's local files (MLflow holds its models)."""
        shutil.rmtree(self.run(run_id), ignore_errors=True)

    def trained_checkpoint(self, run_id: str, variant: str, seed: int) -> Path:
        """Where a pipeline run keeps ``variant``'s trained checkpoint of ``seed`` until the run ends."""
        return self.run(run_id) / f"{variant}-{seed}{CHECKPOINT_SUFFIX}"

    def analysis(self, run_id: str) -> Path:
        return self.root / "analysis" / run_id

    def sweep(self, staging_age: float = 3600, checkpoint_age: float = 7 * 86400) -> list[Path]:
        """Remove what dead runs left (a SIGKILL gives no chance to clean up); returns what was removed:

        - staging folders (``.<name>.staging-*``, an archive's ``cache/extracted/.<name>.*``) and temporary files
          (``.*.tmp``) older than ``staging_age`` seconds outside ``checkpoints/``: a live writer publishes or
          removes them within seconds;
        - in each checkpoint folder no process holds (its lock taken without waiting): temporary files of a
          checkpoint cut short, and the whole folder when nothing in it changed for ``checkpoint_age`` seconds
          (settings or code that no run resumes any more; up to 2.6 GB at 25M ratings).
        """
        import time

        from filelock import FileLock, Timeout

        removed: list[Path] = []
        now = time.time()
        checkpoints = self.root / "checkpoints"
        for path in sorted(self.root.rglob(".*")) if self.root.exists() else []:
            if checkpoints in path.parents or not path.exists() or now - path.lstat().st_mtime < staging_age:
                continue
            if path.is_dir() and (".staging-" in path.name or path.parent.name == "extracted"):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
            elif path.is_file() and path.name.endswith(".tmp"):
                path.unlink(missing_ok=True)
                removed.append(path)
        for folder in sorted(p for p in checkpoints.glob("*") if p.is_dir()) if checkpoints.exists() else []:
            try:
                with FileLock(str(folder.parent / f".{folder.name}.lock"), timeout=0):
                    for tmp in folder.glob(".*.tmp"):
                        tmp.unlink(missing_ok=True)
                        removed.append(tmp)
                    newest = max((p.stat().st_mtime for p in folder.iterdir()), default=folder.stat().st_mtime)
                    if now - newest > checkpoint_age:
                        shutil.rmtree(folder, ignore_errors=True)
                        removed.append(folder)
            except Timeout:
                continue  # a run is training from it
        return removed

    def checkpoints(self, variant: str, data: str, split: str, settings: dict, code: list) -> Path:
        """Where ``variant``'s epoch checkpoints live: keyed by what decides its training (the ``data``
        fingerprint, the ``split`` name, its resolved ``settings`` with the seed, the ``code`` version), not by
        run, so the same command after a crash or a kill resumes from the last good epoch, whichever run
        started it."""
        key = {"data": data, "split": split, "variant": variant, "settings": settings, "code": code}
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:CHECKPOINT_KEY_LENGTH]
        return self.root / "checkpoints" / f"{variant}-{digest}"
