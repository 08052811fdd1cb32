"""The per-run analysis report: the learning curves of every variant as one PNG, and ONE self-contained HTML page
(findings, run facts, a leaderboard with confidence intervals, learning curves, error breakdowns, ranking and
diversity metrics, hidden-unit sections per variant, notes) that needs nothing from the network, since users may
have no internet: images are base64 data URIs, the leaderboard's interval chart is inline SVG (without an ``xmlns``,
which HTML does not need, so the page holds no ``http://`` at all), the CSS is inline and there is no script or web
font. The page is the Jinja2 template ``templates/report.html.j2``, autoescaped; what it is given as markup is
escaped where it is built: tables by pandas' Styler from :func:`format_value` cells (each table with its own small
``<style>``: numeric columns, highlights), Markdown by the ``markdown`` library with raw HTML off. matplotlib is
imported inside :func:`plot_learning_curves`, as in :mod:`recsys.analysis.maps`: importing it costs the rest of the
library time.
"""

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import markdown
import numpy as np
import pandas as pd
from markupsafe import Markup, escape
from pandas.io.formats.style import Styler

from recsys import files
from recsys.analysis.verdict import Verdict
from recsys.evaluation.metrics.checks import require_columns

HISTORY_COLUMNS = ["epoch", "train_mse", "val_mse"]
INTERVAL_METRICS = {"mse": "MSE", "rmse": "RMSE", "mae": "MAE", "delta_mse": "ΔMSE to best"}
# the CSS class of each verdict's words in the findings table (classes in templates/report.html.j2)
VERDICT_CLASSES = {
    Verdict.HELD: "ok",
    Verdict.PARTLY: "mixed",
    Verdict.DID_NOT_HOLD: "bad",
    Verdict.NOT_MEASURED: "muted",  # no evidence either way: not shown as refuted
}
CHART_LEFT, CHART_WIDTH, CHART_ROW = 190, 440, 22  # SVG interval chart: label column, plot width, row height
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HEADING_TAG = re.compile(r"<(/?)h([1-6])>")
# a numeric column (its header and its cells), and a key/value table, styled by pandas in the table's <style>
RIGHT = [{"selector": "", "props": "text-align: right; white-space: nowrap"}]
SMALL = [{"selector": "", "props": "font-size: 12px"}]
TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,  # a misspelt name in the template fails loudly instead of vanishing
    trim_blocks=True,
    keep_trailing_newline=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class UnitSection:
    """One variant's hidden-unit analysis: its Markdown summary (see :func:`recsys.analysis.units.unit_markdown`),
    summary numbers, movie-map PNGs (colouring name -> path) and a link to its interactive map, relative to the
    report (a file next to it)."""

    markdown: str = ""
    summary: dict[str, float] = field(default_factory=dict)
    map_pngs: dict[str, Path] = field(default_factory=dict)
    map_html: str | None = None


@dataclass(frozen=True)
class ReportContent:
    """Everything a run's report shows; each part left as None (or empty) is left out of the page."""

    title: str
    run: dict[str, str] = field(default_factory=dict)  # run id, data fingerprint, split, seed, date...
    claims: pd.DataFrame | None = None  # claim, verdict (a Verdict), evidence
    leaderboard: pd.DataFrame | None = None  # recsys.evaluation.metrics.bootstrap.compare_to_best
    curves_png: Path | None = None  # plot_learning_curves
    breakdown: pd.DataFrame | None = None  # variant, dimension, bucket, n, rmse (and mse, mae)
    topn: pd.DataFrame | None = None  # model, kind, users, precision..hit_rate, coverage..gini (catalogue top-10)
    rankers: pd.DataFrame | None = None  # the ranking family: variant, users, metric, metric_low, metric_high, ...
    rankers_png: Path | None = None  # plot_rankers
    ranking: pd.DataFrame | None = None  # variant, precision, recall, ndcg, k, n_users (each user's own test rows)
    neighbours: pd.DataFrame | None = None  # movie, 1..5: the nearest neighbours of well-known movies
    units: dict[str, UnitSection] = field(default_factory=dict)  # variant -> its hidden units
    seeds: pd.DataFrame | None = None  # variant, seed, mse: each variant's test MSE on each seed's split
    notes: list[str] = field(default_factory=list)


