"""Shared fixtures: tiny seeded data for unit tests, the real ml-latest-small for end-to-end tests."""

import os
from pathlib import Path

import pandas as pd
import pytest

from cli.environment import apply_defaults
from recsys.data import io
from recsys.data.split import SplitConfig
from recsys.data.synthetic import make_movies, make_ratings
from recsys.data.tensors import PreparedSplit, prepare_split

apply_defaults()  # the environment the `recsys` command runs flows in

REPO = Path(__file__).resolve().parents[1]
NO_GATE = ["--set", "promotion.gate=none"]  # for `recsys train-all` runs of throwaway models (see run_config)
REAL_DATA = Path(os.environ.get("RECSYS_TEST_DATA", REPO.parent / "shared" / "data" / "ml-latest-small"))


@pytest.fixture(scope="session")
def real_data() -> Path:
    if not (REAL_DATA / "ratings.csv").exists():
        pytest.fail(f"the real ml-latest-small is missing at {REAL_DATA} (set RECSYS_TEST_DATA)")
    return REAL_DATA


@pytest.fixture
def tiny_ratings() -> pd.DataFrame:
    return make_ratings(n_users=40, n_movies=60, n_ratings=1500, seed=3)


@pytest.fixture
def tiny_release(tmp_path, tiny_ratings) -> Path:
    """A small fake release in the real CSV layout."""
    return io.write_release_csv(tmp_path / "tiny-release", tiny_ratings, make_movies(60, seed=3))


@pytest.fixture
def tiny_prepared(tiny_ratings) -> PreparedSplit:
    return prepare_split(tiny_ratings, make_movies(60, seed=3), SplitConfig(seed=7))


def run_config(data, variants, **fields):
    """A train-all config for tests: ``data`` as the source, only ``variants``, and ``fields`` set by their
    dotted names (``epochs=2``, ``**{"split.seed": 7}``). The promotion's absolute gate is off unless
    ``promotion.gate`` is given: these runs train for one or two epochs to test the plumbing, and such a
    model does not beat the biases-only baseline (test_promotion_e2e.py tests the gate itself)."""
    from recsys.pipeline.config import PipelineConfig, apply_overrides, select_variants

    config = select_variants(PipelineConfig(), variants)
    return apply_overrides(config, {"data.source": str(data), "promotion.gate": "none"} | fields)


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    """Prefect's test harness with a temporary MLflow store and work folder, one per module, so each
    end-to-end module's runs are its own."""
    from prefect.testing.utilities import prefect_test_harness  # imported here: unit tests need no Prefect

    tmp = tmp_path_factory.mktemp("e2e")
    env = {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp}/mlflow.db", "RECSYS_WORKDIR": str(tmp / "work")}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    with prefect_test_harness(server_startup_timeout=120):
        yield tmp
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
