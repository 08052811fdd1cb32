"""The one way to train a variant: the flow's train task, a champion's recipe retrained for promotion, the
data-parallel entry under torchrun and the bench scripts all call :func:`train_variant`.

It takes the split as the one data object (:class:`~recsys.data.tensors.SplitData`: in memory, or read part by
part from its stored folder) and the variant's model and trainer settings; an ensemble is fitted over its
trained members, any other variant is built, given the data it reads, and trained by the one trainer, resuming
from its epoch checkpoints when given a folder, on its share of each batch when given a process group.

With ``refit`` (a run's default, ``refit: true``), the epoch count early stopping chose on the validation rows
is then trained again from scratch on training + validation rows, so every variant learns from the same 80%
of the ratings as the blend's members and every peer tool (like for like); the model trained on the training
rows alone is handed to ``keep`` first (the train task stores it, and scores it as ``test_mse_train_only``).
"""

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from recsys import columns as C
from recsys import files
from recsys.data.tensors import SplitData
from recsys.models import RatingModel, build_model, get_variant
from recsys.models.base import ModelConfig
from recsys.training.callbacks import Callback
from recsys.training.config import TrainConfig
from recsys.training.ensembles import Member, concat, fit_ensemble, refit_model
from recsys.training.resume import EpochCheckpoint, remove_checkpoints
from recsys.training.trainer import Shard, TrainResult, train_model

REFIT_FOLDER = "refit"  # the refit's own epoch checkpoints, inside the variant's folder


@dataclass(frozen=True)
class ProcessGroup:
    """Data-parallel training: this process is ``rank`` of ``world`` in torch's initialised process group."""

    rank: int
    world: int


def process_group() -> ProcessGroup | None:
    """This process's place in torch's process group when one is initialised (a run under torchrun), else None."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return ProcessGroup(torch.distributed.get_rank(), torch.distributed.get_world_size())
    return None


def trains_data_parallel(name: str, model_config: ModelConfig) -> bool:
    """Whether variant ``name`` trains by gradient steps that processes can share (not an ensemble over
    trained members, not a closed-form fit): under torchrun every process trains these together."""
    return not model_config.member_names() and not get_variant(name).model_cls.fits_directly


def train_variant(
    name: str,
    model_config: ModelConfig,
    train_config: TrainConfig,
    data: SplitData,
    *,
    members: Callable[[], list[Member]] | None = None,
    callbacks: tuple[Callback, ...] = (),
    checkpoints: Path | None = None,
    group: ProcessGroup | None = None,
    refit: bool = False,
    keep: Callable[[RatingModel], None] | None = None,
    refit_callbacks: tuple[Callback, ...] = (),
) -> tuple[RatingModel, TrainResult]:
    """Variant ``name`` trained on ``data``'s training rows and early-stopped on its validation rows (test rows
    are not read); returns the model, holding its best epoch's weights, and the train result.

    - ``refit``: then trained afresh on training + validation rows for the best epoch count (the same seed and
      settings, ending with the last epoch's weights; a closed-form model fitted once on both), which is the
      model returned; ``keep`` first gets the model of the training rows (an ensemble: its weights fitted over
      the members of the training rows), and ``refit_callbacks`` see the refit's epochs. The result is the
      first fit's (best epoch, validation MSE: the honest ones), with the refit's seconds in ``refit_seconds``.

    - An ensemble (its config names members) is fitted over ``members()``, which hands over the trained members:
      made in the call, they are held by the ensemble alone and freed as it refits them.
    - ``checkpoints``: a folder for per-epoch checkpoints, so a killed run resumes after its last good epoch;
      removed once trained to the end (closed-form models have no epochs and ignore it).
    - ``group``: train on this process's share of each batch, the gradients averaged by DistributedDataParallel
      (on this process's GPU when NCCL is the backend); every process resumes from the same checkpoints, and
      rank 0 alone writes and removes them. A variant that does not train data-parallel
      (:func:`trains_data_parallel`) trains in this process alone.
    """
    if model_config.member_names():
        if members is None:
            raise ValueError(f"the {name} is an ensemble: it needs its trained members")
        return fit_ensemble(
            name,
            model_config,
            members(),
            data.tensors(C.TRAIN),
            data.tensors(C.VAL),
            features=data.features,
            callbacks=callbacks,
            keep=keep if refit else None,
        )
    train, val = data.tensors(C.TRAIN), data.tensors(C.VAL)  # never the whole split frame
    model = build_model(name, model_config, data.shape, seed=train_config.seed)
    model.read_data(data.features, train)
    folder = None if model.fits_directly else checkpoints
    group = group if trains_data_parallel(name, model_config) else None
    writes = folder is not None and (group is None or group.rank == 0)
    with files.folder_lock(folder) if writes else contextlib.nullcontext():
        # one process at a time per checkpoint folder: two identical runs (the same data, split, settings and
        # code) would resume from each other's epochs and one would remove the folder under the other; the
        # second waits, then finds the first's folder removed and trains its own from scratch
        saving = (EpochCheckpoint(folder),) if writes else ()
        shard = _shard(model, group) if group else None
        result = train_model(model, train, val, train_config, callbacks + saving, resume_from=folder, shard=shard)
        if refit:  # the first fit's checkpoints stay until the refit is done: a run killed in it skips the fit
            if keep is not None:
                keep(model)
            del model, shard
            refit_folder = folder / REFIT_FOLDER if folder is not None else None
            model, seconds = _refit(name, model_config, train_config, data, result.best_epoch, refit_callbacks,
                                    refit_folder, group, writes)  # fmt: skip
            result.refit_seconds = seconds
        if writes:  # trained to the end: nothing left to resume, so the work folder does not grow
            remove_checkpoints(folder)
    return model, result


def _refit(
    name: str,
    model_config: ModelConfig,
    train_config: TrainConfig,
    data: SplitData,
    best_epoch: int,
    callbacks: tuple[Callback, ...],
    folder: Path | None,
    group: ProcessGroup | None,
    writes: bool,
) -> tuple[RatingModel, float]:
    """Variant ``name`` trained from scratch on training + validation rows for ``best_epoch`` epochs
    (:func:`recsys.training.ensembles.refit_model`), resuming from ``folder``; the model and the seconds taken."""
    saving = (EpochCheckpoint(folder),) if writes and folder is not None else ()
    model, result = refit_model(
        name,
        model_config,
        train_config,
        best_epoch,
        concat(data.tensors(C.TRAIN), data.tensors(C.VAL)),
        data.tensors(C.VAL),  # inside the rows here: the trainer reports it, nothing is chosen on it
        data.shape,
        data.features,
        callbacks + saving,
        resume_from=folder,
        shard=(lambda model: _shard(model, group)) if group else None,
    )
    return model, result.fit_seconds


def _shard(model: RatingModel, group: ProcessGroup) -> Shard:
    from torch.nn.parallel import DistributedDataParallel

    if torch.distributed.get_backend() == "nccl":
        model.to(f"cuda:{group.rank % torch.cuda.device_count()}")
    return Shard(group.rank, group.world, DistributedDataParallel(model))
