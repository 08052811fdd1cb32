"""What became of each variant of a run: the results of those that finished, and one error that names every
one that did not (its exception's message), raised after the finished ones were registered and analyzed."""

from dataclasses import dataclass, field

from prefect.futures import PrefectFuture
from prefect.states import State

from tasks.handles import EvaluatedVariant


class VariantsFailed(RuntimeError):
    """Some variants did not finish; the others were registered, compared and analyzed."""


@dataclass(frozen=True)
class Outcomes:
    results: list[EvaluatedVariant] = field(default_factory=list)  # the variants that finished, in order
    failures: dict[str, str] = field(default_factory=dict)  # "variant (seed N)" -> why it did not finish


def settle(futures: dict[str, tuple[PrefectFuture, PrefectFuture]]) -> Outcomes:
    """Wait for every (training, test) pair of futures; the test results of those that completed, and why
    each other one did not (its training's error when the training failed: its test never ran)."""
    results, failures = [], {}
    for name, (trained, tested) in futures.items():
        trained.wait()
        if not trained.state.is_completed():
            failures[name] = why(trained.state)
            continue
        tested.wait()
        if tested.state.is_completed():
            results.append(tested.result())
        else:
            failures[name] = why(tested.state)
    return Outcomes(results, failures)


def raise_for_failures(outcomes: Outcomes) -> None:
    """Raise :class:`VariantsFailed` naming each variant that did not finish and why; nothing if all did."""
    if outcomes.failures:
        total = len(outcomes.failures) + len(outcomes.results)
        reasons = "; ".join(f"{name}: {reason}" for name, reason in outcomes.failures.items())
        raise VariantsFailed(f"{len(outcomes.failures)} of {total} variants did not finish: {reasons}")


def why(state: State) -> str:
    """The exception behind a failed state, or its state message (an ensemble whose members failed)."""
    try:
        error = state.result(raise_on_failure=False)
    except Exception as exc:  # noqa: BLE001 (a state without a readable result: say what it is)
        error = exc
    if isinstance(error, BaseException):
        return f"{type(error).__name__}: {error}"
    return state.message or state.name
