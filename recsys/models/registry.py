"""The registry that maps a variant name to its config class, module class and trainer overrides, and
:func:`build_model`, the one way to make a model, for training and for loading a checkpoint alike.

The registry holds no model itself: :mod:`recsys.models` registers every variant when it is imported, so a
model module (the blend, which builds its members by name) can use :func:`build_model` without an import
cycle.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import torch

from recsys.data.tensors import ModelShape
from recsys.models.base import ModelConfig, RatingModel


@dataclass(frozen=True)
class Variant:
    """A registered variant: its model config class, its module class, and the trainer settings that suit it
    (overrides of :class:`recsys.training.config.TrainConfig`'s defaults, by field name)."""

    name: str
    config_cls: type[ModelConfig]
    model_cls: type[RatingModel]
    train_overrides: Mapping[str, object] = field(default_factory=dict)


VARIANTS: dict[str, Variant] = {}


def register_variant(
    name: str, config_cls: type[ModelConfig], model_cls: type[RatingModel], **train_overrides: object
) -> Variant:
    """Add a variant; a name can be registered once."""
    if name in VARIANTS:
        raise ValueError(f"variant {name!r} is registered already")
    VARIANTS[name] = Variant(name, config_cls, model_cls, MappingProxyType(dict(train_overrides)))
    return VARIANTS[name]


def get_variant(name: str) -> Variant:
    """The registered variant called ``name``; the error lists the known names."""
    try:
        return VARIANTS[name]
    except KeyError:
        raise ValueError(f"unknown model variant {name!r}; known variants: {sorted(VARIANTS)}") from None


def build_model(name: str, config: ModelConfig | dict | None, shape: ModelShape, *, seed: int) -> RatingModel:
    """A fresh model of variant ``name``, its weights initialised from ``seed``; ``config`` may be a config
    object, a dict of overrides or None for the defaults. It has read no data yet: training gives it the data
    it is fitted on (:meth:`RatingModel.read_data`), a checkpoint's weights carry it."""
    variant = get_variant(name)
    if not isinstance(config, variant.config_cls):
        config = variant.config_cls(**(config or {}))
    with torch.random.fork_rng(devices=[]):  # seed this model's initialisation without touching the caller's
        torch.manual_seed(seed)
        return variant.model_cls(config, shape)
