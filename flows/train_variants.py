"""train-variants: every variant of every seed trained and tested on the run's task runner (see
:mod:`tasks.runners`): in turn here, or in parallel on a Dask cluster. An ensemble waits for its members."""

from prefect import flow

from recsys.pipeline.config import PipelineConfig
from tasks.evaluate import evaluate_variant
from tasks.handles import SplitHandle
from tasks.outcomes import Outcomes, settle, why
from tasks.runners import stops_training_when_interrupted
from tasks.train import train_variant


@flow(name="train-variants")
def train_variants(splits: list[SplitHandle], config: PipelineConfig, run_id: str) -> Outcomes:
    """Each seed's variants (each after its members) and each one's test; returns the results of those that
    finished and, by name, why each of the others did not."""
    with stops_training_when_interrupted():
        if config.runner.kind == "local":
            return _in_turn(splits, config, run_id)
        return _submitted(splits, config, run_id)


def _in_turn(splits: list[SplitHandle], config: PipelineConfig, run_id: str) -> Outcomes:
    """Every task called in this thread, the flow's: torch runs an epoch about twice as fast in the main
    thread as in a pool thread (mf at 10M ratings: 6.3 s against 14.1 s on 2 cores; OpenMP's worker team of a
    thread other than the main one), and in turn there is nothing to overlap."""
    results, failures = [], {}
    for prepared in splits:
        trained = {}
        for name in config.training_order():
            key = f"{name} (seed {prepared.split_seed})"
            missing = [member for member in config.members_of(name) if member not in trained]
            if missing:
                failures[key] = f"its members did not finish: {', '.join(missing)}"
                continue
            members = tuple(trained[member] for member in config.members_of(name))
            state = train_variant(prepared, name, run_id, members, return_state=True)
            if not state.is_completed():
                failures[key] = why(state)
                continue
            trained[name] = state.result()
            tested = evaluate_variant(trained[name], prepared, return_state=True)
            if tested.is_completed():
                results.append(tested.result())
            else:
                failures[key] = why(tested)
    return Outcomes(results, failures)


def _submitted(splits: list[SplitHandle], config: PipelineConfig, run_id: str) -> Outcomes:
    """Every task submitted to the runner at once (an ensemble's after its members'), then waited for."""
    tested = {}
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
