"""train-variants: every variant of every seed trained and tested on the run's task runner (see
:mod:`tasks.runners`): in turn here, or in parallel on a Dask cluster. An ensemble waits for its members."""

from prefect import flow

from recsys.pipeline.config import PipelineConfig
from tasks.evaluate import evaluate_variant
from tasks.handles import PreparedData
from tasks.outcomes import Outcomes, settle
from tasks.runners import stops_training_when_interrupted
from tasks.train import train_variant


@flow(name="train-variants")
def train_variants(splits: list[PreparedData], config: PipelineConfig, run_id: str) -> Outcomes:
    """Submit each seed's variants (each after its members) and each one's test; returns the results of those
    that finished and, by name, why each of the others did not."""
    tested = {}
    with stops_training_when_interrupted():
        for prepared in splits:
            trained = {}
            for name in config.training_order():
                members = tuple(trained[member] for member in config.members_of(name))
                trained[name] = train_variant.submit(prepared, name, run_id, members)
                tested[f"{name} (seed {prepared.split_seed})"] = (
                    trained[name],
                    evaluate_variant.submit(trained[name], prepared),
                )
        return settle(tested)
