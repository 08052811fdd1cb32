"""The command line without running a flow: `recsys config show` prints the resolved config that flags and
files change; bad values are refused before anything starts."""

import pytest
import yaml

from cli.main import main
from recsys.pipeline.config import PipelineConfig


def shown(capsys, *args) -> dict:
    assert main(["config", "show", *args]) == 0
    return yaml.safe_load(capsys.readouterr().out)


def test_config_show_prints_the_resolved_config_that_flags_override(capsys):
    config = shown(capsys, "--variants", "mf,baseline", "--epochs", "3", "--seed", "7", "--no-analysis")
    assert list(config["variants"]) == ["mf", "baseline"] and config["analysis"] is False
    assert config["variants"]["mf"]["train"] == {**config["variants"]["mf"]["train"], "epochs": 3, "seed": 7}
    assert config["variants"]["mf"]["train"]["lr"] == 0.015  # the variant's own default, from the registry
    assert PipelineConfig.model_validate(config).split.seed == 7


def test_a_config_file_then_flags_then_set(tmp_path, capsys):
    path = tmp_path / "run.yaml"
    path.write_text("split: {kind: temporal_global}\nvariants:\n  wide_deep:\n    model: {dim: 16}\n")
    config = shown(capsys, "--config", str(path), "--set", "variants.wide_deep.train.lr=0.004", "--seeds", "2")
    assert config["split"]["kind"] == "temporal_global" and config["seeds"] == 2
    assert config["variants"]["wide_deep"]["model"]["dim"] == 16
    assert config["variants"]["wide_deep"]["train"]["lr"] == 0.004


def test_bad_settings_exit_2_with_one_error_line(tmp_path, capsys):
    assert main(["config", "show", "--set", "variants.mf.model.dimm=3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: config: variants.mf.model.dimm: Extra inputs") and err.count("\n") == 1
    assert main(["config", "show", "--variants", "blend"]) == 2
    assert "ensemble of" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stop:
        main(["train-all", "--seeds", "0"])
    assert stop.value.code == 2 and "--seeds: must be 1 or more" in capsys.readouterr().err


def test_a_new_users_ratings_read_in_the_order_given_and_a_bad_one_is_named():
    import argparse

    from cli.recommend import given_ratings

    assert given_ratings("858=5,1196=4.5, 2571") == [(858, 5.0), (1196, 4.5), (2571, 5.0)]
    with pytest.raises(argparse.ArgumentTypeError, match="expected movie_id=rating, got 'x=5'"):
        given_ratings("858=5,x=5")


def test_ingest_refuses_an_output_folder_with_other_files_and_leaves_them_there(tmp_path, capsys):
    """Issue 20, finding 2: `recsys ingest --out DIR` replaced DIR whole, a notes.txt in it included."""
    out = tmp_path / "tables"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["ingest", "--data", str(tmp_path / "no-such-release"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "holds files that are not an ingestion's (notes.txt)" in err and str(out) in err
    assert (out / "notes.txt").read_text() == "mine"


def test_an_earlier_ingestions_folder_or_a_new_one_is_accepted(tmp_path):
    from recsys.store.ingestion import ID_MARKER, check_output_folder

    check_output_folder(tmp_path / "new")  # not there yet
    earlier = tmp_path / "earlier"
    (earlier / "data_docs").mkdir(parents=True)
    for name in ("ratings.parquet", "movies.parquet", "quarantine.parquet", "validation.json", ID_MARKER):
        (earlier / name).write_text("")
    check_output_folder(earlier)
    with pytest.raises(ValueError, match="is a file"):
        check_output_folder(earlier / "ratings.parquet")


def test_services_stop_never_signals_a_process_that_merely_reuses_a_recorded_pid(tmp_path, capsys):
    """Issue 20, finding 7: `services stop` trusted pid files; one left from before a reboot (or a server that
    died) named a pid since reused, and its whole process group was signalled. A pid file records the start
    time too; a process started at another time is not the service."""
    import subprocess

    from cli.services import Services, stop

    bystander = subprocess.Popen(["sleep", "60"], start_new_session=True)  # its own process group, like a server
    try:
        folder = tmp_path / "services"
        folder.mkdir()
        (folder / "prefect-server.pid").write_text(f"{bystander.pid} 12345")  # the pid, another start time
        (folder / "mlflow-server.pid").write_text(str(bystander.pid))  # an old file without a start time
        stop(Services(folder, tmp_path / "store", 4200, 5000, tmp_path))
        assert bystander.poll() is None  # still running: nothing was signalled
        assert not list(folder.glob("*.pid"))  # the stale files are gone
        assert "now another process: the file was removed" in capsys.readouterr().out
    finally:
        bystander.kill()
        bystander.wait()


def test_a_release_by_name_is_its_grouplens_url_or_the_mirrors_and_a_folder_of_that_name_wins(tmp_path, monkeypatch):
    from recsys.data.releases import release_url
    from tasks.runtime import data_source

    monkeypatch.delenv("RECSYS_RELEASES_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    assert data_source("ml-25m") == "https://files.grouplens.org/datasets/movielens/ml-25m.zip"
    monkeypatch.setenv("RECSYS_RELEASES_URL", "http://mirror.example/movielens/")
    assert data_source("ml-100k") == "http://mirror.example/movielens/ml-100k.zip"
    (tmp_path / "ml-1m").mkdir()
    assert data_source("ml-1m") == "ml-1m"  # a local folder named like a release is that folder
    with pytest.raises(ValueError, match="unknown release 'ml-2m': one of ml-latest-small"):
        release_url("ml-2m")