def plot_learning_curves(histories: Mapping[str, pd.DataFrame], path: Path) -> Path:
    """Training MSE (left) and validation MSE (right) against epoch for every variant in ``histories``
    (name -> frame with one row per epoch: epoch, train_mse, val_mse), one colour per variant in both panels;
    a one-epoch variant (a closed-form model) is a marker and a dotted level. Saved as a PNG at ``path``;
    returns ``path``."""
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not histories:
        raise ValueError("no learning curves to plot: histories is empty")
    for name, frame in histories.items():
        require_columns(frame, HISTORY_COLUMNS, f"the history of {name!r}")
    cmap = colormaps["tab10" if len(histories) <= 10 else "tab20"]
    colours = [cmap(i % cmap.N) for i in range(len(histories))]
    fig = Figure(figsize=(11, 4.2), dpi=110)
    FigureCanvasAgg(fig)
    panels = zip(fig.subplots(1, 2), ["train_mse", "val_mse"], ["Training MSE", "Validation MSE"], strict=True)
    for ax, column, title in panels:
        _draw_panel(ax, histories, column, colours)
        ax.set(title=title, xlabel="epoch", ylabel="MSE")
    fig.axes[1].legend(fontsize=8, frameon=False)
    fig.tight_layout()
    path = Path(path)
    files.atomic_write_with(path, lambda tmp: fig.savefig(tmp, format="png"))
    return path


def _draw_panel(ax, histories: Mapping[str, pd.DataFrame], column: str, colours: list) -> None:
    from matplotlib.ticker import MaxNLocator

    for (name, frame), colour in zip(histories.items(), colours, strict=True):
        style = (
            {"marker": "o", "linestyle": "none", "markersize": 7, "zorder": 3}
            if len(frame) == 1
            else {"linewidth": 1.5}
        )
        ax.plot(frame["epoch"], frame[column], color=colour, label=name, **style)
        value = float(frame[column].iloc[0]) if len(frame) == 1 else np.nan
        if np.isfinite(value):  # a closed-form model's level, to compare with the trained ones' last epochs
            ax.axhline(value, color=colour, linestyle=":", linewidth=1)
    limits = curve_limits(histories, column)
    if limits is not None:
        ax.set_ylim(*limits)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)


def curve_limits(histories: Mapping[str, pd.DataFrame], column: str) -> tuple[float, float] | None:
    """The y range of one panel, so the first epochs' huge errors do not flatten the rest: from 0.98 x the
    smallest value to 1.02 x the lower of the 95th percentile and min + 4 (median - min) of all values, raised
    to every variant's last value so none ends off the panel. None when ``column`` holds no finite value."""
    series = [pd.to_numeric(f[column], errors="coerce").to_numpy(float) for f in histories.values()]
    series = [s[np.isfinite(s)] for s in series]
    values = np.concatenate(series)
    if len(values) == 0:
        return None
    smallest, middle = values.min(), np.median(values)
    top = max(min(np.percentile(values, 95), smallest + 4 * (middle - smallest)), *(s[-1] for s in series if len(s)))
    low, high = 0.98 * smallest, 1.02 * top
    return (low, high) if high > low else (low, low + 1.0)


def write_report(path: Path, report: ReportContent) -> Path:
    """ONE self-contained HTML page at ``path`` showing ``report``: title, run facts, a table of contents, then
    every section given. Returns ``path``."""
    page = TEMPLATES.get_template("report.html.j2").render(
        title=report.title,
        run=key_value_table(report.run, "run", numbers=False) if report.run else None,
        sections=report_sections(report),
    )
    path = Path(path)
    files.write_text(path, page)
    return path


