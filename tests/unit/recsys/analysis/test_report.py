"""The run report: a valid learning-curve PNG, and one self-contained, escaped HTML page whose sections appear
only when given."""

import re

import numpy as np
import pandas as pd
import pytest

from recsys.analysis.report import (
    PNG_MAGIC,
    ReportContent,
    UnitSection,
    curve_limits,
    embed_png,
    format_value,
    markdown_to_html,
    plot_learning_curves,
    write_report,
)
from recsys.analysis.verdict import Verdict


def histories() -> dict[str, pd.DataFrame]:
    mf = pd.DataFrame({"epoch": [1, 2, 3, 4], "train_mse": [9.0, 1.0, 0.8, 0.7], "val_mse": [9.5, 1.1, 0.9, 0.85]})
    knn = pd.DataFrame({"epoch": [1], "train_mse": [0.6], "val_mse": [0.95]})
    return {"mf": mf, "knn": knn}


def leaderboard() -> pd.DataFrame:
    rows = [  # deliberately worst first: the highlight must follow the MSE, not the order
        ("knn <b>&", 0.95, 0.93, 0.97, 0.0277, 0.01, 0.04, 0.001, True),
        ("mf", 0.7323, 0.7201, 0.745, 0.0, 0.0, 0.0, 1.0, False),
    ]
    frame = pd.DataFrame(
        rows,
        columns=["variant", "mse", "mse_low", "mse_high", "delta_mse", "delta_mse_low", "delta_mse_high"]
        + ["p_value", "significant"],
    )
    return frame.assign(
        n=4, rmse=np.sqrt(frame["mse"]), rmse_low=0.85, rmse_high=0.86, mae=0.7, mae_low=0.6, mae_high=0.8
    )


def body_rows(page: str) -> list[list[str]]:
    """The cells (their inner HTML) of every table row with <td> cells in ``page``."""
    rows = re.findall(r"<tr>(.*?)</tr>", page, flags=re.S)
    return [cells for row in rows if (cells := re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S))]


def cells_with_class(page: str, name: str) -> list[str]:
    return re.findall(rf'<td class="[^"]*\b{name}\b[^"]*"\s*>(.*?)</td>', page)


@pytest.fixture
def curves(tmp_path):
    return plot_learning_curves(histories(), tmp_path / "curves.png")


def test_learning_curves_are_a_png(curves):
    assert curves.read_bytes().startswith(PNG_MAGIC)


def test_curve_limits_clip_the_first_epochs_and_keep_every_last_value():
    low, high = curve_limits(histories(), "val_mse")
    assert low == pytest.approx(0.98 * 0.85)
    assert high < 9.5 and high >= 1.02 * 0.95


def test_learning_curves_need_the_columns(tmp_path):
    with pytest.raises(ValueError, match="val_mse"):
        plot_learning_curves({"mf": pd.DataFrame({"epoch": [1], "train_mse": [1.0]})}, tmp_path / "c.png")


def test_full_report_is_self_contained_escaped_and_highlights_the_best(tmp_path, curves):
    claims = pd.DataFrame({"claim": ["MF beats <b>&"], "verdict": [Verdict.HELD], "evidence": ["ΔMSE 0.03"]})
    unit = UnitSection("## units\n\ntext", {"n_units": 32.0}, {"genre": curves}, "map_mf.html")
    content = ReportContent(
        "Run <1>",
        run={"run id": "abc"},
        claims=claims,
        leaderboard=leaderboard(),
        curves_png=curves,
        units={"mf": unit},
        notes=["took 3 s"],
    )
    page = write_report(tmp_path / "report.html", content).read_text(encoding="utf-8")
    assert "<h1>Run &lt;1&gt;</h1>" in page
    assert cells_with_class(page, "best") == next(row for row in body_rows(page) if row[0] == "mf")
    mse_column = re.search(r'<th class="col_heading level0 (col\d+)"\s*>MSE \[CI\]</th>', page)[1]
    assert f"#T_leaderboard .{mse_column} {{\n  text-align: right;" in page  # right-aligned, header and cells
    assert "0.7323 [0.7201, 0.7450]" in cells_with_class(page, mse_column)
    assert "knn &lt;b&gt;&amp;" in page and "MF beats &lt;b&gt;&amp;" in page and "<b>&" not in page
    assert page.count("data:image/png;base64,") == 2
    assert "http://" not in page and "https://" not in page
    assert '<a href="map_mf.html">' in page and '<span class="ok">held</span>' in page
    assert all(f'href="#{anchor}"' in page for anchor in ["findings", "leaderboard", "curves", "units", "notes"])


def test_each_verdict_shows_its_words_in_its_colour(tmp_path):
    claims = pd.DataFrame({"claim": [f"claim {i}" for i in range(4)], "verdict": list(Verdict), "evidence": "e"})
    page = write_report(tmp_path / "r.html", ReportContent("t", claims=claims)).read_text(encoding="utf-8")
    spans = re.findall(r'<span class="(\w+)">([^<]*)</span>', page)
    assert spans == [("ok", "held"), ("mixed", "partly"), ("bad", "did not hold"), ("muted", "not measured")]


def test_verdicts_given_as_text_are_refused(tmp_path):
    claims = pd.DataFrame({"claim": ["MF beats KNN"], "verdict": ["held"], "evidence": ["ΔMSE 0.03"]})
    with pytest.raises(TypeError, match="Verdict members.*'held'"):
        write_report(tmp_path / "r.html", ReportContent("t", claims=claims))


