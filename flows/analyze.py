"""analyze: the evaluation and activation analysis of a stored train-all run, as its own flow."""

from prefect import flow

from tasks.analyze import analyze_stored_run, fetch_run_inputs, publish_report


@flow(name="analyze")
def analyze(run_id: str, rating_matrix_map: bool = False) -> str:
    """Read train-all run ``run_id`` back from MLflow, analyze its variants on the stored test and validation
    rows, and log the tables, figures and report under the run's ``report/``; returns the report's URI.
    ``rating_matrix_map`` adds the study's own t-SNE of the raw rating matrix (about a minute)."""
    inputs = fetch_run_inputs(run_id)
    return publish_report(analyze_stored_run(inputs, rating_matrix_map), inputs)