def report_sections(report: ReportContent) -> dict[str, tuple[str, object]]:
    """anchor -> (heading, what the template shows) of every section ``report`` has, in page order."""
    parts = [
        ("findings", "Findings", report.claims, claims_table),
        ("leaderboard", "Leaderboard", report.leaderboard, leaderboard_parts),
        ("curves", "Learning curves", report.curves_png, embed_png),
        ("seeds", "Test MSE over seeds", report.seeds, seeds_part),
        ("breakdown", "RMSE by user activity and movie popularity", report.breakdown, breakdown_part),
        (
            "rankers",
            "Top-N models (movielens-topn): NDCG@10 against coverage",
            report.rankers,
            lambda f: rankers_part(f, report.rankers_png),
        ),
        (
            "topn",
            "Top-10 of the rating models over the whole catalogue",
            report.topn,
            topn_part,
        ),
        ("ranking", "Ranking of each user's own test rows", report.ranking, lambda f: table_html(styled(f, "ranking"))),
        ("neighbours", "Nearest neighbours of well-known movies", report.neighbours, neighbours_table),
        ("units", "Hidden units", report.units or None, unit_parts),
        ("notes", "Notes", report.notes or None, list),
    ]
    return {anchor: (heading, render(value)) for anchor, heading, value, render in parts if value is not None}


def plot_rankers(rankers: pd.DataFrame, path: Path) -> Path:
    """Each ranker's test NDCG@10 with its 95% interval (over users) against the coverage of its top-10 lists:
    up is more accurate, right reaches more of the catalogue."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for row in rankers.to_dict("records"):
        low, high = row["ndcg@10"] - row["ndcg@10_low"], row["ndcg@10_high"] - row["ndcg@10"]
        ax.errorbar(row["coverage"], row["ndcg@10"], yerr=[[low], [high]], fmt="o", capsize=4)
        ax.annotate(row["variant"], (row["coverage"], row["ndcg@10"]), textcoords="offset points", xytext=(6, 4))
    ax.set_xlabel("catalogue coverage of the top-10 lists")
    ax.set_ylabel("test NDCG@10 (95% interval over users)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def rankers_part(frame: pd.DataFrame, png: Path | None) -> Markup:
    """The rankers' table (NDCG@10 with its interval) and, when drawn, their chart."""
    shown = frame[[c for c in frame.columns if not c.endswith(("_low", "_high"))]].copy()
    shown.insert(2, "ndcg@10 (95%)", [interval_text(r, "ndcg@10") for r in frame.to_dict("records")])
    html = str(table_html(styled(shown, "rankers")))
    if png is not None and Path(png).exists():
        html += f'<img src="{embed_png(png)}" alt="NDCG@10 with intervals against coverage, per ranker">'
    return Markup(html)


def neighbours_table(frame: pd.DataFrame) -> Markup:
    """The sanity table: each movie's neighbours (title, training ratings, similarity), text only."""
    return table_html(styled(frame, "neighbours", [False] * frame.shape[1]))


def format_value(value) -> str:
    """Escaped display text: floats with 4 decimals, whole numbers as they are, booleans yes/no, missing "–"."""
    if value is None or value is pd.NA or value is pd.NaT:
        return "–"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return "–" if not np.isfinite(value) else f"{value:.4f}"
    return escape(value)


def styled(frame: pd.DataFrame, name: str, numeric: Sequence[bool] | None = None) -> Styler:
    """``frame`` as a pandas Styler whose table id is ``T_<name>``: no index, headers escaped, every cell through
    :func:`format_value`, numeric columns (by dtype unless ``numeric`` says, one flag per column) right-aligned."""
    if numeric is None:
        numeric = [pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c]) for c in frame]
    right = {column: RIGHT for column, is_number in zip(frame.columns, numeric, strict=True) if is_number}
    # the index is hidden, and pandas styles cells by position only when the labels are unique
    styler = Styler(frame.reset_index(drop=True), uuid=name, cell_ids=False).hide(axis="index").format(format_value)
    return styler.format_index(escape="html", axis=1).set_table_styles(right)


