"""Saving and loading a trained model together with the vocabularies it was trained with.

A checkpoint is one ``torch.save`` file of plain types and tensors only, so it loads with
``weights_only=True`` (no pickled code runs on load).
"""

from pathlib import Path

import torch

from recsys.models import RatingModel, build_model
from recsys.models.base import ModelShape
from recsys.vocab import Vocabulary


def save_checkpoint(path: Path, variant: str, model: RatingModel, users: Vocabulary, movies: Vocabulary) -> Path:
    """Write the variant name, config, data shape, weights and both vocabularies to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "variant": variant,
        "config": model.config.model_dump(),
        "shape": model.shape.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "user_ids": torch.tensor(users.ids),
        "movie_ids": torch.tensor(movies.ids),
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(payload, tmp)
    tmp.replace(path)
    return path


def load_checkpoint(path: Path) -> tuple[str, RatingModel, Vocabulary, Vocabulary]:
    """The variant name, the model (eval mode, on the CPU) and the user and movie vocabularies."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    model = build_model(payload["variant"], payload["config"], ModelShape(**payload["shape"]), seed=0)
    model.load_state_dict(payload["state_dict"])
    model.eval()
    users = Vocabulary(payload["user_ids"].numpy())
    movies = Vocabulary(payload["movie_ids"].numpy())
    return payload["variant"], model, users, movies
