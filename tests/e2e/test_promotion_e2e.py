"""Promotion when things go wrong, on the real ml-latest-small under Prefect's test harness (issue 20,
finding 8): a broken model never becomes the first champion, the same losing settings are not retrained on
unchanged data, and a champion whose evidence is gone is re-established or kept with the reason recorded,
never a pipeline that fails."""

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from mlflow.tracking import MlflowClient

from tasks.runtime import EXPERIMENT, REGISTERED_MODEL
from tests.conftest import run_config

pytestmark = pytest.mark.e2e
GATE = {"promotion.gate": "biases"}  # the default of `recsys train-all`, which run_config turns off


@pytest.fixture(scope="module")
def client(harness) -> MlflowClient:
    return MlflowClient(os.environ["MLFLOW_TRACKING_URI"])


def latest_parent(client):
    experiment = client.get_experiment_by_name(EXPERIMENT).experiment_id
    return client.search_runs([experiment], "tags.pipeline = 'train-all'", max_results=1)[0]


def champion_or_none(client):
    from tasks.champion import champion_of

    return champion_of(REGISTERED_MODEL, client)


def artifact_file(client, run_id: str, path: str) -> Path:
    uri = client.get_run(run_id).info.artifact_uri
    return Path(unquote(urlparse(uri).path) if uri.startswith("file:") else uri) / path


def note_of(client, run_id: str) -> str:
    return Path(client.download_artifacts(run_id, "promotion.md")).read_text()


def test_a_model_worse_than_biases_alone_never_becomes_the_first_champion_and_is_not_retried(client, real_data):
    """An mf at a learning rate of 1e-6 barely moves from its start (MSE ~1.1, biases alone ~0.80): it was
    promoted as "no champion yet". Now it is kept out by the absolute gate, its version stays registered
    (decided), and the scheduled retrain of the same settings on the same data says "already tried"."""
    from flows.retrain import retrain

    config = run_config(real_data, ["mf"], epochs=1, analysis=False, **{"variants.mf.train.lr": 1e-6, **GATE})
    assert retrain(config) == {"trained": True, "reason": "there is no champion yet"}
    run = latest_parent(client)
    assert run.data.tags["promotion"].startswith("kept: the absolute gate failed: MSE 1."), run.data.tags["promotion"]
    assert "does not beat the biases-only baseline's 0.79" in run.data.tags["promotion"]
    assert champion_or_none(client) is None
    (version,) = client.search_model_versions(f"name = '{REGISTERED_MODEL}'")
    assert version.tags["promotion"] == "decided"  # nothing lost: the model is kept, just not served

    again = retrain(config)
    assert not again["trained"] and again["reason"].startswith(f"already tried: run {run.info.run_id[:8]}")
    assert latest_parent(client).info.run_id == run.info.run_id  # no new train-all run
    assert retrain(config, force=True)["trained"]  # force still trains


def test_a_champion_whose_split_is_gone_is_re_established_by_retraining_its_recipe(client, real_data):
    """The champion's run lost split.parquet: every later promotion failed reading it. Now its recipe is
    retrained on this run's split and both are compared on this run's test rows."""
    from flows.train_all import train_all

    train_all(run_config(real_data, ["mf"], epochs=6, analysis=False, **GATE))  # test MSE ~0.78, biases alone ~0.80
    champion = champion_or_none(client)
    assert champion is not None and latest_parent(client).data.tags["promotion"] == "promoted: no champion yet"
    champion_parent = client.get_run(champion.tags["run_id"]).data.tags["mlflow.parentRunId"]
    split = artifact_file(client, champion_parent, "data/split.parquet")
    assert split.exists()
    split.unlink()

    train_all(run_config(real_data, ["mf"], epochs=1, analysis=False, **GATE))
    run = latest_parent(client)
    assert run.info.status == "FINISHED"
    assert run.data.tags["promotion"].startswith("kept"), run.data.tags["promotion"]  # one epoch: it loses
    note = note_of(client, run.info.run_id)
    assert "no longer holds data/split.parquet" in note and "Rule applied: **retrained recipe**" in note


def test_a_champion_whose_recipe_no_longer_validates_is_kept_with_the_reason(client, real_data):
    """With its split gone and a config.yaml that no longer validates (a field since removed), the champion
    cannot be compared: it stays, the run finishes and says why."""
    from flows.train_all import train_all

    champion = champion_or_none(client)
    champion_parent = client.get_run(champion.tags["run_id"]).data.tags["mlflow.parentRunId"]
    config = artifact_file(client, champion_parent, "config.yaml")
    config.write_text(config.read_text() + "a_field_since_removed: 3\n")

    train_all(run_config(real_data, ["mf"], epochs=1, analysis=False, **GATE))
    run = latest_parent(client)
    assert run.info.status == "FINISHED"
    tag = run.data.tags["promotion"]
    assert tag.startswith("kept: the champion cannot be compared on this run's rows and is kept"), tag
    assert "config.yaml no longer validates" in tag
    assert champion_or_none(client).version == champion.version
