"""train-all: raw MovieLens files to tracked, evaluated, registered models, as one Prefect flow."""

from prefect import flow

from flows.analyze import analyze
from recsys.pipeline.config import PipelineConfig
from tasks.evaluate import evaluate_variant, summarise_seeds
from tasks.handles import EvaluatedVariant
from tasks.ingest import fetch_data, ingest, report_ingestion
from tasks.pipeline_run import end_pipeline_run, start_pipeline_run
from tasks.prepare import split_and_index
from tasks.register import promote_challenger, register_models
from tasks.train import train_variant


@flow(name="train-all")
def train_all(config: PipelineConfig = PipelineConfig()) -> list[EvaluatedVariant]:  # noqa: B008
    """Ingest and validate the data, split it, train and test every variant the config lists (each after the
    members it is built from), register them, promote the best by validation MSE if it beats the champion on
    test rows, and analyse the run. With ``config.seeds`` > 1, split and training repeat with the following
    seeds (models of the first seed are registered). Returns one result per variant and seed."""
    run = start_pipeline_run("train-all", config)
    config = run.config
    try:
        dataset = ingest.with_options(refresh_cache=config.data.refresh)(fetch_data(config.data.source))
        report_ingestion(dataset, run.run_id, config.data.max_quarantine_share)
        splits = [split_and_index(dataset, config, seed, run.run_id) for seed in config.run_seeds()]
        results = []
        for prepared in splits:
            trained = {}
            for name in config.training_order():
                members = tuple(trained[member] for member in config.members_of(name))
                trained[name] = train_variant(prepared, name, run.run_id, members)
            results += [evaluate_variant(one, prepared) for one in trained.values()]
        summarise_seeds(results, run.run_id)
        registered = register_models(results, config.split.seed, run.run_id)
        promote_challenger(registered, splits[0], run.run_id, config.promotion)
        if config.analysis:
            analyze(run.run_id)
    except BaseException:
        end_pipeline_run(run.run_id, "FAILED")
        raise
    end_pipeline_run(run.run_id, "FINISHED")
    return results
