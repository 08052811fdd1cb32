"""What a starting run does with versions another run left ``pending``, on a real sqlite MLflow store: it never
deletes a champion or the versions of a run that is still going; it completes a decision a dead run had
made, and deletes only the versions of a run that ended before deciding."""

import pytest
from mlflow.tracking import MlflowClient

from tasks.register import DECIDED, DECISION_TAG, PENDING, settle_undecided_versions
from tasks.runtime import CHAMPION, REGISTERED_MODEL


@pytest.fixture
def client(tmp_path) -> MlflowClient:
    client = MlflowClient(f"sqlite:///{tmp_path}/mlflow.db")
    client.create_registered_model(REGISTERED_MODEL)
    return client


def pipeline_with_version(client: MlflowClient, status: str, tags: dict[str, str] | None = None) -> str:
    """A pipeline run with one variant run (FINISHED, as after evaluation) whose model is registered
    ``pending``; the pipeline run ends with ``status`` (RUNNING: left open). Returns the version number."""
    experiment = client.get_experiment_by_name("Default").experiment_id
    pipeline = client.create_run(experiment, run_name="train-all", tags=tags or {}).info.run_id
    variant = client.create_run(experiment, run_name="mf", tags={"mlflow.parentRunId": pipeline}).info.run_id
    client.set_terminated(variant, "FINISHED")
    version = client.create_model_version(
        REGISTERED_MODEL,
        source=f"runs:/{variant}/model",
        run_id=variant,
        tags={"variant": "mf", "run_id": variant, DECISION_TAG: PENDING},
    ).version
    if status != "RUNNING":
        client.set_terminated(pipeline, status)
    return version


def decision_of(client: MlflowClient, version: str) -> str:
    return client.get_model_version(REGISTERED_MODEL, version).tags[DECISION_TAG]


def existing(client: MlflowClient) -> set[str]:
    return {v.version for v in client.search_model_versions(f"name = '{REGISTERED_MODEL}'")}


def test_a_champion_whose_run_died_before_marking_it_decided_is_kept(client):
    old = pipeline_with_version(client, "FINISHED", {"promotion": "promoted: no champion yet"})
    client.set_model_version_tag(REGISTERED_MODEL, old, DECISION_TAG, DECIDED)
    client.set_registered_model_alias(REGISTERED_MODEL, CHAMPION, old)
    new = pipeline_with_version(client, "KILLED")  # killed right after moving the alias, before any tag
    client.set_registered_model_alias(REGISTERED_MODEL, CHAMPION, new)

    settled = settle_undecided_versions(client)

    assert existing(client) == {old, new}
    assert client.get_model_version_by_alias(REGISTERED_MODEL, CHAMPION).version == new
    assert decision_of(client, new) == DECIDED
    assert settled == ([], [new])


def test_the_versions_of_a_run_still_going_are_left_pending(client):
    going = pipeline_with_version(client, "RUNNING")  # its variant run is FINISHED, its decision to come

    settled = settle_undecided_versions(client)

    assert existing(client) == {going} and decision_of(client, going) == PENDING
    assert settled == ([], [])


def test_a_run_that_decided_to_keep_the_champion_then_died_has_its_versions_completed(client):
    kept = pipeline_with_version(client, "KILLED", {"promotion": "kept: gain -0.0100 [-0.0200, -0.0010]"})

    settled = settle_undecided_versions(client)

    assert existing(client) == {kept} and decision_of(client, kept) == DECIDED
    assert settled == ([], [kept])


def test_only_a_run_that_ended_before_deciding_loses_its_versions(client):
    champion = pipeline_with_version(client, "FINISHED", {"promotion": "promoted: no champion yet"})
    client.set_model_version_tag(REGISTERED_MODEL, champion, DECISION_TAG, DECIDED)
    client.set_registered_model_alias(REGISTERED_MODEL, CHAMPION, champion)
    undecided = pipeline_with_version(client, "FAILED")  # the tracking server went away before the decision
    going = pipeline_with_version(client, "RUNNING")

    settled = settle_undecided_versions(client)

    assert existing(client) == {champion, going}
    assert client.get_model_version_by_alias(REGISTERED_MODEL, CHAMPION).version == champion
    assert settled == ([undecided], [])


def test_a_registry_that_cannot_be_read_is_an_error_not_no_champion(monkeypatch):
    """Issue 20, finding 8: any MlflowException while reading the champion (a server down, a timeout) counted
    as "no champion", and the challenger was promoted without comparison. A tracking server that is not
    there must raise; only MLflow's "does not exist" means there is no champion."""
    import socket

    from mlflow.exceptions import MlflowException

    from tasks.champion import champion_of

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    with socket.socket() as s:  # a port nothing listens on: the server is down
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(MlflowException):
        champion_of(REGISTERED_MODEL, MlflowClient(f"http://127.0.0.1:{port}"))


def test_no_registered_model_or_no_alias_is_no_champion(tmp_path):
    from tasks.champion import champion_of

    empty = MlflowClient(f"sqlite:///{tmp_path}/empty.db")
    assert champion_of(REGISTERED_MODEL, empty) is None  # no registered model at all
    empty.create_registered_model(REGISTERED_MODEL)
    assert champion_of(REGISTERED_MODEL, empty) is None  # the model, no alias


