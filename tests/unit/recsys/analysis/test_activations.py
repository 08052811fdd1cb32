import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from recsys import columns as C
from recsys.analysis.activations import (
    catalogue_rows,
    collect_activations,
    dataset_averages,
    hidden_layer,
    hidden_layer_name,
    movie_catalogue,
    movie_clusters,
    unit_table,
    unit_top_rows,
)
from recsys.data.features import build_features
from recsys.data.synthetic import make_movies
from recsys.data.vocab import fit_vocabulary
from recsys.models import VARIANTS, build_model
from tests.unit.recsys.models.contract import SHAPE

HOOK_POINTS = {"lstm": "recurrent_out", "gru": "recurrent_out", "bilstm": "recurrent_out"}
HOOK_POINTS |= {"wide_deep": "deep_out", "baseline": "hidden_out", "mf": None}
UNITS = {"lstm": 50, "gru": 50, "bilstm": 100, "wide_deep": 32, "baseline": 70}


def all_pairs(n_users: int, n_movies: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every (user, movie) pair of known indices, user-major: (n_users-1) * (n_movies-1) rows."""
    users, movies = torch.meshgrid(torch.arange(1, n_users), torch.arange(1, n_movies), indexing="ij")
    return users.reshape(-1), movies.reshape(-1)


def test_the_study_variants_expose_their_hidden_layer_at_the_expected_width():
    assert set(HOOK_POINTS) <= set(VARIANTS)
    users, movies = all_pairs(3, 5)
    for name, attribute in HOOK_POINTS.items():
        model = build_model(name, None, dataclasses.replace(SHAPE, n_genres=2), seed=0)
        assert hidden_layer_name(model) == attribute
        if attribute is None:
            assert hidden_layer(model) is None
            continue
        assert hidden_layer(model) is getattr(model, attribute)
        assert collect_activations(model, hidden_layer(model), users, movies).shape == (8, UNITS[name])


def test_the_hidden_layer_is_what_the_model_declares_not_an_attribute_name():
    assert hidden_layer(torch.nn.Linear(2, 2)) is None  # not a rating model
    model = build_model("mf", None, SHAPE, seed=0)
    model.hidden_out = torch.nn.Identity()  # a stray module named like a hook point does not count
    assert hidden_layer(model) is None and hidden_layer_name(model) is None


def test_activations_match_the_layer_output_batch_by_batch_and_the_hook_goes():
    model = build_model("baseline", None, SHAPE, seed=0).train()
    users, movies = all_pairs(SHAPE.n_users, SHAPE.n_movies)  # 200 rows
    acts = collect_activations(model, model.hidden_out, users, movies, batch_size=64)
    with torch.no_grad():
        x = torch.cat([model.user_emb(users), model.movie_emb(movies)], dim=1)
        expected = torch.relu(model.hidden(x)).numpy()  # eval mode: no dropout
    np.testing.assert_allclose(acts, expected, rtol=1e-6, atol=1e-6)
    assert acts.dtype == np.float32 and not model.hidden_out._forward_hooks
    assert model.training  # the caller's mode is restored


class Boom(torch.nn.Module):
    def forward(self, h):
        raise RuntimeError("boom")


def test_the_hook_is_removed_when_forward_raises_after_the_layer_ran():
    model = build_model("gru", None, SHAPE, seed=0).train()
    model.out = Boom()
    users, movies = all_pairs(3, 3)
    with pytest.raises(RuntimeError, match="boom"):
        collect_activations(model, model.recurrent_out, users, movies)
    assert not model.recurrent_out._forward_hooks and model.training


def test_a_layer_outside_the_forward_pass_is_refused():
    model = build_model("baseline", None, SHAPE, seed=0)
    with pytest.raises(ValueError, match="used in model.forward"):
        collect_activations(model, torch.nn.Identity(), *all_pairs(3, 3))


def tiny_catalogue(tiny_prepared):
    return movie_catalogue(tiny_prepared.movie_vocab, make_movies(60, seed=3), tiny_prepared.features)


def test_a_planted_unit_that_fires_for_one_movie_lists_that_movie_first(tiny_prepared):
    catalogue = tiny_catalogue(tiny_prepared)
    shape = tiny_prepared.shape
    model = build_model("baseline", {"dim": 2, "hidden": 3}, shape, seed=0)
    planted = 7
    with torch.no_grad():  # unit 1 = relu(4 * e_m[0]); e_m[0] is 1 for the planted movie, -1 for all others
        model.hidden.weight.zero_(), model.hidden.bias.zero_()
        model.hidden.weight[1, 2] = 4.0  # input 2 = the movie embedding's first coordinate
        model.movie_emb.weight[:, 0] = -1.0
        model.movie_emb.weight[planted, 0] = 1.0
    users, movies = all_pairs(6, shape.n_movies)
    acts = collect_activations(model, hidden_layer(model), users, movies)
    top = unit_top_rows(acts, movies.numpy(), top=10)
    tables = unit_table(top, catalogue)
    unit1 = tables.movies[tables.movies["unit"] == 1]
    assert top[top["unit"] == 1]["movie_idx"].tolist()[:5] == [planted] * 5  # 5 users x the planted movie
    assert unit1.iloc[0]["movie_idx"] == planted and unit1.iloc[0]["max_activation"] == pytest.approx(4.0)
    assert unit1.iloc[0][C.TITLE] == catalogue.loc[planted, C.TITLE]
    assert unit1.iloc[0][C.MOVIE_ID] == tiny_prepared.movie_vocab.decode(np.array([planted]))[0]
    row = tables.units.set_index("unit").loc[1]  # the planted movie, and the first 5 movies of the zero rows
    assert row["n_movies"] == 6 and unit1["movie_idx"].tolist() == [planted, 1, 2, 3, 4, 5]
    assert row["avg_rating"] == pytest.approx(catalogue.loc[[planted, 1, 2, 3, 4, 5], "mean_rating"].mean())
    assert row["dataset_rating"] == pytest.approx(dataset_averages(catalogue)[C.RATING])


def test_top_rows_by_hand():
    acts = np.array([[1.0, 0.0], [3.0, 0.5], [2.0, 0.5], [0.0, 9.0]], dtype=np.float32)
    top = unit_top_rows(acts, [5, 6, 5, 7], top=3)
    assert top["unit"].tolist() == [0, 0, 0, 1, 1, 1]
    assert top["row"].tolist() == [1, 2, 0, 3, 1, 2]  # ties keep row order
    assert top["movie_idx"].tolist() == [6, 5, 5, 7, 6, 5]
    assert top["activation"].tolist() == [3.0, 2.0, 1.0, 9.0, 0.5, 0.5]


def four_movies():
    """Four movies: one title with an inner parenthesis, one without a year, one with HTML-ish characters."""
    train = pd.DataFrame({C.USER_ID: [1, 1, 1, 2, 2], C.MOVIE_ID: [10, 20, 30, 10, 40], C.RATING: [4.0, 3, 2, 5, 1]})
    movies = pd.DataFrame(
        {
            C.MOVIE_ID: [10, 20, 30, 40],
            C.TITLE: ["Shadows (Ombres) (1959)", "Untitled", "Amélie & <b> (2001)", "Zeta (2010) "],
            C.GENRES: [["Drama"], ["Comedy"], ["Comedy", "Romance"], []],
        }
    )
    users, items = fit_vocabulary(train[C.USER_ID]), fit_vocabulary(train[C.MOVIE_ID])
    return movie_catalogue(items, movies, build_features(train, movies.assign(year=None), users, items))


def test_catalogue_parses_years_from_titles_and_joins_training_ratings():
    catalogue = four_movies()
    assert catalogue.index.tolist() == [1, 2, 3, 4]
    assert catalogue[C.YEAR].tolist()[0] == 1959 and np.isnan(catalogue[C.YEAR][2])
    assert catalogue[C.YEAR].tolist()[2:] == [2001, 2010]
    assert catalogue["mean_rating"].tolist() == [4.5, 3.0, 2.0, 1.0]
    assert catalogue["main_genre"].tolist() == ["Drama", "Comedy", "Comedy", "(no genres listed)"]
    assert dataset_averages(catalogue) == {C.YEAR: pytest.approx((1959 + 2001 + 2010) / 3), C.RATING: 2.625}


def test_unknown_slot_and_missing_movies_fail_loudly():
    catalogue = four_movies()
    with pytest.raises(ValueError, match="unknown slot"):
        catalogue_rows(catalogue, [1, 0])
    features = build_features(
        pd.DataFrame({C.USER_ID: [1], C.MOVIE_ID: [99], C.RATING: [3.0]}),
        pd.DataFrame({C.MOVIE_ID: [99], C.YEAR: [None], C.GENRES: [["Drama"]]}),
        fit_vocabulary([1]),
        fit_vocabulary([99]),
    )
    with pytest.raises(ValueError, match="not in the movies table"):
        movie_catalogue(fit_vocabulary([99]), pd.DataFrame({C.MOVIE_ID: [1], C.TITLE: ["x"], C.GENRES: [[]]}), features)


def test_movie_clusters_on_a_hand_made_matrix():
    acts = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0], [0.0, 0.0], [0.5, 0.5]])
    clusters = movie_clusters(acts, [5, 5, 6, 7, 8])
    assert clusters["movie_idx"].tolist() == [5, 6, 7, 8]
    assert clusters["cluster"].tolist() == [0, 1, -1, -1]  # movie 5 averages (2, 0); 7 and 8 tie
    assert clusters["strength"].tolist() == [2.0, 2.0, 0.0, 0.5]


def test_standardised_clusters_let_a_unit_of_small_scale_win():
    # movie means: unit 0 (10, 0, 0, 2), unit 1 (0, 1, 0, 0.5); raw, the large unit 0 takes movie 8; z-scored
    # (unit 0: mean 3, sd 4.12; unit 1: mean 0.375, sd 0.41) movie 8 is -0.24 on unit 0 and +0.30 on unit 1
    acts = np.array([[10.0, 0.0], [0.0, 1.0], [0.0, 0.0], [2.0, 0.5]])
    assert movie_clusters(acts, [5, 6, 7, 8])["cluster"].tolist() == [0, 1, -1, 0]
    z = movie_clusters(acts, [5, 6, 7, 8], standardise=True)
    assert z["cluster"].tolist() == [0, 1, 0, 1]
    assert z["strength"][3] == pytest.approx((0.5 - 0.375) / np.std([0, 1, 0, 0.5]))
