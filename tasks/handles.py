"""The small typed handles tasks pass to each other: paths, ids and numbers, never frames or models. Each is
frozen: a task returns a new handle and never changes the ones it was given. A ``*Handle`` points to what the
library loads from it (a :class:`SplitHandle` to a stored split, read back as the same data object as the
:class:`~recsys.data.tensors.PreparedSplit` it was written from)."""

from dataclasses import asdict, dataclass
from pathlib import Path

from recsys.pipeline.config import PipelineConfig
from recsys.store.ingestion import IngestionFolder
from recsys.store.splits import SplitFolder


@dataclass(frozen=True)
class PipelineRun:
    """The parent MLflow run of a flow, and the resolved config it runs with (data source included)."""

    run_id: str
    config: PipelineConfig
    settings_fingerprint: str


@dataclass(frozen=True)
class IngestionHandle:
    folder: str  # the raw release, never modified
    release: str
    out_dir: str  # the ingestion folder (recsys.store.ingestion)
    fingerprint: str
    report: dict

    @property
    def stored(self) -> IngestionFolder:
        return IngestionFolder(Path(self.out_dir))


@dataclass(frozen=True)
class SplitHandle:
    """One seed's split, stored: the split, both vocabularies and the feature tables, in one folder."""

    folder: str  # the split's folder (recsys.store.splits)
    movies_path: str  # the movies table (movie_id, title, year, genres)
    split_name: str
    split_seed: int
    fingerprint: str  # of the data
    config: PipelineConfig  # the run's config for this seed (train seeds = split seed)

    @property
    def stored(self) -> SplitFolder:
        return SplitFolder(Path(self.folder))


@dataclass(frozen=True)
class TrainedVariant:
    variant: str
    seed: int
    run_id: str
    checkpoint_path: str
    model_uri: str
    best_epoch: int
    best_val_mse: float
    fit_seconds: float  # the fit on the training rows and the refit, when there was one
    train_only_checkpoint_path: str | None = None  # with a refit: the model of the training rows alone


@dataclass(frozen=True)
class EvaluatedVariant:
    """A trained variant with its scores on the split's test rows."""

    variant: str
    seed: int
    run_id: str
    model_uri: str
    best_epoch: int
    best_val_mse: float
    test_mse: float
    test_rmse: float
    test_mae: float
    fit_seconds: float
    test_mse_train_only: float | None = None  # with a refit: the model of the training rows alone

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class RegisteredVariant:
    """An evaluated variant and the version of the registered model it became."""

    evaluated: EvaluatedVariant
    version: int


@dataclass(frozen=True)
class RankedVariant:
    """A ranker chosen on validation, refitted on training + validation rows and tested once (the top-N
    protocol's numbers), with its logged model."""

    variant: str
    seed: int
    run_id: str
    checkpoint_path: str
    model_uri: str
    val_ndcg: float  # the chosen settings' validation NDCG@10: what the challenger is picked by
    test: dict  # test metrics (ndcg@10, precision@10, ..., coverage, novelty) and their intervals
    users: int
    fit_seconds: float

    def to_dict(self) -> dict:
        own = {"variant": self.variant, "seed": self.seed, "val_ndcg@10": self.val_ndcg}
        return own | self.test | {"users": self.users, "fit_seconds": self.fit_seconds}


@dataclass(frozen=True)
class RegisteredRanker:
    ranked: RankedVariant
    version: int
