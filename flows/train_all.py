"""train-all: raw MovieLens files to tracked, evaluated, registered models, as one Prefect flow."""

from prefect import flow

from flows.analyze import analyze
from flows.train_rankers import train_rankers
from flows.train_variants import train_variants
from recsys.pipeline.config import PipelineConfig
from tasks.evaluate import summarise_seeds
from tasks.handles import EvaluatedVariant, RankedVariant
from tasks.ingest import fetch_data, ingest, report_ingestion
from tasks.outcomes import Outcomes, raise_for_failures
from tasks.pipeline_run import pipeline_outcome, start_pipeline_run
from tasks.prepare import split_and_index
from tasks.rank import promote_ranker, register_rankers
from tasks.register import promote_challenger, register_models
from tasks.runners import task_runner_for
from tasks.runs import log_summary


@flow(name="train-all")
def train_all(config: PipelineConfig = PipelineConfig()) -> list[EvaluatedVariant | RankedVariant]:  # noqa: B008
    """Ingest and validate the data, split it, train and test every variant the config lists (each after the
    members it is built from; in turn, or in parallel on Dask), register them, promote the best by validation
    MSE if it beats the champion on rows neither learned from; the same for the rankers (``movielens-topn``,
    chosen by validation NDCG@10, promoted on the test users' lists); and analyze the run. With ``config.seeds`` > 1,
    split and training repeat with the following seeds (models of the first seed are registered). A variant
    that fails (a diverged loss) does not stop the others: they finish, register and are compared, and the
    run then fails naming it. Returns one result per finished variant and seed, the rating models' first,
    then the rankers'."""
    run = start_pipeline_run("train-all", config)
    config = run.config
    with pipeline_outcome(run.run_id):
        dataset = ingest.with_options(refresh_cache=config.data.refresh)(fetch_data(config.data.source))
        report_ingestion(dataset, run.run_id, config.data.max_quarantine_share)
        splits = [split_and_index(dataset, config, seed, run.run_id) for seed in config.run_seeds()]
        runner = task_runner_for(config.runner)
        outcomes = train_variants.with_options(task_runner=runner)(splits, config, run.run_id)
        summarise_seeds(outcomes.results, run.run_id)
        registered = register_models(outcomes.results, config.split.seed, run.run_id)
        promote_challenger(registered, splits[0], run.run_id, config.promotion)
        ranked = Outcomes()
        if config.selected_rankers():
            ranked = train_rankers(splits, config, run.run_id)
            registered_rankers = register_rankers(ranked.results, config.split.seed, run.run_id)
            promote_ranker(registered_rankers, splits[0], run.run_id, config.promotion)
        if config.analysis and outcomes.results:  # the analysis reads the rating models (the rankers: a section)
            analyze(run.run_id)
        raise_for_failures(Outcomes(outcomes.results + ranked.results, outcomes.failures | ranked.failures))
    log_summary("train-all")  # the run as it ended: decisions, report, links (a retrain's end too)
    return outcomes.results + ranked.results
