"""Two-dimensional maps of movies: t-SNE of per-movie vectors (embeddings, mean activations, rows of the rating
matrix), drawn as one PNG per colouring and as one self-contained interactive HTML page.

The page needs nothing from the network (users may have no internet): the points are inline SVG circles, each
with a ``<title>`` (the browser's tooltip, no script needed) and a small inline script that shows the hovered
movie above the map, switches between colourings with a ``<select>`` and highlights titles matching a search.
scikit-learn and matplotlib are imported inside the functions that use them: importing them costs 1.5 to 2 s,
which the rest of the library should not pay.
"""

import html
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from recsys import columns as C
from recsys import files
from recsys.data.vocab import Vocabulary

MISSING_COLOUR, OTHER_COLOUR = "#c8c8c8", "#7f7f7f"
CONTINUOUS_LEVELS = 64  # viridis steps on the page; plenty for the eye, and short codes
WIDTH, HEIGHT, MARGIN = 900, 680, 12  # SVG viewBox of the page's map


def tsne_map(
    vectors: np.ndarray, seed: int, perplexity: float = 30.0, max_iter: int = 1000, threads: int = 1
) -> np.ndarray:
    """t-SNE of ``vectors`` (n, d) to (n, 2) float32: scikit-learn's Barnes-Hut t-SNE, PCA initialisation, on
    one thread, so one seed gives the same map on one machine. One thread for BLAS and OpenMP too, not only
    ``n_jobs=1``: the gradient step uses every OpenMP thread whatever ``n_jobs`` says, and on the 2-core machine
    with another job running, two threads made a 60-point map 300 times slower (18 s against 0.06 s).
    9,000 x 50 (random normal) took 68 s, measured once on that machine (108 s before the thread limit).
    ``threads`` > 1 is for a machine with nothing else running: 916 x 50 took 1.4 s on 2 threads, 2.2 s on 1."""
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or not np.isfinite(vectors).all():
        raise ValueError(f"t-SNE needs a finite (n, d) array, got shape {vectors.shape} or non-finite values")
    if perplexity >= len(vectors):
        raise ValueError(f"perplexity {perplexity} must be below the number of points {len(vectors)}")
    tsne = TSNE(2, perplexity=perplexity, init="pca", random_state=seed, n_jobs=threads, max_iter=max_iter)
    with threadpool_limits(threads):
        return tsne.fit_transform(vectors).astype(np.float32)


def rating_matrix_tsne(
    train: pd.DataFrame,
    user_vocab: Vocabulary,
    movie_vocab: Vocabulary,
    seed: int,
    dims: int = 50,
    perplexity: float = 30.0,
) -> np.ndarray:
    """The reference study's map of the raw rating matrix: each known movie's row of training ratings (0 where
    unrated) over the users, cut to ``dims`` by a truncated SVD (sparse, so it scales past ml-latest-small),
    then :func:`tsne_map`. (n_movies, 2) float32, row i for movie_idx i + 1."""
    from scipy.sparse import csr_matrix
    from sklearn.decomposition import TruncatedSVD
    from threadpoolctl import threadpool_limits

    movie_idx, user_idx = movie_vocab.encode(train[C.MOVIE_ID]), user_vocab.encode(train[C.USER_ID])
    if (movie_idx == 0).any() or (user_idx == 0).any():
        raise ValueError("rows with ids the vocabularies do not know: pass the training rows they were fitted on")
    matrix = csr_matrix((train[C.RATING].to_numpy(np.float32), (movie_idx - 1, user_idx - 1)))
    with threadpool_limits(1):  # as in tsne_map: threads only fight a busy machine, and change the rounding
        reduced = TruncatedSVD(min(dims, matrix.shape[1] - 1), random_state=seed).fit_transform(matrix)
    return tsne_map(reduced, seed, perplexity)


@dataclass(frozen=True)
class Colouring:
    codes: np.ndarray  # (n,) int: position of each point's colour in palette
    palette: list[str]  # "#rrggbb"
    legend: list[tuple[str, str]]  # (label, colour), in display order


