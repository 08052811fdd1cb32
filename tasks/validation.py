"""Great Expectations checks built from the schema that ``recsys.data.schema`` declares.

The library describes the data; this module turns each declaration into GX expectations and runs them
on a pandas frame. Great Expectations is imported only inside these functions: it takes seconds to
import, and nothing else (CLI start-up, other tasks) should pay for it.
"""

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from recsys.data.schema import TableSpec

SAMPLE = 5  # bad values and lines quoted per failed expectation


@dataclass
class ExpectationOutcome:
    expectation: str
    column: str | None
    success: bool
    unexpected_count: int = 0
    observed: object = None  # an aggregate's observed value (distinct values, a max, ...)
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
            detail = (
                f"{o.unexpected_count} bad rows, e.g. lines {o.sample_lines} with values {o.sample_values}"
                if o.unexpected_count
                else f"observed {str(o.observed)[:200]}"
            )
            lines.append(f"  - {o.expectation} on {where}: {detail}")
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


_GX_TYPES = {"int": "int64", "float": "float64", "str": "str"}


def build_expectations(spec: TableSpec, references: dict[str, list] | None = None) -> list:
    """The GX expectations for one declared table: columns and types, nulls, bounds, allowed values,
    text lengths, uniqueness, and membership in the tables it references (``references`` gives their
    values by "table.column")."""
    import great_expectations as gx

    ex = gx.expectations
    out = [ex.ExpectColumnToExist(column=c.name) for c in spec.columns]
    for c in spec.columns:
        if c.kind in _GX_TYPES:
            # GX names a nullable Int64 column "int64" too
            out.append(ex.ExpectColumnValuesToBeOfType(column=c.name, type_=_GX_TYPES[c.kind]))
        if not c.nullable:
            out.append(ex.ExpectColumnValuesToNotBeNull(column=c.name))
        if c.min_value is not None or c.max_value is not None:
            out.append(ex.ExpectColumnValuesToBeBetween(column=c.name, min_value=c.min_value, max_value=c.max_value))
        if c.allowed is not None:
            out.append(ex.ExpectColumnValuesToBeInSet(column=c.name, value_set=list(c.allowed)))
        if c.min_length is not None:
            out.append(ex.ExpectColumnValueLengthsToBeBetween(column=c.name, min_value=c.min_length))
    for cols in spec.unique:
        out.append(
            ex.ExpectColumnValuesToBeUnique(column=cols[0])
            if len(cols) == 1
            else ex.ExpectCompoundColumnsToBeUnique(column_list=list(cols))
        )
    for column, table, other in spec.references:
        values = (references or {}).get(f"{table}.{other}")
        if values is not None:
            # distinct values against the set, not row by row: on 25M ratings and 59k movies the row-level
            # check costs ~30 s; the quarantine (reason unknown_movie) already names the rows
            out.append(ex.ExpectColumnDistinctValuesToBeInSet(column=column, value_set=values))
    return out


@dataclass
class TableToValidate:
    spec: TableSpec
    frame: pd.DataFrame
    source: Path
    lines: np.ndarray | None = None  # file line of each row, to name lines in failures


def validate_tables(tables: list[TableToValidate], docs_dir: Path | None = None) -> list[ValidationReport]:
    """Validate each table with its suite in one GX context; with ``docs_dir``, build Data Docs there.

    Tables are given in order, so a later one can reference the values of an earlier one (ratings'
    movie ids must be in movies)."""
    context = _context(docs_dir)
    try:
        return _validate_in(context, tables, bool(docs_dir))
    finally:
        # GX keeps the last context for the process (its project manager), and the context kept each validated
        # frame in its execution engine: a 25M-rating ratings table (about 1 GB) stayed for the whole run
        for item in tables:
            with contextlib.suppress(Exception):  # never in place of the validation's own error
                context.data_sources.delete(item.spec.name)


