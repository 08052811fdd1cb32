"""Per-epoch training checkpoints, so a crashed run continues from its last finished epoch.

:class:`EpochCheckpoint` is a callback that writes the whole :class:`~recsys.training.callbacks.TrainState` after every
epoch: weights, optimiser moments, epochs done, history, the early-stopping state (best weights included)
and every random state (Python, numpy, torch on the CPU and on CUDA, and the trainer's own generator).
``train_model(..., resume_from=folder)`` loads the newest one and ends with the same weights as a run that
never stopped. Files are ``epoch-NNNN.pt`` of plain types and tensors (loaded with ``weights_only=True``),
written to a temporary name, flushed to disk and renamed, with a SHA-256 beside each: a file that does not
match it (a disk error, a copy cut short) is skipped and the one before it used.
"""

import hashlib
import io
import logging
import random
import re
import shutil
from pathlib import Path

import numpy as np
import torch

from recsys.files import atomic_write_with, write_text
from recsys.training.callbacks import Callback, EpochStats, TrainState

LOG = logging.getLogger("recsys")
FORMAT = 1
_NAME = re.compile(r"epoch-(\d+)\.pt")
# settings that may change between the crashed run and its continuation without changing the result path
_MAY_DIFFER = {"epochs"}


class EpochCheckpoint(Callback):
    """Writes the training state to ``folder`` after every epoch and keeps the newest ``keep`` files.

    Put it after the callbacks that may stop training, so that their last epoch is saved too.
    """

    def __init__(self, folder: Path, keep: int = 2):
        if keep < 1:
            raise ValueError(f"keep must be at least 1; got {keep}")
        self.folder, self.keep, self.state = Path(folder), keep, None

    def on_train_begin(self, state: TrainState) -> None:
        self.state = state

    def on_epoch_end(self, stats: EpochStats, model: torch.nn.Module) -> bool:
        if self.state is None:
            raise RuntimeError("EpochCheckpoint was not started: pass it to train_model's callbacks")
        save_training_state(self.folder, capture_training_state(self.state), self.keep)
        return False


def capture_training_state(state: TrainState) -> dict:
    """The state as plain types and tensors (tensors moved to the CPU)."""
    return {
        "format": FORMAT,
        "epoch": state.epoch,
        "config": state.config.model_dump(),
        "model": _to_cpu(state.model.state_dict()),
        "optimizer": state.optimizer.state_dict(),
        "stopper": state.stopper.state_dict() | {"best_state": _to_cpu(state.stopper.best_state)},
        "history": [s.to_dict() for s in state.history],
        "rng": _capture_rng(state.generator),
    }


def restore_training_state(state: TrainState, saved: dict) -> None:
    """Load ``saved`` (from :func:`capture_training_state`) into a freshly built ``state``, in place.

    Raises ValueError when the saved run used other settings than ``state.config`` (``epochs`` aside).
    """
    _check_compatible(saved, state.config.model_dump())
    if saved["rng"]["device"] != state.generator.device.type:  # random states do not carry across devices
        raise ValueError(
            f"cannot resume on {state.generator.device.type} a run checkpointed on {saved['rng']['device']}"
        )
    state.model.load_state_dict(saved["model"])
    state.optimizer.load_state_dict(saved["optimizer"])
    state.stopper.load_state_dict(saved["stopper"])
    state.history = [EpochStats(**s) for s in saved["history"]]
    state.epoch = saved["epoch"]
    _restore_rng(saved["rng"], state.generator)