def colour_points(values: Sequence, categorical: bool, max_categories: int = 19) -> Colouring:
    """Colours for ``values`` (n,). Categorical: the ``max_categories - 1`` (at most 18) most frequent labels
    get tab20's colours less its two greys, the rest grey "other"; continuous: viridis over the values' range.
    Missing values are light grey."""
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    if categorical:
        labels = pd.Series(values, dtype=object).map(lambda v: None if pd.isna(v) else str(v))
        colours = [to_hex(colormaps["tab20"](i)) for i in range(20) if i not in (14, 15)]  # 14, 15: greys
        kept = labels.value_counts().index[: min(max_categories - 1, len(colours))].tolist()
        position = {name: i for i, name in enumerate(kept)}
        codes = np.array([len(kept) + 1 if pd.isna(v) else position.get(v, len(kept)) for v in labels], dtype=int)
        names, palette = kept + ["other", "missing"], colours[: len(kept)] + [OTHER_COLOUR, MISSING_COLOUR]
        used = set(codes.tolist())
        return Colouring(codes, palette, [(names[i], palette[i]) for i in range(len(names)) if i in used])
    numbers = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(float)
    lo, hi = (np.nanmin(numbers), np.nanmax(numbers)) if np.isfinite(numbers).any() else (0.0, 1.0)
    scaled = (numbers - lo) / (hi - lo) if hi > lo else np.zeros_like(numbers)
    codes = np.where(np.isfinite(scaled), np.round(np.nan_to_num(scaled) * (CONTINUOUS_LEVELS - 1)), CONTINUOUS_LEVELS)
    palette = [to_hex(colormaps["viridis"](i / (CONTINUOUS_LEVELS - 1))) for i in range(CONTINUOUS_LEVELS)]
    legend = [(f"{v:.4g}", palette[round(q * (CONTINUOUS_LEVELS - 1))]) for q, v in _ticks(lo, hi)]
    missing = [("missing", MISSING_COLOUR)] if (codes == CONTINUOUS_LEVELS).any() else []
    return Colouring(codes.astype(int), palette + [MISSING_COLOUR], legend + missing)


def _ticks(lo: float, hi: float) -> list[tuple[float, float]]:
    return [(q, lo + q * (hi - lo)) for q in (0.0, 0.25, 0.5, 0.75, 1.0)]


def plot_map_png(
    coords: np.ndarray, values: Sequence, title: str, path: Path, categorical: bool = False, point_size: float = 4.0
) -> Path:
    """A scatter of ``coords`` (n, 2) coloured by ``values`` (n,) (a colour bar, or a legend when
    ``categorical``), saved as a PNG at ``path``; returns ``path``. Uses matplotlib's Agg canvas directly,
    so no pyplot state or GUI backend is touched."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    coords = _check_coords(coords, values)
    fig = Figure(figsize=(9, 7), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if categorical:
        colouring = colour_points(values, categorical=True)
        order = np.argsort(-colouring.codes, kind="stable")  # "missing", then "other" drawn first, underneath
        colours = np.array(colouring.palette)[colouring.codes[order]]
        ax.scatter(*coords[order].T, c=colours, s=point_size, linewidths=0)
        handles = [ax.scatter([], [], c=colour, s=20, label=label) for label, colour in colouring.legend]
        ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7, frameon=False)
    else:
        numbers = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(float)
        known = np.isfinite(numbers)
        ax.scatter(*coords[~known].T, c=MISSING_COLOUR, s=point_size, linewidths=0)
        points = ax.scatter(*coords[known].T, c=numbers[known], cmap="viridis", s=point_size, linewidths=0)
        fig.colorbar(points, ax=ax, shrink=0.8)
    ax.set(title=title, xticks=[], yticks=[])
    fig.tight_layout()
    path = Path(path)
    files.atomic_write_with(path, lambda tmp: fig.savefig(tmp, format="png"))
    return path


def _check_coords(coords: np.ndarray, values: Sequence) -> np.ndarray:
    coords = np.asarray(coords, dtype=float)
    if coords.ndim != 2 or coords.shape[1] != 2 or len(values) != len(coords):
        raise ValueError(f"coords must be (n, 2) with one value per point; got {coords.shape} and {len(values)}")
    return coords


def hover_details(years: Sequence, ratings: Sequence) -> list[str]:
    """Per movie "1995 · avg rating 3.92" for the page's hover text; missing parts left out."""
    out = []
    for year, rating in zip(pd.Series(years, dtype=float), pd.Series(ratings, dtype=float), strict=True):
        parts = ([f"{year:.0f}"] if np.isfinite(year) else []) + (
            [f"avg rating {rating:.2f}"] if np.isfinite(rating) else []
        )
        out.append(" · ".join(parts))
    return out


