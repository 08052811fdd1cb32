"""An analysis folder: the local copies an analysis reads of a stored run (its split and movies table, each
variant's checkpoint per seed, each variant's per-epoch history) and the ``report/`` folder it writes. Removed
once the report is published (MLflow holds all of it)."""

import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from recsys.data import io


@dataclass(frozen=True)
class AnalysisFolder:
    path: Path

    def seed(self, seed: int) -> Path:
        """Where a seed's checkpoints (and, for a further seed, its split) are downloaded."""
        return self.path / f"seed-{seed}"

    def checkpoints(self, seed: int, variant: str) -> Path:
        return self.seed(seed) / variant

    def history(self, variant: str, seed: int | None = None) -> Path:
        """A variant's per-epoch history (epoch, train_mse, val_mse): the run's own seed, or a further one."""
        return (self.path if seed is None else self.seed(seed)) / variant / "history.parquet"

    @property
    def report(self) -> Path:
        return self.path / "report"

    def write_history(self, variant: str, history: pd.DataFrame, seed: int | None = None) -> None:
        io.write_parquet(history, self.history(variant, seed))

    def read_history(self, variant: str, seed: int | None = None) -> pd.DataFrame:
        return io.read_parquet(self.history(variant, seed))

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
