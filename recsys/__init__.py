"""recsys: the library behind movielens-pipeline.

Plain Python, pandas, pyarrow and torch, in folders that depend one way, each only on those before it:
``data`` (ingestion, splits, vocabularies, features) <- ``models`` (one interface, a registry) <- ``training``
(one trainer, callbacks, resume, ensembles) <- ``evaluation`` (metrics, promotion rule) <- ``serving``
(answers from a model) <- ``analysis`` (units, maps, claims, report) <- ``pipeline`` (the typed run config).
``columns``, ``strict`` (the config base) and ``files`` (atomic writes) sit below them all. It never imports
prefect, mlflow or great_expectations; the thin adapters in ``tasks/`` do that, so the library stays fast to
import and usable from a notebook (``tests/test_layering.py`` checks all of this).
"""

__version__ = "0.1.0"