def write_map_html(
    coords: np.ndarray,
    titles: Sequence[str],
    colourings: Mapping[str, Sequence],
    path: Path,
    categorical: Collection[str] = (),
    details: Sequence[str] | None = None,
    heading: str = "Movie map",
) -> Path:
    """ONE self-contained HTML page at ``path`` mapping ``coords`` (n, 2): hover a point for its title (and
    ``details``), a select switches between ``colourings`` (name -> (n,) values; names in ``categorical``, and
    non-numeric values, are categories). Titles and names are HTML-escaped. Returns ``path``."""
    coords = _check_coords(coords, titles)
    if not colourings:
        raise ValueError("write_map_html needs at least one colouring")
    schemes = {
        name: colour_points(v, name in categorical or not pd.api.types.is_numeric_dtype(pd.Series(v)))
        for name, v in colourings.items()
    }
    first = next(iter(schemes.values()))
    texts = [t if not details or not details[i] else f"{t} — {details[i]}" for i, t in enumerate(map(str, titles))]
    circles = "\n".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.6" fill="{first.palette[c]}"><title>{html.escape(t)}</title></circle>'
        for (x, y), c, t in zip(_to_viewbox(coords), first.codes, texts, strict=True)
    )
    data = {name: {"palette": s.palette, "codes": s.codes.tolist()} for name, s in schemes.items()}
    page = _PAGE.format(
        heading=html.escape(heading),
        options="".join(f'<option value="{i}">{html.escape(name)}</option>' for i, name in enumerate(schemes)),
        legends="".join(_legend_html(i, s) for i, s in enumerate(schemes.values())),
        width=WIDTH,
        height=HEIGHT,
        circles=circles,
        data=_script_json(list(data.values())),
    )
    path = Path(path)
    files.write_text(path, page)
    return path


def _to_viewbox(coords: np.ndarray) -> np.ndarray:
    """Coordinates scaled into the SVG view box, aspect kept, y pointing up: (n, 2)."""
    lo, span = coords.min(0), np.ptp(coords, axis=0)
    scale = min((WIDTH - 2 * MARGIN) / max(span[0], 1e-9), (HEIGHT - 2 * MARGIN) / max(span[1], 1e-9))
    x = MARGIN + (coords[:, 0] - lo[0]) * scale
    return np.column_stack([x, HEIGHT - MARGIN - (coords[:, 1] - lo[1]) * scale])


def _legend_html(i: int, colouring: Colouring) -> str:
    items = "".join(
        f'<span class="key"><i style="background:{colour}"></i>{html.escape(label)}</span>'
        for label, colour in colouring.legend
    )
    return f'<div class="legend" data-scheme="{i}"{"" if i == 0 else " hidden"}>{items}</div>'


def _script_json(value) -> str:
    """JSON safe inside a <script> element: no "</script>", no "<!--"."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{heading}</title>
<style>
body {{ font: 14px system-ui, sans-serif; margin: 16px; }}
#map {{ width: 100%; max-width: {width}px; border: 1px solid #ddd; }}
circle:hover {{ stroke: #000; stroke-width: 1.5; }}
circle.dim {{ opacity: 0.08; }}
#hover {{ min-height: 1.4em; font-weight: 600; }}
.key {{ margin-right: 12px; white-space: nowrap; }}
.key i {{ display: inline-block; width: 10px; height: 10px; margin-right: 4px; }}
</style></head><body>
<h1>{heading}</h1>
<label>Colour by <select id="scheme">{options}</select></label>
<label>Find title <input id="find" type="search"></label>
<div id="legends">{legends}</div>
<div id="hover">Hover over a point to see the movie.</div>
<svg id="map" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">
{circles}
</svg>
<script>
const schemes = {data};
const circles = Array.from(document.querySelectorAll("#map circle"));
document.getElementById("scheme").addEventListener("change", (e) => {{
  const s = schemes[Number(e.target.value)];
  circles.forEach((c, i) => c.setAttribute("fill", s.palette[s.codes[i]]));
  document.querySelectorAll(".legend").forEach((l) => {{ l.hidden = l.dataset.scheme !== e.target.value; }});
}});
document.getElementById("map").addEventListener("mouseover", (e) => {{
  if (e.target.tagName === "circle") document.getElementById("hover").textContent = e.target.textContent;
}});
document.getElementById("find").addEventListener("input", (e) => {{
  const q = e.target.value.trim().toLowerCase();
  circles.forEach((c) => c.classList.toggle("dim", q !== "" && !c.textContent.toLowerCase().includes(q)));
}});
</script>
</body></html>
"""
