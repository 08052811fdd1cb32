import logging
import weakref

import numpy as np
import pytest
import torch

from recsys.evaluation.predictions import predict
from recsys.models import build_model
from recsys.models.blend import BlendConfig, fit_ridge
from recsys.models.checkpoint import load_checkpoint, save_checkpoint
from recsys.training.config import TrainConfig
from recsys.training.ensembles import Member, concat, fit_ensemble
from recsys.training.trainer import train_model

CONFIG = BlendConfig(members=("mf", "knn"), ridge=0.0)


def members(prepared):
    train, val = prepared.tensors("train"), prepared.tensors("val")
    out = []
    for name, config in (("mf", TrainConfig(epochs=4, batch_size=128, lr=1e-2)), ("knn", TrainConfig(epochs=1))):
        model = build_model(name, None, prepared.shape, seed=0)
        result = train_model(model, train, val, config)
        out.append(Member(name, model.cpu().eval(), config, result.best_epoch))
    return out


def test_ridge_recovers_exact_linear_weights():
    x = np.random.default_rng(0).normal(size=(50, 2))
    intercept, weights = fit_ridge(x, 0.5 + x @ np.array([2.0, -1.0]), ridge=0.0)
    assert intercept == pytest.approx(0.5) and weights == pytest.approx([2.0, -1.0])


def test_blend_fits_weights_on_validation_rows_and_reports_a_cross_validated_mse(tiny_prepared):
    train, val = tiny_prepared.tensors("train"), tiny_prepared.tensors("val")
    trained = members(tiny_prepared)
    blend, result = fit_ensemble(
        "blend", CONFIG.model_copy(update={"refit": False}), trained, train, val, features=tiny_prepared.features
    )
    x = np.stack([predict(m.model, val) for m in trained], 1)
    intercept, weights = fit_ridge(x, val.rating.double().numpy(), 0.0)
    assert blend.weights.double().numpy() == pytest.approx(weights, abs=1e-5)
    in_sample = float(np.mean((np.clip(intercept + x @ weights, 0.5, 5.0) - val.rating.numpy()) ** 2))
    assert result.best_val_mse >= in_sample  # held-out folds cannot beat the in-sample fit
    for member in trained:  # without a refit the members are the trained ones, untouched
        assert np.array_equal(predict(blend.members[member.name], val), predict(member.model, val))


def test_refit_retrains_members_on_training_and_validation_rows(tiny_prepared):
    train, val = tiny_prepared.tensors("train"), tiny_prepared.tensors("val")
    trained = members(tiny_prepared)
    blend, _ = fit_ensemble("blend", CONFIG, trained, train, val, features=tiny_prepared.features)
    assert not torch.equal(blend.members["mf"].user_factors.weight, trained[0].model.user_factors.weight)
    assert len(blend.members["knn"].residual) == len(concat(train, val))  # the refit kNN saw both parts


def test_blend_checkpoint_round_trip(tiny_prepared, tmp_path):
    train, val = tiny_prepared.tensors("train"), tiny_prepared.tensors("val")
    blend, _ = fit_ensemble("blend", CONFIG, members(tiny_prepared), train, val, features=tiny_prepared.features)
    path = save_checkpoint(tmp_path / "b.pt", "blend", blend, tiny_prepared.user_vocab, tiny_prepared.movie_vocab)
    loaded = load_checkpoint(path).model
    assert np.array_equal(predict(blend, val), predict(loaded, val))


def test_blend_names_the_members_it_is_missing(tiny_prepared):
    train, val = tiny_prepared.tensors("train"), tiny_prepared.tensors("val")
    with pytest.raises(ValueError, match=r"needs trained members \['svdpp'\]"):
        fit_ensemble(
            "blend",
            BlendConfig(members=("mf", "svdpp")),
            members(tiny_prepared),
            train,
            val,
            features=tiny_prepared.features,
        )


def test_blend_scores_every_movie_as_its_forward_does(tiny_prepared):
    train, val = tiny_prepared.tensors("train"), tiny_prepared.tensors("val")
    blend, _ = fit_ensemble("blend", CONFIG, members(tiny_prepared), train, val, features=tiny_prepared.features)
    n, users = tiny_prepared.shape.n_movies, torch.tensor([1, 2, 0])
    with torch.no_grad():
        expected = torch.stack([blend(u.repeat(n), torch.arange(n)) for u in users])
        assert torch.allclose(blend.score_matrix(users), expected, atol=1e-5)


def test_a_refit_frees_each_handed_over_member_and_says_which_it_refits(tiny_prepared, caplog):
    """At 25M ratings the blend's memory is its members: the trained ones are the ensemble's own modules (not
    copies) and each is gone once its refit begins, so no second or third set of models is held."""
    train, val = tiny_prepared.tensors("train"), tiny_prepared.tensors("val")
    trained = []

    def handed_over():  # the caller keeps no reference to the members, as the train task does
        out = members(tiny_prepared)
        trained.extend(weakref.ref(m.model) for m in out)
        return out

    caplog.set_level(logging.INFO, logger="recsys")
    blend, _ = fit_ensemble("blend", CONFIG, handed_over(), train, val, features=tiny_prepared.features)
    assert len(trained) == 2 and [ref() for ref in trained] == [None, None]
    rows = len(concat(train, val).rating)
    refits = [m for m in caplog.messages if "refitting member" in m]
    assert [m.split(" on ")[0] for m in refits] == [
        "blend: refitting member mf (1/2)",
        "blend: refitting member knn (2/2)",
    ]
    assert all(f" on {rows} training + validation rows" in m for m in refits)
