"""A newcomer's first run, end to end on the real ml-latest-small: a release taken by name (downloaded with
progress from a local HTTP server standing in for GroupLens, laid out as GroupLens zips it), a run that ends by
saying what happened (run id, champion decision, the report as a path that exists and a file:// link, what to
run next), `recsys runs`, `recsys report` and `--json` for scripts."""

import functools
import http.server
import json
import tempfile
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import NO_GATE

pytestmark = pytest.mark.e2e


@contextmanager
def serve(real_data: Path) -> Iterator[str]:
    """A local server with ``ml-latest-small.zip`` (its files in an ``ml-latest-small/`` folder, as GroupLens
    publishes it), for the block; yields its base URL."""
    with tempfile.TemporaryDirectory(prefix="releases-") as served:
        with zipfile.ZipFile(Path(served) / "ml-latest-small.zip", "w", zipfile.ZIP_DEFLATED) as archive:
            for name in ("ratings.csv", "movies.csv"):
                archive.write(real_data / name, f"ml-latest-small/{name}")
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=served)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()


@pytest.fixture(scope="module")
def releases(real_data):
    with serve(real_data) as base:
        yield base


def test_a_release_by_name_and_a_run_that_says_what_happened(harness, releases, monkeypatch, capsys):
    from cli.main import main

    monkeypatch.setenv("RECSYS_RELEASES_URL", releases)
    monkeypatch.delenv("RECSYS_DATA", raising=False)
    args = ["train-all", "--data", "ml-latest-small", "--variants", "mf", "--epochs", "1", *NO_GATE]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "downloading ml-latest-small.zip: 0.8 MB of 0.8 MB (100%)" in captured.err  # progress, off a terminal
    summary = captured.out[captured.out.index("\nrun ") + 1 :].splitlines()
    run_id = summary[0].split()[1]
    assert summary[0] == f"run {run_id} (train-all) finished in {summary[0].split()[-2]} s", summary
    assert summary[1].strip() == "rating champion (movielens-rating): promoted: no champion yet"
    report = Path(summary[2].split("report:")[1].strip())
    assert report.is_file() and report.name == "report.html"
    assert summary[3].strip() == report.resolve().as_uri()
    assert summary[-1].startswith("next: recsys report --open")

    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    (variant,) = client.search_runs(
        [client.get_run(run_id).info.experiment_id], f"tags.mlflow.parentRunId = '{run_id}'"
    )
    (data,) = variant.inputs.dataset_inputs  # MLflow's Datasets column: the release, digest = the data fingerprint
    assert (
        data.dataset.name == "ml-latest-small/random-42-0.2-0.1"
        and data.dataset.digest == variant.data.params["data_fingerprint"][:36]
    )
    assert releases in data.dataset.source and data.tags[0].value == "training"
    assert not any(key.startswith("system/") for key in variant.data.metrics)  # a local store: none (too costly)

    from prefect.artifacts import Artifact

    progress = Artifact.get("train-mf")  # the Prefect UI's view of a long run: which variant, how far
    assert progress is not None and progress.type == "progress" and float(progress.data) == 100.0

    assert main(["runs", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["run_id"] == run_id and listed["challenger"] == "mf" and listed["promotion"].startswith("promoted")
    assert main(["report", "--run", run_id[:8]]) == 0
    assert capsys.readouterr().out.strip() == str(report)

    assert main([*args, "--no-analysis", "--json"]) == 0  # the same, cached download, for a script
    shown = json.loads(capsys.readouterr().out)
    assert shown["run"]["run_id"] != run_id and shown["run"]["promotion"].startswith("kept")
    assert [r["variant"] for r in shown["rating"]] == ["mf"] and shown["run"]["report"] is None


def test_version_and_help_speak_plainly(capsys):
    from cli.main import main

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.startswith("recsys 0.")
    with pytest.raises(SystemExit):
        main(["train-all", "--help"])
    text = capsys.readouterr().out
    assert "examples:" in text and "--data ml-25m" in text and "``" not in text
