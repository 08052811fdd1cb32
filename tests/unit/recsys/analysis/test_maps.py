import numpy as np
import pytest

from recsys import columns as C
from recsys.analysis.maps import (
    MISSING_COLOUR,
    OTHER_COLOUR,
    colour_points,
    hover_details,
    plot_map_png,
    rating_matrix_tsne,
    tsne_map,
    write_map_html,
)
from recsys.data.split import rows_of

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def clusters_of_points(n=60, seed=0) -> np.ndarray:
    """Three well separated blobs of n/3 points in 5 dimensions."""
    rng = np.random.default_rng(seed)
    centres = np.repeat(np.eye(5)[:3] * 20, n // 3, axis=0)
    return centres + rng.normal(size=(n, 5))


def test_tsne_is_deterministic_for_a_seed_and_keeps_blobs_apart():
    x = clusters_of_points()
    a, b = tsne_map(x, seed=3, perplexity=10, max_iter=500), tsne_map(x, seed=3, perplexity=10, max_iter=500)
    assert a.shape == (60, 2) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    centres = np.stack([a[i * 20 : (i + 1) * 20].mean(0) for i in range(3)])  # (3, 2)
    nearest = np.linalg.norm(a[:, None, :] - centres[None], axis=2).argmin(1)  # (60,)
    assert nearest.tolist() == np.repeat([0, 1, 2], 20).tolist()  # each blob stays together


def test_tsne_refuses_a_perplexity_above_the_point_count():
    with pytest.raises(ValueError, match="perplexity 30.0 must be below the number of points 10"):
        tsne_map(np.zeros((10, 3)), seed=0)


def test_rating_matrix_tsne_maps_every_known_movie(tiny_prepared):
    train = rows_of(tiny_prepared.split, C.TRAIN)
    coords = rating_matrix_tsne(
        train, tiny_prepared.user_vocab, tiny_prepared.movie_vocab, seed=0, dims=5, perplexity=5
    )
    assert coords.shape == (len(tiny_prepared.movie_vocab.ids), 2) and np.isfinite(coords).all()


def test_colours_by_hand():
    cats = colour_points(["a", "b", "a", None, "c"], categorical=True, max_categories=3)  # a, b kept; c other
    assert [label for label, _ in cats.legend] == ["a", "b", "other", "missing"]
    assert cats.codes.tolist() == [0, 1, 0, 3, 2] and cats.palette[2:] == [OTHER_COLOUR, MISSING_COLOUR]
    nums = colour_points([1.0, np.nan, 3.0, 2.0], categorical=False)
    assert nums.codes.tolist() == [0, 64, 63, 32] and nums.palette[64] == MISSING_COLOUR
    assert [label for label, _ in nums.legend] == ["1", "1.5", "2", "2.5", "3", "missing"]
    assert colour_points([1.0, 2.0], categorical=False).legend[-1][0] == "2"  # "missing" only when some are
    many = colour_points([str(i) for i in range(30)], categorical=True, max_categories=40)
    assert len(set(many.palette[:18])) == 18 and OTHER_COLOUR not in many.palette[:18]  # no grey category


def test_hover_details_leave_out_missing_parts():
    assert hover_details([1995, np.nan], [3.916, 2.0]) == ["1995 · avg rating 3.92", "avg rating 2.00"]


def test_png_per_colouring_is_written(tmp_path):
    coords = clusters_of_points(30)[:, :2]
    continuous = plot_map_png(coords, np.r_[np.nan, np.arange(29.0)], "avg rating", tmp_path / "rating.png")
    categorical = plot_map_png(coords, ["Drama", "Comedy", None] * 10, "genre", tmp_path / "g.png", categorical=True)
    for path in (continuous, categorical):
        assert path.read_bytes()[:8] == PNG_MAGIC and path.stat().st_size > 5_000


def test_html_is_self_contained_escaped_and_switches_colourings(tmp_path):
    coords = clusters_of_points(6)[:, :2]
    titles = ["Amélie & <b> (2001)", "A", "B", "C", "D", "E </script> (1999)"]
    colourings = {
        "average rating": [4.1, 3.0, np.nan, 2.5, 3.3, 5.0],
        "release year": [2001, 1990, 1980, 1970, 1960, 1999],
        "main genre": ["Comedy", "Drama", "Drama", "Horror", "Comedy", "Drama"],
        "activation cluster": [3, 1, 1, 0, 3, -1],
    }
    details = hover_details(colourings["release year"], colourings["average rating"])
    path = write_map_html(
        coords, titles, colourings, tmp_path / "map.html", categorical={"activation cluster"}, details=details
    )
    page = path.read_text(encoding="utf-8")
    assert "<title>Amélie &amp; &lt;b&gt; (2001) — 2001 · avg rating 4.10</title>" in page
    assert "<b>" not in page and page.count("</script>") == 1  # the title's "</script>" is escaped too
    assert page.count("<circle ") == 6 and page.count("<option ") == 4
    assert "src=" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert 'data-scheme="3" hidden' in page and ">unit" not in page  # clusters are categories, legend "3", "1"...
