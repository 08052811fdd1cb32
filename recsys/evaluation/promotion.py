"""The promotion rule: a run's best variant by validation MSE (the challenger) replaces the champion only
when it predicts better on rows that neither of them learned from, by more than the noise and a margin.

Which rows: this run's test rows minus every (user, movie) pair the champion learned from (its training and
validation rows: a refitted blend learned from both). When new data arrives, most of this run's test rows
can be rows the champion was trained on, so comparing on all of them would pit a training error against a
test error and freeze the first champion. When too few rows remain (``min_compared_rows``), the champion's
recipe (its recorded config) is retrained on this run's split and compared recipe against recipe on this
run's test rows instead.

The decision: ``gain`` = champion MSE - challenger MSE on the compared rows, with a paired bootstrap interval
that resamples *users* (a user's rows are not independent draws); rule ``interval`` promotes when the
interval's lower bound exceeds ``margin``, rule ``point`` when the gain itself does. Before any of that, an
absolute gate: the challenger must predict better than the biases-only baseline (global mean + user and movie
biases, fitted on this run's training rows) on the same rows, so a broken model never becomes the first
champion. Pure: frames and numbers in, a decision out.
"""

from dataclasses import asdict, dataclass
from enum import Enum
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from recsys import columns as C
from recsys.evaluation.metrics.bootstrap import paired_user_bootstrap
from recsys.strict import StrictConfig

UNSEEN_ROWS, RETRAINED_RECIPE, NO_CHAMPION, ALREADY_CHAMPION = (
    "unseen rows",
    "retrained recipe",
    "no champion",
    "already champion",
)


class PromotionConfig(StrictConfig):
    """When a run's challenger replaces the champion."""

    margin: float = Field(0.0, ge=0, description="the MSE gain over the champion must exceed this")
    rule: Literal["interval", "point"] = Field(
        "interval", description="interval: the gain's 95% lower bound must exceed the margin; point: the gain"
    )
    min_compared_rows: int = Field(
        2000, ge=1, description="fewer unseen rows than this: retrain the champion's recipe on this run's split"
    )
    level: float = Field(0.95, gt=0, lt=1, description="confidence level of the gain's interval")
    n_boot: int = Field(1000, ge=100, description="bootstrap resamples of the compared rows")
    topn_margin: float = Field(0.0, ge=0, description="top-N: the NDCG@10 gain over the champion must exceed this")
    gate: Literal["biases", "none"] = Field(
        "biases",
        description="biases: a challenger must beat the biases-only baseline on the rows it is judged on, "
        "champion or not; none: no absolute gate (a throwaway model of a test or a demo may serve)",
    )


@dataclass(frozen=True)
class Contender:
    """A model in the comparison: its registry version, variant and MSE on the compared rows."""

    version: str
    variant: str
    mse: float


@dataclass(frozen=True)
class Comparison:
    """What was compared: which rule chose the rows, how many, and the gain (champion MSE minus challenger
    MSE, positive when the challenger is better) with its paired bootstrap interval."""

    basis: str  # UNSEEN_ROWS or RETRAINED_RECIPE
    rows: int
    gain: float
    gain_low: float
    gain_high: float
    why: str
    users: int = 0  # the users resampled for the interval


@dataclass(frozen=True)
class Gate:
    """The absolute gate: the challenger's MSE and the biases-only baseline's on the same rows."""

    rows: int
    challenger_mse: float
    baseline_mse: float

    @property
    def passed(self) -> bool:
        return self.challenger_mse < self.baseline_mse

    def why(self) -> str:
        verb = "beats" if self.passed else "does not beat"
        return (
            f"MSE {self.challenger_mse:.4f} {verb} the biases-only baseline's {self.baseline_mse:.4f} on the same "
            f"{self.rows} rows"
        )


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str
    challenger: Contender
    champion: Contender | None  # None when there was no champion yet
    comparison: Comparison | None
    rule: str
    margin: float
    gate: Gate | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def tag(self) -> str:
        """A one-line summary for the run's ``promotion`` tag: the outcome first, then the numbers."""
        head = "promoted" if self.promote else "kept"
        c = self.comparison
        if c is None or (self.gate is not None and not self.gate.passed):
            return f"{head}: {self.reason}"
        return (
            f"{head}: gain {c.gain:+.4f} [{c.gain_low:+.4f}, {c.gain_high:+.4f}] on {c.rows} rows"
            + (f" of {c.users} users" if c.users else "")
            + f" ({c.basis}, rule {self.rule}, margin {self.margin:g})"
        )


class Pending(Enum):
    """What becomes of the versions a pipeline run registered and left ``pending`` (not yet decided)."""

    LEAVE = "leave"  # its run is still going: its decision is to come
    COMPLETE = "complete"  # its run made its decision (the alias moved, or a kept decision was recorded), then died
    ROLL_FORWARD = "roll forward"  # its run recorded a decision to promote, then died before the alias moved
    DELETE = "delete"  # its run ended before deciding: no version stays registered without a decision