def table_html(styler: Styler) -> Markup:
    # pandas writes a <style> element before every table, an empty one when the table has no styles: leave that
    # out (the table then needs no id or classes either)
    return Markup(styler.to_html(exclude_styles=not (styler.table_styles or styler.cell_context)))


def key_value_table(values: Mapping[str, object], name: str, numbers: bool = True) -> Markup:
    """A two-column table: each key, then its value (right-aligned when ``numbers``; a whole float as an int)."""
    shown = [int(v) if isinstance(v, float | np.floating) and float(v).is_integer() else v for v in values.values()]
    frame = pd.DataFrame({"key": list(values), "value": pd.Series(shown, dtype=object)})
    return table_html(
        styled(frame, name, [False, numbers]).hide(axis="columns").set_table_styles(SMALL, overwrite=False)
    )


def embed_png(path: Path) -> str:
    """The PNG at ``path`` as a ``data:image/png;base64,...`` URI, raising if the file is not a PNG."""
    data = Path(path).read_bytes()
    if not data.startswith(PNG_MAGIC):
        raise ValueError(f"{path} is not a PNG file (its first bytes are {data[:8]!r})")
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def markdown_to_html(text: str, shift: int = 0) -> Markup:
    """HTML for Markdown ``text`` (pipe tables included), headings pushed ``shift`` levels down (``#`` is ``h1``
    at ``shift`` 0, at most ``h6``). Raw HTML in the text is shown as text, not passed through: unit summaries
    quote movie titles, which are data."""
    converter = markdown.Markdown(extensions=["tables"])
    converter.preprocessors.deregister("html_block")
    converter.inlinePatterns.deregister("html")
    html = converter.convert(text)
    # Shifted here rather than with the toc extension's baselevel, which would also give every heading an id that
    # may clash with the page's section anchors; raw HTML is off, so every <hN> here is a Markdown heading.
    return Markup(HEADING_TAG.sub(lambda m: f"<{m[1]}h{min(6, int(m[2]) + shift)}>", html))


def claims_table(claims: pd.DataFrame) -> Markup:
    """The findings: each claim, its verdict's words coloured by :data:`VERDICT_CLASSES`, and the evidence."""
    require_columns(claims, ["claim", "verdict", "evidence"], "the claims")
    others = [v for v in claims["verdict"] if not isinstance(v, Verdict)]
    if others:
        raise TypeError(f"the claims' verdicts must be Verdict members (as study_claims makes them), got {others[0]!r}")
    styler = styled(claims[["claim", "verdict", "evidence"]], "claims", [False] * 3)
    return table_html(styler.format(verdict_span, subset=["verdict"]))


def verdict_span(verdict: Verdict) -> Markup:
    return Markup('<span class="{}">{}</span>').format(VERDICT_CLASSES[verdict], verdict.value)


def interval_text(row: Mapping, metric: str) -> str:
    """``"0.7323 [0.7201, 0.7450]"``: ``metric``'s value in ``row``, then its interval."""
    low, high = row[f"{metric}_low"], row[f"{metric}_high"]
    return f"{format_value(row[metric])} [{format_value(low)}, {format_value(high)}]"


