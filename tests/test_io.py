import zipfile

import numpy as np
import pytest

from recsys import columns as C
from recsys import io


def test_reads_release_with_normalised_columns_and_types(tiny_release, tiny_ratings):
    ratings = io.read_ratings(tiny_release)
    assert list(ratings.columns) == C.RATING_COLUMNS
    assert ratings[C.USER_ID].dtype == np.int64 and ratings[C.RATING].dtype == np.float64
    assert len(ratings) == len(tiny_ratings)
    movies = io.read_movies(tiny_release)
    assert list(movies.columns) == C.MOVIE_COLUMNS and movies[C.TITLE].iloc[0].startswith("Movie 1 (")


def test_zip_source_is_extracted_to_the_release_folder(tiny_release, tmp_path):
    archive = tmp_path / "ml-tiny.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in tiny_release.iterdir():
            zf.write(f, f"ml-tiny/{f.name}")
    folder = io.resolve_source(str(archive), tmp_path / "cache")
    assert (folder / "ratings.csv").read_bytes() == (tiny_release / "ratings.csv").read_bytes()
    assert io.resolve_source(str(archive), tmp_path / "cache") == folder  # second time: same extraction


def test_missing_source_names_the_path(tmp_path):
    with pytest.raises(io.DataFormatError, match="does not exist"):
        io.resolve_source(str(tmp_path / "nope"), tmp_path / "cache")


def test_missing_column_names_file_line_and_column(tiny_release):
    path = tiny_release / "ratings.csv"
    path.write_text(path.read_text().replace("rating,", "score,", 1))
    with pytest.raises(io.DataFormatError) as err:
        io.read_ratings(tiny_release)
    assert (err.value.path, err.value.line, err.value.column) == (path, 1, "rating")
    assert "ratings.csv, line 1, column 'rating'" in str(err.value)


def test_non_numeric_value_names_its_line_and_column(tiny_release):
    path = tiny_release / "ratings.csv"
    lines = path.read_text().splitlines()
    user, movie, _, ts = lines[4].split(",")
    lines[4] = f"{user},{movie},four,{ts}"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(io.DataFormatError) as err:
        io.read_ratings(tiny_release)
    assert (err.value.line, err.value.column) == (5, "rating")
    assert "'four'" in str(err.value)


def test_fractional_id_is_rejected_with_its_line(tiny_release):
    path = tiny_release / "ratings.csv"
    lines = path.read_text().splitlines()
    lines[2] = "1.5," + lines[2].split(",", 1)[1]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(io.DataFormatError) as err:
        io.read_ratings(tiny_release)
    assert (err.value.line, err.value.column) == (3, "userId")


def test_header_only_file_is_an_error(tiny_release):
    (tiny_release / "ratings.csv").write_text("userId,movieId,rating,timestamp\n")
    with pytest.raises(io.DataFormatError, match="no rows"):
        io.read_ratings(tiny_release)


def test_parquet_round_trip_keeps_fingerprint_and_leaves_no_temp_file(tmp_path, tiny_ratings):
    path = io.write_parquet(tiny_ratings, tmp_path / "out" / "r.parquet", fingerprint="abc123")
    assert io.read_fingerprint(path) == "abc123"
    assert io.read_parquet(path).equals(tiny_ratings)
    assert [p.name for p in path.parent.iterdir()] == ["r.parquet"]


def test_fingerprint_changes_with_content(tiny_release):
    files = io.release_files(tiny_release)
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
    with zipfile.ZipFile(archive, "w") as zf:
        for f in tiny_release.iterdir():
            zf.write(f, f"ml-tiny/{f.name}")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(archive.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/ml-tiny.zip"
        folder = io.resolve_source(url, tmp_path / "cache")
    finally:
        server.shutdown()
    assert (tmp_path / "cache" / "downloads" / "ml-tiny.zip").read_bytes() == archive.read_bytes()
    assert (folder / "movies.csv").read_bytes() == (tiny_release / "movies.csv").read_bytes()
    assert io.resolve_source(url, tmp_path / "cache") == folder  # server gone: served from the cache