def settle_pending(
    run_going: bool, decision_recorded: bool, holds_champion: bool, intent_recorded: bool = False
) -> Pending:
    """The rule for a pipeline run's pending versions, found by the next run: never delete a champion or the
    versions of a run still going (its variant runs end at evaluation, long before it decides). A run that
    wrote its promotion record (made under the registry lock, before any alias moves) and died before the
    decision tag has its move completed: the record is the transaction's commit point."""
    if run_going:
        return Pending.LEAVE
    if decision_recorded or holds_champion:
        return Pending.COMPLETE
    return Pending.ROLL_FORWARD if intent_recorded else Pending.DELETE


def unseen_rows(test: pd.DataFrame, seen: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``test`` whose (user_id, movie_id) pair is not among ``seen``'s (the rows a model learned
    from), in ``test``'s order."""
    pairs = pd.MultiIndex.from_frame(seen[[C.USER_ID, C.MOVIE_ID]])
    keep = ~pd.MultiIndex.from_frame(test[[C.USER_ID, C.MOVIE_ID]]).isin(pairs)
    return test.loc[keep]


@dataclass(frozen=True)
class ComparedRows:
    """Which rows a challenger and the champion are compared on, by which rule, and why."""

    basis: str  # UNSEEN_ROWS: this run's test rows new to the champion; RETRAINED_RECIPE: all of them
    rows: pd.DataFrame
    why: str


SAME_DATA_SHARE = 0.5  # below this share of its training ratings found in this run's data, a champion learned
# another data set: a grown release keeps every old rating (share 1.0); ml-100k against ml-latest-small
# shares a handful by chance although their user and movie ids overlap


def learned_share(champion_split: pd.DataFrame, ours: pd.DataFrame) -> float:
    """The share of the champion's training ratings (user_id, movie_id, rating) found among ``ours`` (this
    run's data): about 1 for the same data or a grown release, about 0 for another data set whose ids merely
    coincide."""
    theirs = champion_split[champion_split[C.SPLIT] == C.TRAIN]
    if theirs.empty:
        return 0.0
    keys = [C.USER_ID, C.MOVIE_ID, C.RATING]
    found = pd.MultiIndex.from_frame(theirs[keys]).isin(pd.MultiIndex.from_frame(ours[keys]))
    return float(found.mean())


def rows_to_compare(
    test: pd.DataFrame, champion_split: pd.DataFrame, config: PromotionConfig, ours: pd.DataFrame | None = None
) -> ComparedRows:
    """This run's ``test`` rows the champion never learned from (its ``champion_split``'s training and
    validation rows excluded) when there are at least ``min_compared_rows`` of them; else all of ``test``,
    on which the champion's recipe, retrained on this run's split, is to be compared. All of ``test`` too,
    recipe against recipe, when the champion learned another data set (``ours``, this run's ratings, holds
    under half of its training ratings): its ids would be other people and other movies."""
    if ours is not None and (share := learned_share(champion_split, ours)) < SAME_DATA_SHARE:
        why = (
            f"only {share:.1%} of the champion's training ratings are in this run's data: it learned another data "
            f"set, whose ids are other users and movies, so its recipe was retrained on this run's split and "
            f"both are scored on this run's {len(test)} test rows."
        )
        return ComparedRows(RETRAINED_RECIPE, test, why)
    seen = champion_split[champion_split[C.SPLIT].isin([C.TRAIN, C.VAL])]
    unseen = unseen_rows(test, seen)
    if len(unseen) >= config.min_compared_rows:
        why = (
            f"{len(unseen)} of this run's {len(test)} test rows are pairs the champion never learned from "
            f"(its training and validation rows excluded): both models are scored on those."
        )
        return ComparedRows(UNSEEN_ROWS, unseen, why)
    why = (
        f"only {len(unseen)} of this run's test rows are new to the champion (fewer than "
        f"{config.min_compared_rows}): its recorded config was retrained on this run's split, and both "
        f"recipes are scored on this run's {len(test)} test rows."
    )
    return ComparedRows(RETRAINED_RECIPE, test, why)


def compare(
    ratings: np.ndarray,
    challenger: np.ndarray,
    champion: np.ndarray,
    users: np.ndarray,
    basis: str,
    why: str,
    config: PromotionConfig,
    seed: int = 0,
) -> Comparison:
    """The gain of ``challenger`` over ``champion`` predictions (N,) on ``ratings`` (N,), with its interval from
    resampling the rows' ``users`` (N,), each with all their rows."""
    paired = paired_user_bootstrap(
        ratings, champion, challenger, users, n_boot=config.n_boot, seed=seed, level=config.level
    )
    low, high = paired["delta_mse_low"], paired["delta_mse_high"]
    return Comparison(basis, len(ratings), paired["delta_mse"], low, high, why, int(paired["users"]))


