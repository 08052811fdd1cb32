"""What the bench scripts share: reading the ratings of a MovieLens release folder given on the command line.

The bench reads ``ratings.csv`` with pandas directly rather than through :mod:`recsys.io`, so a timing run
depends on nothing but the file.
"""

from pathlib import Path

import pandas as pd

from recsys import columns as C

CSV_COLUMNS = {"userId": C.USER_ID, "movieId": C.MOVIE_ID, "rating": C.RATING, "timestamp": C.TIMESTAMP}


def load_ratings(folder: Path) -> pd.DataFrame:
    """ratings.csv of a MovieLens release (ml-latest-small layout) with the library's column names."""
    return pd.read_csv(Path(folder) / "ratings.csv").rename(columns=CSV_COLUMNS)[list(CSV_COLUMNS.values())]
