"""The contract every model variant honours; a variant's test file only names the variant."""

import numpy as np
import torch

from recsys.data.tensors import ModelShape, RatingTensors
from recsys.data.vocab import fit_vocabulary
from recsys.evaluation.predictions import predict
from recsys.models import base, build_model, get_variant
from recsys.models.base import SQUASH_MARGIN
from recsys.models.checkpoint import load_checkpoint, save_checkpoint
from recsys.training.config import TrainConfig
from recsys.training.trainer import train_model
from tests.building import built

SHAPE = ModelShape(n_users=11, n_movies=21, rating_min=0.5, rating_max=5.0, rating_mean=3.5)


def batch(n=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    users = torch.randint(1, SHAPE.n_users, (n,), generator=g)
    movies = torch.randint(1, SHAPE.n_movies, (n,), generator=g)
    ratings = torch.randint(1, 11, (n,), generator=g).float() / 2
    return users, movies, ratings


def interactions():
    """Training rows for the models that read them (SVD++, AutoRec); ignored by the others."""
    return RatingTensors(*batch(200, seed=9))


class ModelContract:
    variant: str
    config: dict | None = None  # overrides of the variant's default config, e.g. another mode

    def build(self, seed=0):
        return built(self.variant, self.config, SHAPE, seed=seed, interactions=interactions())

    def test_builds_from_default_config(self):
        """The registry's defaults, with the test's overrides, are the model's config (not merely its type)."""
        model = self.build()
        config_cls = get_variant(self.variant).config_cls
        expected = self.config if isinstance(self.config, config_cls) else config_cls(**(self.config or {}))
        assert model.config == expected

    def test_output_is_one_finite_rating_per_row_inside_the_range(self):
        model = self.build().eval()
        users, movies, _ = batch()
        out = model(users, movies)
        assert out.shape == (32,) and out.dtype == torch.float32
        assert torch.isfinite(out).all()
        assert (out >= 0.5 - SQUASH_MARGIN).all() and (out <= 5.0 + SQUASH_MARGIN).all()

    def test_untrained_model_predicts_near_the_training_mean(self):
        users, movies, _ = batch()
        with torch.no_grad():
            mean = float(self.build().eval()(users, movies).mean())
        assert abs(mean - SHAPE.rating_mean) < 0.25

    def test_state_dict_round_trip_gives_identical_predictions(self):
        users, movies, _ = batch()
        a = self.build(seed=1).eval()
        b = self.build(seed=2).eval()
        b.load_state_dict(a.state_dict())
        assert torch.equal(a(users, movies), b(users, movies))

    def test_same_seed_same_predictions_other_seed_other_predictions(self):
        users, movies, _ = batch()
        assert torch.equal(self.build(seed=5).eval()(users, movies), self.build(seed=5).eval()(users, movies))
        assert not torch.equal(self.build(seed=5).eval()(users, movies), self.build(seed=6).eval()(users, movies))

    def test_loss_falls_when_overfitting_a_tiny_batch(self):
        model = self.build()
        users, movies, ratings = batch()
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        losses = []
        for _ in range(150):
            loss = torch.nn.functional.mse_loss(model(users, movies), ratings) + model.penalty(users, movies)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert losses[-1] < 0.5 * losses[0]

    def test_score_matrix_equals_forward_on_every_pair(self):
        model = self.build(seed=4).eval()
        users = torch.tensor([0, 3, 1, 3])
        with torch.no_grad():
            expected = torch.stack([model(u.repeat(SHAPE.n_movies), torch.arange(SHAPE.n_movies)) for u in users])
            assert torch.allclose(model.score_matrix(users), expected, atol=1e-5)

    def test_score_matrix_in_chunks_of_users_gives_the_same_scores(self, monkeypatch):
        model = self.build(seed=4).eval()
        users = torch.tensor([0, 3, 1, 3, 2])
        with torch.no_grad():
            whole = model.score_matrix(users)
            monkeypatch.setattr(base, "SCORE_PAIRS", SHAPE.n_movies * 3 // 2)  # one user per forward
            assert torch.allclose(model.score_matrix(users), whole, atol=1e-6)

    def test_unknown_ids_get_finite_in_range_predictions_and_a_trained_slot(self, tiny_prepared):
        train = tiny_prepared.tensors("train")
        shape, features = tiny_prepared.shape, tiny_prepared.features
        model = built(self.variant, self.config, shape, seed=0, features=features, interactions=train)
        before = {k: v.clone() for k, v in model.state_dict().items()}
        config = TrainConfig(epochs=2, batch_size=64, unknown_id_rate=0.1, lr=1e-2)
        train_model(model, train, tiny_prepared.tensors("val"), config)
        model.cpu()  # the trainer leaves it on CUDA where there is one
        zeros = torch.zeros(4, dtype=torch.long)
        out = model.eval()(zeros, zeros)
        assert torch.isfinite(out).all() and (out > 0).all()
        first_tables = [k for k, v in before.items() if v.dim() == 2 and v.shape[0] == shape.n_users]
        assert first_tables, "expected a user embedding table"
        assert any(not torch.equal(before[k][0], model.state_dict()[k][0]) for k in first_tables)

    def test_checkpoint_round_trip(self, tmp_path):
        model = self.build(seed=3)
        users, movies = fit_vocabulary(np.arange(1, 11)), fit_vocabulary(np.arange(1, 21))
        path = save_checkpoint(tmp_path / "m.pt", self.variant, model, users, movies)
        loaded = load_checkpoint(path)
        u, m, r = batch()
        data = RatingTensors(u, m, r)
        assert loaded.variant == self.variant and np.array_equal(loaded.user_vocab.ids, users.ids)
        assert np.array_equal(predict(model, data), predict(loaded.model, data))


class DirectFitContract:
    """The contract of a model fitted in closed form (no gradient steps): the same promises, checked after a
    fit on the tiny split."""

    variant: str
    config: dict | None = None

    def fit(self, prepared):
        model = build_model(self.variant, self.config, prepared.shape, seed=0)
        result = train_model(model, prepared.tensors("train"), prepared.tensors("val"), TrainConfig(epochs=1))
        return model.cpu().eval(), result

    def test_builds_from_default_config(self):
        assert isinstance(build_model(self.variant, None, SHAPE, seed=0).config, get_variant(self.variant).config_cls)

    def test_fit_gives_one_finite_rating_per_row_inside_the_range(self, tiny_prepared):
        model, result = self.fit(tiny_prepared)
        val = tiny_prepared.tensors("val")
        out = model(val.user_idx, val.movie_idx)
        assert out.shape == (len(val),) and out.dtype == torch.float32 and torch.isfinite(out).all()
        assert (out >= 0.5 - SQUASH_MARGIN).all() and (out <= 5.0 + SQUASH_MARGIN).all()
        assert result.best_epoch == 1 and len(result.history) == 1

    def test_fit_beats_the_training_mean_on_validation_rows(self, tiny_prepared):
        model, result = self.fit(tiny_prepared)
        val = tiny_prepared.tensors("val")
        mean_mse = float(((val.rating - tiny_prepared.shape.rating_mean) ** 2).mean())
        assert result.best_val_mse < mean_mse

    def test_same_data_same_predictions(self, tiny_prepared):
        val = tiny_prepared.tensors("val")
        a, _ = self.fit(tiny_prepared)
        b, _ = self.fit(tiny_prepared)
        assert torch.equal(a(val.user_idx, val.movie_idx), b(val.user_idx, val.movie_idx))

    def test_unknown_ids_get_finite_in_range_predictions(self, tiny_prepared):
        model, _ = self.fit(tiny_prepared)
        zeros = torch.zeros(4, dtype=torch.long)
        out = model(zeros, zeros)
        assert torch.isfinite(out).all() and (out >= 0.5).all() and (out <= 5.0).all()

    def test_score_matrix_equals_forward_on_every_pair(self, tiny_prepared):
        model, _ = self.fit(tiny_prepared)
        n, users = tiny_prepared.shape.n_movies, torch.tensor([0, 3, 1, 3])
        with torch.no_grad():
            expected = torch.stack([model(u.repeat(n), torch.arange(n)) for u in users])
            assert torch.allclose(model.score_matrix(users), expected, atol=1e-5)

    def test_checkpoint_round_trip(self, tiny_prepared, tmp_path):
        model, _ = self.fit(tiny_prepared)
        path = save_checkpoint(
            tmp_path / "m.pt", self.variant, model, tiny_prepared.user_vocab, tiny_prepared.movie_vocab
        )
        loaded = load_checkpoint(path)
        val = tiny_prepared.tensors("val")
        assert loaded.variant == self.variant
        assert np.array_equal(predict(model, val), predict(loaded.model, val))
