"""How a claim of the reference study fared in a run: one :class:`Verdict` per claim, made by
:mod:`recsys.analysis.claims` and shown by :mod:`recsys.analysis.report`. A module of its own so the report
reads the type without importing the claims' numerics (torch, the models)."""

from enum import Enum


class Verdict(Enum):
    """A claim's verdict; its value is the words the report and the saved tables show."""

    HELD = "held"
    PARTLY = "partly"
    DID_NOT_HOLD = "did not hold"
    NOT_MEASURED = "not measured"  # the run lacks the variants (or histories) the claim needs
