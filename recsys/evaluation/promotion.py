"""The promotion rule: a run's best variant (the challenger) replaces the champion only when it scores a
lower test MSE on the same test rows by at least a margin. Pure: the numbers come in, a decision goes out."""

from dataclasses import asdict, dataclass

from pydantic import Field

from recsys.strict import StrictConfig


class PromotionConfig(StrictConfig):
    """When a run's challenger replaces the champion."""

    margin: float = Field(0.0, ge=0, description="the test MSE gain over the champion must exceed this")


@dataclass(frozen=True)
class Contender:
    """A model in the comparison: its registry version, variant and test MSE on the compared rows."""

    version: str
    variant: str
    test_mse: float


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str
    challenger: Contender
    champion: Contender | None  # None when there was no champion yet
    margin: float
    same_rows: bool  # False: the data or split changed and the champion was scored again on the new rows

    def to_dict(self) -> dict:
        return asdict(self)


def decide_promotion(
    challenger: Contender, champion: Contender | None, margin: float, same_rows: bool = True
) -> Decision:
    """Promote when there is no champion, or when the challenger's test MSE is below the champion's by more
    than ``margin`` (both on the same test rows)."""
    if margin < 0:
        raise ValueError(f"the promotion margin must be 0 or more, got {margin}")
    if champion is None:
        return Decision(True, "no champion yet", challenger, None, margin, same_rows)
    gain = champion.test_mse - challenger.test_mse
    if gain > margin:
        reason = f"test MSE {challenger.test_mse:.4f} beats the champion's {champion.test_mse:.4f} by {gain:.4f}"
    else:
        reason = (
            f"test MSE {challenger.test_mse:.4f} does not beat the champion's {champion.test_mse:.4f} "
            f"by more than the margin {margin:g} (gain {gain:+.4f})"
        )
    return Decision(gain > margin, reason, challenger, champion, margin, same_rows)


def decision_markdown(decision: Decision) -> str:
    """The decision and its numbers as a short Markdown note."""
    verdict = "promoted to champion" if decision.promote else "not promoted; the champion stays"
    lines = [
        f"## Challenger v{decision.challenger.version} ({decision.challenger.variant}): {verdict}",
        "",
        decision.reason + ".",
        "",
        "| role | version | variant | test MSE |",
        "|---|---:|---|---:|",
        f"| challenger | {decision.challenger.version} | {decision.challenger.variant} | "
        f"{decision.challenger.test_mse:.4f} |",
    ]
    if decision.champion is not None:
        c = decision.champion
        lines.append(f"| champion | {c.version} | {c.variant} | {c.test_mse:.4f} |")
    rows = "the same test rows" if decision.same_rows else "this run's test rows (data or split changed: rescored)"
    lines += ["", f"Compared on {rows}; margin {decision.margin:g}."]
    return "\n".join(lines) + "\n"
