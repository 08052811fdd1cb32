"""The per-run analysis report: the learning curves of every variant as one PNG, and ONE self-contained HTML
page (findings, run facts, a leaderboard with confidence intervals, learning curves, error breakdowns, ranking
and diversity metrics, hidden-unit sections per variant, notes) that needs nothing from the network, since users
may have no internet: images are base64 data URIs, the leaderboard's interval chart is inline SVG (without an
``xmlns``, which HTML does not need, so the page holds no ``http://`` at all), the CSS is inline and there is no
script or web font. Every piece of text is HTML-escaped. matplotlib is imported inside
:func:`plot_learning_curves`, as in :mod:`recsys.embedding_map`: importing it costs the rest of the library time.
"""

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from recsys.html_parts import (
    embed_png,
    format_value,
    frame_table,
    html_table,
    key_value_table,
    markdown_to_html,
)
from recsys.metrics.checks import require_columns

HISTORY_COLUMNS = ["epoch", "train_mse", "val_mse"]
INTERVAL_METRICS = {"mse": "MSE", "rmse": "RMSE", "mae": "MAE", "delta_mse": "ΔMSE to best"}
BAD_WORDS = {"not", "no", "false", "refuted", "rejected", "failed", "fails", "contradicted"}
GOOD_WORDS = {"held", "holds", "supported", "confirmed", "yes", "true", "passed"}
CHART_LEFT, CHART_WIDTH, CHART_ROW = 190, 440, 22  # SVG interval chart: label column, plot width, row height


@dataclass(frozen=True)
class UnitSection:
    """One variant's hidden-unit analysis: its Markdown summary (see :func:`recsys.unit_analysis.unit_markdown`),
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
    claims: pd.DataFrame | None = None  # claim, verdict, evidence
    leaderboard: pd.DataFrame | None = None  # recsys.metrics.bootstrap.compare_to_best
    curves_png: Path | None = None  # plot_learning_curves
    breakdown: pd.DataFrame | None = None  # variant, dimension, bucket, n, rmse (and mse, mae)
    ranking: pd.DataFrame | None = None  # variant, precision, recall, ndcg, k, n_users
    diversity: pd.DataFrame | None = None  # variant, coverage, mean_popularity, novelty, gini
    units: dict[str, UnitSection] = field(default_factory=dict)  # variant -> its hidden units
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
    fig.savefig(path, format="png")
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
    sections = report_sections(report)
    toc = "".join(f'<li><a href="#{anchor}">{html.escape(heading)}</a></li>' for anchor, heading, _ in sections)
    body = "".join(f'<section id="{a}"><h2>{html.escape(h)}</h2>{content}</section>' for a, h, content in sections)
    head = f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(report.title)}</title>'
    run = key_value_table(report.run, numbers=False) if report.run else ""
    nav = f"<nav><h2>Contents</h2><ul>{toc}</ul></nav>" if sections else ""
    page = f"{head}<style>{CSS}</style></head><body><h1>{html.escape(report.title)}</h1>{run}{nav}{body}</body></html>"
    path = Path(path)
    path.write_text(page + "\n", encoding="utf-8")
    return path


def report_sections(report: ReportContent) -> list[tuple[str, str, str]]:
    """(anchor, heading, HTML) of every section ``report`` has, in page order."""
    parts = [
        ("findings", "Findings", report.claims, claims_html),
        ("leaderboard", "Leaderboard", report.leaderboard, leaderboard_html),
        ("curves", "Learning curves", report.curves_png, curves_html),
        ("breakdown", "RMSE by user activity and movie popularity", report.breakdown, breakdown_html),
        ("ranking", "Ranking quality", report.ranking, frame_table),
        ("diversity", "Diversity of recommendations", report.diversity, frame_table),
        ("units", "Hidden units", report.units or None, units_html),
        ("notes", "Notes", report.notes or None, notes_html),
    ]
    return [(anchor, heading, render(value)) for anchor, heading, value, render in parts if value is not None]


def verdict_class(verdict: str) -> str:
    """CSS class of a claim's verdict: "bad" when it says the claim failed ("not held", "refuted"), "ok" when
    it says it held, else "mixed"."""
    words = set(re.findall(r"[a-z]+", str(verdict).lower()))
    return "bad" if words & BAD_WORDS else "ok" if words & GOOD_WORDS else "mixed"


def claims_html(claims: pd.DataFrame) -> str:
    require_columns(claims, ["claim", "verdict", "evidence"], "the claims")
    rows = [
        [format_value(c), f'<span class="{verdict_class(v)}">{format_value(v)}</span>', format_value(e)]
        for c, v, e in zip(claims["claim"], claims["verdict"], claims["evidence"], strict=True)
    ]
    return html_table(["claim", "verdict", "evidence"], rows, [False, False, False])


def interval_text(row: Mapping, metric: str) -> str:
    """``"0.7323 [0.7201, 0.7450]"``: ``metric``'s value in ``row``, then its interval."""
    low, high = row[f"{metric}_low"], row[f"{metric}_high"]
    return f"{format_value(row[metric])} [{format_value(low)}, {format_value(high)}]"


