"""recsys: the library behind movielens-pipeline.

Plain Python, pandas, pyarrow and torch: data loading, splits, vocabularies, models, the trainer and
metrics. It never imports prefect, mlflow or great_expectations; the thin adapters in ``tasks/`` do
that, so the library stays fast to import and usable from a notebook.
"""

__version__ = "0.1.0"
