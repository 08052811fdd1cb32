"""The ranking family end to end on the real ml-latest-small: train-all trains rankers beside a rating model,
registers them as movielens-topn with its own champion, the report shows them, and ``recsys recommend``
answers with the top-N champion, for a known user, a new user's ratings (fold-in), a title, and every user."""

import os

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from recsys import columns as C
from tasks.runtime import CHALLENGER, CHAMPION, EXPERIMENT, REGISTERED_MODEL, TOPN_MODEL
from tests.conftest import run_config

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def trained(harness, real_data):
    from flows.train_all import train_all

    config = run_config(real_data, ["mf", "pop", "ease", "ials"], epochs=1, **{"rankers.ease.grid": {}})
    train_all(config)
    client = MlflowClient(os.environ["MLFLOW_TRACKING_URI"])
    experiment = client.get_experiment_by_name(EXPERIMENT)
    (parent,) = client.search_runs([experiment.experiment_id], "tags.pipeline = 'train-all'")
    return client, parent


def ranker_runs(client, parent):
    query = f"tags.mlflow.parentRunId = '{parent.info.run_id}' and tags.family = 'topn'"
    return {r.data.tags["variant"]: r for r in client.search_runs([parent.info.experiment_id], query)}


def test_rankers_are_chosen_on_validation_tested_once_and_beat_popularity(trained):
    client, parent = trained
    runs = ranker_runs(client, parent)
    assert set(runs) == {"pop", "ease", "ials"}
    for run in runs.values():
        metrics = run.data.metrics
        assert metrics["test_users"] > 600 and metrics["test_ndcg_at_10_low"] < metrics["test_ndcg_at_10"]
        assert {"test_precision_at_10", "test_recall_at_20", "test_map_at_10", "test_coverage"} <= set(metrics)
    tried = client.get_metric_history(runs["ials"].info.run_id, "val_ndcg_at_10")
    assert len(tried) == 12  # every candidate of its default grid (2 x 3 x 2), on validation rows
    best = max(runs, key=lambda v: runs[v].data.metrics["best_val_ndcg@10".replace("@", "_at_")])
    pop = runs["pop"].data.metrics
    assert runs[best].data.metrics["test_ndcg_at_10_low"] > pop["test_ndcg_at_10_high"]  # clear of popularity
    champion = client.get_model_version_by_alias(TOPN_MODEL, CHAMPION)
    assert champion.tags["variant"] == best == client.get_model_version_by_alias(TOPN_MODEL, CHALLENGER).tags["variant"]
    assert client.get_run(parent.info.run_id).data.tags["topn_promotion"].startswith("promoted: no champion yet")


def test_the_report_has_the_top_n_section_with_its_chart(trained, tmp_path):
    client, parent = trained
    page = open(client.download_artifacts(parent.info.run_id, "report/report.html", str(tmp_path))).read()
    assert "Top-N models (movielens-topn)" in page and "rankers.png" not in page  # the chart is embedded
    rankers = pd.read_csv(client.download_artifacts(parent.info.run_id, "report/rankers.csv", str(tmp_path)))
    assert set(rankers["variant"]) == {"pop", "ease", "ials"}


def test_recommend_answers_with_the_top_n_champion_leaving_out_what_the_user_rated(trained, capsys):
    from cli.main import main

    client, parent = trained
    champion = client.get_model_version_by_alias(TOPN_MODEL, CHAMPION)
    assert main(["recommend", "--user", "1", "-n", "5", "--explain"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert f"answered by {champion.tags['variant']} (movielens-topn v{champion.version}" in out[0]
    split = pd.read_parquet(client.download_artifacts(parent.info.run_id, "data/split.parquet"))
    learned = split[(split[C.USER_ID] == 1) & split[C.SPLIT].isin(["train", "val"])][C.MOVIE_ID]
    listed = {int(line.split()[0]) for line in out[2:7]}
    assert len(listed) == 5 and not listed & set(learned) and out[8].startswith("why:")
    assert main(["recommend", "--user", "1", "-n", "3", "--by", "rating"]) == 0
    rating = client.get_model_version_by_alias(REGISTERED_MODEL, CHAMPION)
    assert f"answered by {rating.tags['variant']} (movielens-rating" in capsys.readouterr().out.splitlines()[0]


def test_a_new_users_ratings_are_folded_in_and_never_recommended_back(trained, capsys):
    from cli.main import main

    assert main(["recommend", "--ratings", "858=5,1196=4.5,2571=4", "-n", "10"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "a new user who rated 3 movies" in out[0] and "(fold-in)" in out[0]
    listed = {int(line.split()[0]) for line in out[7:17]}
    assert len(listed) == 10 and not listed & {858, 1196, 2571}
    assert main(["recommend", "--ratings", "858=5,99999999=4"]) == 2  # a movie no model knows: named
    assert "99999999" in capsys.readouterr().err


def test_titles_answer_when_they_name_one_movie_and_list_the_matches_when_not(trained, capsys):
    from cli.main import main

    assert main(["recommend", "--title", "Godfather"]) == 2
    err = capsys.readouterr().err
    assert "movies match 'Godfather'" in err and "858: Godfather, The (1972)" in err and "1221:" in err
    assert main(["recommend", "--title", "Godfather, The", "-n", "3"]) == 0  # the title without its year
    listed = [int(line.split()[0]) for line in capsys.readouterr().out.splitlines()[5:]]
    assert len(listed) == 3 and 858 not in listed  # the loved movie is not recommended back
    assert main(["similar", "--title", "Toy Story (1995)", "-n", "3"]) == 0
    assert "Toy Story" in capsys.readouterr().out.splitlines()[0]
    assert main(["similar", "--title", "Toy Stroy"]) == 2
    assert "closest" in capsys.readouterr().err


def test_every_users_list_goes_to_one_file(trained, tmp_path, capsys):
    from cli.main import main

    out = tmp_path / "recs.parquet"
    assert main(["recommend", "--all-users", "--out", str(out), "-n", "10"]) == 0
    lists = pd.read_parquet(out)
    assert lists[C.USER_ID].nunique() == 671 and len(lists) == 6710
    assert lists.groupby(C.USER_ID)["rank"].apply(list).map(lambda r: r == list(range(1, 11))).all()
    assert main(["recommend", "--all-users"]) == 2  # no --out: said, not guessed


def test_a_weaker_ranker_does_not_take_the_champion(trained, real_data):
    from flows.train_all import train_all

    client, _ = trained
    before = client.get_model_version_by_alias(TOPN_MODEL, CHAMPION)
    train_all(run_config(real_data, ["pop"], analysis=False))
    assert client.get_model_version_by_alias(TOPN_MODEL, CHAMPION).version == before.version
    experiment = client.get_experiment_by_name(EXPERIMENT)
    latest = client.search_runs([experiment.experiment_id], "tags.pipeline = 'train-all'", max_results=1)[0]
    tag = latest.data.tags["topn_promotion"]
    assert tag.startswith("kept: the NDCG@10 gain's 95% lower bound") and "as registered" in tag
