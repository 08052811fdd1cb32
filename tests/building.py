"""Models for unit tests, built as training builds them: :func:`recsys.models.build_model`, then the data the
model reads (:meth:`recsys.models.base.RatingModel.read_data`) when a test gives it."""

from recsys.models import RatingModel, build_model


def built(name, config, shape, *, seed: int, features=None, interactions=None) -> RatingModel:
    model = build_model(name, config, shape, seed=seed)
    if features is not None or interactions is not None:
        model.read_data(features, interactions)
    return model
