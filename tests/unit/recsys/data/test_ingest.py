"""Ingestion of every release layout, and the corpus of broken inputs: each with its exact outcome
(an error naming file, line and column, or a quarantine reason and count) and balanced row counts."""

import numpy as np
import pytest

from recsys import columns as C
from recsys.data.ingest import QuarantineLimitError, check_quarantine_share, ingest_release, release_year
from recsys.data.io import DataFormatError
from recsys.data.releases import HALF_STARS, WHOLE_STARS
from recsys.data.synthetic import make_movies
from tests.unit.recsys.data.release_files import whole_stars, write_dat, write_ml100k


def balanced(result):
    for cleaned in (result.ratings, result.movies):
        assert cleaned.rows_read == len(cleaned.kept) + len(cleaned.quarantine)


def lines_of(path):
    return path.read_text().splitlines()


def write_lines(path, lines, end="\n"):
    path.write_text(end.join(lines) + end)


def only_quarantined(result, reason, line):
    q = result.quarantine()
    assert q[["table", "reason", "line"]].values.tolist() == [["ratings", reason, line]], q
    balanced(result)
    return q


# --- layouts -------------------------------------------------------------------------------------------


def test_csv_release_is_read_whole(tiny_release, tiny_ratings):
    result = ingest_release(tiny_release)
    assert (result.release, result.layout, result.rating_values) == ("csv", "csv", HALF_STARS)
    assert len(result.ratings.kept) == len(tiny_ratings) and len(result.quarantine()) == 0
    assert result.ratings.kept.dtypes.to_dict() == tiny_ratings.dtypes.to_dict()
    assert result.movies.kept[C.GENRES].map(len).min() >= 1
    balanced(result)


def test_real_ml_latest_small(real_data):
    result = ingest_release(real_data)
    report = result.report("f")
    assert report["ratings"] == {
        "rows_read": 100_004,
        "rows_kept": 100_004,
        "rows_quarantined": 0,
        "quarantined_by_reason": {},
    }
    assert report["movies"]["rows_kept"] == 9125 and result.ratings.kept[C.MOVIE_ID].nunique() == 9066
    toy = result.movies.kept.set_index(C.MOVIE_ID).loc[1]
    assert (toy[C.TITLE], toy[C.YEAR], list(toy[C.GENRES])) == (
        "Toy Story (1995)",
        1995,
        ["Adventure", "Animation", "Children", "Comedy", "Fantasy"],
    )


def test_ml100k_layout(tmp_path, tiny_ratings):
    movies = make_movies(60, seed=3)
    movies.loc[0, C.TITLE] = "Amélie (2001)"
    folder = write_ml100k(tmp_path / "ml-100k", whole_stars(tiny_ratings), movies)
    result = ingest_release(folder)
    assert (result.release, result.layout, result.rating_values) == ("ml-100k", "ml-100k", WHOLE_STARS)
    assert len(result.ratings.kept) == len(tiny_ratings) and len(result.quarantine()) == 0
    first = result.movies.kept.iloc[0]
    assert (first[C.TITLE], first[C.YEAR], list(first[C.GENRES])) == ("Amélie (2001)", 2001, movies[C.GENRES][0])


def test_ml1m_layout_whole_stars_latin1(tmp_path, tiny_ratings):
    movies = make_movies(60, seed=3)
    movies.loc[1, C.TITLE] = "Ça commence aujourd'hui (1999)"
    folder = write_dat(tmp_path / "ml-1m", whole_stars(tiny_ratings), movies, encoding="latin-1")
    result = ingest_release(folder)
    assert (result.release, result.layout, result.rating_values) == ("ml-1m", "dat", WHOLE_STARS)
    assert result.movies.kept[C.TITLE].iloc[1] == "Ça commence aujourd'hui (1999)"
    assert len(result.ratings.kept) == len(tiny_ratings)


