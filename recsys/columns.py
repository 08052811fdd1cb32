"""Column names used everywhere: external ids end in ``_id``, embedding positions in ``_idx``."""

USER_ID = "user_id"
MOVIE_ID = "movie_id"
RATING = "rating"
TIMESTAMP = "timestamp"
TITLE = "title"
GENRES = "genres"
YEAR = "year"
SPLIT = "split"
USER_IDX = "user_idx"
MOVIE_IDX = "movie_idx"
PREDICTION = "prediction"

RATING_COLUMNS = [USER_ID, MOVIE_ID, RATING, TIMESTAMP]
MOVIE_COLUMNS = [MOVIE_ID, TITLE, GENRES]

TRAIN, VAL, TEST = "train", "val", "test"
