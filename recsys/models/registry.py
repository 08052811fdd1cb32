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
    family: str = "rating"  # "rating": predicts ratings (RatingModel); "topn": ranks the catalogue (Ranker)
    grid: Mapping[str, tuple] = field(default_factory=dict)  # topn: settings tried on validation by default


VARIANTS: dict[str, Variant] = {}
FAMILIES = ("rating", "topn")


def register_variant(
    name: str,
    config_cls: type[ModelConfig],
    model_cls: type[RatingModel],
    *,
    family: str = "rating",
    grid: Mapping[str, tuple] | None = None,
    **train_overrides: object,
) -> Variant:
    """Add a variant; a name can be registered once. A ranker (``family="topn"``) has no trainer settings; its
    ``grid`` names the settings its fit tries on validation by default."""
    if name in VARIANTS:
        raise ValueError(f"variant {name!r} is registered already")
    if family not in FAMILIES:
        raise ValueError(f"variant {name!r}: family must be one of {FAMILIES}, got {family!r}")
    overrides, grid = MappingProxyType(dict(train_overrides)), MappingProxyType(dict(grid or {}))
    VARIANTS[name] = Variant(name, config_cls, model_cls, overrides, family, grid)
    return VARIANTS[name]


def variants_of(family: str) -> tuple[str, ...]:
    """The registered variants of ``family`` ("rating" or "topn"), in registry order."""
    return tuple(name for name, variant in VARIANTS.items() if variant.family == family)


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
