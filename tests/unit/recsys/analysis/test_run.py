"""The run analysis on a tiny seeded run: every table, the hidden-unit sections, the maps and the claims."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from recsys import columns as C
from recsys.analysis.claims import best_epochs, overfitting_gap, study_claims
from recsys.analysis.run import RunData, analyze_run, draw_movie_maps, movie_vectors
from recsys.analysis.verdict import Verdict
from recsys.data.synthetic import make_movies
from recsys.training.config import TrainConfig
from recsys.training.trainer import train_model
from tests.building import built

VARIANTS = ("mf", "baseline", "wide_deep", "knn")


@pytest.fixture(scope="module")
def run_data():
    from recsys.data.split import SplitConfig
    from recsys.data.synthetic import make_ratings
    from recsys.data.tensors import prepare_split

    movies = make_movies(60, seed=3)
    prepared = prepare_split(make_ratings(n_users=40, n_movies=60, n_ratings=1500, seed=3), movies, SplitConfig(seed=7))
    features, shape = prepared.features, prepared.shape
    train, val = prepared.tensors(C.TRAIN), prepared.tensors(C.VAL)
    models, histories = {}, {}
    for name in VARIANTS:
        model = built(name, None, shape, seed=0, features=features, interactions=train)
        result = train_model(model, train, val, TrainConfig(epochs=3, batch_size=128, lr=1e-2))
        models[name] = model.cpu().eval()
        histories[name] = pd.DataFrame([s.to_dict() for s in result.history])[["epoch", "train_mse", "val_mse"]]
    return RunData(
        prepared.split, movies, prepared.user_vocab, prepared.movie_vocab, features, models, histories, seed=7
    )


@pytest.fixture(scope="module")
def analysis(run_data, tmp_path_factory):
    return analyze_run(run_data, tmp_path_factory.mktemp("analysis"), log=lambda line: None, n_boot=200)


def test_every_variant_is_scored_with_intervals_breakdowns_and_ranking(analysis):
    board = analysis.leaderboard
    assert sorted(board["variant"]) == sorted(VARIANTS)
    assert ((board["mse_low"] <= board["mse"]) & (board["mse"] <= board["mse_high"])).all()
    assert set(analysis.breakdown["variant"]) == set(VARIANTS)
    assert set(analysis.breakdown["dimension"]) == {"user_activity", "movie_popularity"}
    assert analysis.ranking["ndcg"].between(0, 1).all()


def test_catalogue_top_ten_of_each_variant_beside_the_three_baselines(analysis):
    table = analysis.topn.set_index("model")
    assert sorted(table.index) == sorted([*VARIANTS, "most popular", "highest mean rating (shrunk)", "random"])
    assert set(table["kind"]) == {"variant", "baseline"} and table["users"].nunique() == 1
    for column in ("precision", "recall", "ndcg", "map", "hit_rate", "coverage", "gini"):
        assert table[column].between(0, 1).all(), column
    assert (table["hit_rate"] >= table["precision"]).all()
    assert table.loc["most popular", "coverage"] < table.loc["random", "coverage"]  # ten movies for everyone


def test_the_sanity_table_lists_five_neighbours_of_ten_well_known_movies(analysis, run_data):
    table = analysis.neighbours
    assert len(table) == 10 and list(table.columns) == ["movie", "1", "2", "3", "4", "5"]
    assert table["movie"].str.match(r".+ \(\d+\)$").all()  # title and its training ratings


def test_hidden_units_of_the_nets_only(analysis):
    assert sorted(analysis.units) == ["baseline", "wide_deep"]  # mf and knn have no hidden layer
    assert len(analysis.units["baseline"].units) == 70  # the dense layer's units


def test_movie_maps_have_four_colourings_and_an_interactive_page(run_data, analysis, tmp_path):
    from recsys.analysis.activations import movie_catalogue

    catalogue = movie_catalogue(run_data.movie_vocab, run_data.movies, run_data.features)
    maps = draw_movie_maps(run_data, catalogue, analysis.units, tmp_path, min_ratings=1)
    assert sorted(maps) == ["baseline", "wide_deep"]
    files = maps["baseline"]
    assert {"average rating", "release year", "main genre", "activation cluster", "html"} == set(files)
    assert all(path.exists() for path in files.values())
    assert movie_vectors(run_data.models["knn"]) is None


def test_claims_table_has_a_verdict_for_each_claim(analysis, run_data):
    claims = study_claims(analysis, run_data)
    assert len(claims) == 6
    assert all(isinstance(verdict, Verdict) for verdict in claims["verdict"])
    recurrent = claims[claims["claim"].str.startswith("The recurrent layer")].iloc[0]
    assert recurrent["verdict"] is Verdict.NOT_MEASURED  # this run has no recurrent variant


def test_best_epoch_and_overfitting_gap_by_hand():
    history = pd.DataFrame({"epoch": [1, 2, 3], "train_mse": [1.0, 0.6, 0.4], "val_mse": [1.1, 0.9, 0.95]})
    assert best_epochs({"a": history, "closed": history.head(1)}) == {"a": 2}
    assert overfitting_gap(unseen_mse=0.9, learned_mse=0.5) == pytest.approx(0.4)  # one model, both sides


def test_claims_rest_on_every_seed_and_say_when_there_is_only_one(analysis, run_data):
    import dataclasses

    from recsys.analysis.inputs import SeedRun

    one = study_claims(analysis, run_data).set_index("verdict", drop=False)
    embeddings = one[one["claim"].str.startswith("Embeddings matter")].iloc[0]
    assert embeddings["evidence"].startswith("the verdict rests on one split (seed 7")
    twin = SeedRun(8, run_data.split, dict(analysis.predictions))  # a second seed with the same numbers
    two = study_claims(analysis, dataclasses.replace(run_data, other_seeds=(twin,)))
    evidence = two[two["claim"].str.startswith("Embeddings matter")].iloc[0]["evidence"]
    assert evidence.startswith("2 splits (seeds 7, 8)") and "over 2 seeds, real in" in evidence
    assert "± 0.0000" in evidence  # the same gap on both seeds

    # the overfitting claims take a further seed's curves and fit of its learned rows when it has them
    from recsys.analysis.claims import learned_rows_mse

    nets = ("baseline", "wide_deep")
    learned = {n: learned_rows_mse(run_data, n) for n in nets}
    twin = SeedRun(8, run_data.split, dict(analysis.predictions), dict(run_data.histories), learned)
    two = study_claims(analysis, dataclasses.replace(run_data, other_seeds=(twin,))).set_index("claim")
    wide_deep = two.loc[two.index.str.startswith("Wide & Deep overfits")].iloc[0]
    assert "seed 7: " in wide_deep["evidence"] and "seed 8: " in wide_deep["evidence"]
    assert "the gap over 2 seeds: baseline" in wide_deep["evidence"] and "on each seed" in wide_deep["evidence"]
    assert wide_deep["verdict"] == one.set_index("claim").loc[wide_deep.name, "verdict"]  # twin seeds agree
    overfit = two.loc[two.index.str.startswith("Models overfit")].iloc[0]["evidence"]
    assert "baseline seed 8 best epoch" in overfit and "over 2 seeds" in overfit


def test_after_a_refit_the_biases_the_embeddings_are_judged_against_learn_from_the_same_rows(analysis, run_data):
    """Refitted models learned from training + validation rows: biases fitted on the training rows alone would
    be a weaker reference than the models had, and flatter the claim."""
    import re

    from recsys.analysis.claims import bias_only_predictions, embeddings_matter
    from recsys.data.split import rows_of
    from recsys.models.biases import biases_only_predictions

    refitted = dataclasses.replace(run_data, refit=True)
    test = rows_of(run_data.split, C.TEST)
    both = pd.concat([rows_of(run_data.split, C.TRAIN), rows_of(run_data.split, C.VAL)])
    assert np.allclose(bias_only_predictions(run_data.split, test, refitted), biases_only_predictions(both, test))
    assert np.array_equal(
        bias_only_predictions(run_data.split, test, run_data), bias_only_predictions(run_data.split, test)
    )
    _, _, before = embeddings_matter(analysis, run_data)
    _, _, after = embeddings_matter(analysis, refitted)
    assert "fitted on the training rows)" in before and "training + validation rows, as the refitted models" in after
    mse = [float(re.search(r"biases only \(.*?\): test MSE ([\d.]+)", e).group(1)) for e in (before, after)]
    assert mse[0] != mse[1]


def test_verdict_over_seeds_needs_a_real_gap_on_every_seed_and_partly_on_half():
    """Held: every variant on every seed; partly: at least half of those parts, not one part of many."""
    from recsys.analysis.claims import verdict_over_seeds

    real, noise = {"significant": True, "delta_mse": -0.01}, {"significant": False, "delta_mse": -0.001}
    worse = {"significant": True, "delta_mse": 0.01}  # real, but the wrong way
    assert verdict_over_seeds({"a": [real, real], "b": [real, real]}) is Verdict.HELD
    assert verdict_over_seeds({"a": [real, real], "b": [noise, worse]}) is Verdict.PARTLY
    assert verdict_over_seeds({"a": [real, noise], "b": [noise, noise]}) is Verdict.DID_NOT_HOLD  # 1 of 4
    assert verdict_over_seeds({"a": [noise, noise]}) is Verdict.DID_NOT_HOLD


def test_every_claim_states_its_rule_and_the_units_claim_names_the_nets_that_read_year_and_genre(analysis, run_data):
    from recsys.analysis.claims import RULE

    claims = study_claims(analysis, run_data)
    measured = claims[claims["verdict"] != Verdict.NOT_MEASURED]
    assert len(measured) >= 3 and all(RULE in evidence for evidence in measured["evidence"])
    units = claims[claims["claim"].str.startswith("Hidden units")].iloc[0]["evidence"]
    assert ("wide_deep takes release year and genres as inputs" in units) == ("wide_deep" in analysis.units)


def test_gap_intervals_resample_users_not_rows():
    """One row per user: the user bootstrap is the row bootstrap. Ten identical rows per user (the extreme of
    rows that are not independent): the row bootstrap believes it has ten times the evidence and gives an
    interval about sqrt(10) times too narrow; resampling users does not."""
    from recsys.analysis.claims import paired_gaps
    from recsys.evaluation.metrics.bootstrap import resampled_group_means, resampled_means

    rng = np.random.default_rng(0)
    values = rng.normal(size=(300, 2))
    assert np.allclose(resampled_group_means(values, np.arange(300), 200, 5), resampled_means(values, 200, 5))
    y = rng.uniform(1, 5, 60)
    a, b = y + rng.normal(0, 0.8, 60), y + rng.normal(0, 0.9, 60)
    repeat = lambda v: np.repeat(v, 10)  # noqa: E731
    users = repeat(np.arange(60))
    by_user = paired_gaps(repeat(y), {"a": repeat(a)}, repeat(b), 3, users)["a"]
    by_row = paired_gaps(repeat(y), {"a": repeat(a)}, repeat(b), 3, np.arange(600))["a"]
    width = lambda g: g["delta_mse_high"] - g["delta_mse_low"]  # noqa: E731
    assert by_user["delta_mse"] == pytest.approx(by_row["delta_mse"])
    assert 2.5 < width(by_user) / width(by_row) < 4.5


def test_saved_analysis_has_every_table_and_one_self_contained_report(run_data, analysis, tmp_path):
    from recsys.analysis.run import save_analysis

    rankers = pd.DataFrame(
        [
            {"variant": v, "users": 650, "val_ndcg@10": n / 2, "ndcg@10": n, "ndcg@10_low": n - 0.02}
            | {"ndcg@10_high": n + 0.02, "coverage": c, "novelty": 9.0}
            for v, n, c in (("ease", 0.29, 0.05), ("pop", 0.16, 0.007))
        ]
    )
    report = save_analysis(analysis, run_data, tmp_path, {"run id": "abc"}, rankers=rankers)
    for name in ("leaderboard", "breakdown", "ranking", "topn", "neighbours", "claims"):
        assert (tmp_path / f"{name}.parquet").exists() and (tmp_path / f"{name}.csv").exists()
    words = [verdict.value for verdict in analysis.claims["verdict"]]  # the tables hold the verdicts' words
    assert pd.read_parquet(tmp_path / "claims.parquet")["verdict"].tolist() == words
    assert pd.read_csv(tmp_path / "claims.csv")["verdict"].tolist() == words
    for name in ("units", "movies", "clusters"):
        assert (tmp_path / "units" / "baseline" / f"{name}.csv").exists()
    assert "| unit | top movies |" in (tmp_path / "units" / "wide_deep" / "summary.md").read_text()
    page = report.read_text()
    assert (tmp_path / "learning_curves.png").exists() and "data:image/png;base64," in page
    assert "http://" not in page and "https://" not in page and "Wide & Deep recommends" in page.replace("&amp;", "&")
    assert "Top-N models (movielens-topn)" in page and (tmp_path / "rankers.png").exists()
    assert "0.2900 [0.2700, 0.3100]" in page  # the ranker's NDCG@10 with its interval
    assert (
        "Top-10 of the rating models over the whole catalogue" in page
        and "Nearest neighbours of well-known movies" in page
    )


def test_paired_gaps_with_one_row_per_user_agree_with_the_metrics_paired_bootstrap():
    from recsys.analysis.claims import paired_gaps
    from recsys.evaluation.metrics import paired_bootstrap

    rng = np.random.default_rng(0)
    y = rng.integers(1, 11, 500) / 2
    a, b = y + rng.normal(0, 0.5, 500), y + rng.normal(0, 0.9, 500)
    mine = paired_gaps(y, {"a": a}, b, seed=3, users=np.arange(500))["a"]
    reference = paired_bootstrap(y, a, b, n_boot=1000, seed=3)
    for key in ("mse_a", "mse_b", "delta_mse", "delta_mse_low", "delta_mse_high", "significant"):
        assert mine[key] == pytest.approx(reference[key]), key


def test_the_studys_rating_matrix_map_is_an_option_with_its_own_report_section(run_data, tmp_path):
    from recsys.analysis.run import RATING_MATRIX, save_analysis

    analysis = analyze_run(run_data, tmp_path, log=lambda line: None, n_boot=50, rating_matrix_map=True)
    files = analysis.maps[RATING_MATRIX]
    assert {"average rating", "release year", "main genre", "html"} == set(files)
    assert all(path.exists() for path in files.values())
    page = save_analysis(analysis, run_data, tmp_path, {}).read_text()
    assert "raw rating matrix (study)" in page and 'href="maps/ratings-map.html"' in page


def test_the_analysis_reads_the_stored_models_one_at_a_time(run_data, tmp_path):
    """A step that still held the last model while the next one loaded had two in memory at once (at 25M
    ratings, knn and the blend with its five members)."""
    import gc
    import weakref

    from recsys.analysis.activations import movie_catalogue
    from recsys.analysis.recommendations import catalogue_topn
    from recsys.analysis.run import analyze_hidden_units, predict_test_rows
    from recsys.models.checkpoint import StoredModels, save_checkpoint

    class Watched(StoredModels):
        """Counts, at each load, the models read earlier that are still alive."""

        def __init__(self, paths):
            super().__init__(paths)
            self.earlier, self.alive_at_load = [], []

        def loaded(self, variant):
            if self._last is None or self._last.variant != variant:
                self._last = None
                gc.collect()
                self.alive_at_load.append(sum(ref() is not None for ref in self.earlier))
                self.earlier.append(weakref.ref(super().loaded(variant).model))
            return super().loaded(variant)

    vocabs = run_data.user_vocab, run_data.movie_vocab
    paths = {n: save_checkpoint(tmp_path / f"{n}.pt", n, m, *vocabs) for n, m in run_data.models.items()}
    models = Watched(paths)
    data = dataclasses.replace(run_data, models=models)
    predict_test_rows(data)
    analyze_hidden_units(data, movie_catalogue(data.movie_vocab, data.movies, data.features))
    catalogue_topn(data, 20)
    assert len(models.alive_at_load) >= 3 * len(VARIANTS) - 2  # each step reads every variant
    assert set(models.alive_at_load) == {0}


def test_the_overfitting_claim_can_fail_and_needs_a_rise_after_the_best_epoch():
    """Issue 22: the claim was "held" whenever every best epoch was <= 10, which a budget of 10 made certain.
    Now a study net overfits only when its validation MSE rises after a best epoch of 3-12."""
    from types import SimpleNamespace

    from recsys.analysis.claims import overfits_after_six_epochs
    from recsys.analysis.verdict import Verdict

    def history(values):
        return pd.DataFrame({"epoch": range(1, len(values) + 1), "val_mse": values})

    overfits = history([0.9, 0.85, 0.82, 0.80, 0.79, 0.795, 0.80, 0.81])  # best at 5, then +0.02
    budget_bound = history([0.9 - 0.01 * i for i in range(10)])  # still falling when its 10 epochs ran out
    judged = {
        "both overfit": {"lstm": overfits, "gru": overfits},
        "one of two": {"lstm": overfits, "gru": budget_bound},
        "budget-bound": {"lstm": budget_bound, "gru": budget_bound, "mf": overfits},  # mf: not a study net
    }

    def run(histories, others=()):
        return SimpleNamespace(histories=histories, seed=42, other_seeds=others)

    verdicts = {k: overfits_after_six_epochs(None, run(h))[1] for k, h in judged.items()}
    assert verdicts == {
        "both overfit": Verdict.HELD,
        "one of two": Verdict.PARTLY,
        "budget-bound": Verdict.DID_NOT_HOLD,
    }
    _, _, evidence = overfits_after_six_epochs(None, run(judged["one of two"]))
    assert "lstm best epoch 5, then +0.0200" in evidence and "gru best epoch 10, then +0.0000 (no)" in evidence

    # every seed of the run is a part: both nets overfit on seed 42, neither on seed 43 -> partly (2 of 4)
    seed_43 = SimpleNamespace(seed=43, histories={"lstm": budget_bound, "gru": budget_bound})
    verdict, evidence = overfits_after_six_epochs(None, run(judged["both overfit"], (seed_43,)))[1:]
    assert verdict == Verdict.PARTLY and "lstm seed 43 best epoch 10, then +0.0000 (no)" in evidence
    assert "best epoch over 2 seeds: lstm 7.5 ± 3.5" in evidence and "each study net on each seed" in evidence


def test_the_units_and_diversity_claims_take_every_seed(analysis, run_data, tmp_path):
    """A further seed's models are read again for its hidden units and its study nets' top-10 lists, and the
    two claims take each seed's nets and metrics as parts."""
    from recsys.analysis.inputs import SeedRun
    from recsys.analysis.run import analyze_other_seeds
    from recsys.models.checkpoint import save_checkpoint

    vocabs = run_data.user_vocab, run_data.movie_vocab
    paths = {n: save_checkpoint(tmp_path / f"{n}.pt", n, run_data.models[n], *vocabs) for n in run_data.models}
    twin = SeedRun(8, run_data.split, dict(analysis.predictions), dict(run_data.histories), {}, paths)
    data = dataclasses.replace(run_data, other_seeds=(twin,))
    (seed,) = analyze_other_seeds(data, 20)
    assert seed.seed == 8 and set(seed.units) == set(analysis.units)
    assert set(seed.topn["model"]) == {"baseline", "wide_deep"} and set(seed.topn["kind"]) == {"variant"}
    claims = study_claims(dataclasses.replace(analysis, other_seeds=(seed,)), data).set_index("claim")
    units = claims.loc[claims.index.str.startswith("Hidden units")].iloc[0]
    assert "baseline seed 8: R(rating, year)" in units["evidence"] and "over 2 seeds" in units["evidence"]
    assert "each net on each seed" in units["evidence"]
    diverse = claims.loc[claims.index.str.startswith("Wide & Deep recommends")].iloc[0]
    assert "(seed 8)" in diverse["evidence"] and "on each seed" in diverse["evidence"]