def test_omitted_sections_do_not_appear(tmp_path):
    page = write_report(tmp_path / "r.html", ReportContent("Only a leaderboard", leaderboard=leaderboard()))
    text = page.read_text(encoding="utf-8")
    assert 'id="leaderboard"' in text
    for anchor in ["findings", "curves", "breakdown", "ranking", "diversity", "units", "notes"]:
        assert f'id="{anchor}"' not in text and f'href="#{anchor}"' not in text
    assert "<img" not in text


def test_breakdown_is_a_pivot_of_rmse_with_the_row_best_in_bold(tmp_path):
    breakdown = pd.DataFrame(
        {
            "variant": ["mf", "mf", "knn <i>", "knn <i>"],
            "dimension": ["user_activity"] * 4,
            "bucket": ["0", "1-19"] * 2,
            "n": [3, 7, 3, 7],
            "mse": [1.0, 0.64, 0.81, 0.81],
            "rmse": [1.0, 0.8, 0.9, 0.9],
            "mae": [1.0] * 4,
        }
    )
    text = write_report(tmp_path / "r.html", ReportContent("t", breakdown=breakdown)).read_text(encoding="utf-8")
    rule = re.search(r"([^{}]*)\{\s*font-weight: bold;\s*\}", text)[1]  # pandas styles the bold cells by id
    for cell in re.findall(r"#(T_breakdown_row\d+_col\d+)", rule):
        text = re.sub(rf'(<td id="{cell}"[^>]*>)(.*?)</td>', r"\1<b>\2</b></td>", text)
    cells = [row[1:] for row in body_rows(text) if row[0] == "user_activity"]
    assert re.search(r">knn &lt;i&gt;</th>", text) and "<i>" not in text
    assert cells == [["0", "3", "1.0000", "<b>0.9000</b>"], ["1-19", "7", "<b>0.8000</b>", "0.9000"]]


def test_markdown_is_rendered_with_raw_html_shown_as_text():
    out = markdown_to_html("# Units of `mf`\n\n| unit | r |\n|---|---:|\n| a\\|b | 0.5 |\n\nSome <text> & <b>x</b>.", 1)
    assert "<h2>Units of <code>mf</code></h2>" in out
    assert re.findall(r"<th(?: [^>]*)?>(.*?)</th>", out) == ["unit", "r"]
    assert re.findall(r"<td[^>]*>(.*?)</td>", out) == ["a|b", "0.5"]
    assert '<td style="text-align: right;">0.5</td>' in out
    assert "<p>Some &lt;text&gt; &amp; &lt;b&gt;x&lt;/b&gt;.</p>" in out


def test_unit_markdown_tables_and_headings_render_in_the_page(tmp_path):
    text = "# Units of `mf`\n\nIn words.\n\n## Strongest\n\n| unit | top movies |\n|---:|---|\n| 3 | A <i> & B |\n"
    content = ReportContent("t", units={"mf <x>": UnitSection(text, {"n_units": 32.0, "share": 0.25})})
    page = write_report(tmp_path / "r.html", content).read_text(encoding="utf-8")
    assert "<h3>mf &lt;x&gt;</h3>" in page and "<h3>Units of <code>mf</code></h3>" in page
    assert "<h4>Strongest</h4>" in page and "<h1>Units" not in page
    assert re.search(r"<table>\s*<thead>\s*<tr>\s*<th[^>]*>unit</th>", page)
    assert ["3", "A &lt;i&gt; &amp; B"] in body_rows(page)
    assert ["n_units", "32"] in body_rows(page) and ["share", "0.2500"] in body_rows(page)


def test_format_value():
    values = [0.73234, np.float32(2.0), np.int64(7), True, np.nan, pd.NA, None, "a<b"]
    assert [format_value(v) for v in values] == ["0.7323", "2.0000", "7", "yes", "–", "–", "–", "a&lt;b"]


def test_embed_png_refuses_other_files(tmp_path):
    (tmp_path / "x.png").write_bytes(b"GIF89a")
    with pytest.raises(ValueError, match="not a PNG"):
        embed_png(tmp_path / "x.png")


def test_breakdown_top_n_and_seed_spread_are_charts_as_well_as_tables(tmp_path):
    """Issue 21: people would rather look than read: error by user activity and movie popularity, the top-10
    lists' accuracy against coverage, and each variant's spread over seeds are drawn, inside the page."""
    breakdown = pd.DataFrame(
        {
            "variant": ["mf", "mf", "knn", "knn"],
            "dimension": ["user activity"] * 4,
            "bucket": ["1-20", "21+", "1-20", "21+"],
            "n": [10, 20, 10, 20],
            "rmse": [0.95, 0.85, 0.93, 0.88],
        }
    )
    topn = pd.DataFrame(
        {"model": ["mf", "popular"], "kind": ["model", "baseline"], "users": [5, 5], "precision": [0.1, 0.2]}
        | {"ndcg": [0.12, 0.21], "ndcg_low": [0.10, 0.18], "ndcg_high": [0.14, 0.24], "coverage": [0.3, 0.01]}
    )
    seeds = pd.DataFrame(
        {"variant": ["mf", "mf", "knn", "knn"], "seed": [42, 43, 42, 43], "mse": [0.78, 0.79, 0.77, 0.8]}
    )
    content = ReportContent("t", breakdown=breakdown, topn=topn, seeds=seeds)
    page = write_report(tmp_path / "r.html", content).read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 3 and "http://" not in page
    assert 'alt="test MSE per variant, one dot per seed"' in page and "mean MSE" in page
    assert 'alt="ndcg@10 against coverage, per model"' in page and 'href="#seeds"' in page
