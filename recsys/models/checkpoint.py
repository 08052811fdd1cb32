"""Saving and loading a trained model together with the vocabularies it was trained with.

A checkpoint is one ``torch.save`` file of plain types and tensors only, so it loads with
``weights_only=True`` (no pickled code runs on load), written atomically (:mod:`recsys.files`).
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

from recsys.data.tensors import ModelShape
from recsys.data.vocab import Vocabulary
from recsys.files import atomic_write
from recsys.models.base import RatingModel
from recsys.models.registry import build_model


@dataclass(frozen=True)
class TrainedModel:
    """A loaded checkpoint: the variant's name, the model (eval mode, on the CPU) and its vocabularies."""

    variant: str
    model: RatingModel
    user_vocab: Vocabulary
    movie_vocab: Vocabulary


def save_checkpoint(
    path: Path, variant: str, model: RatingModel, user_vocab: Vocabulary, movie_vocab: Vocabulary
) -> Path:
    """Write the variant name, config, data shape, weights and both vocabularies to ``path``."""
    payload = {
        "variant": variant,
        "config": model.config.model_dump(),
        "shape": model.shape.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "user_ids": torch.tensor(user_vocab.ids),
        "movie_ids": torch.tensor(movie_vocab.ids),
    }
    with atomic_write(Path(path)) as handle:
        torch.save(payload, handle)
    return Path(path)


def load_checkpoint(path: Path) -> TrainedModel:
    """The model saved at ``path`` with its vocabularies."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    model = build_model(payload["variant"], payload["config"], ModelShape(**payload["shape"]), seed=0)
    model.load_state_dict(payload["state_dict"])
    model.eval()
    return TrainedModel(
        payload["variant"], model, Vocabulary(payload["user_ids"].numpy()), Vocabulary(payload["movie_ids"].numpy())
    )


class StoredModels(Mapping[str, RatingModel]):
    """Checkpoints read as ``{variant: model}``, each loaded when it is read and only the last one kept: the
    analysis of a 25M-rating run reads ten models one after another (the blend holds five more), and loading
    them all at once held about 5 GB for the whole analysis."""

    def __init__(self, paths: Mapping[str, Path]):
        self._paths = {variant: Path(path) for variant, path in paths.items()}
        self._last: TrainedModel | None = None

    def loaded(self, variant: str) -> TrainedModel:
        """``variant``'s checkpoint, model and vocabularies (kept until another one is read)."""
        if self._last is None or self._last.variant != variant:
            self._last = None  # the previous model is let go before the next one loads
            self._last = load_checkpoint(self._paths[variant])
        return self._last

    def __getitem__(self, variant: str) -> RatingModel:
        return self.loaded(variant).model

    def __iter__(self) -> Iterator[str]:
        return iter(self._paths)

    def __len__(self) -> int:
        return len(self._paths)

    def items(self):
        raise TypeError(_ONE_AT_A_TIME)

    def values(self):
        raise TypeError(_ONE_AT_A_TIME)


# a loop over items() or values() keeps the last model in its variable while the next one loads: two at once
_ONE_AT_A_TIME = "read stored models by name, one at a time (for variant in models: model = models[variant])"
