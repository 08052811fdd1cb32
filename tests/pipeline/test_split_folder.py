"""A stored split folder is reused only when it is whole and was written by this code."""

from tasks.prepare import CODE_VERSION, SPLIT_FILES, split_folder_current


def test_a_split_folder_is_reused_only_whole_and_from_this_code(tmp_path):
    folder = tmp_path / "random-42-0.2-0.1"
    assert not split_folder_current(folder)  # nothing there yet
    folder.mkdir()
    for name in SPLIT_FILES:
        (folder / f"{name}.parquet").write_bytes(b"rows")
    assert not split_folder_current(folder)  # written before folders carried their code version
    (folder / "code_version").write_text("0" * 64)
    assert not split_folder_current(folder)  # written by other code: another split rule or other features
    (folder / "code_version").write_text(CODE_VERSION)
    assert split_folder_current(folder)
    (folder / "user_features.parquet").unlink()
    assert not split_folder_current(folder)
