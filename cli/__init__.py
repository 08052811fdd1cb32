"""The ``recsys`` command and the services it starts: one module per command (each with ``add_parser`` and
``run``), the options they share, the process's environment defaults, and the local Prefect/MLflow services
manager. It may import flows; nothing imports it (``tests/test_layering.py``)."""