def leaderboard_parts(board: pd.DataFrame) -> dict[str, object]:
    """The leaderboard table, best (lowest MSE) row highlighted, and the geometry of its interval chart."""
    require_columns(board, ["variant", "mse", "mse_low", "mse_high"], "the leaderboard")
    board = board.reset_index(drop=True)
    records = board.to_dict("records")
    metrics = [m for m in INTERVAL_METRICS if {m, f"{m}_low", f"{m}_high"} <= set(board.columns)]
    shown = board[["variant", *(c for c in ["n"] if c in board)]].assign(
        **{f"{INTERVAL_METRICS[m]} [CI]": [interval_text(r, m) for r in records] for m in metrics},
        **{c: board[c] for c in ["p_value", "significant"] if c in board},
    )
    best = int(np.nanargmin(board["mse"].to_numpy(float)))
    classes = pd.DataFrame("", index=shown.index, columns=shown.columns)
    classes.iloc[best] = "best"
    styler = styled(shown, "leaderboard", [False] + [True] * (shown.shape[1] - 1)).set_td_classes(classes)
    return {"table": table_html(styler), "chart": interval_chart(records, best)}


def interval_chart(records: Sequence[Mapping], best: int) -> dict[str, object]:
    """What the template draws as the inline SVG chart: one row per variant, its MSE as a dot on its interval
    (x positions as SVG text), the best one marked; five ticks under them."""
    low = np.nanmin([r["mse_low"] for r in records])
    high = np.nanmax([r["mse_high"] for r in records])
    pad = 0.05 * (high - low) or 1e-3
    low, high = low - pad, high + pad

    def x(value: float) -> str:
        return f"{CHART_LEFT + (value - low) / (high - low) * CHART_WIDTH:.1f}"

    rows = [
        {"name": str(r["variant"]), "best": i == best, "interval": interval_text(r, "mse")}
        | {"low": x(r["mse_low"]), "mse": x(r["mse"]), "high": x(r["mse_high"])}
        for i, r in enumerate(records)
    ]
    ticks = [(x(v), f"{v:.4f}") for v in np.linspace(low, high, 5)]
    return {"rows": rows, "ticks": ticks, "left": CHART_LEFT, "width": CHART_LEFT + CHART_WIDTH + 30, "row": CHART_ROW}


def breakdown_table(breakdown: pd.DataFrame) -> Markup:
    """RMSE per bucket (rows: dimension, bucket and its number of test rows, from the first variant listed)
    and variant (columns, in the order first listed); the lowest RMSE of each row in bold."""
    require_columns(breakdown, ["variant", "dimension", "bucket", "n", "rmse"], "the breakdown")
    if breakdown.duplicated(["variant", "dimension", "bucket"]).any():
        raise ValueError("the breakdown holds more than one row for some variant, dimension and bucket")
    keys = breakdown.groupby(["dimension", "bucket"], sort=False)["n"].first()
    variants = list(dict.fromkeys(breakdown["variant"]))
    rmse = breakdown.pivot(index=["dimension", "bucket"], columns="variant", values="rmse")
    rmse = rmse.reindex(index=keys.index, columns=variants).rename_axis(columns=None)
    shown = pd.concat([keys.reset_index(), rmse.reset_index(drop=True)], axis=1)
    styler = styled(shown, "breakdown", [False, False] + [True] * (1 + len(variants)))
    # every lowest RMSE of a row in bold, ties included
    return table_html(styler.highlight_min(subset=variants, axis=1, props="font-weight: bold"))


def unit_parts(units: Mapping[str, UnitSection]) -> list[dict[str, object]]:
    """What the template shows of each variant's hidden units: summary table, its Markdown (``#`` becomes h3),
    map images as data URIs and the link to its interactive map."""
    return [unit_part(name, unit, f"units-{i}") for i, (name, unit) in enumerate(units.items())]


def unit_part(name: str, unit: UnitSection, table_name: str) -> dict[str, object]:
    if unit.map_html and "://" in unit.map_html:
        raise ValueError(f"map_html must be a path relative to the report, got {unit.map_html!r}")
    return {
        "name": name,
        "summary": key_value_table(unit.summary, table_name) if unit.summary else None,
        "markdown": markdown_to_html(unit.markdown, shift=2),
        "maps": {caption: embed_png(path) for caption, path in unit.map_pngs.items()},
        "link": unit.map_html,
    }


