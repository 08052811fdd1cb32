"""Atomic writes: a file appears whole under its name or not at all; a failed write leaves the old one."""

import pytest

from recsys import files


def test_a_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "sub" / "report.json"
    files.write_json(path, {"a": 1})
    with pytest.raises(RuntimeError), files.atomic_write(path, "w", encoding="utf-8") as handle:
        handle.write("half")
        raise RuntimeError("disk gone")
    assert path.read_text() == '{\n  "a": 1\n}\n'
    assert [p.name for p in path.parent.iterdir()] == ["report.json"]


def test_a_library_that_takes_a_file_name_writes_through_a_temporary_one(tmp_path):
    seen = []
    files.atomic_write_with(tmp_path / "x.bin", lambda name: (seen.append(name), open(name, "wb").write(b"ok")))
    assert (tmp_path / "x.bin").read_bytes() == b"ok" and seen[0] != str(tmp_path / "x.bin")


def test_a_folder_is_published_in_one_rename_replacing_the_old_set(tmp_path):
    old, staging = tmp_path / "data", tmp_path / ".data.new"
    files.write_text(old / "a.txt", "old")
    files.write_text(staging / "a.txt", "new")
    files.write_text(staging / "b.txt", "new")
    files.publish_folder(staging, old)
    assert sorted(p.name for p in old.iterdir()) == ["a.txt", "b.txt"] and (old / "a.txt").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_a_republished_folder_is_never_missing_for_a_reader_in_another_process(tmp_path):
    """Two runs of the same data publish the same split folder; the one already training reads it meanwhile.
    Moving the old folder aside before the new one took its name left an instant without it (CI:
    FileNotFoundError on split.parquet)."""
    import subprocess
    import sys

    target = tmp_path / "split"
    files.write_text(target / "split.parquet", "rows")
    reader = (
        "import sys, pathlib\n"
        "path, stop = pathlib.Path(sys.argv[1]) / 'split.parquet', pathlib.Path(sys.argv[2])\n"
        "reads = missing = 0\n"
        "while not stop.exists():\n"
        "    try:\n"
        "        reads += path.read_text() == 'rows'\n"
        "    except FileNotFoundError:\n"
        "        missing += 1\n"
        "print(reads, missing)\n"
    )
    stop = tmp_path / "stop"
    process = subprocess.Popen(
        [sys.executable, "-c", reader, str(target), str(stop)], stdout=subprocess.PIPE, text=True
    )
    try:
        for _ in range(300):
            with files.staged_folder(target) as staging:
                files.write_text(staging / "split.parquet", "rows")
    finally:
        stop.touch()
    reads, missing = map(int, process.communicate(timeout=60)[0].split())
    assert reads > 0 and missing == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["split", "stop"]  # no staging or old folder left