def save_training_state(folder: Path, saved: dict, keep: int = 2) -> Path:
    """Write ``saved`` atomically as ``folder/epoch-NNNN.pt`` with its SHA-256 beside it (written last, so a
    checkpoint without one never counts), then delete all but the newest ``keep``."""
    path = folder / f"epoch-{saved['epoch']:04d}.pt"
    # streamed to the file, then hashed from it: a large model's checkpoint (weights, best weights and both
    # Adam moments: 2.6 GB for I-AutoRec at ml-25m's size) is never also a bytes object, or two, in memory
    atomic_write_with(path, lambda tmp: torch.save(saved, tmp))
    with open(path, "rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    write_text(checksum_path(path), digest)
    for old in list_checkpoints(folder)[:-keep]:
        old.unlink()
        checksum_path(old).unlink(missing_ok=True)
    return path


def remove_checkpoints(folder: Path) -> None:
    """Remove a folder of epoch checkpoints (a variant trained to the end has nothing left to resume)."""
    shutil.rmtree(folder, ignore_errors=True)


def checksum_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def list_checkpoints(folder: Path) -> list[Path]:
    """The checkpoint files in ``folder``, oldest epoch first; empty when there is none (or no folder)."""
    found = [(int(m.group(1)), p) for p in Path(folder).glob("epoch-*.pt") if (m := _NAME.fullmatch(p.name))]
    return [p for _, p in sorted(found)]


def load_last_training_state(folder: Path) -> dict | None:
    """The newest intact checkpoint in ``folder`` (tensors on the CPU), or None when there is none. A file
    whose bytes do not match its SHA-256 (truncated, bit-flipped, or never finished) is skipped with a
    warning, and the one before it is tried; with none left, training starts from scratch."""
    for path in reversed(list_checkpoints(folder)):
        saved = _read_intact(path)
        if saved is not None:
            if saved.get("format") != FORMAT:
                raise ValueError(f"{path} has checkpoint format {saved.get('format')!r}; this code reads {FORMAT}")
            return saved
    if list_checkpoints(folder):
        LOG.warning("no intact checkpoint in %s: training starts from scratch", folder)
    return None


def _read_intact(path: Path) -> dict | None:
    """The checkpoint at ``path`` if its bytes match the SHA-256 written beside it, else None (warned)."""
    recorded = checksum_path(path)
    data = path.read_bytes()
    if not recorded.exists() or recorded.read_text().strip() != hashlib.sha256(data).hexdigest():
        LOG.warning("checkpoint %s is damaged or incomplete (its SHA-256 does not match): skipped", path)
        return None
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def _check_compatible(saved: dict, config: dict) -> None:
    differ = sorted(
        k
        for k in config.keys() | saved["config"].keys()
        if k not in _MAY_DIFFER and config.get(k) != saved["config"].get(k)
    )
    if differ:
        pairs = ", ".join(f"{k}: saved {saved['config'].get(k)!r}, now {config.get(k)!r}" for k in differ)
        raise ValueError(f"cannot resume: the checkpoint was trained with other settings ({pairs})")
    if saved["epoch"] > config["epochs"]:
        raise ValueError(f"cannot resume: the checkpoint is at epoch {saved['epoch']}, past epochs={config['epochs']}")


def _to_cpu(tensors: dict | None) -> dict | None:
    # no copy on the CPU: the state is written at once, before training changes it
    return None if tensors is None else {k: v.detach().cpu() for k, v in tensors.items()}


def _capture_rng(generator: torch.Generator) -> dict:
    _, keys, pos, has_gauss, cached = np.random.get_state()  # ("MT19937", (624,) uint32, ...)
    return {
        "device": generator.device.type,
        "python": random.getstate(),
        "numpy": {
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": pos,
            "has_gauss": has_gauss,
            "cached": cached,
        },
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else [],
        "generator": generator.get_state(),
    }


def _restore_rng(rng: dict, generator: torch.Generator) -> None:
    random.setstate(rng["python"])
    numpy_state = rng["numpy"]
    keys = numpy_state["keys"].numpy().astype(np.uint32)
    np.random.set_state(("MT19937", keys, numpy_state["pos"], numpy_state["has_gauss"], numpy_state["cached"]))
    torch.set_rng_state(rng["torch"])
    if rng["cuda"]:
        torch.cuda.set_rng_state_all(rng["cuda"])
    generator.set_state(rng["generator"])