def leaderboard_html(board: pd.DataFrame) -> str:
    """The leaderboard, best (lowest MSE) row highlighted, then an interval chart of every variant's MSE."""
    require_columns(board, ["variant", "mse", "mse_low", "mse_high"], "the leaderboard")
    metrics = [m for m in INTERVAL_METRICS if {m, f"{m}_low", f"{m}_high"} <= set(board.columns)]
    first, last = [c for c in ["n"] if c in board.columns], [c for c in ["p_value", "significant"] if c in board]
    best = int(np.nanargmin(board["mse"].to_numpy(float)))
    records = board.to_dict("records")
    rows = [
        [format_value(r["variant"]), *(format_value(r[c]) for c in first), *(interval_text(r, m) for m in metrics)]
        + [format_value(r[c]) for c in last]
        for r in records
    ]
    header = ["variant", *first, *(f"{INTERVAL_METRICS[m]} [CI]" for m in metrics), *last]
    classes = ["best" if i == best else "" for i in range(len(rows))]
    table = html_table(header, rows, [False] + [True] * (len(header) - 1), classes)
    note = (
        '<p class="muted">Bootstrap confidence intervals; ΔMSE is the paired gap to the best variant; '
        "significant: that gap's interval excludes 0.</p>"
    )
    return table + note + interval_svg(records, best)


def interval_svg(records: Sequence[Mapping], best: int) -> str:
    """Inline SVG: one row per variant, its MSE as a dot on its interval, the best one in green."""
    low = np.nanmin([r["mse_low"] for r in records])
    high = np.nanmax([r["mse_high"] for r in records])
    pad = 0.05 * (high - low) or 1e-3
    low, high = low - pad, high + pad

    def x(value: float) -> str:
        return f"{CHART_LEFT + (value - low) / (high - low) * CHART_WIDTH:.1f}"

    parts = []
    for i, r in enumerate(records):
        y, colour, name = CHART_ROW * (i + 0.5), "#1b7f3b" if i == best else "#3b5b92", str(r["variant"])
        label = html.escape(name if len(name) <= 28 else name[:27] + "…")
        parts.append(
            f'<text x="{CHART_LEFT - 8}" y="{y + 4:.1f}" text-anchor="end">{label}</text>'
            f'<line x1="{x(r["mse_low"])}" x2="{x(r["mse_high"])}" y1="{y}" y2="{y}" stroke="{colour}" '
            f'stroke-width="2"/><circle cx="{x(r["mse"])}" cy="{y}" r="4" fill="{colour}">'
            f"<title>{html.escape(name)}: {interval_text(r, 'mse')}</title></circle>"
        )
    bottom = CHART_ROW * len(records) + 14
    ticks = "".join(
        f'<text x="{x(v)}" y="{bottom}" text-anchor="middle">{v:.4f}</text>' for v in np.linspace(low, high, 5)
    )
    size = f'viewBox="0 0 {CHART_LEFT + CHART_WIDTH + 30} {bottom + 6}" aria-label="MSE and its interval per variant"'
    return f'<svg class="chart" {size} role="img">{"".join(parts)}{ticks}</svg>'


