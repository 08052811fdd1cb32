"""Scheduled retraining on growing data, for real: the oldest 90% of ml-latest-small's ratings as a first
release, all of them as the second. The second retrain trains (the data changed), compares the challenger
with the champion only on rows the champion never learned from, and decides by the gain's interval. Then a
URL source: retrain trains when the file behind the URL changed and skips when it did not."""

import functools
import http.server
import os
import re
import shutil
import threading
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from recsys import columns as C
from recsys.pipeline.config import apply_overrides
from tasks.runtime import CHAMPION, EXPERIMENT, REGISTERED_MODEL
from tests.conftest import run_config

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def releases(tmp_path_factory, real_data):
    """ml-growth-1: ratings up to the 90% time quantile; ml-growth-2: all of them (same movies)."""
    tmp = tmp_path_factory.mktemp("growth")
    ratings = pd.read_csv(real_data / "ratings.csv")
    cut = ratings["timestamp"].quantile(0.9)
    folders = []
    for name, rows in (("ml-growth-1", ratings[ratings["timestamp"] <= cut]), ("ml-growth-2", ratings)):
        folder = tmp / name
        folder.mkdir()
        shutil.copy(real_data / "movies.csv", folder / "movies.csv")
        rows.to_csv(folder / "ratings.csv", index=False)
        folders.append(folder)
    return folders


def parent_runs(client):
    experiment = client.get_experiment_by_name(EXPERIMENT)
    return client.search_runs([experiment.experiment_id], "tags.pipeline = 'train-all'")  # newest first


def learned_pairs(client, run_id) -> set:
    split = pd.read_parquet(client.download_artifacts(run_id, "data/split.parquet"))
    seen = split[split[C.SPLIT].isin([C.TRAIN, C.VAL])]
    return set(zip(seen[C.USER_ID], seen[C.MOVIE_ID], strict=True))


def test_new_data_is_compared_only_on_rows_the_champion_never_learned_from(harness, releases):
    from flows.retrain import retrain

    client = MlflowClient(os.environ["MLFLOW_TRACKING_URI"])
    first, second = releases
    config = run_config(first, ["mf"], epochs=3, analysis=False, **{"split.kind": "temporal_global"})
    assert retrain(config) == {"trained": True, "reason": "there is no champion yet"}
    (champion_run,) = parent_runs(client)
    assert champion_run.data.tags["promotion"] == "promoted: no champion yet"

    grown = config.with_source(str(second))
    outcome = retrain(grown)
    assert outcome["trained"] and outcome["reason"].startswith("the data changed")
    latest = parent_runs(client)[0]
    compared = pd.read_parquet(client.download_artifacts(latest.info.run_id, "promotion/compared_rows.parquet"))
    test = pd.read_parquet(client.download_artifacts(latest.info.run_id, "data/split.parquet")).query("split == 'test'")
    assert len(compared) == len(test) == 20001  # a later time cut: every test row is new to the champion
    assert not set(zip(compared[C.USER_ID], compared[C.MOVIE_ID], strict=True)) & learned_pairs(
        client, champion_run.info.run_id
    )
    promoted = check_decision_follows_the_rule(client, latest, compared)
    again = retrain(grown)  # nothing changed: skipped, as current (promoted) or as already tried (kept)
    assert not again["trained"]
    if promoted:
        assert again["reason"] == "champion is current"
    else:
        assert again["reason"].startswith(f"already tried: run {latest.info.run_id[:8]}")


def test_a_random_split_of_the_new_data_drops_the_rows_the_champion_learned(harness, releases):
    from flows.retrain import retrain

    client = MlflowClient(os.environ["MLFLOW_TRACKING_URI"])
    champion = client.get_model_version_by_alias(REGISTERED_MODEL, CHAMPION)
    champion_parent = client.get_run(champion.tags["run_id"]).data.tags["mlflow.parentRunId"]
    config = run_config(releases[1], ["mf"], epochs=3, analysis=False)  # the study's random 80/20 split
    reason = retrain(config)["reason"]  # the champion is the first release's, or the grown one's
    assert reason.startswith("the settings changed") or reason.startswith("the data changed"), reason
    latest = parent_runs(client)[0]
    compared = pd.read_parquet(client.download_artifacts(latest.info.run_id, "promotion/compared_rows.parquet"))
    assert 2000 <= len(compared) < 20001 * 0.5  # most random test rows were in the champion's training rows
    assert not set(zip(compared[C.USER_ID], compared[C.MOVIE_ID], strict=True)) & learned_pairs(client, champion_parent)
    check_decision_follows_the_rule(client, latest, compared)