def chart_uri(draw, size: tuple[float, float] = (7.5, 3.6)) -> str:
    """A chart drawn by ``draw(fig)`` on a new matplotlib figure, as a PNG ``data:`` URI (the page stays
    self-contained: no file, no network)."""
    import io as bytes_io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    draw(fig)
    fig.tight_layout()
    buffer = bytes_io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def breakdown_part(breakdown: pd.DataFrame) -> Markup:
    """The breakdown's chart (RMSE per bucket, a line per variant, one panel per dimension), then its table."""
    dimensions = list(dict.fromkeys(breakdown["dimension"]))

    def draw(fig) -> None:
        axes = fig.subplots(1, len(dimensions), sharey=True, squeeze=False)[0]
        for ax, dimension in zip(axes, dimensions, strict=True):
            part = breakdown[breakdown["dimension"] == dimension]
            buckets = list(dict.fromkeys(part["bucket"].astype(str)))
            for variant, rows in part.groupby("variant", sort=False):
                ax.plot(range(len(rows)), rows["rmse"], marker="o", label=variant)
            ax.set_xticks(range(len(buckets)), buckets, rotation=30, fontsize=7)
            ax.set_title(str(dimension), fontsize=9)
            ax.grid(alpha=0.3)
        axes[0].set_ylabel("test RMSE")
        axes[-1].legend(fontsize=7, loc="best")

    image = f'<img src="{chart_uri(draw)}" alt="test RMSE per bucket of user activity and movie popularity">'
    return Markup(image + str(breakdown_table(breakdown)))


def topn_part(topn: pd.DataFrame) -> Markup:
    """Accuracy against coverage of each model's top-10 lists (with 95% intervals where the table has them),
    then the table."""
    accuracy = "ndcg" if "ndcg" in topn.columns else "precision"

    def draw(fig) -> None:
        ax = fig.subplots()
        for row in topn.to_dict("records"):
            low, high = row.get(f"{accuracy}_low"), row.get(f"{accuracy}_high")
            errors = None if low is None or high is None else [[row[accuracy] - low], [high - row[accuracy]]]
            ax.errorbar(row["coverage"], row[accuracy], yerr=errors, fmt="o", capsize=4)
            ax.annotate(str(row["model"]), (row["coverage"], row[accuracy]), textcoords="offset points", xytext=(5, 3))
        ax.set_xlabel("catalogue coverage of the top-10 lists")
        ax.set_ylabel(f"{accuracy}@10")
        ax.grid(alpha=0.3)

    image = f'<img src="{chart_uri(draw, (6.5, 4.0))}" alt="{accuracy}@10 against coverage, per model">'
    return Markup(image + str(table_html(styled(topn, "topn"))))


def seeds_part(seeds: pd.DataFrame) -> Markup:
    """Each variant's test MSE on each seed's split (a dot per seed, a bar at the mean), then mean and spread."""
    require_columns(seeds, ["variant", "seed", "mse"], "the seed table")
    order = list(dict.fromkeys(seeds["variant"]))

    def draw(fig) -> None:
        ax = fig.subplots()
        for x, variant in enumerate(order):
            values = seeds.loc[seeds["variant"] == variant, "mse"].to_numpy()
            ax.scatter([x] * len(values), values, s=18, alpha=0.8)
            ax.hlines(values.mean(), x - 0.3, x + 0.3, colors="black")
        ax.set_xticks(range(len(order)), order, rotation=30, fontsize=8)
        ax.set_ylabel("test MSE (a dot per seed)")
        ax.grid(alpha=0.3, axis="y")

    summary = seeds.groupby("variant", sort=False)["mse"].agg(["count", "mean", "std", "min", "max"]).reset_index()
    summary = summary.rename(columns={"count": "seeds", "mean": "mean MSE", "std": "std"})
    image = f'<img src="{chart_uri(draw)}" alt="test MSE per variant, one dot per seed">'
    return Markup(image + str(table_html(styled(summary, "seeds"))))
