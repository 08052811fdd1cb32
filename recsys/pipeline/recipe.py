"""A variant's recipe (its settings in a run's config) trained afresh on another split, in this process and
without tracking: how the champion is compared with a challenger, recipe against recipe, when too few test
rows of the new run are rows the champion never learned from (see :mod:`recsys.evaluation.promotion`)."""

from recsys.data.tensors import SplitData
from recsys.models import RatingModel
from recsys.pipeline.config import PipelineConfig
from recsys.training.ensembles import Member
from recsys.training.variant import train_variant


def train_recipe(config: PipelineConfig, variant: str, data: SplitData) -> RatingModel:
    """The model ``config`` makes for ``variant`` (its members first, for an ensemble), trained on ``data``'s
    training rows and early-stopped on its validation rows; test rows are not read."""
    trained: dict[str, Member] = {}
    for name in config.training_order([variant]):
        settings = config.selected()[name]
        members = settings.model.member_names()
        model, result = train_variant(
            name, settings.model, settings.train, data, members=lambda members=members: [trained[m] for m in members]
        )
        trained[name] = Member(name, model.cpu().eval(), settings.train, result.best_epoch)
    return trained[variant].model
