"""The blend variant inside train-all on the real ml-latest-small: fitted over its trained members,
tracked like any variant, ahead of each of them on the test rows, and served by the registry."""

import os

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

import mlflow
from recsys import columns as C
from recsys.models.blend import DEFAULT_MEMBERS
from tasks.runtime import CHAMPION, EXPERIMENT, REGISTERED_MODEL
from tests.conftest import run_config

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def trained(harness, real_data):
    from flows.train_all import train_all

    rows = train_all(run_config(real_data, [*DEFAULT_MEMBERS, "blend"], epochs=2))
    return {row.variant: row for row in rows}, MlflowClient(os.environ["MLFLOW_TRACKING_URI"])


def test_blend_has_a_variant_run_with_one_fit_step(trained):
    rows, client = trained
    experiment = client.get_experiment_by_name(EXPERIMENT)
    (run,) = client.search_runs([experiment.experiment_id], "tags.variant = 'blend'")
    assert [m.step for m in client.get_metric_history(run.info.run_id, "val_mse")] == [1]
    assert all(member in run.data.params["model.members"] for member in DEFAULT_MEMBERS)
    assert run.data.metrics["test_mse"] == pytest.approx(rows["blend"].test_mse)


def test_blend_beats_each_of_its_members_on_the_test_rows(trained):
    rows, _ = trained
    for member in DEFAULT_MEMBERS:
        assert rows["blend"].test_mse < rows[member].test_mse, member


def test_blend_is_the_champion_and_predicts_through_the_registry(trained):
    rows, client = trained
    champion = client.get_model_version_by_alias(REGISTERED_MODEL, CHAMPION)
    assert champion.tags["variant"] == min(rows.values(), key=lambda r: r.best_val_mse).variant == "blend"
    model = mlflow.pyfunc.load_model(f"models:/{REGISTERED_MODEL}@{CHAMPION}")
    predictions = model.predict(pd.DataFrame({C.USER_ID: [1, 1, 10**9], C.MOVIE_ID: [31, 1029, 1]}))
    assert len(predictions) == 3 and ((predictions >= 0.5) & (predictions <= 5.0)).all()
