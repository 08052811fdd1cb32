import zipfile

import pytest

from recsys import columns as C
from recsys.data import io
from recsys.data.releases import CSV


def zip_release(release, archive):
    """``release``'s files as ``archive``, in one ml-tiny/ folder as GroupLens zips are laid out."""
    with zipfile.ZipFile(archive, "w") as zf:
        for f in release.iterdir():
            zf.write(f, f"ml-tiny/{f.name}")


def test_reads_text_columns_renamed_with_their_lines(tiny_release, tiny_ratings):
    raw = io.read_text_table(tiny_release / "ratings.csv", CSV.ratings)
    assert raw.table.column_names == C.RATING_COLUMNS
    assert raw.table.num_rows == len(tiny_ratings) and raw.rows_read == len(tiny_ratings)
    assert raw.lines[0] == 2 and raw.lines[-1] == len(tiny_ratings) + 1
    assert raw.table[C.USER_ID][0].as_py() == str(tiny_ratings[C.USER_ID].iloc[0])


def test_detects_the_csv_release_by_its_files(tiny_release, real_data):
    assert io.detect_release(tiny_release)[1].kind == "csv"
    assert io.detect_release(real_data) == ("ml-latest-small", CSV)


def test_zip_source_is_extracted_to_the_release_folder(tiny_release, tmp_path):
    archive = tmp_path / "ml-tiny.zip"
    zip_release(tiny_release, archive)
    folder = io.resolve_source(str(archive), tmp_path / "cache")
    assert (folder / "ratings.csv").read_bytes() == (tiny_release / "ratings.csv").read_bytes()
    assert io.resolve_source(str(archive), tmp_path / "cache") == folder  # second time: same extraction


def test_missing_source_names_the_path(tmp_path):
    with pytest.raises(io.DataFormatError, match="does not exist"):
        io.resolve_source(str(tmp_path / "nope"), tmp_path / "cache")


def test_folder_without_ratings_is_not_a_release(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(io.DataFormatError, match="not a MovieLens release"):
        io.resolve_source(str(tmp_path), tmp_path / "cache")


def test_parquet_round_trip_keeps_fingerprint_and_leaves_no_temp_file(tmp_path, tiny_ratings):
    path = io.write_parquet(tiny_ratings, tmp_path / "out" / "r.parquet", fingerprint="abc123")
    assert io.read_fingerprint(path) == "abc123"
    assert io.read_parquet(path).equals(tiny_ratings)
    assert [p.name for p in path.parent.iterdir()] == ["r.parquet"]


def test_parquet_reads_one_part_by_filter_and_the_first_rows_alone(tmp_path, tiny_ratings):
    frame = tiny_ratings.assign(split=["test" if i % 3 == 0 else "train" for i in range(len(tiny_ratings))])
    path = io.write_parquet(frame, tmp_path / "split.parquet")
    test = io.read_parquet(path, filters=[("split", "==", "test")])
    assert test.reset_index(drop=True).equals(frame[frame["split"] == "test"].reset_index(drop=True))
    assert io.read_head(path, 5).equals(frame.head(5))


def test_fingerprint_changes_with_content(tiny_release):
    files = io.release_files(tiny_release, CSV)
    before = io.fingerprint_files(files)
    with open(files[0], "a") as f:
        f.write("1,1,3.0,1000000000\n")
    assert io.fingerprint_files(files) != before and len(before) == 64


def test_url_source_is_downloaded_once_into_the_cache(tiny_release, tmp_path):
    import functools
    import http.server
    import threading

    archive = tmp_path / "served" / "ml-tiny.zip"
    archive.parent.mkdir()
    zip_release(tiny_release, archive)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(archive.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/ml-tiny.zip"
        folder = io.resolve_source(url, tmp_path / "cache")
    finally:
        server.shutdown()
        server.server_close()
    (cached,) = (tmp_path / "cache" / "downloads").glob("*-ml-tiny.zip")
    assert cached.read_bytes() == archive.read_bytes()
    assert (folder / "movies.csv").read_bytes() == (tiny_release / "movies.csv").read_bytes()
    assert io.resolve_source(url, tmp_path / "cache") == folder  # server gone: served from the cache


def test_object_storage_folder_is_copied_once_and_refreshed_when_it_changes(tiny_release, tmp_path):
    uri = tiny_release.resolve().as_uri()  # file:///...: pyarrow's filesystem layer, as for s3:// or gs://
    assert uri.startswith("file://")
    folder = io.resolve_source(uri, tmp_path / "cache")
    assert (folder / "ratings.csv").read_bytes() == (tiny_release / "ratings.csv").read_bytes()
    copied = (folder / "ratings.csv").stat().st_mtime_ns
    assert io.resolve_source(uri, tmp_path / "cache") == folder
    assert (folder / "ratings.csv").stat().st_mtime_ns == copied  # unchanged at the source: not copied again
    with open(tiny_release / "ratings.csv", "a") as f:
        f.write("1,1,3.0,1000000000\n")
    (tiny_release / "links.csv").write_text("movieId,imdbId,tmdbId\n")
    io.resolve_source(uri, tmp_path / "cache")
    assert (folder / "ratings.csv").read_bytes() == (tiny_release / "ratings.csv").read_bytes()
    (tiny_release / "links.csv").unlink()
    io.resolve_source(uri, tmp_path / "cache")
    assert not (folder / "links.csv").exists()  # removed at the source: removed from the copy


def test_object_storage_zip_is_copied_then_extracted(tiny_release, tmp_path):
    archive = tmp_path / "bucket" / "ml-tiny.zip"
    archive.parent.mkdir()
    zip_release(tiny_release, archive)
    folder = io.resolve_source(archive.as_uri(), tmp_path / "cache")
    assert (folder / "ratings.csv").read_bytes() == (tiny_release / "ratings.csv").read_bytes()


def test_a_missing_object_names_the_uri(tmp_path):
    from recsys.data.io.download import SourceError

    with pytest.raises(SourceError, match="nope.*no such file or folder"):
        io.resolve_source((tmp_path / "nope").as_uri(), tmp_path / "cache")