def decide_promotion(
    challenger: Contender,
    champion: Contender | None,
    comparison: Comparison | None,
    config: PromotionConfig,
    gate: Gate | None = None,
) -> Decision:
    """A challenger that is the champion already (a retried promotion that had moved the alias) stays
    promoted; one that fails the absolute ``gate`` is not promoted, champion or not (unless ``config.gate`` is
    ``none``); else promote when there is no champion, or when the gain clears the margin by the rule."""
    if champion is not None and champion.version == challenger.version:
        return Decision(True, "it is the champion already", challenger, champion, None, config.rule, config.margin)
    if config.gate == "none":
        gate = None
    if gate is not None and not gate.passed:
        reason = f"the absolute gate failed: {gate.why()}"
        return Decision(False, reason, challenger, champion, comparison, config.rule, config.margin, gate)
    if champion is None:
        return Decision(True, "no champion yet", challenger, None, None, config.rule, config.margin, gate)
    if comparison is None:
        raise ValueError("a challenger can only be compared with a champion on compared rows")
    measured = comparison.gain_low if config.rule == "interval" else comparison.gain
    what = f"the gain's {config.level:.0%} lower bound" if config.rule == "interval" else "the gain"
    promote = measured > config.margin
    verdict = "exceeds" if promote else "does not exceed"
    reason = (
        f"{what} ({measured:+.4f}) {verdict} the margin {config.margin:g}: MSE {challenger.mse:.4f} against "
        f"the champion's {champion.mse:.4f} on {comparison.rows} rows ({comparison.basis})"
    )
    if gate is not None:
        reason += f"; {gate.why()}"
    return Decision(promote, reason, challenger, champion, comparison, config.rule, config.margin, gate)


def kept_without_evidence(challenger: Contender, champion: Contender, why: str, config: PromotionConfig) -> Decision:
    """The champion stays because it cannot be compared fairly (its split is gone or it learned another data
    set, and its recipe cannot be retrained here): the reason is recorded, the pipeline goes on."""
    reason = f"the champion cannot be compared on this run's rows and is kept: {why}"
    return Decision(False, reason, challenger, champion, None, config.rule, config.margin)


def decision_markdown(decision: Decision) -> str:
    """The decision and its numbers as a short Markdown note (``promotion.md``)."""
    verdict = "promoted to champion" if decision.promote else "not promoted; the champion stays"
    c = decision.challenger
    lines = [
        f"## Challenger v{c.version} ({c.variant}): {verdict}",
        "",
        decision.reason[0].upper() + decision.reason[1:] + ".",
        "",
        "| role | version | variant | MSE on the compared rows |",
        "|---|---:|---|---:|",
        f"| challenger | {c.version} | {c.variant} | {c.mse:.4f} |",
    ]
    if decision.champion is not None:
        h = decision.champion
        lines.append(f"| champion | {h.version} | {h.variant} | {h.mse:.4f} |")
    if decision.comparison is not None:
        k = decision.comparison
        lines += [
            "",
            f"Rule applied: **{k.basis}**. {k.why}",
            "",
            f"Compared rows: {k.rows} of {k.users} users; gain (champion MSE - challenger MSE) {k.gain:+.4f}, "
            f"interval [{k.gain_low:+.4f}, {k.gain_high:+.4f}] (users resampled); decision rule "
            f"`{decision.rule}`, margin {decision.margin:g}.",
        ]
    if decision.gate is not None:
        lines += ["", f"Absolute gate: {decision.gate.why()}."]
    return "\n".join(lines) + "\n"


def decide_topn(challenger, champion, basis: str, config: PromotionConfig) -> dict:
    """The top-N rule: ``challenger`` and ``champion`` are :class:`~recsys.evaluation.ranking.TopNScores` of the
    same users; the gain is the challenger's NDCG@10 minus the champion's, resampled over users (paired); rule
    ``interval`` promotes when the gain's lower bound exceeds ``topn_margin``, rule ``point`` when the gain
    does."""
    from recsys.evaluation.ranking import paired_users

    paired = paired_users(challenger, champion, n_boot=config.n_boot, level=config.level)
    measured = paired["delta_low"] if config.rule == "interval" else paired["delta"]
    what = f"the NDCG@10 gain's {config.level:.0%} lower bound" if config.rule == "interval" else "the NDCG@10 gain"
    promote = measured > config.topn_margin
    reason = (
        f"{what} ({measured:+.4f}) {'clears' if promote else 'does not clear'} the margin {config.topn_margin:g}: "
        f"NDCG@10 {paired['a']:.4f} against {paired['b']:.4f} [gain {paired['delta']:+.4f}, interval "
        f"{paired['delta_low']:+.4f} to {paired['delta_high']:+.4f}] over {paired['users']} users; {basis}"
    )
    return {"promote": promote, "reason": reason, "rule": config.rule, "margin": config.topn_margin} | paired
