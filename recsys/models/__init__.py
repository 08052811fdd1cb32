"""Model variants behind one interface, and the registry that maps a variant name to its classes.

Each variant has a config class (model settings), a module class and trainer defaults that suit it.
``build_model`` is the one way to make a model, for training and for loading a checkpoint alike.
"""

from dataclasses import dataclass

import torch

from recsys.config import TrainConfig
from recsys.models.base import ModelConfig, ModelShape, RatingModel
from recsys.models.baseline import BaselineConfig, BaselineNet
from recsys.models.mf import MatrixFactorization, MFConfig


@dataclass(frozen=True)
class Variant:
    name: str
    config_cls: type[ModelConfig]
    model_cls: type[RatingModel]
    train_defaults: TrainConfig


VARIANTS: dict[str, Variant] = {
    "mf": Variant("mf", MFConfig, MatrixFactorization, TrainConfig(lr=5e-3, batch_size=1024)),
    "baseline": Variant(
        "baseline", BaselineConfig, BaselineNet, TrainConfig(lr=1e-3, batch_size=1024, weight_decay=1e-5)
    ),
}


def get_variant(name: str) -> Variant:
    """The registered variant called ``name``; the error lists the known names."""
    try:
        return VARIANTS[name]
    except KeyError:
        raise ValueError(f"unknown model variant {name!r}; known variants: {sorted(VARIANTS)}") from None


def build_model(name: str, config: ModelConfig | dict | None, shape: ModelShape, *, seed: int) -> RatingModel:
    """A fresh model of variant ``name``, its weights initialised from ``seed``; ``config`` may be a config
    object, a dict of overrides or None for the defaults."""
    variant = get_variant(name)
    if not isinstance(config, variant.config_cls):
        config = variant.config_cls(**(config or {}))
    with torch.random.fork_rng(devices=[]):  # seed this model's initialisation without touching the caller's
        torch.manual_seed(seed)
        return variant.model_cls(config, shape)


__all__ = ["VARIANTS", "ModelConfig", "ModelShape", "RatingModel", "Variant", "build_model", "get_variant"]