def test_ml10m_layout_half_stars_utf8(tmp_path, tiny_ratings):
    movies = make_movies(60, seed=3)
    movies.loc[1, C.TITLE] = "Ça commence aujourd'hui (1999)"
    folder = write_dat(tmp_path / "ml-10M100K", tiny_ratings, movies, encoding="utf-8")
    result = ingest_release(folder)
    assert (result.layout, result.rating_values) == ("dat", HALF_STARS)
    assert result.movies.kept[C.TITLE].iloc[1] == "Ça commence aujourd'hui (1999)"
    assert np.array_equal(result.ratings.kept[C.RATING].to_numpy(), tiny_ratings[C.RATING].to_numpy())


def test_whole_star_release_quarantines_half_stars(tmp_path, tiny_ratings):
    ratings = whole_stars(tiny_ratings)
    folder = write_dat(tmp_path / "ml-1m", ratings, make_movies(60, seed=3))
    lines = lines_of(folder / "ratings.dat")
    u, m, _, ts = lines[9].split("::")
    lines[9] = f"{u}::{m}::3.5::{ts}"
    write_lines(folder / "ratings.dat", lines)
    only_quarantined(ingest_release(folder), "rating_out_of_range", 10)


def test_year_comes_from_the_trailing_parenthesis():
    import pandas as pd

    titles = pd.Series(["Seven (a.k.a. Se7en) (1995)", "Stranger Things", "Fawlty Towers (1975-1979)", "1984 (1984) "])
    assert release_year(titles).tolist() == [1995, pd.NA, pd.NA, 1984]


# --- broken inputs: quarantined rows --------------------------------------------------------------------


def edit_row(release, index, make):
    """Replace data row ``index`` (0-based, so file line index + 2) of ratings.csv by ``make(fields)``."""
    path = release / "ratings.csv"
    lines = lines_of(path)
    lines[index + 1] = make(lines[index + 1].split(","))
    write_lines(path, lines)
    return index + 2


def test_truncated_last_line(tiny_release, tiny_ratings):
    path = tiny_release / "ratings.csv"
    path.write_text(path.read_text() + "7,3")  # no timestamp, no newline
    q = only_quarantined(ingest_release(tiny_release), "malformed_line", len(tiny_ratings) + 2)
    assert q["raw"].tolist() == ["7,3"]


def test_extra_column_in_one_row(tiny_release):
    line = edit_row(tiny_release, 5, lambda f: ",".join(f + ["surprise"]))
    q = only_quarantined(ingest_release(tiny_release), "malformed_line", line)
    assert q["raw"].iloc[0].endswith(",surprise")


def test_rating_six(tiny_release):
    line = edit_row(tiny_release, 3, lambda f: f"{f[0]},{f[1]},6,{f[3]}")
    q = only_quarantined(ingest_release(tiny_release), "rating_out_of_range", line)
    assert q["raw"].iloc[0].split(",")[2] == "6"


def test_rating_not_a_number(tiny_release):
    line = edit_row(tiny_release, 7, lambda f: f"{f[0]},{f[1]},abc,{f[3]}")
    only_quarantined(ingest_release(tiny_release), "rating_not_a_number", line)


def test_empty_user_id(tiny_release):
    line = edit_row(tiny_release, 0, lambda f: f",{f[1]},{f[2]},{f[3]}")
    only_quarantined(ingest_release(tiny_release), "missing_user_id", line)


def test_duplicate_pair_keeps_the_latest(tiny_release, tiny_ratings):
    path = tiny_release / "ratings.csv"
    lines = lines_of(path)
    u, m, r, ts = lines[4].split(",")
    lines.append(f"{u},{m},0.5,{int(ts) + 100}")  # the same pair rated again later
    write_lines(path, lines)
    result = only_quarantined(ingest_release(tiny_release), "duplicate_pair", 5)
    kept = ingest_release(tiny_release).ratings.kept
    pair = kept[(kept[C.USER_ID] == int(u)) & (kept[C.MOVIE_ID] == int(m))]
    assert pair[C.RATING].tolist() == [0.5] and len(result) == 1


def test_movie_missing_from_movies(tiny_release):
    line = edit_row(tiny_release, 2, lambda f: f"{f[0]},99999,{f[2]},{f[3]}")
    only_quarantined(ingest_release(tiny_release), "unknown_movie", line)


