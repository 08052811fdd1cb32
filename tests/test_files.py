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
