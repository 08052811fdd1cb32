"""A variant's recipe (its settings in a run's config) trained afresh on another split, in this process and
without tracking: how the champion is compared with a challenger, recipe against recipe, when too few test
rows of the new run are rows the champion never learned from (see :mod:`recsys.evaluation.promotion`)."""

from recsys import columns as C
from recsys.data.features import FeatureTables
from recsys.data.tensors import PreparedSplit
from recsys.models import RatingModel, build_model
from recsys.pipeline.config import PipelineConfig
from recsys.training.ensembles import Member, fit_ensemble
from recsys.training.trainer import train_model


def train_recipe(config: PipelineConfig, variant: str, prepared: PreparedSplit, features: FeatureTables) -> RatingModel:
    """The model ``config`` makes for ``variant`` (its members first, for an ensemble), trained on
    ``prepared``'s training rows and early-stopped on its validation rows; test rows are not read."""
    train, val = prepared.tensors(C.TRAIN), prepared.tensors(C.VAL)
    trained: dict[str, Member] = {}
    for name in config.training_order([variant]):
        settings = config.selected()[name]
        if settings.model.member_names():
            members = [trained[m] for m in settings.model.member_names()]
            model, result = fit_ensemble(name, settings.model, members, train, val, features=features)
        else:
            seed = settings.train.seed
            model = build_model(name, settings.model, prepared.shape, seed=seed, features=features, interactions=train)
            result = train_model(model, train, val, settings.train)
        trained[name] = Member(name, model.cpu().eval(), settings.train, result.best_epoch)
    return trained[variant].model
