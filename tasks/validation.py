"""Great Expectations checks built from the schema that ``recsys.schema`` declares.

The library describes the data; this module turns each declaration into GX expectations and runs them
on a pandas frame. Great Expectations is imported only inside these functions: it takes seconds to
import, and nothing else (CLI start-up, other tasks) should pay for it.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from recsys.schema import TableSpec

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

SAMPLE = 5  # bad values and lines quoted per failed expectation


@dataclass
class ExpectationOutcome:
    expectation: str
    column: str | None
    success: bool
    unexpected_count: int = 0
    sample_values: list = field(default_factory=list)
    sample_lines: list[int] = field(default_factory=list)  # 1-based lines of the source file


@dataclass
class ValidationReport:
    table: str
    source: str
    rows: int
    outcomes: list[ExpectationOutcome]

    @property
    def success(self) -> bool:
        return all(o.success for o in self.outcomes)

    def failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]

    def describe_failures(self) -> str:
        lines = [f"{self.source}: {len(self.failures())} of {len(self.outcomes)} checks failed on {self.rows} rows"]
        for o in self.failures():
            where = f"column {o.column!r}" if o.column else "table"
            lines.append(
                f"  - {o.expectation} on {where}: {o.unexpected_count} bad rows, "
                f"e.g. lines {o.sample_lines} with values {o.sample_values}"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "table": self.table,
            "source": self.source,
            "rows": self.rows,
            "success": self.success,
            "expectations": [o.__dict__ for o in self.outcomes],
        }


class DataValidationError(ValueError):
    """The data broke its expectations; the message names file, lines, columns and sample values."""

    def __init__(self, report: ValidationReport):
        self.report = report
        super().__init__(report.describe_failures())


def build_expectations(spec: TableSpec) -> list:
    """The GX expectations for one declared table: columns, nulls, value bounds and uniqueness."""
    import great_expectations as gx

    ex = gx.expectations
    out = [ex.ExpectColumnToExist(column=c.name) for c in spec.columns]
    out += [ex.ExpectColumnValuesToNotBeNull(column=c.name) for c in spec.columns if not c.nullable]
    out += [
        ex.ExpectColumnValuesToBeBetween(column=c.name, min_value=c.min_value, max_value=c.max_value)
        for c in spec.columns
        if c.min_value is not None or c.max_value is not None
    ]
    for cols in spec.unique:
        out.append(
            ex.ExpectColumnValuesToBeUnique(column=cols[0])
            if len(cols) == 1
            else ex.ExpectCompoundColumnsToBeUnique(column_list=list(cols))
        )
    return out


def validate_frame(df: pd.DataFrame, spec: TableSpec, source: Path, header_lines: int = 1) -> ValidationReport:
    """Run the table's expectations on ``df`` (row i read from line i + 1 + header_lines of ``source``)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (
        context.data_sources.add_pandas("recsys")
        .add_dataframe_asset(spec.name)
        .add_batch_definition_whole_dataframe("whole")
    )
    suite = context.suites.add(gx.ExpectationSuite(name=f"{spec.name}-suite"))
    for expectation in build_expectations(spec):
        suite.add_expectation(expectation)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{spec.name}-validation", data=batch, suite=suite)
    )
    result = definition.run(batch_parameters={"dataframe": df}, result_format="COMPLETE")
    outcomes = [_outcome(r, header_lines) for r in result.results]
    return ValidationReport(spec.name, str(source), len(df), outcomes)


def _outcome(result, header_lines: int) -> ExpectationOutcome:
    config = result.expectation_config
    kwargs = config.kwargs
    column = kwargs.get("column") or ",".join(kwargs.get("column_list", [])) or None
    details = result.result or {}
    rows = list(details.get("unexpected_index_list") or [])[:SAMPLE]
    values = list(details.get("partial_unexpected_list") or [])[:SAMPLE]
    return ExpectationOutcome(
        expectation=config.type,
        column=column,
        success=bool(result.success),
        unexpected_count=int(details.get("unexpected_count") or 0),
        sample_values=[_plain(v) for v in values],
        sample_lines=[int(r) + 1 + header_lines for r in rows if isinstance(r, int | float)],
    )


def _plain(value):
    """JSON-friendly scalars (numpy types and NaN become plain Python)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, float) and value != value:
        return None
    return value
