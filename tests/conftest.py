"""Shared fixtures: tiny seeded data for unit tests, the real ml-latest-small for end-to-end tests."""

import os
from pathlib import Path

import pandas as pd
import pytest

from recsys import io
from recsys.config import SplitConfig
from recsys.data import PreparedSplit, prepare_split
from recsys.synthetic import make_movies, make_ratings

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

REPO = Path(__file__).resolve().parents[1]
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
    return prepare_split(tiny_ratings, SplitConfig(seed=7))