def breakdown_html(breakdown: pd.DataFrame) -> str:
    """RMSE per bucket (rows: dimension, bucket and its number of test rows, from the first variant listed)
    and variant (columns, in the order first listed); the lowest RMSE of each row in bold."""
    require_columns(breakdown, ["variant", "dimension", "bucket", "n", "rmse"], "the breakdown")
    if breakdown.duplicated(["variant", "dimension", "bucket"]).any():
        raise ValueError("the breakdown holds more than one row for some variant, dimension and bucket")
    keyed = breakdown.set_index(["dimension", "bucket", "variant"])
    variants = list(dict.fromkeys(breakdown["variant"]))
    rows = []
    for key, n in breakdown.groupby(["dimension", "bucket"], sort=False)["n"].first().items():
        rmse = np.array([keyed["rmse"].get((*key, v), np.nan) for v in variants], dtype=float)
        best = int(np.nanargmin(rmse)) if np.isfinite(rmse).any() else -1
        cells = [f"<b>{format_value(v)}</b>" if j == best else format_value(v) for j, v in enumerate(rmse)]
        rows.append([format_value(key[0]), format_value(key[1]), format_value(n), *cells])
    header = ["dimension", "bucket", "n", *(html.escape(str(v)) for v in variants)]
    return html_table(header, rows, [False, False, True] + [True] * len(variants))


def curves_html(path: Path) -> str:
    return f'<img src="{embed_png(path)}" alt="Training and validation MSE per epoch for every variant">'


def units_html(units: Mapping[str, UnitSection]) -> str:
    return "".join(unit_html(name, unit) for name, unit in units.items())


def unit_html(name: str, unit: UnitSection) -> str:
    """One variant's hidden units: summary table, its Markdown (``#`` becomes h3), maps in a grid, map link."""
    parts = [f"<h3>{html.escape(name)}</h3>"]
    parts += [key_value_table(unit.summary)] if unit.summary else []
    parts += [markdown_to_html(unit.markdown, shift=2)] if unit.markdown else []
    figures = "".join(
        f'<figure><img src="{embed_png(p)}" alt="{html.escape(k)}"><figcaption>{html.escape(k)}</figcaption></figure>'
        for k, p in unit.map_pngs.items()
    )
    parts += [f'<div class="maps">{figures}</div>'] if figures else []
    if unit.map_html:
        if "://" in unit.map_html:
            raise ValueError(f"map_html must be a path relative to the report, got {unit.map_html!r}")
        link = f'<a href="{html.escape(unit.map_html)}">interactive movie map</a>'
        parts.append(f"<p>Open the {link} (a file next to this report).</p>")
    return "".join(parts)


def notes_html(notes: Sequence[str]) -> str:
    return "<ul>" + "".join(f"<li>{html.escape(str(note))}</li>" for note in notes) + "</ul>"


CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222;
       max-width: 1200px; margin: 24px auto; padding: 0 16px; }
h1 { margin-bottom: 4px; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 2px; margin-top: 32px; }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 13px; }
th, td { padding: 3px 8px; border-bottom: 1px solid #e4e4e4; text-align: left; vertical-align: top; }
th { background: #f1f1f1; } tbody tr:nth-child(even) { background: #f9f9f9; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr.best { background: #e3f3e7; font-weight: 600; }
.ok { color: #1b7f3b; font-weight: 600; } .bad { color: #b3261e; font-weight: 600; }
.mixed { color: #8a6d00; font-weight: 600; } .muted { color: #666; font-size: 12px; }
table.kv { font-size: 12px; } nav ul { columns: 2; }
code { background: #f1f1f1; padding: 0 3px; border-radius: 3px; }
img { max-width: 100%; } svg.chart { max-width: 700px; font-size: 12px; display: block; }
.maps { display: grid; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); gap: 12px; }
figure { margin: 0; } figcaption { font-size: 12px; color: #555; text-align: center; }
"""