@pytest.mark.parametrize(
    ("name", "change", "failed"),
    [
        ("ml-half", lambda r: r.sample(frac=0.5, random_state=0), "expect_table_row_count_to_be_between(table)"),
        (
            "ml-shifted",
            lambda r: r.assign(rating=r["rating"].where(r["rating"] < 3.5, 5.0)),
            "expect_column_kl_divergence_to_be_less_than(rating)",
        ),
        (
            "ml-strangers",
            lambda r: r.assign(userId=r["userId"] + 100_000),
            "expect_column_values_to_be_in_set(user_id)",
        ),
    ],
)
def test_a_release_unlike_the_accepted_one_is_not_trained_on(harness, releases, tmp_path, name, change, failed):
    """Issue 20, finding 10: nothing checked a new release before the daily retrain trained on it. Now half the
    ratings, a shifted rating distribution or mostly unknown users stop the flow, with the report in MLflow,
    and leave the champion alone."""
    from flows.retrain import retrain
    from tasks.retrain import ReleaseGateFailed

    client = MlflowClient(os.environ["MLFLOW_TRACKING_URI"])
    champion = client.get_model_version_by_alias(REGISTERED_MODEL, CHAMPION).version
    folder = tmp_path / name
    folder.mkdir()
    shutil.copy(releases[1] / "movies.csv", folder / "movies.csv")
    change(pd.read_csv(releases[1] / "ratings.csv")).to_csv(folder / "ratings.csv", index=False)
    config = run_config(folder, ["mf"], epochs=3, analysis=False)
    before = len(parent_runs(client))
    with pytest.raises(ReleaseGateFailed, match=r"the release gate failed: .*" + re.escape(failed)):
        retrain(config)
    assert len(parent_runs(client)) == before  # nothing trained
    assert client.get_model_version_by_alias(REGISTERED_MODEL, CHAMPION).version == champion
    experiment = client.get_experiment_by_name(EXPERIMENT).experiment_id
    gate = client.search_runs([experiment], "tags.pipeline = 'release-gate'")[0]
    assert gate.data.tags["release_gate"] == "failed" and "release_rows" in gate.data.metrics
    note = Path(client.download_artifacts(gate.info.run_id, "release_gate.md")).read_text()
    assert "## Release gate: FAILED" in note and "| **no** |" in note
    if name == "ml-half":  # someone who knows the release is right lets it through, and it is recorded
        outcome = retrain(config, accept_release="alice: GroupLens cut this release in half on purpose")
        assert outcome["trained"]
        accepted = client.search_runs([experiment], "tags.pipeline = 'release-gate'")[0]
        assert accepted.data.tags["accepted_by"] == "alice: GroupLens cut this release in half on purpose"


def check_decision_follows_the_rule(client, run, compared):
    """Promoted exactly when the paired interval's lower bound of the gain exceeds the margin (0)."""
    from recsys.evaluation.promotion import PromotionConfig, compare

    c = compare(
        compared[C.RATING].to_numpy(),
        compared["challenger"].to_numpy(),
        compared["champion"].to_numpy(),
        compared[C.USER_ID].to_numpy(),
        "unseen rows",
        "",
        PromotionConfig(),
        seed=int(run.data.params["split_seed"]),
    )
    tag = client.get_run(run.info.run_id).data.tags["promotion"]
    print(f"promotion decision: {tag}")  # the figures the closing notes quote (pytest -s or -rP shows them)
    assert tag.startswith("promoted" if c.gain_low > 0 else "kept"), tag
    return c.gain_low > 0
    assert f"gain {c.gain:+.4f} [{c.gain_low:+.4f}, {c.gain_high:+.4f}] on {len(compared)} rows of" in tag


def test_a_url_source_trains_when_the_file_changed_and_skips_when_it_did_not(harness, tiny_release, tmp_path):
    from flows.retrain import retrain

    served = tmp_path / "served"
    served.mkdir()

    def publish(ratings_csv: str) -> None:
        with zipfile.ZipFile(served / "ml-tiny.zip", "w") as archive:
            archive.writestr("ml-tiny/movies.csv", (tiny_release / "movies.csv").read_text())
            archive.writestr("ml-tiny/ratings.csv", ratings_csv)

    ratings = (tiny_release / "ratings.csv").read_text()
    publish(ratings)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://reader:s3cret@127.0.0.1:{server.server_address[1]}/ml-tiny.zip?signature=abc123"
        # a tiny synthetic release after the real ones: the release gate would (rightly) stop it, so it is opened
        loose = {"release_gate.min_rows_share": 1e-6, "release_gate.max_rating_divergence": 1e9}
        loose |= {"release_gate.max_unknown_users": 1.0, "release_gate.max_unknown_movies": 1.0}
        config = apply_overrides(
            run_config(url, ["mf"], epochs=1, analysis=False), {"promotion.min_compared_rows": 1} | loose
        )
        assert retrain(config)["trained"]
        client = MlflowClient(os.environ["MLFLOW_TRACKING_URI"])
        run = client.search_runs(
            [client.get_experiment_by_name(EXPERIMENT).experiment_id], "tags.pipeline = 'train-all'"
        )[0]
        written = (
            str(run.data.params)
            + str(run.data.tags)
            + open(client.download_artifacts(run.info.run_id, "config.yaml")).read()
        )
        cached = " ".join(str(p) for p in (Path(os.environ["RECSYS_WORKDIR"]) / "cache").rglob("*"))
        assert "s3cret" not in written + cached and "abc123" not in written + cached  # credentials never written
        assert "127.0.0.1" in written  # the source itself is recorded, redacted
        unchanged = retrain(config)  # 304: not changed; skipped (current if promoted, already tried if kept)
        assert not unchanged["trained"] and unchanged["reason"].split(":")[0] in (
            "champion is current",
            "already tried",
        )
        publish(ratings + "1,2,4.0,1400000000\n")  # one more rating (a pair not rated before by user 1)
        os.utime(served / "ml-tiny.zip", (2_000_000_000, 2_000_000_000))  # a later Last-Modified
        assert retrain(config)["reason"].startswith("the data changed")
    finally:
        server.shutdown()
        server.server_close()
