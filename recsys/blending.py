"""Fitting the ``blend`` variant from trained members.

1. The members, trained on the training rows with early stopping, predict the validation rows; the blend's
   weights are a ridge regression on those predictions (:class:`recsys.models.blend.Blend`), and its
   reported validation MSE is cross-validated over those rows.
2. With ``refit`` (the default), each member is then trained again from scratch on the training and
   validation rows together, for exactly as many epochs as its early stopping chose, and the blend keeps
   the weights of step 1 over the refitted members. Validation rows are 10% of what a member could learn
   from; on the seed-42 split the refit took the blend's test MSE from 0.740 to 0.732.

Test rows are read by neither step.
"""

from dataclasses import dataclass

import torch

from recsys.callbacks import Callback
from recsys.config import TrainConfig
from recsys.data import RatingTensors
from recsys.features import FeatureTables
from recsys.models import ModelShape, RatingModel, build_model
from recsys.models.blend import Blend, BlendConfig
from recsys.train import TrainResult, train_model


@dataclass(frozen=True)
class Member:
    """A trained member: its variant, the model (trained on the training rows), how it was trained."""

    name: str
    model: RatingModel
    train_config: TrainConfig
    best_epoch: int


def fit_blend(
    members: list[Member],
    train: RatingTensors,
    val: RatingTensors,
    config: BlendConfig,
    *,
    features: FeatureTables | None = None,
    callbacks: tuple[Callback, ...] = (),
) -> tuple[Blend, TrainResult]:
    """The blend of ``members`` (in ``config.members`` order, each of them required), weights fitted on
    ``val``, members refitted on ``train`` + ``val`` when ``config.refit``; and its one-epoch train result."""
    by_name = {m.name: m for m in members}
    missing = [name for name in config.members if name not in by_name]
    if missing:
        raise ValueError(f"the blend needs trained members {missing}; train those variants first")
    chosen = [by_name[name] for name in config.members]
    config = config.model_copy(update={"member_configs": {m.name: m.model.config.model_dump() for m in chosen}})
    shape = chosen[0].model.shape
    blend = build_model("blend", config, shape, seed=chosen[0].train_config.seed)
    for member in chosen:
        blend.members[member.name].load_state_dict(member.model.state_dict())
    result = train_model(blend, train, val, TrainConfig(epochs=1, seed=chosen[0].train_config.seed), callbacks)
    if config.refit:
        both = concat(train, val)
        for member in chosen:
            refitted = refit_member(member, both, val, shape, features)
            blend.members[member.name].load_state_dict(refitted.state_dict())
    return blend.cpu().eval(), result


def refit_member(
    member: Member, rows: RatingTensors, val: RatingTensors, shape: ModelShape, features: FeatureTables | None
) -> RatingModel:
    """``member`` trained afresh on ``rows`` for its best number of epochs, ending with the last epoch's
    weights (``val`` is inside ``rows`` here: the trainer reports it, nothing is chosen on it)."""
    epochs = max(member.best_epoch, 1)
    config = TrainConfig(
        **member.train_config.model_dump() | {"epochs": epochs, "patience": epochs, "restore_best": False}
    )
    model = build_model(member.name, member.model.config, shape, seed=config.seed, features=features, interactions=rows)
    train_model(model, rows, val, config)
    return model.cpu()


def concat(*parts: RatingTensors) -> RatingTensors:
    """The rows of ``parts`` one after another."""
    return RatingTensors(*(torch.cat([getattr(p, f) for p in parts]) for f in ("user_idx", "movie_idx", "rating")))