def _validate_in(context, tables: list[TableToValidate], docs: bool) -> list[ValidationReport]:
    import great_expectations as gx

    references: dict[str, list] = {}
    reports = []
    for item in tables:
        definition = _definition(context, item.spec.name, build_expectations(item.spec, references))
        actions = [gx.checkpoint.UpdateDataDocsAction(name="docs", site_names=["recsys"])] if docs else []
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=item.spec.name, validation_definitions=[definition], actions=actions, result_format="COMPLETE"
            )
        )
        result = checkpoint.run(batch_parameters={"dataframe": item.frame})
        (run,) = result.run_results.values()
        outcomes = [_outcome(r, item.lines) for r in run.results]
        reports.append(ValidationReport(item.spec.name, str(item.source), len(item.frame), outcomes))
        for c in item.spec.columns:
            if c.kind == "int" and not c.nullable:
                references[f"{item.spec.name}.{c.name}"] = item.frame[c.name].drop_duplicates().tolist()
    return reports


def _definition(context, name: str, expectations: list):
    """A validation definition named ``name``: a whole-dataframe batch of a pandas datasource of that name and a
    suite of ``expectations``."""
    import great_expectations as gx

    batch = (
        context.data_sources.add_pandas(name).add_dataframe_asset(name).add_batch_definition_whole_dataframe("whole")
    )
    suite = context.suites.add(gx.ExpectationSuite(name=name))
    for expectation in expectations:
        suite.add_expectation(expectation)
    return context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch, suite=suite))


def validate_frame(df: pd.DataFrame, spec: TableSpec, source: Path) -> ValidationReport:
    """Validate one table on its own (row i taken to be line i + 2 of ``source``, after a header)."""
    return validate_tables([TableToValidate(spec, df, source, np.arange(2, len(df) + 2))])[0]


def _context(docs_dir: Path | None):
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    if docs_dir is not None:
        backend = {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)}
        context.add_data_docs_site(
            site_name="recsys",
            site_config={
                "class_name": "SiteBuilder",
                "store_backend": backend,
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
    return context


def _outcome(result, lines: np.ndarray | None) -> ExpectationOutcome:
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
        observed=_plain(details.get("observed_value")),
        sample_values=[_plain(v) for v in values],
        sample_lines=[int(lines[int(r)]) if lines is not None else int(r) for r in rows if isinstance(r, int | float)],
    )


def _plain(value):
    """JSON-friendly scalars (numpy types and NaN become plain Python)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value != value:
        return None
    return value


def release_expectations(accepted, config) -> list:
    """The release gate as Great Expectations expectations on a new release's ratings (user_id, movie_id,
    rating), from the accepted release's :class:`~recsys.data.gate.ReleaseProfile` and the thresholds of a
    :class:`~recsys.data.gate.ReleaseGateConfig`."""
    import great_expectations as gx

    from recsys import columns as C

    ex = gx.expectations
    return [
        ex.ExpectTableRowCountToBeBetween(min_value=accepted.min_rows(config)),
        ex.ExpectColumnKLDivergenceToBeLessThan(
            column=C.RATING,
            partition_object={"values": accepted.rating_values, "weights": accepted.rating_shares},
            threshold=config.max_rating_divergence,
        ),
        ex.ExpectColumnValuesToBeInSet(
            column=C.USER_ID, value_set=accepted.users.tolist(), mostly=1 - config.max_unknown_users
        ),
        ex.ExpectColumnValuesToBeInSet(
            column=C.MOVIE_ID, value_set=accepted.movies.tolist(), mostly=1 - config.max_unknown_movies
        ),
    ]


def validate_with(name: str, frame: pd.DataFrame, expectations: list, source: str) -> ValidationReport:
    """Run ``expectations`` on ``frame`` in a fresh GX context (its datasource removed afterwards)."""
    import uuid

    context = _context(None)
    unique = f"{name}-{uuid.uuid4().hex[:8]}"
    try:
        result = _definition(context, unique, expectations).run(
            batch_parameters={"dataframe": frame}, result_format="SUMMARY"
        )
        return ValidationReport(name, source, len(frame), [_outcome(r, None) for r in result.results])
    finally:
        with contextlib.suppress(Exception):
            context.data_sources.delete(unique)
