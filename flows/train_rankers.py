"""train-rankers: every ranker of every seed chosen on validation, refitted and tested, in turn (a ranker's
fit is one closed form or a few seconds to a minute of training: nothing to gain from a cluster here)."""

from prefect import flow

from recsys.pipeline.config import PipelineConfig
from tasks.handles import SplitHandle
from tasks.outcomes import Outcomes, why
from tasks.rank import train_ranker
from tasks.runners import stops_training_when_interrupted


@flow(name="train-rankers")
def train_rankers(splits: list[SplitHandle], config: PipelineConfig, run_id: str) -> Outcomes:
    """Each seed's rankers; returns those that finished and, by name, why each of the others did not."""
    results, failures = [], {}
    with stops_training_when_interrupted():
        for prepared in splits:
            for name in config.selected_rankers():
                state = train_ranker(prepared, name, run_id, return_state=True)
                if state.is_completed():
                    results.append(state.result())
                else:
                    failures[f"{name} (seed {prepared.split_seed})"] = why(state)
    return Outcomes(results, failures)
