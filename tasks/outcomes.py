"""What became of each variant of a run: the results of those that finished, and one error that names every
one that did not (its exception's message), raised after the finished ones were registered and analysed."""

from prefect.states import State


class VariantsFailed(RuntimeError):
    """Some variants did not finish; the others were registered, compared and analysed."""


def completed_results(states: dict[str, State]) -> dict[str, object]:
    """name -> result of each state that completed, in order."""
    return {name: state.result() for name, state in states.items() if state.is_completed()}


def raise_for_failures(states: dict[str, State]) -> None:
    """Raise :class:`VariantsFailed` naming each state that did not complete and why; nothing if all did."""
    failed = {name: state for name, state in states.items() if not state.is_completed()}
    if failed:
        reasons = "; ".join(f"{name}: {why(state)}" for name, state in failed.items())
        raise VariantsFailed(f"{len(failed)} of {len(states)} variants did not finish: {reasons}")


def why(state: State) -> str:
    """The exception behind a failed state, or its state message (an ensemble whose members failed)."""
    try:
        error = state.result(raise_on_failure=False)
    except Exception as exc:  # noqa: BLE001 (a state without a readable result: say what it is)
        error = exc
    if isinstance(error, BaseException):
        return f"{type(error).__name__}: {error}"
    return state.message or state.name