def test_a_replaced_champion_becomes_previous_and_rollback_goes_back_to_it(client, tmp_path, monkeypatch, capsys):
    """Issue 20: a `previous` alias kept for rollback, and `recsys champion rollback`, on a real store."""
    from cli.main import main
    from tasks.register import move_champion
    from tasks.runtime import PREVIOUS

    first, second = pipeline_with_version(client, "FINISHED"), pipeline_with_version(client, "FINISHED")
    assert move_champion(client, REGISTERED_MODEL, first) is None
    assert move_champion(client, REGISTERED_MODEL, second) == first
    assert client.get_model_version_by_alias(REGISTERED_MODEL, PREVIOUS).version == first

    monkeypatch.setenv("MLFLOW_TRACKING_URI", client.tracking_uri)
    assert main(["champion", "rollback"]) == 0
    assert f"champion v{second} -> v{first}" in capsys.readouterr().out
    assert client.get_model_version_by_alias(REGISTERED_MODEL, CHAMPION).version == first
    assert client.get_model_version_by_alias(REGISTERED_MODEL, PREVIOUS).version == second  # again: forward
    assert "replaced by v" in client.get_model_version(REGISTERED_MODEL, second).tags["rolled_back"]
    assert main(["champion", "show"]) == 0
    assert f"champion v{first} (mf), previous v{second} (mf)" in capsys.readouterr().out


def test_rollback_without_a_previous_champion_is_one_clear_error(client, monkeypatch, capsys):
    from cli.main import main

    only = pipeline_with_version(client, "FINISHED")
    client.set_registered_model_alias(REGISTERED_MODEL, CHAMPION, only)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", client.tracking_uri)
    assert main(["champion", "rollback"]) == 2
    assert "has no previous champion to roll back to (v1 is the first)" in capsys.readouterr().err
    assert client.get_model_version_by_alias(REGISTERED_MODEL, CHAMPION).version == only


def test_a_data_source_can_be_a_reference_to_the_environment(monkeypatch):
    """Issue 20, finding 5: Prefect stores a flow's parameters as given; a source with credentials can be
    passed as env:NAME, resolved in the process that runs the flow, and is redacted wherever it is shown."""
    from recsys.data.io.download import redact_source
    from tasks.runtime import data_source

    secret = "s3://AKIAEXAMPLE:wJalrXUtnFEMI@ratings/ml-latest-small.zip"
    monkeypatch.setenv("RATINGS_SOURCE", secret)
    assert data_source("env:RATINGS_SOURCE") == secret
    assert redact_source(data_source("env:RATINGS_SOURCE")) == "s3://ratings/ml-latest-small.zip"
    monkeypatch.delenv("RATINGS_SOURCE")
    with pytest.raises(ValueError, match="the environment variable RATINGS_SOURCE is not set"):
        data_source("env:RATINGS_SOURCE")


PROMOTING_PROCESS = """
import os, signal, sys
from mlflow.tracking import MlflowClient
from tasks import tracking
from tasks.register import DECISION_TAG, PENDING, commit_decision
from tasks.runtime import CHAMPION, REGISTERED_MODEL

client = MlflowClient(sys.argv[1])
experiment = client.get_experiment_by_name("Default").experiment_id
pipeline = client.create_run(experiment, run_name="train-all", tags=tracking.process_tags()).info.run_id
variant = client.create_run(experiment, run_name="mf", tags={"mlflow.parentRunId": pipeline}).info.run_id
client.set_terminated(variant, "FINISHED")
tags = {"variant": "mf", "run_id": variant, DECISION_TAG: PENDING}
version = client.create_model_version(REGISTERED_MODEL, f"runs:/{variant}/model", run_id=variant, tags=tags).version
move = client.set_registered_model_alias


def dies_before_the_champion_moves(name, alias, number):
    if alias == CHAMPION:
        os.kill(os.getpid(), signal.SIGKILL)
    move(name, alias, number)


client.set_registered_model_alias = dies_before_the_champion_moves
commit_decision(client, REGISTERED_MODEL, pipeline, DECISION_TAG, "promoted: gain", version, [])
"""


def test_a_run_killed_between_its_promotion_record_and_the_alias_move_is_rolled_forward(client, tmp_path):
    """Issue 20: register + decide + alias move as one recorded transaction. A real process records its
    promotion (v2 replaces v1), moves ``previous`` and is SIGKILLed before ``champion`` moves: before the
    record, the next run found v2 pending, not champion, its run dead and undecided, and deleted the version
    the run had judged better. Now the next run completes the move from the record; nothing is lost."""
    import signal
    import subprocess
    import sys

    from tasks import tracking
    from tasks.runtime import PREVIOUS

    old = pipeline_with_version(client, "FINISHED", {"promotion": "promoted: no champion yet"})
    client.set_model_version_tag(REGISTERED_MODEL, old, DECISION_TAG, DECIDED)
    client.set_registered_model_alias(REGISTERED_MODEL, CHAMPION, old)
    done = subprocess.run([sys.executable, "-c", PROMOTING_PROCESS, client.tracking_uri], timeout=120)
    assert done.returncode == -signal.SIGKILL
    new = type(old)(int(old) + 1)
    assert client.get_model_version_by_alias(REGISTERED_MODEL, CHAMPION).version == old  # the move never happened

    experiment = client.get_experiment_by_name("Default").experiment_id
    assert len(tracking.mark_orphans_killed(client, experiment, "next")) == 1  # liveness: host, pid, start time
    settled = settle_undecided_versions(client)

    assert existing(client) == {old, new} and settled == ([], [new])
    assert client.get_model_version_by_alias(REGISTERED_MODEL, CHAMPION).version == new
    assert client.get_model_version_by_alias(REGISTERED_MODEL, PREVIOUS).version == old
    assert decision_of(client, new) == DECIDED
    dead = client.search_runs([experiment], "tags.`recsys.cleanup` != ''")[0]
    assert "completed from the run's record after it died" in dead.data.tags["promotion"]
