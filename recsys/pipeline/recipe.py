"""A run's config turned into training: a variant's recipe trained afresh on another split, in this process and
without tracking (how the champion is compared with a challenger, recipe against recipe, when too few test rows
of the new run are rows the champion never learned from; see :mod:`recsys.evaluation.promotion`); where a
variant's epoch checkpoints live; and what the other processes of a run under torchrun do beside rank 0."""

import time
from pathlib import Path

from recsys import files
from recsys.data.tensors import SplitData
from recsys.models import RatingModel
from recsys.pipeline.config import PipelineConfig
from recsys.store.splits import SplitFolder
from recsys.store.work import WorkFolder
from recsys.training.ensembles import Member
from recsys.training.resume import FORMAT as CHECKPOINT_FORMAT
from recsys.training.variant import ProcessGroup, train_variant, trains_data_parallel


def train_recipe(config: PipelineConfig, variant: str, data: SplitData) -> RatingModel:
    """The model ``config`` makes for ``variant`` (its members first, for an ensemble), trained on ``data``'s
    training rows and early-stopped on its validation rows, then refitted on training + validation rows when
    the config says so; test rows are not read."""
    trained: dict[str, Member] = {}
    for name in config.training_order([variant]):
        settings = config.selected()[name]
        members = settings.model.member_names()
        kept: list = []
        model, result = train_variant(
            name,
            settings.model,
            settings.train,
            data,
            members=lambda members=members: [trained[m] for m in members],
            refit=config.refit,
            keep=None if members else kept.append,  # an ensemble's own model of the training rows is not needed
        )
        refitted = model.cpu().eval()
        if kept:  # an ensemble learns its weights from its members' fits on the training rows, then takes the refits
            first = kept[0].cpu().eval()
            trained[name] = Member(name, first, settings.train, result.best_epoch, lambda refitted=refitted: refitted)
        else:
            trained[name] = Member(name, refitted, settings.train, result.best_epoch)
    final = trained[variant]
    return final.refitted() if final.refitted is not None else final.model


def epoch_checkpoints(work: WorkFolder, fingerprint: str, split_name: str, variant: str, settings) -> Path:
    """Where ``variant``'s epoch checkpoints live for a run of data ``fingerprint`` and split ``split_name`` with
    ``settings`` (its :class:`VariantSettings`): the train task and every process of a run under torchrun
    resume from the same folder."""
    return work.checkpoints(
        variant,
        data=fingerprint,
        split=split_name,
        settings=settings.model_dump(mode="json"),
        code=[files.source_digest(), CHECKPOINT_FORMAT],
    )


def follow(config: PipelineConfig, work: WorkFolder, fingerprint: str, group: ProcessGroup, wait: float) -> list[str]:
    """What every process but rank 0 does in a run under torchrun: rank 0 runs the pipeline (validation, the
    split, checkpoints, tracking, the registry); this process reads each seed's split as rank 0 publishes it
    in ``work`` (release ``fingerprint``) and trains with it, in the same order, every variant that trains
    data-parallel, resuming from the same epoch checkpoints. Waits up to ``wait`` seconds for each split;
    returns what it trained."""
    trained = []
    for seed in config.run_seeds():
        seeded = config.for_seed(seed)
        data = published_split(SplitFolder(work.split(fingerprint, seeded.split.name, files.source_digest())), wait)
        for name in seeded.training_order():
            settings = seeded.selected()[name]
            if trains_data_parallel(name, settings.model):
                folder = epoch_checkpoints(work, fingerprint, seeded.split.name, name, settings)
                train_variant(
                    name, settings.model, settings.train, data, checkpoints=folder, group=group, refit=seeded.refit
                )
                trained.append(f"{name} (seed {seed})")
    return trained


def published_split(folder: SplitFolder, wait: float) -> SplitFolder:
    """``folder`` once its split is published (all its files appear at once), waiting up to ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while not folder.shape_file.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"no split was published at {folder.path} within {wait:.0f} s (did rank 0 fail?)")
        time.sleep(0.5)
    return folder
