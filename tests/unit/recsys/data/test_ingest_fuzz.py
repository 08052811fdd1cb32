"""Property-based fuzzing of ingestion: random corruptions of valid files of each release layout never raise
an unhandled exception, and every row read is either kept or quarantined."""

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recsys import columns as C
from recsys.data.ingest import ingest_release
from recsys.data.io import DataFormatError
from recsys.data.synthetic import make_movies, make_ratings
from tests.unit.recsys.data.release_files import whole_stars, write_csv, write_dat, write_ml100k

RATINGS, MOVIES = make_ratings(n_users=8, n_movies=12, n_ratings=40, seed=5), make_movies(12, seed=5)
LAYOUTS = {  # layout -> (writer, the two files a corruption may hit)
    "csv": (lambda f: write_csv(f, RATINGS, MOVIES), ("ratings.csv", "movies.csv")),
    "ml-100k": (lambda f: write_ml100k(f, whole_stars(RATINGS), MOVIES), ("u.data", "u.item")),
    "ml-1m": (lambda f: write_dat(f / "ml-1m", whole_stars(RATINGS), MOVIES) and None, ("ratings.dat", "movies.dat")),
}
# Arrow cannot decode a malformed line's bytes for our handler and reports that as ignored; the read then fails
# and the file is refused naming the line and column of the bad bytes, which is the outcome asserted below
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
EXPECTED = (DataFormatError,)  # a file that is not MovieLens at all: one error naming file, line and column


def corrupt(data: bytes, kind: str, where: float, junk: bytes) -> bytes:
    """One corruption of ``data`` at relative position ``where``."""
    at = int(where * len(data))
    if kind == "truncate":
        return data[:at]
    if kind == "flip":
        return data[:at] + bytes([data[at] ^ 0x5A]) + data[at + 1 :] if data else data
    if kind == "insert":
        return data[:at] + junk + data[at:]
    if kind == "delete":
        return data[:at] + data[at + len(junk) :]
    if kind == "duplicate":
        lines = data.splitlines(keepends=True)
        i = int(where * len(lines))
        return b"".join(lines[: i + 1] + lines[i:])
    return junk * 3  # "replace": the whole file is junk


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    layout=st.sampled_from(sorted(LAYOUTS)),
    which=st.integers(0, 1),
    kind=st.sampled_from(["truncate", "flip", "insert", "delete", "duplicate", "replace"]),
    where=st.floats(0, 1, exclude_max=True),
    junk=st.binary(min_size=1, max_size=24) | st.sampled_from([b"\n", b",,,\n", b"\xff\xfe", b"::", b"\t\t", b'"']),
)
def test_corrupted_releases_are_read_or_refused_and_nothing_is_lost(layout, which, kind, where, junk):
    folder = Path(tempfile.mkdtemp(prefix="fuzz-"))
    try:
        write, names = LAYOUTS[layout]
        write(folder)
        release = folder / "ml-1m" if layout == "ml-1m" else folder
        target = release / names[which]
        target.write_bytes(corrupt(target.read_bytes(), kind, where, junk))
        try:
            result = ingest_release(release)
        except EXPECTED as exc:
            assert exc.path is not None and str(exc)  # names the file
            return
        assert_nothing_lost_and_only_valid_rows_kept(result)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def assert_nothing_lost_and_only_valid_rows_kept(result) -> None:
    """What the fuzzer checks of a release that was read: every file line it read is kept or quarantined,
    never both, never twice; and what was kept is valid (no missing value, ratings on the release's scale,
    one rating per user and movie, every rated movie known)."""
    for table in (result.ratings, result.movies):
        quarantined = table.quarantine["line"].to_numpy()
        lines = np.concatenate([table.kept_lines, quarantined])
        assert len(np.unique(lines)) == len(lines)  # no line kept and quarantined, none twice
    ratings, movies = result.ratings.kept, result.movies.kept
    assert not ratings[[C.USER_ID, C.MOVIE_ID, C.RATING]].isna().any().any()
    assert set(ratings[C.RATING].unique()) <= set(result.rating_values)
    assert not ratings.duplicated([C.USER_ID, C.MOVIE_ID]).any()
    assert ratings[C.MOVIE_ID].isin(movies[C.MOVIE_ID]).all()


def test_a_dat_file_of_separators_only_is_refused_or_quarantined_not_crashed(tmp_path):
    """What the fuzzer found: ratings.dat replaced by '::' alone raised an IndexError in duplicate detection."""
    write_dat(tmp_path / "ml-1m", whole_stars(RATINGS), MOVIES)
    (tmp_path / "ml-1m" / "ratings.dat").write_bytes(b"::::::")
    try:
        result = ingest_release(tmp_path / "ml-1m")
    except DataFormatError as exc:
        assert "ratings.dat" in str(exc)
    else:
        assert_nothing_lost_and_only_valid_rows_kept(result)


def test_a_header_with_a_stray_tab_is_refused_naming_the_file_and_line(tmp_path):
    """What the fuzzer found next: a tab inserted before "userId" raised pyarrow's ArrowKeyError."""
    write_csv(tmp_path, RATINGS, MOVIES)
    ratings = tmp_path / "ratings.csv"
    ratings.write_bytes(b"\t" + ratings.read_bytes())
    with pytest.raises(DataFormatError, match="ratings.csv") as caught:
        ingest_release(tmp_path)
    assert caught.value.line == 1


def test_the_fuzzer_reaches_both_outcomes():
    """Not a tautology: some corruptions are refused, some are read with rows quarantined."""
    folder = Path(tempfile.mkdtemp(prefix="fuzz-"))
    try:
        write_csv(folder, RATINGS, MOVIES)
        ratings = folder / "ratings.csv"
        ratings.write_bytes(corrupt(ratings.read_bytes(), "insert", 0.5, b"x,y\n"))
        assert len(ingest_release(folder).ratings.quarantine) >= 1
        ratings.write_bytes(corrupt(ratings.read_bytes(), "replace", 0, b"\x00\x01"))
        with pytest.raises(DataFormatError):
            ingest_release(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