def test_bad_timestamp(tiny_release):
    line = edit_row(tiny_release, 6, lambda f: f"{f[0]},{f[1]},{f[2]},12")
    only_quarantined(ingest_release(tiny_release), "bad_timestamp", line)


def test_byte_order_mark_is_ignored(tiny_release, tiny_ratings):
    path = tiny_release / "ratings.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    result = ingest_release(tiny_release)
    assert len(result.ratings.kept) == len(tiny_ratings) and len(result.quarantine()) == 0


def test_crlf_line_endings(tiny_release, tiny_ratings):
    path = tiny_release / "ratings.csv"
    lines = lines_of(path)
    lines[3] = "1,2,3,4,5"  # a malformed row, to check that line numbers still count right
    write_lines(path, lines, end="\r\n")
    only_quarantined(ingest_release(tiny_release), "malformed_line", 4)
    assert len(ingest_release(tiny_release).ratings.kept) == len(tiny_ratings) - 1


# --- broken inputs: the file cannot be read --------------------------------------------------------------


def error_of(release):
    with pytest.raises(DataFormatError) as err:
        ingest_release(release)
    return err.value


def test_wrong_delimiter(tiny_release):
    path = tiny_release / "ratings.csv"
    path.write_text(path.read_text().replace(",", ";"))
    err = error_of(tiny_release)
    assert (err.path.name, err.line, err.column) == ("ratings.csv", 1, "userId")
    assert "is the separator ';'" in str(err)


def test_latin1_title_in_a_utf8_file(tiny_release):
    path = tiny_release / "movies.csv"
    lines = path.read_bytes().split(b"\n")
    lines[3] = b"3,Am\xe9lie (2001),Comedy|Romance"
    path.write_bytes(b"\n".join(lines))
    err = error_of(tiny_release)
    assert (err.path.name, err.line, err.column) == ("movies.csv", 4, "title")
    assert "is not valid utf-8 text" in str(err)


def test_empty_file(tiny_release):
    (tiny_release / "ratings.csv").write_text("")
    err = error_of(tiny_release)
    assert (err.path.name, err.line, err.problem) == ("ratings.csv", 1, "the file is empty")


def test_header_only(tiny_release):
    (tiny_release / "ratings.csv").write_text("userId,movieId,rating,timestamp\n")
    err = error_of(tiny_release)
    assert (err.path.name, err.line, err.problem) == ("ratings.csv", 2, "the file has no data rows")


def test_missing_required_column(tiny_release):
    path = tiny_release / "ratings.csv"
    path.write_text(path.read_text().replace("rating,", "score,", 1))
    err = error_of(tiny_release)
    assert (err.line, err.column) == (1, "rating") and "ratings.csv, line 1, column 'rating'" in str(err)


def test_missing_movies_file(tiny_release):
    (tiny_release / "movies.csv").unlink()
    assert "required file movies.csv is missing" in str(error_of(tiny_release))


def test_headerless_file_in_the_wrong_format(tmp_path, tiny_ratings):
    folder = write_ml100k(tmp_path / "ml-100k", whole_stars(tiny_ratings), make_movies(60, seed=3))
    path = folder / "u.data"
    path.write_text(path.read_text().replace("\t", ","))
    err = error_of(folder)
    assert (err.path.name, err.line) == ("u.data", 1) and "wrong separator" in str(err)


# --- the quarantine limit -------------------------------------------------------------------------------


def test_quarantine_share_over_the_limit_fails_with_counts(tiny_release):
    for i in range(3):
        edit_row(tiny_release, i, lambda f: f"{f[0]},{f[1]},9,{f[3]}")
    report = ingest_release(tiny_release).report("f")
    check_quarantine_share(report, max_share=0.01)  # 3 of ~700 rows is under 1%
    with pytest.raises(QuarantineLimitError, match=r"ratings: 3 of \d+ rows .* \{'rating_out_of_range': 3\}"):
        check_quarantine_share(report, max_share=0.001)
