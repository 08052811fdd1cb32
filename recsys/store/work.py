"""The work folder (``RECSYS_WORKDIR``, resolved by the caller): what lives where inside it.

- ``data/<fingerprint>/``: a release's ingestion (:mod:`recsys.store.ingestion`);
- ``splits/<fingerprint>/<split name>/``: its prepared splits (:mod:`recsys.store.splits`), apart from the
  ingestion, so an ingestion published again (``--refresh``, or a run with its own Prefect cache) never takes
  away a split another run is training on;
- ``cache/``: downloads and extracted archives;
- ``checkpoints/<variant>-<key>/``: a variant's epoch checkpoints, keyed by what decides its training;
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

    def split(self, fingerprint: str, split_name: str) -> Path:
        """The folder of split ``split_name`` of the release with content hash ``fingerprint``."""
        return self.root / "splits" / fingerprint[:16] / split_name

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

    def checkpoints(self, variant: str, data: str, split: str, settings: dict, code: list) -> Path:
        """Where ``variant``'s epoch checkpoints live: keyed by what decides its training (the ``data``
        fingerprint, the ``split`` name, its resolved ``settings`` with the seed, the ``code`` version), not by
        run, so the same command after a crash or a kill resumes from the last good epoch, whichever run
        started it."""
        key = {"data": data, "split": split, "variant": variant, "settings": settings, "code": code}
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:CHECKPOINT_KEY_LENGTH]
        return self.root / "checkpoints" / f"{variant}-{digest}"
